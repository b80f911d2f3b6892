// Log compaction end to end: kafkajs produces keyed records and tombstones to a topic created with
// cleanup.policy=compact (tiny segments, min.cleanable.dirty.ratio 0.01, short delete.retention.ms); the
// broker's background cleaner compacts it; kcat (librdkafka) reads it back from the beginning.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasKcat, requireTool } from '../helpers/external.js';
import { kcatReadAll, type KcatMessage } from '../helpers/kcat.js';

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

before(async () => {
  tb = await startTestBroker({ 'log.cleaner.backoff.ms': '100' });
  kafka = new Kafka({
    clientId: 'brook-interop-compaction',
    brokers: [tb.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

async function createCompactedTopic(topic: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: '2048' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          { name: 'delete.retention.ms', value: '200' },
        ],
      },
    ],
  });
}

test('a compacted topic keeps the latest value per key; tombstoned keys disappear', async (t) => {
  if (!(await requireTool(t, 'kcat', hasKcat, 'install kcat'))) return;
  const topic = uniqueTopic('compacted');
  await createCompactedTopic(topic);
  const latest = new Map<string, string | null>();
  const keys = 20;
  for (let round = 0; round < 15; round++) {
    const messages = Array.from({ length: keys }, (_, k) => ({
      key: `key-${k}`,
      value: `r${round}-${k}-${'x'.repeat(30)}`,
    }));
    await producer.send({ topic, acks: -1, messages });
    for (const m of messages) latest.set(m.key, m.value);
  }
  // Delete every fifth key.
  const deleted = Array.from({ length: keys / 5 }, (_, i) => `key-${i * 5}`);
  await producer.send({ topic, acks: -1, messages: deleted.map((key) => ({ key, value: null })) });
  for (const key of deleted) latest.set(key, null);
  // Filler with its own keys pushes everything above into sealed (cleanable) segments.
  for (let i = 0; i < 10; i++) {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 5 }, (_, j) => ({ key: `filler-${i}-${j}`, value: 'f'.repeat(60) })),
    });
  }
  const produced = keys * 15 + deleted.length + 50;

  let messages: KcatMessage[];
  const deadline = Date.now() + 30_000;
  for (;;) {
    messages = await kcatReadAll(tb.bootstrapServers, topic);
    const main = messages.filter((m) => m.key?.startsWith('key-'));
    const done = main.length === keys - deleted.length && main.every((m) => m.payload !== null);
    if (done || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(messages.length < produced, `compacted: ${messages.length} of ${produced} records left`);
  for (let i = 1; i < messages.length; i++) assert.ok(messages[i]!.offset > messages[i - 1]!.offset);
  const seen = new Map<string, KcatMessage>();
  for (const m of messages.filter((x) => x.key?.startsWith('key-'))) {
    assert.ok(!seen.has(m.key!), `${m.key} appears once`);
    seen.set(m.key!, m);
  }
  for (const [key, value] of latest) {
    if (value === null)
      assert.ok(!seen.has(key), `${key} was deleted (tombstone gone after delete.retention.ms)`);
    else assert.equal(seen.get(key)?.payload, value, `latest value of ${key}`);
  }
  // Offsets are the original ones: the last round was produced at offsets 14*keys .. 15*keys-1.
  for (const m of seen.values()) {
    const k = Number(m.key!.slice(4));
    assert.equal(m.offset, 14 * keys + k, `${m.key} keeps its offset`);
  }
});

test('a record without a key is rejected with INVALID_RECORD on a compacted topic', async () => {
  const topic = uniqueTopic('compacted-nokey');
  await createCompactedTopic(topic);
  await assert.rejects(
    producer.send({ topic, acks: -1, messages: [{ value: 'no key' }] }),
    (err: Error & { type?: string }) =>
      err.type === 'INVALID_RECORD' || /INVALID_RECORD|invalid record/i.test(String(err)),
  );
});
