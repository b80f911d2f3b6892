// @platformatic/kafka 1.35.0 against a real in-process Brook broker: Admin createTopics/listTopics/metadata/
// deleteTopics, Producer with acks 1 and -1 (keys, headers, timestamps) and the idempotent producer. What it
// writes is read back by other clients — kcat (librdkafka) and kafka-python (no consumer group) — and compared.
// Quirks (docs client-compat.md P1-P5): flexible versions only, acks default 1, autocreateTopics false.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasKcat, hasPythonKafka, requireTool } from '../helpers/external.js';
import { byPartitionOffset, kcatReadAll } from '../helpers/kcat.js';
import { runPythonJson } from '../helpers/run.js';

// ------------------------------------------------------------------------------------------ readers

interface ReadMessage {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

/** kcat -C from the beginning to the end of every partition. */
async function kcatRead(bootstrapServers: string, topic: string): Promise<ReadMessage[]> {
  return (await kcatReadAll(bootstrapServers, topic))
    .map((m) => ({
      partition: m.partition,
      offset: m.offset,
      ts: m.ts,
      key: m.key,
      value: m.payload,
      headers: m.headers,
    }))
    .sort(byPartitionOffset);
}

/** kafka-python 2.0.2 without a consumer group: assign every partition, seek to beginning, poll `expected`. */
async function kafkaPythonReadAll(
  bootstrapServers: string,
  topic: string,
  expected: number,
): Promise<ReadMessage[]> {
  const script = `
import json, os, sys, time
from kafka import KafkaConsumer, TopicPartition
bs, topic, expected = os.environ['BS'], os.environ['TOPIC'], int(os.environ['EXPECTED'])
c = KafkaConsumer(bootstrap_servers=bs, group_id=None, enable_auto_commit=False,
                  auto_offset_reset='earliest', request_timeout_ms=30000)
parts = None
deadline = time.time() + 30
while not parts and time.time() < deadline:
    parts = c.partitions_for_topic(topic)
    if not parts: time.sleep(0.2)
tps = [TopicPartition(topic, p) for p in sorted(parts or [])]
c.assign(tps)
c.seek_to_beginning(*tps)
out = []
while len(out) < expected and time.time() < deadline:
    for tp, msgs in c.poll(timeout_ms=500).items():
        for m in msgs:
            out.append({'partition': m.partition, 'offset': m.offset, 'ts': m.timestamp,
                        'key': None if m.key is None else m.key.decode('utf-8'),
                        'value': None if m.value is None else m.value.decode('utf-8'),
                        'headers': [[k, None if v is None else v.decode('utf-8')] for k, v in m.headers]})
c.close()
print(json.dumps(out))
`;
  const got = await runPythonJson<ReadMessage[]>(
    script,
    { BS: bootstrapServers, TOPIC: topic, EXPECTED: String(expected) },
    90_000,
  );
  return got.sort(byPartitionOffset);
}

// ------------------------------------------------------------------------------------------ setup

let tb: TestBroker;
let admin: Admin;

function baseOptions(clientId: string) {
  return { clientId, bootstrapBrokers: [tb.bootstrapServers], timeout: 15_000, retries: 3, retryDelay: 200 };
}

before(async () => {
  tb = await startTestBroker();
  admin = new Admin(baseOptions('brook-interop-plat-admin'));
});

after(async () => {
  await admin?.close().catch(() => {});
  await tb?.stop();
});

// ------------------------------------------------------------------------------------------ admin

describe('@platformatic/kafka admin', () => {
  test('createTopics → listTopics → metadata → deleteTopics', async () => {
    const topic = uniqueTopic('plat-admin');
    const created = await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    assert.equal(created.length, 1);
    assert.equal(created[0]!.name, topic);
    assert.equal(created[0]!.partitions, 3);

    assert.ok((await admin.listTopics()).includes(topic), 'listTopics must include the new topic');

    const md = await admin.metadata({ topics: [topic], forceUpdate: true });
    const tm = md.topics.get(topic);
    assert.ok(tm, 'metadata must describe the new topic');
    assert.equal(tm.partitionsCount, 3);
    for (const p of tm.partitions) {
      assert.ok(md.brokers.has(p.leader), `leader ${p.leader} must be a broker listed in metadata`);
    }

    await assert.rejects(
      admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 }),
      'creating an existing topic must fail (TOPIC_ALREADY_EXISTS)',
    );

    await admin.deleteTopics({ topics: [topic] });
    assert.ok(!(await admin.listTopics()).includes(topic), 'listTopics must not include a deleted topic');
  });
});

// ------------------------------------------------------------------------------------------ producer

