// kafka-python 2.0.2 (Debian python3-kafka) against Brook: producer (acks, keys, headers, explicit timestamps,
// every codec), a consumer without a group (assign and subscribe), and KafkaAdminClient topic management.
// Each Python script runs in its own process and prints JSON; the assertions compare exactly what went in and out.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { hasPythonKafka, hasPythonKafkaCodecs, requireTool } from '../helpers/external.js';
import {
  sampleMessages,
  summarize,
  wireMessageOf,
  type ConsumedMessage,
  type WireMessage,
} from '../helpers/messages.js';
import { fetchAllBatches } from '../helpers/raw-fetch.js';
import { runPythonWithParams } from '../helpers/run.js';

const TEST_TIMEOUT_MS = 120_000;
const PY_TIMEOUT_MS = 60_000;
// Topics are auto-created on first produce, like a default Kafka; num.partitions=3 so subscribe() has work to do.
const BROKER_CONFIG = { 'auto.create.topics.enable': 'true', 'num.partitions': '3' };

// Every script runs after runPythonWithParams's prelude (P, BS, unhex, tohex).
const PRODUCE = String.raw`
from kafka import KafkaProducer
acks = P['acks'] if P['acks'] == 'all' else int(P['acks'])
producer = KafkaProducer(bootstrap_servers=BS, acks=acks, compression_type=P.get('codec'),
                         linger_ms=P.get('lingerMs', 0), request_timeout_ms=20000, max_block_ms=30000,
                         max_request_size=4 * 1024 * 1024)
futures = []
for m in P['messages']:
    kwargs = dict(key=unhex(m['key']), value=unhex(m['value']),
                  headers=[(k, unhex(v)) for k, v in m['headers']], timestamp_ms=m['timestamp'])
    if P.get('partition') is not None:
        kwargs['partition'] = P['partition']
    futures.append(producer.send(P['topic'], **kwargs))
producer.flush(timeout=30)
meta = []
for f in futures:
    r = f.get(timeout=30)
    meta.append({'topic': r.topic, 'partition': r.partition, 'offset': r.offset, 'timestamp': r.timestamp})
producer.close(timeout=10)
print(json.dumps(meta))
`;

const CONSUME = String.raw`
from kafka import KafkaConsumer, TopicPartition
consumer = KafkaConsumer(bootstrap_servers=BS, group_id=None, auto_offset_reset='earliest',
                         enable_auto_commit=False, consumer_timeout_ms=10000,
                         fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024)
if P['mode'] == 'assign':
    consumer.assign([TopicPartition(P['topic'], p) for p in P['partitions']])
else:
    consumer.subscribe([P['topic']])
out = []
deadline = time.time() + 40
while len(out) < P['expected'] and time.time() < deadline:
    for r in consumer:  # ends after consumer_timeout_ms without a new record
        out.append({'partition': r.partition, 'offset': r.offset, 'key': tohex(r.key), 'value': tohex(r.value),
                    'headers': [[k, tohex(v)] for k, v in (r.headers or [])], 'timestamp': r.timestamp,
                    'timestampType': 'create' if r.timestamp_type == 0 else 'append'})
        if len(out) >= P['expected']:
            break
# Nothing more may arrive after the expected records (no duplicates, no extras).
extra = consumer.poll(timeout_ms=1500)
for recs in extra.values():
    for r in recs:
        out.append({'partition': r.partition, 'offset': r.offset, 'key': tohex(r.key), 'value': tohex(r.value),
                    'headers': [], 'timestamp': r.timestamp, 'timestampType': 'extra'})
consumer.close()
print(json.dumps(out))
`;

