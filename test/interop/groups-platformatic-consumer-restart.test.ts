// @platformatic/kafka 1.35.0 with groupProtocol 'consumer' (KIP-848) across a broker restart on the same data
// dir and port: the consumer keeps its member id and epoch (the group was stored in __consumer_offsets), keeps
// its partitions, reads every record produced after the restart exactly once, and its commits keep landing.
// Before the group was persisted, its heartbeats got UNKNOWN_MEMBER_ID after the restart, which this client
// retries forever with the same epoch: it never got back into the group and its commits failed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Broker } from '../../src/index.js';
import { makeTempDir, removeDir, uniqueTopic } from '../helpers/broker.js';

const CONFIG = {
  'group.consumer.heartbeat.interval.ms': '300',
  'group.consumer.min.heartbeat.interval.ms': '100',
};

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(
  '@platformatic/kafka groupProtocol=consumer keeps consuming, without duplicates, across a broker restart',
  { timeout: 180_000 },
  async () => {
    const dir = makeTempDir('brook-plat-kip848-restart-');
    let broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir: dir, config: CONFIG });
    const port = broker.port;
    const topic = uniqueTopic('plat-restart');
    const groupId = uniqueTopic('plat-restart-group');
    const base = {
      bootstrapBrokers: [`127.0.0.1:${port}`],
      timeout: 5_000,
      retries: 20,
      retryDelay: 250,
    };
    const admin = new Admin({ ...base, clientId: 'restart-admin' });
    const producer = new Producer({ ...base, clientId: 'restart-producer', serializers: stringSerializers });
    const consumer = new Consumer({
      ...base,
      clientId: 'restart-consumer',
      groupId,
      groupProtocol: 'consumer',
      autocommit: 200,
      deserializers: stringDeserializers,
    });
    const counts = new Map<string, number>();
    let stream: { close(): Promise<void> } | undefined;
    const committed = (): number => {
      const r = broker.services.groups.fetchOffsets(groupId, [
        { name: topic, partitions: [0, 1, 2, 3, 4, 5] },
      ]);
      return r.topics[0]!.partitions.reduce((n, p) => n + Math.max(p.offset, 0), 0);
    };
    try {
      await admin.createTopics({ topics: [topic], partitions: 6, replicas: 1 });
      const batch = (from: number) =>
        Array.from({ length: 60 }, (_, i) => ({ topic, partition: i % 6, value: `v${from + i}` }));
      await producer.send({ messages: batch(0) });
      const s = await consumer.consume({ topics: [topic], mode: 'earliest' });
      stream = s;
      s.on('data', (m) => counts.set(m.value, (counts.get(m.value) ?? 0) + 1));
      // Reconnection errors while the broker is down are expected; what matters is what arrives.
      s.on('error', () => {});
      await until('the first 60 records', () => counts.size === 60, 60_000);
      await until('the first commits', () => committed() === 60, 30_000);
      const before = broker.services.groups.consumerGroupDescribe(groupId).members;
      assert.equal(before.length, 1);
      const { memberId, memberEpoch } = before[0]!;

      await producer.close();
      await broker.stop();
      broker = await Broker.start({ port, host: '127.0.0.1', dataDir: dir, config: CONFIG });

      // The coordinator knows the member again before it says anything: it was read back from disk.
      const loaded = broker.services.groups.consumerGroupDescribe(groupId);
      assert.deepEqual(
        loaded.members.map((m) => [m.memberId, m.memberEpoch]),
        [[memberId, memberEpoch]],
      );
      const producer2 = new Producer({
        ...base,
        clientId: 'restart-producer-2',
        serializers: stringSerializers,
      });
      try {
        await producer2.send({ messages: batch(60) });
      } finally {
        await producer2.close();
      }
      await until('the 60 records produced after the restart', () => counts.size === 120, 60_000);
      await until('commits after the restart', () => committed() === 120, 30_000);
      const after = broker.services.groups.consumerGroupDescribe(groupId);
      assert.equal(after.groupState, 'Stable');
      assert.deepEqual(
        after.members.map((m) => [m.memberId, m.memberEpoch]),
        [[memberId, memberEpoch]],
        'the same member, with the same epoch: no rejoin, no rebalance',
      );
      assert.equal(after.members[0]!.assignment.topicPartitions[0]!.partitions.length, 6);
      const duplicates = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
      assert.deepEqual(duplicates, []);
    } finally {
      if (stream) await stream.close().catch(() => {});
      await consumer.close().catch(() => {});
      await producer.close().catch(() => {});
      await admin.close().catch(() => {});
      await broker.stop().catch(() => {});
      removeDir(dir);
    }
  },
);
