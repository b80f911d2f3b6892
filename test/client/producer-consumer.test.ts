// Producer → broker → Consumer round trips with Brook's own client: keys, headers, timestamps, null
// values, every compression codec, start positions, skipping inside a batch, big batches and acks=0.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/index.js';
import type { CompressionName } from '../../src/client/producer.js';
import type { ConsumerRecord } from '../../src/client/consumer.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { fetchOnce } from '../helpers/raw-fetch.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';

describe('client Producer and Consumer', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  before(async () => {
    broker = await startTestBroker();
    admin = await Admin.connect(broker.bootstrapServers);
    producer = await Producer.connect(broker.bootstrapServers);
  });
  after(async () => {
    await producer.close();
    await admin.close();
    await broker.stop();
  });

  async function newTopic(partitions = 1): Promise<string> {
    const topic = uniqueTopic('pc');
    await admin.createTopics([{ name: topic, partitions }]);
    return topic;
  }

  async function consume(
    topic: string,
    count: number,
    opts: { partition?: number; offset?: number | 'earliest' | 'latest'; partitionMaxBytes?: number } = {},
  ): Promise<ConsumerRecord[]> {
    const consumer = await Consumer.connect({
      bootstrap: broker.bootstrapServers,
      maxWaitMs: 100,
      partitionMaxBytes: opts.partitionMaxBytes,
    });
    try {
      await consumer.assign([{ topic, partition: opts.partition ?? 0, offset: opts.offset ?? 'earliest' }]);
      const out: ConsumerRecord[] = [];
      if (count === 0) return out;
      for await (const r of consumer) {
        out.push(r);
        if (out.length === count) break;
      }
      return out;
    } finally {
      await consumer.close();
    }
  }

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    test(`round-trips keys, values, headers and timestamps with ${compression}`, async () => {
      const topic = await newTopic();
      const messages = [
        {
          key: 'k1',
          value: 'hello',
          headers: [
            { key: 'h', value: 'one' },
            { key: 'h', value: 'two' },
          ],
          timestamp: 1_700_000_000_000,
        },
        {
          key: Buffer.from([0, 1, 2, 255]),
          value: Buffer.alloc(10_000, 7),
          headers: { trace: 'abc', empty: '' },
        },
        { value: null, timestamp: 1_700_000_000_123 },
      ];
      const sent = await producer.send({
        topic,
        messages: messages.map((m) => ({ ...m, partition: 0 })),
        compression,
      });
      assert.deepEqual(
        sent.map((s) => [s.topic, s.partition, s.offset]),
        [
          [topic, 0, 0],
          [topic, 0, 1],
          [topic, 0, 2],
        ],
      );

      const raw = await fetchOnce(broker.bootstrapServers, topic, 0, 0n);
      assert.equal(raw.batches.length, 1, 'one send = one batch per partition');
      assert.equal(raw.batches[0]!.codec, compression);

      const got = await consume(topic, 3);
      assert.deepEqual(
        got.map((r) => r.offset),
        [0, 1, 2],
      );
      assert.equal(got[0]!.key?.toString(), 'k1');
      assert.equal(got[0]!.value?.toString(), 'hello');
      assert.deepEqual(
        got[0]!.headers.map((h) => [h.key, h.value?.toString()]),
        [
          ['h', 'one'],
          ['h', 'two'],
        ],
      );
      assert.equal(got[0]!.timestamp, 1_700_000_000_000);
      assert.deepEqual(got[1]!.key, Buffer.from([0, 1, 2, 255]));
      assert.deepEqual(got[1]!.value, Buffer.alloc(10_000, 7));
      assert.deepEqual(
        got[1]!.headers.map((h) => [h.key, h.value?.toString()]),
        [
          ['trace', 'abc'],
          ['empty', ''],
        ],
      );
      assert.equal(got[2]!.key, null);
      assert.equal(got[2]!.value, null);
      assert.equal(got[2]!.timestamp, 1_700_000_000_123);
    });
  }

  test('starts at an offset inside a batch, skipping the records before it', async () => {
    const topic = await newTopic();
    await producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })),
      compression: 'lz4',
    });
    const got = await consume(topic, 5, { offset: 5 });
    assert.deepEqual(
      got.map((r) => [r.offset, r.value?.toString()]),
      [5, 6, 7, 8, 9].map((i) => [i, `m${i}`]),
    );
  });

  test("'latest' sees only what is produced after assign; long poll wakes on the append", async () => {
    const topic = await newTopic();
    await producer.send({ topic, messages: [{ value: 'old' }] });
    const consumer = await Consumer.connect({ bootstrap: broker.bootstrapServers, maxWaitMs: 5_000 });
    try {
      await consumer.assign([{ topic, partition: 0, offset: 'latest' }]);
      assert.equal(consumer.position(topic, 0), 1);
      const started = Date.now();
      const polled = consumer.poll();
      await new Promise((r) => setTimeout(r, 100));
      await producer.send({ topic, messages: [{ value: 'new' }] });
      const got = await polled;
      assert.deepEqual(
        got.map((r) => [r.offset, r.value?.toString()]),
        [[1, 'new']],
      );
      assert.ok(Date.now() - started < 4_000, 'the parked fetch answered on append, not after MaxWaitMs');
    } finally {
      await consumer.close();
    }
  });

  test('a batch larger than the per-partition limit still comes through', async () => {
    const topic = await newTopic();
    const big = Array.from({ length: 50 }, (_, i) => ({ value: Buffer.alloc(1_000, i) }));
    await producer.send({ topic, messages: big });
    await producer.send({ topic, messages: big });
    const got = await consume(topic, 100, { partitionMaxBytes: 512 });
    assert.deepEqual(
      got.map((r) => r.offset),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  test('spreads one send over partitions: a batch per partition, offsets in input order', async () => {
    const topic = await newTopic(3);
    const sent = await producer.send({
      topic,
      messages: Array.from({ length: 9 }, (_, i) => ({ value: `v${i}`, partition: i % 3 })),
    });
    assert.deepEqual(
      sent.map((s) => [s.partition, s.offset]),
      Array.from({ length: 9 }, (_, i) => [i % 3, Math.floor(i / 3)]),
    );
    for (const p of [0, 1, 2]) {
      assert.equal((await fetchOnce(broker.bootstrapServers, topic, p, 0n)).batches.length, 1);
      assert.deepEqual(
        (await consume(topic, 3, { partition: p })).map((r) => r.value?.toString()),
        [p, p + 3, p + 6].map((i) => `v${i}`),
      );
    }
  });

  test('acks=0 returns offset -1 and the records still arrive', async () => {
    const topic = await newTopic();
    const sent = await producer.send({ topic, messages: [{ value: 'fire' }, { value: 'forget' }], acks: 0 });
    assert.deepEqual(
      sent.map((s) => s.offset),
      [-1, -1],
    );
    assert.deepEqual(
      (await consume(topic, 2)).map((r) => r.value?.toString()),
      ['fire', 'forget'],
    );
  });

  test('errors name the topic and partition', async () => {
    const topic = await newTopic(2);
    await assert.rejects(
      producer.send({ topic, messages: [{ value: 'x', partition: 7 }] }),
      (e: Error & { code: number }) => {
        assert.equal(e.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        assert.match(e.message, new RegExp(`${topic}-7`));
        return true;
      },
    );
    await assert.rejects(producer.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] }), {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    const consumer = await Consumer.connect({
      bootstrap: broker.bootstrapServers,
      offsetReset: 'none',
      maxWaitMs: 50,
    });
    try {
      await consumer.assign([{ topic, partition: 0, offset: 42 }]);
      await assert.rejects(consumer.poll(), { code: ErrorCode.OFFSET_OUT_OF_RANGE });
    } finally {
      await consumer.close();
    }
  });
});