const ADMIN = String.raw`
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError
admin = KafkaAdminClient(bootstrap_servers=BS, request_timeout_ms=20000)
res = {}
r = admin.create_topics([NewTopic(P['a'], num_partitions=3, replication_factor=1),
                         NewTopic(P['b'], num_partitions=1, replication_factor=1)], timeout_ms=10000)
res['create'] = {t[0]: t[1] for t in r.topic_errors}
try:  # kafka-python 2.0.2 raises on a topic error code
    admin.create_topics([NewTopic(P['a'], num_partitions=3, replication_factor=1)], timeout_ms=10000)
    res['createAgain'] = {P['a']: 0}
except KafkaError as e:
    res['createAgain'] = {P['a']: e.errno}
res['listAfterCreate'] = sorted(admin.list_topics())
res['describe'] = {t['topic']: {'error': t['error_code'], 'partitions': sorted(p['partition'] for p in t['partitions'])}
                   for t in admin.describe_topics([P['a'], P['b']])}
consumer = KafkaConsumer(bootstrap_servers=BS, group_id=None)
res['consumerPartitions'] = sorted(consumer.partitions_for_topic(P['a']) or [])
consumer.close()
r = admin.delete_topics([P['a']], timeout_ms=10000)
res['delete'] = {t[0]: t[1] for t in r.topic_error_codes}
res['listAfterDelete'] = sorted(admin.list_topics())
admin.close()
print(json.dumps(res))
`;

