// ListOffsets by timestamp looks inside a batch, as Kafka does (issue 9): kafka-python's offsets_for_times and
// kcat's `-o s@<ts>` start at the first RECORD whose timestamp reaches the target, not at the start of the batch
// whose max timestamp does. MAX_TIMESTAMP (-3) and the leader epoch field, which no installed client sends or
// shows, are checked with a raw ListOffsets v7.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { ListOffsetsResponse } from '../../src/protocol/generated/list-offsets.js';
import { rawRequest } from '../admin/raw-client.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasKcat, hasPythonKafka, requireTool } from '../helpers/external.js';
import { runCommand, runPythonWithParams } from '../helpers/run.js';

const PY_TIMEOUT_MS = 60_000;
const FAR = 999_999_999_999;

// One gzip batch of three records: a@1234, b@999999999999, c@5000 (offsets 0, 1, 2).
const SCRIPT = String.raw`
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
p = KafkaProducer(bootstrap_servers=BS, linger_ms=2000, batch_size=1000000, compression_type='gzip')
fs = [p.send(P['topic'], b'a', partition=0, timestamp_ms=1234),
      p.send(P['topic'], b'b', partition=0, timestamp_ms=P['far']),
      p.send(P['topic'], b'c', partition=0, timestamp_ms=5000)]
p.flush()
offsets = [f.get(timeout=20).offset for f in fs]
p.close()
c = KafkaConsumer(bootstrap_servers=BS, request_timeout_ms=20000)
tp = TopicPartition(P['topic'], 0)
out = {'produced': offsets}
for ts in [1000, 2000, P['far'], P['far'] + 1]:
    r = c.offsets_for_times({tp: ts})[tp]
    out[str(ts)] = None if r is None else [r.offset, r.timestamp]
c.close()
print(json.dumps(out))
`;

describe('ListOffsets by timestamp finds the record inside the batch', () => {
  let b: TestBroker;
  let topic: string;
  before(async () => {
    b = await startTestBroker();
    topic = uniqueTopic('lo-time');
  });
  after(async () => {
    await b?.stop();
  });

  test('kafka-python offsets_for_times gives the first record reaching the timestamp', async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka')))
      return;
    const r = await runPythonWithParams<Record<string, unknown>>(
      SCRIPT,
      { bootstrap: b.bootstrapServers, topic, far: FAR },
      PY_TIMEOUT_MS,
    );
    assert.deepEqual(r.produced, [0, 1, 2]);
    // The three records went as one batch (one produce, one base offset).
    assert.equal(b.broker.services.replicas.getLog(topic, 0)?.logEndOffset, 3);
    assert.deepEqual(r['1000'], [0, 1234]);
    assert.deepEqual(r['2000'], [1, FAR]);
    assert.deepEqual(r[String(FAR)], [1, FAR]);
    assert.equal(r[String(FAR + 1)], null);
  });

  test('kcat -o s@<ts> starts consuming at that record', async (t) => {
    if (!(await requireTool(t, 'kcat', hasKcat, 'install the Debian package kcat'))) return;
    const res = await runCommand(
      'kcat',
      ['-b', b.bootstrapServers, '-C', '-t', topic, '-p', '0', '-o', `s@${FAR}`, '-e', '-f', '%o:%s\n'],
      { timeoutMs: 30_000 },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.stdout.trim().split('\n'), ['1:b', '2:c']);
  });

  test('MAX_TIMESTAMP, EARLIEST and LATEST answer with the fields Kafka sets (raw ListOffsets v7)', async () => {
    const ask = async (timestamp: bigint) => {
      const res = await rawRequest<ListOffsetsResponse>(b.bootstrapServers, ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      });
      const p = res.topics[0]!.partitions[0]!;
      return [p.errorCode, Number(p.offset), Number(p.timestamp), p.leaderEpoch];
    };
    assert.deepEqual(await ask(-3n), [0, 1, FAR, 0], 'MAX_TIMESTAMP: the record with the largest timestamp');
    assert.deepEqual(await ask(-2n), [0, 0, -1, 0], 'EARLIEST');
    assert.deepEqual(await ask(-1n), [0, 3, -1, 0], 'LATEST');
    assert.deepEqual(await ask(2000n), [0, 1, FAR, 0], 'by timestamp: the record, its timestamp, its epoch');
    assert.deepEqual(await ask(BigInt(FAR + 1)), [0, -1, -1, -1], 'nothing that late');
  });
});
