// @platformatic/kafka 1.35.0 with groupProtocol 'consumer' (KIP-848) against Brook: two consumers in one
// process share a 6-partition topic through ConsumerGroupHeartbeat, converge to 3+3 (the coordinator's
// own view, ConsumerGroupDescribe), and together read every produced record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { uniqueTopic, withBroker } from '../helpers/broker.js';

const CONFIG = {
  'group.consumer.heartbeat.interval.ms': '300',
  'group.consumer.min.heartbeat.interval.ms': '100',
};

test(
  '@platformatic/kafka groupProtocol=consumer: two members split 6 partitions 3+3 and read every record',
  { timeout: 120_000 },
  async () => {
    await withBroker({ config: CONFIG }, async (tb) => {
      const topic = uniqueTopic('plat-kip848');
      const groupId = uniqueTopic('plat-kip848-group');
      const base = { bootstrapBrokers: [tb.bootstrapServers], timeout: 15_000, retries: 3, retryDelay: 200 };
      const admin = new Admin({ ...base, clientId: 'kip848-admin' });
      const producer = new Producer({ ...base, clientId: 'kip848-producer', serializers: stringSerializers });
      const consumers: Consumer<string, string, string, string>[] = [];
      const seen = new Set<string>();
      const streams: { close(): Promise<void> }[] = [];
      const errors: string[] = [];
      let closing = false;
      try {
        await admin.createTopics({ topics: [topic], partitions: 6, replicas: 1 });
        const messages = Array.from({ length: 60 }, (_, i) => ({ topic, partition: i % 6, value: `v${i}` }));
        await producer.send({ messages });
        for (const name of ['a', 'b']) {
          const c = new Consumer({
            ...base,
            clientId: `kip848-${name}`,
            groupId,
            groupProtocol: 'consumer',
            deserializers: stringDeserializers,
          });
          consumers.push(c);
          const stream = await c.consume({ topics: [topic], mode: 'earliest' });
          streams.push(stream);
          stream.on('data', (m) => seen.add(m.value));
          // A fetch in flight when the test closes the consumer fails with "Client is closed".
          stream.on('error', (err: unknown) => {
            if (!closing) errors.push(String(err));
          });
        }
        const deadline = Date.now() + 60_000;
        let sizes: number[] = [];
        while (Date.now() < deadline) {
          const d = tb.broker.services.groups.consumerGroupDescribe(groupId);
          sizes = d.members
            .map((m) => m.assignment.topicPartitions.flatMap((t) => t.partitions).length)
            .sort();
          if (d.groupState === 'Stable' && sizes.join() === '3,3' && seen.size === 60) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(sizes, [3, 3]);
        assert.equal(seen.size, 60);
        const listed = tb.broker.services.groups.listGroups([], ['consumer']).groups.map((g) => g.groupId);
        assert.ok(listed.includes(groupId));
        assert.deepEqual(errors, []);
      } finally {
        closing = true;
        for (const s of streams) await s.close().catch(() => {});
        for (const c of consumers) await c.close().catch(() => {});
        await producer.close().catch(() => {});
        await admin.close().catch(() => {});
      }
    });
  },
);
