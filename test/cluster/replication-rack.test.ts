// Fetch from the closest replica (KIP-392) between real in-process brokers in three racks: the leader
// sends a consumer whose client.rack matches a follower's broker.rack to that follower, which serves it.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { TestCluster, waitUntil } from '../helpers/in-memory-cluster.js';
import { connect, consumerFetch, produce } from './replication-helpers.js';

describe('fetch from the closest replica (KIP-392)', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start(
      3,
      {
        'replica.fetch.wait.max.ms': '100',
        'replica.fetch.backoff.ms': '100',
        'replica.selector.class': 'org.apache.kafka.common.replica.RackAwareReplicaSelector',
      },
      (id) => ({ 'broker.rack': `rack-${id}` }),
    );
    cluster.assignOffsetsTopic([1]);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("the leader names the follower in the consumer's rack; the follower serves it up to its high watermark", async () => {
    const topic = 'racked';
    await cluster.createTopic(topic, [[1, 2, 3]]);
    const leader = cluster.broker(1);
    await waitUntil(
      () => leader.services.replicas.replica(topic, 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const conn = await connect(leader);
    const follower = await connect(cluster.broker(2));
    try {
      for (let i = 0; i < 10; i++)
        assert.equal((await produce(conn, topic, 0, [`r${i}`], -1)).errorCode, ErrorCode.NONE);
      // A consumer in rack-2 asking the leader is sent to broker 2, with no records.
      const redirected = await consumerFetch(conn, topic, 0, 0, -1, 'rack-2');
      assert.equal(redirected.errorCode, ErrorCode.NONE);
      assert.equal(redirected.preferredReadReplica, 2);
      assert.equal(redirected.records.length, 0);
      // One in the leader's rack, or without a rack, reads from the leader.
      const local = await consumerFetch(conn, topic, 0, 0, -1, 'rack-1');
      assert.equal(local.preferredReadReplica, -1);
      assert.ok(local.records.length > 0);
      assert.equal((await consumerFetch(conn, topic, 0, 0, -1, '')).preferredReadReplica, -1);
      // The follower serves the consumer (v11+), once its high watermark has caught up.
      const log2 = cluster.broker(2).services.replicas.getLog(topic, 0)!;
      await waitUntil(() => log2.highWatermark === 10, 10_000, 'follower high watermark');
      const served = await consumerFetch(follower, topic, 0, 0, -1, 'rack-2');
      assert.equal(served.errorCode, ErrorCode.NONE);
      assert.equal(served.highWatermark, 10);
      assert.ok(served.records.length > 0);
      // Produce still goes to the leader only.
      assert.equal((await produce(follower, topic, 0, ['x'], 1)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      conn.close();
      follower.close();
    }

    // kafkajs with rackId follows the leader's PreferredReadReplica and reads everything.
    const kafka = new Kafka({
      clientId: 'brook-rack',
      brokers: cluster.bootstrapServers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'r10', partition: 0 }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'rack-readers', rackId: 'rack-3' });
    const read: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          read.push(message.value!.toString());
        },
      });
      await waitUntil(() => read.length >= 11, 30_000, 'reading 11 records');
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(
      read,
      Array.from({ length: 11 }, (_, i) => `r${i}`),
    );
  });
});
