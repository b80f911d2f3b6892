// Keys must land on the partitions Java's default partitioner (and librdkafka's murmur2_random) picks.
// References: the vectors of Kafka's UtilsTest.testMurmur2, and kafkajs's Java-compatible murmur2 port,
// compared on random keys; then end to end, through a real broker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/index.js';
import { murmur2, partitionForKey } from '../../src/client/partitioner.js';
import { uniqueTopic, withBroker } from '../helpers/broker.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

describe('murmur2 partitioner', () => {
  test("matches Kafka's UtilsTest.testMurmur2 vectors", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) assert.equal(murmur2(Buffer.from(key)), hash, key);
  });

  test('matches kafkajs (Java-compatible) murmur2 and partition on 1000 random keys', () => {
    for (let i = 0; i < 1000; i++) {
      const key = randomBytes(i % 67);
      const expected = kafkajsMurmur2(key);
      assert.equal(murmur2(key), expected, key.toString('hex'));
      for (const n of [1, 3, 7, 64, 1000]) {
        assert.equal(partitionForKey(key, n), (expected & 0x7fffffff) % n);
      }
    }
  });

  test('string keys hash as their UTF-8 bytes', () => {
    for (const key of ['hello', 'ключ', '键', '🙂 emoji']) {
      assert.equal(partitionForKey(key, 12), (kafkajsMurmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % 12);
    }
  });

  test('a keyed message lands on the Java partition; null keys spread round-robin', async () => {
    await withBroker({}, async (b) => {
      const topic = uniqueTopic('murmur');
      const admin = await Admin.connect(b.bootstrapServers);
      const producer = await Producer.connect(b.bootstrapServers);
      const consumer = await Consumer.connect({ bootstrap: b.bootstrapServers, maxWaitMs: 100 });
      try {
        await admin.createTopics([{ name: topic, partitions: 6 }]);
        const keys = Array.from({ length: 60 }, (_, i) => `user-${i}`);
        const sent = await producer.send({ topic, messages: keys.map((key) => ({ key, value: key })) });
        sent.forEach((m, i) =>
          assert.equal(m.partition, (kafkajsMurmur2(Buffer.from(keys[i]!)) & 0x7fffffff) % 6),
        );

        const unkeyed = await producer.send({
          topic,
          messages: Array.from({ length: 12 }, () => ({ value: 'v' })),
        });
        const counts = new Map<number, number>();
        for (const m of unkeyed) counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1);
        assert.deepEqual([...counts.values()], [2, 2, 2, 2, 2, 2]);

        await consumer.assign(
          [0, 1, 2, 3, 4, 5].map((partition) => ({ topic, partition, offset: 'earliest' as const })),
        );
        const seen: string[] = [];
        while (seen.length < keys.length) {
          for (const r of await consumer.poll()) {
            if (r.key === null) continue;
            const key = r.key.toString();
            assert.equal(r.partition, (kafkajsMurmur2(r.key) & 0x7fffffff) % 6, key);
            seen.push(key);
          }
        }
        assert.deepEqual(seen.sort(), [...keys].sort());
      } finally {
        await consumer.close();
        await producer.close();
        await admin.close();
      }
    });
  });
});
