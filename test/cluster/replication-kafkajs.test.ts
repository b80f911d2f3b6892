// kafkajs (a real client) against three real in-process brokers: an idempotent acks=all producer keeps
// writing while leadership moves (a clean move, then the leader stopped and another elected), and a
// consumer group reads everything back exactly once, in order. Only the coordinator is a test double.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { TestCluster, waitUntil } from '../helpers/in-memory-cluster.js';

describe('kafkajs across leader changes (3 brokers)', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start(3, {
      'replica.fetch.wait.max.ms': '100',
      'replica.fetch.backoff.ms': '100',
    });
    cluster.assignOffsetsTopic([3]);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('every acknowledged acks=all write is read back once, in order', async () => {
    const topic = 'kjs-failover';
    await cluster.createTopic(topic, [[1, 2, 3]], { 'min.insync.replicas': '2' });
    await waitUntil(
      () => cluster.broker(1).services.replicas.replica(topic, 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const kafka = new Kafka({
      clientId: 'brook-repl-kafkajs',
      brokers: cluster.bootstrapServers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const acked: string[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const value = `m${i}`;
        await producer.send({ topic, acks: -1, messages: [{ value, partition: 0 }] });
        acked.push(value);
      }
    })();
    try {
      await waitUntil(() => acked.length >= 30, 20_000, 'first writes');
      // A clean move: 2 leads in a new epoch, 1 becomes its follower.
      cluster.coordinator.setPartition(topic, 0, { leader: 2, isr: [1, 2, 3] });
      let mark = acked.length;
      await waitUntil(() => acked.length >= mark + 30, 20_000, 'writes to the second leader');
      assert.equal(cluster.broker(2).services.replicas.replica(topic, 0)?.isLeader, true);
      // The leader stops; 3 is elected from the ISR.
      await cluster.stopNode(2);
      cluster.coordinator.setPartition(topic, 0, { leader: 3, isr: [3, 1] });
      mark = acked.length;
      await waitUntil(() => acked.length >= mark + 30, 30_000, 'writes to the third leader');
    } finally {
      stop = true;
      await writing;
      await producer.disconnect();
    }

    const consumer = kafka.consumer({ groupId: 'repl-readers', sessionTimeout: 10_000 });
    const read: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          read.push(message.value!.toString());
        },
      });
      await waitUntil(() => read.length >= acked.length, 30_000, `reading ${acked.length} records`);
      await new Promise((r) => setTimeout(r, 300)); // anything extra (a duplicate) would show up now
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(read, acked, 'exactly the acknowledged records, once each, in order');
    assert.ok(acked.length >= 90);
  });
});

describe('kafkajs consumer group across a coordinator failover (3 brokers)', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start(3, {
      'replica.fetch.wait.max.ms': '100',
      'replica.fetch.backoff.ms': '100',
    });
    // __consumer_offsets is replicated too: 3 coordinates first, 1 and 2 follow.
    cluster.assignOffsetsTopic([3, 1, 2]);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('committed offsets survive the coordinator: the new leader of the offsets partition reloads them', async () => {
    const topic = 'kjs-group-failover';
    await cluster.createTopic(topic, [[1, 2, 3]]);
    await waitUntil(
      () =>
        cluster.broker(1).services.replicas.replica(topic, 0)?.isLeader === true &&
        cluster.broker(3).services.replicas.replica('__consumer_offsets', 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const kafka = new Kafka({
      clientId: 'brook-repl-groups',
      brokers: cluster.bootstrapServers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++)
        await producer.send({ topic, acks: -1, messages: [{ value: `g${i}`, partition: 0 }] });
    };
    await send(0, 20);

    const readAll = async (committed: number, count: number): Promise<string[]> => {
      const consumer = kafka.consumer({ groupId: 'failover-group', sessionTimeout: 10_000 });
      const read: string[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            read.push(message.value!.toString());
          },
        });
        await waitUntil(() => read.length >= count, 30_000, `reading ${count} records`);
        await consumer.commitOffsets([{ topic, partition: 0, offset: String(committed + read.length) }]);
      } finally {
        await consumer.disconnect();
      }
      return read;
    };
    const first = await readAll(0, 20);
    assert.deepEqual(
      first,
      Array.from({ length: 20 }, (_, i) => `g${i}`),
    );

    // The coordinator's broker dies; 1 (in the offsets partition's ISR) takes the partition over.
    await cluster.stopNode(3);
    cluster.coordinator.setPartition('__consumer_offsets', 0, { leader: 1, isr: [1, 2] });
    cluster.coordinator.setPartition(topic, 0, { leader: 1, isr: [1, 2] });
    await send(20, 30);
    const second = await readAll(20, 10);
    assert.deepEqual(
      second,
      Array.from({ length: 10 }, (_, i) => `g${20 + i}`),
      'resumed at the committed offset',
    );
    await producer.disconnect();
  });
});
