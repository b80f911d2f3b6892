// Real clients over 100 partitions with fetch sessions (KIP-227) enabled, and what each of them asks for.
// None of the installed clients keeps an incremental session (test/broker/fetch-sessions.test.ts drives
// those by hand): kcat/librdkafka 2.0.2 sends Fetch v11 with SessionEpoch -1 (sessionless), kafka-python
// 2.0.2 Fetch v4 (before sessions), and @platformatic/kafka 1.35.0 sends SessionId 0 with SessionEpoch 0
// on every fetch, which asks Kafka for a new session each time and never uses it (docs/client-notes.md).
// With a cache of 4 slots those sessions fill it, after which fetches are answered without one, as Kafka
// does; every client still reads every record.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { Admin, Producer } from '../../src/index.js';
import type { FetchSessionCache } from '../../src/broker/fetch-session.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasKcat, hasPythonKafka, requireTool } from '../helpers/external.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { runPythonJson } from '../helpers/run.js';

const PARTITIONS = 100;
const PER_PARTITION = 5;
const TOTAL = PARTITIONS * PER_PARTITION;
const SLOTS = 4;

type FetchKind = `v${number} id=${'0' | 'set'} epoch=${number}`;

describe('fetch sessions with real clients over 100 partitions', () => {
  let b: TestBroker;
  let topic: string;
  const seen = new Set<FetchKind>();
  before(async () => {
    b = await startTestBroker({
      'max.incremental.fetch.session.cache.slots': String(SLOTS),
      'group.initial.rebalance.delay.ms': '0',
    });
    topic = uniqueTopic('many');
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
    await admin.close();
    const producer = await Producer.connect(b.bootstrapServers);
    const messages = [];
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < PER_PARTITION; i++) messages.push({ value: `${p}-${i}`, partition: p });
    }
    await producer.send({ topic, messages });
    await producer.close();
    // Records how each fetch names its session (the broker is in this process).
    const cache: FetchSessionCache = b.broker.services.fetchSessions;
    const newContext = cache.newContext.bind(cache);
    cache.newContext = (version, sessionId, epoch, ...rest) => {
      seen.add(`v${version} id=${sessionId === 0 ? '0' : 'set'} epoch=${epoch}`);
      return newContext(version, sessionId, epoch, ...rest);
    };
  });
  after(async () => {
    await b.stop();
  });

  const distinct = (values: string[]) => new Set(values).size;

  test('kcat (librdkafka 2.0.2): sessionless Fetch v11, every record', async (t) => {
    if (!(await requireTool(t, 'kcat', hasKcat, 'install kcat'))) return;
    seen.clear();
    const got = await kcatReadAll(b.bootstrapServers, topic);
    assert.equal(distinct(got.map((m) => `${m.partition}:${m.offset}`)), TOTAL);
    assert.deepEqual([...seen], ['v11 id=0 epoch=-1']);
  });

  test('kafka-python 2.0.2: Fetch v4 (no sessions), every record', async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install python3-kafka'))) return;
    seen.clear();
    const script = `
import json, os, time
from kafka import KafkaConsumer, TopicPartition
bs, topic, expected = os.environ['BS'], os.environ['TOPIC'], int(os.environ['EXPECTED'])
c = KafkaConsumer(bootstrap_servers=bs, group_id=None, enable_auto_commit=False, auto_offset_reset='earliest')
deadline = time.time() + 40
parts = None
while not parts and time.time() < deadline:
    parts = c.partitions_for_topic(topic)
    if not parts: time.sleep(0.2)
tps = [TopicPartition(topic, p) for p in sorted(parts or [])]
c.assign(tps)
c.seek_to_beginning(*tps)
out = set()
while len(out) < expected and time.time() < deadline:
    for tp, msgs in c.poll(timeout_ms=500).items():
        for m in msgs: out.add('%d:%d' % (m.partition, m.offset))
c.close()
print(json.dumps(sorted(out)))
`;
    const got = await runPythonJson<string[]>(
      script,
      { BS: b.bootstrapServers, TOPIC: topic, EXPECTED: String(TOTAL) },
      60_000,
    );
    assert.equal(got.length, TOTAL);
    assert.deepEqual([...seen], ['v4 id=0 epoch=-1']);
  });

  test('@platformatic/kafka: a new session asked for on every fetch fills the cache, then sessionless', async () => {
    seen.clear();
    const consumer = new Consumer({
      clientId: 'sessions-test',
      bootstrapBrokers: [b.bootstrapServers],
      groupId: uniqueTopic('sessions-group'),
      deserializers: stringDeserializers,
      maxWaitTime: 200, // idle fetches come quickly, so the cache fills within the test
    });
    const got = new Set<string>();
    try {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${got.size} of ${TOTAL} records`)), 40_000);
        stream.on('data', (m) => {
          got.add(`${m.partition}:${m.offset}`);
          if (got.size === TOTAL) {
            clearTimeout(timer);
            resolve();
          }
        });
        stream.on('error', reject);
      });
      // Idle fetches at the end of the log keep asking for sessions; the cache stays at its bound.
      const deadline = Date.now() + 20_000;
      while (b.broker.services.fetchSessions.size < SLOTS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await stream.close();
    } finally {
      await consumer.close();
    }
    assert.equal(got.size, TOTAL);
    assert.ok(
      [...seen].every((k) => k.endsWith('id=0 epoch=0')),
      [...seen].join(', '),
    );
    assert.equal(b.broker.services.fetchSessions.size, SLOTS, 'a full cache, never more');
  });
});