interface ProduceMeta {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

async function produce(
  bootstrap: string,
  topic: string,
  messages: WireMessage[],
  opts: { acks: string; codec?: string; partition?: number; lingerMs?: number },
): Promise<ProduceMeta[]> {
  const params = { bootstrap, topic, messages, ...opts };
  return runPythonWithParams<ProduceMeta[]>(PRODUCE, params, PY_TIMEOUT_MS);
}

async function consume(
  bootstrap: string,
  topic: string,
  expected: number,
  mode: 'assign' | 'subscribe',
  partitions: number[] = [0],
): Promise<ConsumedMessage[]> {
  const params = { bootstrap, topic, expected, mode, partitions };
  return runPythonWithParams<ConsumedMessage[]>(CONSUME, params, PY_TIMEOUT_MS);
}

async function available(t: TestContext): Promise<boolean> {
  return requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka');
}

describe('kafka-python 2.0.2', { timeout: 10 * TEST_TIMEOUT_MS }, () => {
  for (const acks of ['1', 'all']) {
    test(
      `producer acks=${acks}: keys, headers, explicit timestamps, binary/null/large values read back by a group-less consumer`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        if (!(await available(t))) return;
        await withBroker({ config: BROKER_CONFIG }, async (b) => {
          const topic = uniqueTopic(`kp-acks-${acks}`);
          const messages = sampleMessages(20);
          const meta = await produce(b.bootstrapServers, topic, messages, { acks, partition: 0 });
          assert.deepEqual(
            meta.map((m) => [m.topic, m.partition, m.offset]),
            messages.map((_, i) => [topic, 0, i]),
            'every send() is acknowledged at consecutive offsets of partition 0',
          );
          assert.deepEqual(
            meta.map((m) => m.timestamp),
            messages.map((m) => m.timestamp),
            'RecordMetadata carries the explicit CreateTime',
          );

          const got = await consume(b.bootstrapServers, topic, messages.length, 'assign', [0]);
          assert.equal(got.length, messages.length, `consumed ${summarize(got)}`);
          assert.deepEqual(
            got.map((m) => [m.partition, m.offset, m.timestampType]),
            messages.map((_, i) => [0, i, 'create']),
          );
          assert.deepEqual(
            got.map(wireMessageOf),
            messages,
            'keys, values, headers and timestamps survive exactly',
          );
        });
      },
    );
  }

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    test(
      `producer compression_type=${codec}: batches stored as ${codec}, consumer decompresses them exactly`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        if (!(await available(t))) return;
        if (
          !(await requireTool(
            t,
            'kafka-python codecs',
            hasPythonKafkaCodecs,
            'install the Debian packages python3-snappy python3-lz4 python3-zstandard',
          ))
        )
          return;
        await withBroker({ config: BROKER_CONFIG }, async (b) => {
          const topic = uniqueTopic(`kp-${codec}`);
          const messages = sampleMessages(40);
          // linger so several records share one (compressed) batch
          const meta = await produce(b.bootstrapServers, topic, messages, {
            acks: 'all',
            codec,
            partition: 0,
            lingerMs: 200,
          });
          assert.deepEqual(
            meta.map((m) => m.offset),
            messages.map((_, i) => i),
          );

          const batches = await fetchAllBatches(b.bootstrapServers, topic, 0);
          assert.ok(batches.length > 0, 'Fetch returns the batches');
          assert.deepEqual(
            [...new Set(batches.map((x) => x.codec))],
            [codec],
            `every stored batch is ${codec}: ${JSON.stringify(batches.map((x) => x.codec))}`,
          );
          assert.ok(
            batches.some((x) => x.recordCount > 1),
            `at least one batch holds several records: ${JSON.stringify(batches.map((x) => x.recordCount))}`,
          );
          assert.equal(
            batches.reduce((n, x) => n + x.recordCount, 0),
            messages.length,
          );

          const got = await consume(b.bootstrapServers, topic, messages.length, 'assign', [0]);
          assert.equal(got.length, messages.length, `consumed ${summarize(got)}`);
          assert.deepEqual(
            got.map((m) => m.offset),
            messages.map((_, i) => i),
          );
          assert.deepEqual(got.map(wireMessageOf), messages);
        });
      },
    );
  }

  test(
    'consumer without a group: subscribe() reads every partition of a topic from earliest',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      await withBroker({ config: BROKER_CONFIG }, async (b) => {
        const topic = uniqueTopic('kp-subscribe');
        // no explicit partition: kafka-python's murmur2 partitioner spreads the keys over the 3 partitions
        const messages = sampleMessages(30).map((m, i) => ({
          ...m,
          key: Buffer.from(`k${i}`).toString('hex'),
        }));
        const meta = await produce(b.bootstrapServers, topic, messages, { acks: '1' });
        const partitionsUsed = new Set(meta.map((m) => m.partition));
        assert.ok(
          partitionsUsed.size > 1,
          `keys went to several partitions: ${[...partitionsUsed].join(',')}`,
        );
        for (const p of partitionsUsed) {
          const offsets = meta.filter((m) => m.partition === p).map((m) => m.offset);
          assert.deepEqual(
            offsets,
            offsets.map((_, i) => i),
            `partition ${p} offsets are 0..n-1 in send order`,
          );
        }

        const got = await consume(b.bootstrapServers, topic, messages.length, 'subscribe');
        assert.equal(got.length, messages.length, `consumed ${summarize(got)}`);
        const byKey = (xs: WireMessage[]) =>
          [...xs].sort((x, y) => String(x.key).localeCompare(String(y.key)));
        assert.deepEqual(byKey(got.map(wireMessageOf)), byKey(messages));
        // each record comes back from the partition and offset the producer was told
        const where = new Map<string | null, number[]>(
          meta.map((m, i) => [messages[i]!.key, [m.partition, m.offset]]),
        );
        for (const m of got)
          assert.deepEqual([m.partition, m.offset], where.get(m.key), `record ${String(m.key)}`);
      });
    },
  );

  test(
    'KafkaAdminClient: create_topics, list_topics, describe_topics, delete_topics',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      // auto-creation off so a topic can only exist because CreateTopics made it
      await withBroker({ config: { 'auto.create.topics.enable': 'false' } }, async (b) => {
        const a = uniqueTopic('kp-admin-a');
        const bb = uniqueTopic('kp-admin-b');
        const r = await runPythonWithParams<{
          create: Record<string, number>;
          createAgain: Record<string, number>;
          listAfterCreate: string[];
          describe: Record<string, { error: number; partitions: number[] }>;
          consumerPartitions: number[];
          delete: Record<string, number>;
          listAfterDelete: string[];
        }>(ADMIN, { bootstrap: b.bootstrapServers, a, b: bb }, PY_TIMEOUT_MS);
        assert.deepEqual(r.create, { [a]: 0, [bb]: 0 }, 'both topics created without error');
        assert.deepEqual(r.createAgain, { [a]: 36 }, 'creating it again answers TOPIC_ALREADY_EXISTS (36)');
        assert.ok(
          r.listAfterCreate.includes(a) && r.listAfterCreate.includes(bb),
          `list: ${r.listAfterCreate}`,
        );
        assert.deepEqual(r.describe, {
          [a]: { error: 0, partitions: [0, 1, 2] },
          [bb]: { error: 0, partitions: [0] },
        });
        assert.deepEqual(r.consumerPartitions, [0, 1, 2], 'a consumer sees the 3 partitions too');
        assert.deepEqual(r.delete, { [a]: 0 });
        assert.ok(!r.listAfterDelete.includes(a), `deleted topic still listed: ${r.listAfterDelete}`);
        assert.ok(r.listAfterDelete.includes(bb), 'the other topic is untouched');
      });
    },
  );
});
