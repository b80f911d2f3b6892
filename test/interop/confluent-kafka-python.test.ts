// confluent-kafka-python 1.7.0 (Debian python3-confluent-kafka, system librdkafka 2.0.2) against Brook:
// Producer with acks=all and delivery callbacks, Consumer with assign() from OFFSET_BEGINNING (no group
// subscription), every codec, and AdminClient create_topics/delete_topics checked through list_topics.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { hasConfluentKafkaPython, requireTool } from '../helpers/external.js';
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
const BROKER_CONFIG = { 'auto.create.topics.enable': 'true', 'num.partitions': '1' };

// Every script runs after runPythonWithParams's prelude (P, BS, unhex, tohex).
const IMPORTS = String.raw`
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
`;

const PRODUCE = String.raw`
conf = {'bootstrap.servers': BS, 'acks': 'all', 'linger.ms': P.get('lingerMs', 5),
        'message.max.bytes': 4 * 1024 * 1024, 'message.timeout.ms': 30000}
if P.get('codec'):
    conf['compression.type'] = P['codec']
producer = Producer(conf)
reports = [None] * len(P['messages'])
def on_delivery(i):
    def cb(err, msg):
        reports[i] = {'error': None if err is None else str(err), 'topic': msg.topic(), 'partition': msg.partition(),
                      'offset': msg.offset(), 'timestamp': msg.timestamp()[1]}
    return cb
for i, m in enumerate(P['messages']):
    producer.produce(P['topic'], value=unhex(m['value']), key=unhex(m['key']), partition=0,
                     headers=[(k, unhex(v)) for k, v in m['headers']], timestamp=m['timestamp'],
                     on_delivery=on_delivery(i))
    producer.poll(0)
left = producer.flush(30)
print(json.dumps({'left': left, 'reports': reports}))
`;

const CONSUME = String.raw`
consumer = Consumer({'bootstrap.servers': BS, 'group.id': P['group'], 'enable.auto.commit': False,
                     'fetch.message.max.bytes': 4 * 1024 * 1024})
consumer.assign([TopicPartition(P['topic'], 0, OFFSET_BEGINNING)])
out = []
errors = []
deadline = time.time() + 40
while len(out) < P['expected'] and time.time() < deadline:
    msg = consumer.poll(1.0)
    if msg is None:
        continue
    if msg.error():
        errors.append(str(msg.error()))
        continue
    ts_type, ts = msg.timestamp()
    out.append({'partition': msg.partition(), 'offset': msg.offset(), 'key': tohex(msg.key()), 'value': tohex(msg.value()),
                'headers': [[k, tohex(v)] for k, v in (msg.headers() or [])], 'timestamp': ts,
                'timestampType': {1: 'create', 2: 'append'}.get(ts_type, str(ts_type))})
# nothing more may arrive after the expected records
end = time.time() + 1.5
while time.time() < end:
    msg = consumer.poll(0.2)
    if msg is not None and not msg.error():
        out.append({'partition': msg.partition(), 'offset': msg.offset(), 'key': tohex(msg.key()), 'value': None,
                    'headers': [], 'timestamp': 0, 'timestampType': 'extra'})
consumer.close()
print(json.dumps({'messages': out, 'errors': errors}))
`;

const ADMIN = String.raw`
admin = AdminClient({'bootstrap.servers': BS})
res = {}
def outcome(futures):
    r = {}
    for name, f in futures.items():
        try:
            f.result(timeout=20)
            r[name] = 'ok'
        except KafkaException as e:
            r[name] = e.args[0].name()
    return r
def topics():
    md = admin.list_topics(timeout=10)
    return {name: sorted(t.partitions.keys()) for name, t in md.topics.items() if t.error is None}
res['create'] = outcome(admin.create_topics([NewTopic(P['a'], num_partitions=3, replication_factor=1),
                                             NewTopic(P['b'], num_partitions=1, replication_factor=1)]))
res['createAgain'] = outcome(admin.create_topics([NewTopic(P['a'], num_partitions=3, replication_factor=1)]))
res['afterCreate'] = topics()
res['delete'] = outcome(admin.delete_topics([P['a']]))
# metadata may lag a moment behind the delete answer, as with Kafka: poll briefly
deadline = time.time() + 10
res['afterDelete'] = topics()
while P['a'] in res['afterDelete'] and time.time() < deadline:
    time.sleep(0.2)
    res['afterDelete'] = topics()
print(json.dumps(res))
`;