interface Expected {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

describe('@platformatic/kafka producer', () => {
  const topic = uniqueTopic('plat-produce');
  const expected: Expected[] = [];

  test('acks 1 and acks -1, keys, headers, timestamps: offsets as reported', async () => {
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    const producer = new Producer({
      ...baseOptions('brook-interop-plat-producer'),
      serializers: stringSerializers,
    });
    try {
      const next = new Map<number, number>();
      const base = Date.UTC(2024, 5, 6, 7, 8, 9);
      for (const acks of [ProduceAcks.LEADER, ProduceAcks.ALL, ProduceAcks.LEADER]) {
        const round = expected.length;
        const batch: Omit<Expected, 'offset'>[] = [];
        for (let i = 0; i < 9; i++) {
          const n = round + i;
          batch.push({
            partition: i % 3,
            key: `plat-key-${n}`,
            value: `plat-value-${n} acks=${acks} ünïcode ✓`,
            headers: i % 3 === 1 ? {} : { idx: String(n), acks: String(acks) },
            timestamp: base + n * 10,
          });
        }
        const res = await producer.send({
          acks,
          messages: batch.map((m) => ({
            topic,
            partition: m.partition,
            key: m.key,
            value: m.value,
            headers: m.headers,
            timestamp: BigInt(m.timestamp),
          })),
        });
        assert.ok(res.offsets, `acks=${acks} must report offsets`);
        assert.equal(res.offsets.length, 3, 'one offset per partition');
        for (const o of res.offsets) {
          assert.equal(o.topic, topic);
          const want = next.get(o.partition) ?? 0;
          assert.equal(o.offset, BigInt(want), `acks=${acks} partition ${o.partition} base offset`);
          const mine = batch.filter((m) => m.partition === o.partition);
          mine.forEach((m, idx) => expected.push({ ...m, offset: want + idx }));
          next.set(o.partition, want + mine.length);
        }
      }
    } finally {
      await producer.close();
    }
    expected.sort(byPartitionOffset);
    assert.equal(expected.length, 27);
  });

  function compare(got: ReadMessage[], reader: string) {
    assert.equal(got.length, expected.length, `${reader} must read back exactly the messages produced`);
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i]!;
      const g = got[i]!;
      const where = `${reader}: partition ${e.partition} offset ${e.offset}`;
      assert.equal(g.partition, e.partition, where);
      assert.equal(g.offset, e.offset, where);
      assert.equal(g.key, e.key, `${where} key`);
      assert.equal(g.value, e.value, `${where} value`);
      assert.deepEqual(g.headers, Object.entries(e.headers), `${where} headers`);
      assert.equal(g.ts, e.timestamp, `${where} timestamp`);
    }
  }

  test('read back with kcat', async (t) => {
    assert.equal(expected.length, 27, 'the produce test must have run first');
    if (!(await requireTool(t, 'kcat', hasKcat, 'reading back needs kcat (apt-get install kcat)'))) return;
    compare(await kcatRead(tb.bootstrapServers, topic), 'kcat');
  });

  test('read back with kafka-python (no group)', async (t) => {
    assert.equal(expected.length, 27, 'the produce test must have run first');
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'apt-get install python3-kafka'))) return;
    compare(await kafkaPythonReadAll(tb.bootstrapServers, topic, expected.length), 'kafka-python');
  });

  test('idempotent producer: several batches, every message exactly once', async (t) => {
    const itopic = uniqueTopic('plat-idem');
    await admin.createTopics({ topics: [itopic], partitions: 2, replicas: 1 });
    const producer = new Producer({
      ...baseOptions('brook-interop-plat-idem'),
      serializers: stringSerializers,
      idempotent: true,
    });
    const values: string[] = [];
    try {
      for (let b = 0; b < 6; b++) {
        const messages = [];
        for (let i = 0; i < 20; i++) {
          const v = `pidem-${b}-${i}`;
          values.push(v);
          messages.push({ topic: itopic, key: `k${i % 5}`, value: v });
        }
        const res = await producer.send({ messages });
        assert.ok(res.offsets && res.offsets.length > 0);
      }
    } finally {
      await producer.close();
    }
    if (!(await requireTool(t, 'kcat', hasKcat, 'reading back needs kcat (apt-get install kcat)'))) return;
    const got = await kcatRead(tb.bootstrapServers, itopic);
    assert.equal(got.length, values.length, 'no missing and no duplicate messages');
    assert.deepEqual(new Set(got.map((m) => m.value)), new Set(values));
    for (const p of [0, 1]) {
      const mine = got.filter((m) => m.partition === p);
      assert.deepEqual(
        mine.map((m) => m.offset),
        mine.map((_, i) => i),
        `partition ${p}: dense offsets`,
      );
      const order = mine.map((m) => values.indexOf(m.value ?? ''));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `partition ${p}: send order kept`,
      );
    }
  });
});
