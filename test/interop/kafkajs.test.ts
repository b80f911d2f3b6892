// kafkajs 2.2.4 against a real in-process Brook broker: admin (create/list/metadata/offsets/delete), producer
// (acks -1, keys, headers, timestamps, gzip) and the idempotent producer. Everything written is read back with a
// different client — kcat (librdkafka) — and compared field by field, offsets included.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type Message } from 'kafkajs';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasKcat, requireTool } from '../helpers/external.js';
import { byPartitionOffset, kcatReadAll } from '../helpers/kcat.js';

// ------------------------------------------------------------------------------------------ setup

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;

function newKafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [tb.bootstrapServers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 15_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

before(async () => {
  tb = await startTestBroker();
  kafka = newKafka('brook-interop-kafkajs');
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect().catch(() => {});
  await tb?.stop();
});

// ------------------------------------------------------------------------------------------ admin

describe('kafkajs admin', () => {
  test('createTopics → listTopics → fetchTopicMetadata → fetchTopicOffsets → deleteTopics', async () => {
    const topic = uniqueTopic('kjs-admin');
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    assert.equal(created, true, 'createTopics should report that it created the topic');

    const again = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    assert.equal(
      again,
      false,
      'creating an existing topic must answer TOPIC_ALREADY_EXISTS (kafkajs → false)',
    );

    assert.ok((await admin.listTopics()).includes(topic), 'listTopics must include the new topic');

    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(md.topics.length, 1);
    assert.equal(md.topics[0]!.name, topic);
    const parts = [...md.topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId);
    assert.deepEqual(
      parts.map((p) => p.partitionId),
      [0, 1, 2],
    );
    for (const p of parts) {
      assert.equal(p.partitionErrorCode, 0);
      assert.ok(p.leader >= 0, `partition ${p.partitionId} must have a leader, got ${p.leader}`);
      assert.deepEqual(p.replicas, [p.leader]);
      assert.deepEqual(p.isr, [p.leader]);
    }

    const offsets = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(
      offsets
        .map((o) => ({ partition: o.partition, offset: o.offset, high: o.high, low: o.low }))
        .sort((a, b) => a.partition - b.partition),
      [0, 1, 2].map((partition) => ({ partition, offset: '0', high: '0', low: '0' })),
    );

    // Write something so that deleting provably drops data, not just the name.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { partition: 1, value: 'a' },
        { partition: 1, value: 'b' },
      ],
    });
    await producer.disconnect();
    const afterWrite = await admin.fetchTopicOffsets(topic);
    assert.equal(afterWrite.find((o) => o.partition === 1)?.high, '2');

    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    assert.ok(!(await admin.listTopics()).includes(topic), 'listTopics must not include a deleted topic');
    await assert.rejects(
      admin.fetchTopicMetadata({ topics: [topic] }),
      /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/i,
      'metadata for a deleted topic must say UNKNOWN_TOPIC_OR_PARTITION',
    );

    // Re-creating the same name starts empty.
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }),
      true,
    );
    const fresh = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(
      fresh.map((o) => [o.partition, o.high]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [0, '0'],
        [1, '0'],
      ],
    );
    await admin.deleteTopics({ topics: [topic] });
  });
});

// ------------------------------------------------------------------------------------------ producer

interface Sent {
  partition: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: string;
}