interface DeliveryReport {
  error: string | null;
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

async function produce(
  bootstrap: string,
  topic: string,
  messages: WireMessage[],
  codec?: string,
  lingerMs?: number,
) {
  return runPythonWithParams<{ left: number; reports: (DeliveryReport | null)[] }>(
    IMPORTS + PRODUCE,
    { bootstrap, topic, messages, codec, lingerMs },
    PY_TIMEOUT_MS,
  );
}

async function consume(bootstrap: string, topic: string, expected: number) {
  return runPythonWithParams<{ messages: ConsumedMessage[]; errors: string[] }>(
    IMPORTS + CONSUME,
    { bootstrap, topic, expected, group: `${topic}-unused-group` },
    PY_TIMEOUT_MS,
  );
}

async function available(t: TestContext): Promise<boolean> {
  return requireTool(
    t,
    'confluent-kafka-python',
    hasConfluentKafkaPython,
    'install the Debian package python3-confluent-kafka',
  );
}

/** Produces with acks=all, checks every delivery report, reads everything back with assign() and compares. */
async function roundTrip(bootstrap: string, topic: string, messages: WireMessage[], codec?: string) {
  // A long linger for the codec runs: librdkafka leaves a lone tiny record uncompressed, and on a loaded CI
  // machine the 40 produce() calls can span several 100 ms lingers (seen: a dozen single-record batches).
  const p = await produce(bootstrap, topic, messages, codec, codec ? 1000 : 5);
  assert.equal(p.left, 0, 'flush() delivered everything');
  assert.deepEqual(
    p.reports.map((r) => r && [r.error, r.topic, r.partition, r.offset, r.timestamp]),
    messages.map((m, i) => [null, topic, 0, i, m.timestamp]),
    'one successful delivery callback per message, at consecutive offsets, with the given timestamp',
  );
  const c = await consume(bootstrap, topic, messages.length);
  assert.deepEqual(c.errors, [], 'no consumer errors');
  assert.equal(c.messages.length, messages.length, `consumed ${summarize(c.messages)}`);
  assert.deepEqual(
    c.messages.map((m) => [m.partition, m.offset, m.timestampType]),
    messages.map((_, i) => [0, i, 'create']),
  );
  assert.deepEqual(
    c.messages.map(wireMessageOf),
    messages,
    'keys, values, headers and timestamps survive exactly',
  );
}

describe('confluent-kafka-python 1.7.0', { timeout: 10 * TEST_TIMEOUT_MS }, () => {
  test(
    'Producer acks=all with delivery callbacks, Consumer assign() from OFFSET_BEGINNING reads everything',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      await withBroker({ config: BROKER_CONFIG }, async (b) => {
        await roundTrip(b.bootstrapServers, uniqueTopic('ck-plain'), sampleMessages(20));
      });
    },
  );

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    test(
      `compression.type=${codec}: batches stored as ${codec} and read back exactly`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        if (!(await available(t))) return;
        await withBroker({ config: BROKER_CONFIG }, async (b) => {
          const topic = uniqueTopic(`ck-${codec}`);
          const messages = sampleMessages(40);
          await roundTrip(b.bootstrapServers, topic, messages, codec);
          const batches = await fetchAllBatches(b.bootstrapServers, topic, 0);
          const shown = JSON.stringify(batches.map((x) => `${x.baseOffset}-${x.lastOffset}:${x.codec}`));
          // librdkafka sends a batch uncompressed when compressing does not shrink it (e.g. a lone tiny record),
          // so a few 'none' batches are the client's choice; anything else means the broker changed the codec.
          assert.ok(
            batches.every((x) => x.codec === codec || x.codec === 'none'),
            `only ${codec} or uncompressed batches: ${shown}`,
          );
          const compressed = batches.filter((x) => x.codec === codec).reduce((n, x) => n + x.recordCount, 0);
          assert.ok(
            compressed >= messages.length * 0.5,
            `at least half of the records in ${codec} batches: ${shown}`,
          );
          assert.ok(
            batches.some((x) => x.codec === codec && x.recordCount > 1),
            `a ${codec} batch holds several records: ${shown}`,
          );
          assert.equal(
            batches.reduce((n, x) => n + x.recordCount, 0),
            messages.length,
          );
        });
      },
    );
  }

  test(
    'AdminClient create_topics (3 partitions) and delete_topics, checked with list_topics',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      await withBroker({ config: { 'auto.create.topics.enable': 'false' } }, async (b) => {
        const a = uniqueTopic('ck-admin-a');
        const bb = uniqueTopic('ck-admin-b');
        const r = await runPythonWithParams<{
          create: Record<string, string>;
          createAgain: Record<string, string>;
          afterCreate: Record<string, number[]>;
          delete: Record<string, string>;
          afterDelete: Record<string, number[]>;
        }>(IMPORTS + ADMIN, { bootstrap: b.bootstrapServers, a, b: bb }, PY_TIMEOUT_MS);
        assert.deepEqual(r.create, { [a]: 'ok', [bb]: 'ok' });
        assert.deepEqual(r.createAgain, { [a]: 'TOPIC_ALREADY_EXISTS' });
        assert.deepEqual(r.afterCreate[a], [0, 1, 2], JSON.stringify(r.afterCreate));
        assert.deepEqual(r.afterCreate[bb], [0], JSON.stringify(r.afterCreate));
        assert.deepEqual(r.delete, { [a]: 'ok' });
        assert.equal(
          r.afterDelete[a],
          undefined,
          `deleted topic still listed: ${JSON.stringify(r.afterDelete)}`,
        );
        assert.deepEqual(r.afterDelete[bb], [0], 'the other topic is untouched');
      });
    },
  );
});