describe('kafkajs producer', () => {
  test('acks -1 with keys, headers, timestamps and gzip: read back by kcat byte for byte', async (t) => {
    const topic = uniqueTopic('kjs-produce');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      const base = Date.UTC(2024, 0, 2, 3, 4, 5);
      const sent: Sent[] = [];
      const baseOffsets = new Map<number, number>();
      // Three sends: uncompressed, gzip, gzip with a big compressible value; explicit partitions so the expected
      // offset of every message is known from the per-partition base offsets kafkajs returns.
      const rounds: Array<{ compression: CompressionTypes; big: boolean }> = [
        { compression: CompressionTypes.None, big: false },
        { compression: CompressionTypes.GZIP, big: false },
        { compression: CompressionTypes.GZIP, big: true },
      ];
      const expected: Array<Sent & { offset: number }> = [];
      for (const [round, { compression, big }] of rounds.entries()) {
        const batch: Sent[] = [];
        for (let i = 0; i < 12; i++) {
          const n = round * 100 + i;
          batch.push({
            partition: i % 3,
            key: i === 5 ? null : `key-${n}`,
            value: i === 7 ? null : big ? `big-${n}-` + 'x'.repeat(50_000) : `value-${n} héllo ✓`,
            headers: i % 4 === 0 ? {} : { trace: `t-${n}`, 'content-type': 'text/plain' },
            timestamp: String(base + n * 1000),
          });
        }
        const messages: Message[] = batch.map((m) => ({
          partition: m.partition,
          key: m.key,
          value: m.value,
          headers: m.headers,
          timestamp: m.timestamp,
        }));
        const res = await producer.send({ topic, acks: -1, compression, messages });
        assert.equal(res.length, 3, 'one RecordMetadata per partition written');
        for (const md of res) {
          assert.equal(md.errorCode, 0);
          assert.equal(md.topicName, topic);
          const expectBase = baseOffsets.get(md.partition) ?? 0;
          assert.equal(md.baseOffset, String(expectBase), `partition ${md.partition} base offset`);
          const inPartition = batch.filter((m) => m.partition === md.partition);
          inPartition.forEach((m, idx) => expected.push({ ...m, offset: expectBase + idx }));
          baseOffsets.set(md.partition, expectBase + inPartition.length);
        }
        sent.push(...batch);
      }

      const offsets = await admin.fetchTopicOffsets(topic);
      for (const o of offsets) {
        assert.equal(
          o.high,
          String(baseOffsets.get(o.partition)),
          `high watermark of partition ${o.partition}`,
        );
        assert.equal(o.low, '0');
      }

      if (
        !(await requireTool(
          t,
          'kcat',
          hasKcat,
          'reading back what kafkajs produced needs kcat (apt-get install kcat)',
        ))
      )
        return;
      const got = (await kcatReadAll(tb.bootstrapServers, topic)).sort(byPartitionOffset);
      expected.sort(byPartitionOffset);
      assert.equal(got.length, expected.length, 'kcat must read back exactly the messages produced');
      for (let i = 0; i < expected.length; i++) {
        const e = expected[i]!;
        const g = got[i]!;
        const where = `message ${i} (partition ${e.partition} offset ${e.offset})`;
        assert.equal(g.partition, e.partition, where);
        assert.equal(g.offset, e.offset, where);
        assert.equal(g.key, e.key, `${where} key`);
        assert.equal(g.payload, e.value, `${where} value`);
        assert.deepEqual(g.headers, Object.entries(e.headers), `${where} headers`);
        assert.equal(g.tstype, 'create', `${where} timestamp type`);
        assert.equal(String(g.ts), e.timestamp, `${where} timestamp`);
      }
    } finally {
      await producer.disconnect();
    }
  });

  test('default partitioner: the same key always lands in the same partition', async (t) => {
    const topic = uniqueTopic('kjs-keys');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
      for (let round = 0; round < 3; round++) {
        await producer.send({
          topic,
          acks: -1,
          messages: keys.map((k) => ({ key: k, value: `${k}-${round}` })),
        });
      }
      const highs = await admin.fetchTopicOffsets(topic);
      assert.equal(
        highs.reduce((s, o) => s + Number(o.high), 0),
        keys.length * 3,
      );
      if (!(await requireTool(t, 'kcat', hasKcat, 'reading back needs kcat (apt-get install kcat)'))) return;
      const got = (await kcatReadAll(tb.bootstrapServers, topic)).sort(byPartitionOffset);
      assert.equal(got.length, keys.length * 3);
      for (const k of keys) {
        const mine = got.filter((m) => m.key === k);
        assert.equal(new Set(mine.map((m) => m.partition)).size, 1, `key ${k} must stay in one partition`);
        assert.deepEqual(
          mine.map((m) => m.payload),
          [`${k}-0`, `${k}-1`, `${k}-2`],
          `key ${k}: values in send order`,
        );
      }
    } finally {
      await producer.disconnect();
    }
  });

  test('idempotent producer (maxInFlightRequests 1): every message exactly once', async (t) => {
    const topic = uniqueTopic('kjs-idem');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const values: string[] = [];
    try {
      for (let b = 0; b < 8; b++) {
        const messages: Message[] = [];
        for (let i = 0; i < 25; i++) {
          const v = `idem-${b}-${i}`;
          values.push(v);
          messages.push({ key: `k-${i % 7}`, value: v, headers: { batch: String(b) } });
        }
        const res = await producer.send({
          topic,
          messages,
          compression: b % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP,
        });
        for (const md of res) assert.equal(md.errorCode, 0);
      }
    } finally {
      await producer.disconnect();
    }
    const highs = await admin.fetchTopicOffsets(topic);
    assert.equal(
      highs.reduce((s, o) => s + Number(o.high), 0),
      values.length,
      'sum of high watermarks = messages sent',
    );

    if (!(await requireTool(t, 'kcat', hasKcat, 'reading back needs kcat (apt-get install kcat)'))) return;
    const got = (await kcatReadAll(tb.bootstrapServers, topic)).sort(byPartitionOffset);
    const counts = new Map<string, number>();
    for (const m of got) counts.set(m.payload ?? '<null>', (counts.get(m.payload ?? '<null>') ?? 0) + 1);
    for (const v of values) assert.equal(counts.get(v), 1, `${v} must be stored exactly once`);
    assert.equal(got.length, values.length, 'no extra messages');
    // Per partition: offsets are dense from 0 and the messages keep the send order.
    for (const p of [0, 1, 2]) {
      const mine = got.filter((m) => m.partition === p);
      assert.deepEqual(
        mine.map((m) => m.offset),
        mine.map((_, i) => i),
        `partition ${p} offsets`,
      );
      const order = mine.map((m) => values.indexOf(m.payload ?? ''));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `partition ${p} keeps send order`,
      );
      for (const m of mine) {
        const batch = /^idem-(\d+)-/.exec(m.payload ?? '')?.[1];
        assert.deepEqual(m.headers, [['batch', batch ?? '?']]);
      }
    }
  });
});
