// Replication between real in-process brokers (own ports, own data dirs, followers fetching over TCP);
// only the coordinator (who leads, who is in the ISR) is the in-memory test double.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { iterateBatches, readBatchInfo } from '../../src/protocol/records.js';
import { TestCluster, waitUntil } from '../helpers/in-memory-cluster.js';
import { connect, consumerFetch, produce, segmentBytes } from './replication-helpers.js';

describe('replication (3 brokers, hand-set leaders)', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start(3, {
      'replica.fetch.wait.max.ms': '100',
      'replica.fetch.backoff.ms': '100',
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('followers copy the leader byte for byte; batches carry the leader epoch; Metadata names leader, replicas, ISR', async () => {
    await cluster.createTopic('copied', [[1, 2, 3]]);
    const leader = cluster.broker(1);
    await waitUntil(
      () => leader.services.replicas.replica('copied', 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const conn = await connect(leader);
    try {
      for (let i = 0; i < 20; i++) {
        const r = await produce(conn, 'copied', 0, [`a${i}`, `b${i}`], -1);
        assert.equal(r.errorCode, ErrorCode.NONE);
        assert.equal(r.baseOffset, i * 2);
      }
      // acks=all answered: both followers have every record, and the high watermark is the log end.
      const logs = [1, 2, 3].map((id) => cluster.broker(id).services.replicas.getLog('copied', 0)!);
      for (const log of logs) assert.equal(log.logEndOffset, 40);
      assert.equal(logs[0]!.highWatermark, 40);
      await waitUntil(() => logs.every((l) => l.highWatermark === 40), 10_000, 'followers high watermark');
      const bytes = await Promise.all(
        [1, 2, 3].map((id) => segmentBytes(cluster.nodes.get(id)!.dataDir, 'copied', 0)),
      );
      assert.ok(bytes[0]!.length > 0);
      assert.ok(bytes[1]!.equals(bytes[0]!), 'follower 2 holds the same bytes');
      assert.ok(bytes[2]!.equals(bytes[0]!), 'follower 3 holds the same bytes');
      const state = cluster.coordinator.state('copied', 0)!;
      for (const { pos } of iterateBatches(bytes[0]!)) {
        assert.equal(readBatchInfo(bytes[0]!, pos).partitionLeaderEpoch, state.leaderEpoch);
      }

      const md = await conn.send(
        ApiKey.Metadata,
        { topics: [{ name: 'copied', topicId: undefined }] },
        { maxVersion: 12 },
      );
      assert.deepEqual(
        md.brokers.map((b) => b.nodeId),
        [1, 2, 3],
      );
      const p = md.topics[0]!.partitions[0]!;
      assert.equal(p.leaderId, 1);
      assert.equal(p.leaderEpoch, state.leaderEpoch);
      assert.deepEqual(p.replicaNodes, [1, 2, 3]);
      assert.deepEqual(p.isrNodes, [1, 2, 3]);
      assert.deepEqual(p.offlineReplicas, []);

      // A follower refuses produce, and consumer fetches older than v11 (no client rack, KIP-392).
      const followerConn = await connect(cluster.broker(2));
      try {
        assert.equal(
          (await produce(followerConn, 'copied', 0, ['x'], 1)).errorCode,
          ErrorCode.NOT_LEADER_OR_FOLLOWER,
        );
        assert.equal(
          (await consumerFetch(followerConn, 'copied', 0, 0, -1, '', 10)).errorCode,
          ErrorCode.NOT_LEADER_OR_FOLLOWER,
        );
      } finally {
        followerConn.close();
      }
    } finally {
      conn.close();
    }
  });

  it('the high watermark bounds consumers; acks=all waits for the ISR and times out without it', async () => {
    await cluster.createTopic('bounded', [[1, 2, 3]], { 'min.insync.replicas': '2' });
    const leader = cluster.broker(1);
    await waitUntil(
      () => leader.services.replicas.replica('bounded', 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const conn = await connect(leader);
    try {
      assert.equal((await produce(conn, 'bounded', 0, ['one', 'two'], -1)).errorCode, ErrorCode.NONE);
      await cluster.stopNode(3);
      // acks=1 is answered after the leader's write; the ISR (still 1,2,3) does not have it.
      assert.equal((await produce(conn, 'bounded', 0, ['three'], 1)).errorCode, ErrorCode.NONE);
      const log = leader.services.replicas.getLog('bounded', 0)!;
      assert.equal(log.logEndOffset, 3);
      const fetched = await consumerFetch(conn, 'bounded', 0);
      assert.equal(fetched.errorCode, ErrorCode.NONE);
      assert.equal(fetched.highWatermark, 2);
      let count = 0;
      for (const { pos } of iterateBatches(fetched.records))
        count += readBatchInfo(fetched.records, pos).recordsCount;
      assert.equal(count, 2, 'the record above the high watermark is not served');
      const latest = await conn.send(
        ApiKey.ListOffsets,
        {
          replicaId: -1,
          isolationLevel: 0,
          topics: [
            { name: 'bounded', partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1 }] },
          ],
        },
        { maxVersion: 7 },
      );
      assert.equal(latest.topics[0]!.partitions[0]!.offset, 2n);

      // acks=all cannot complete while the stopped follower is in the ISR.
      const started = Date.now();
      assert.equal(
        (await produce(conn, 'bounded', 0, ['four'], -1, 500)).errorCode,
        ErrorCode.REQUEST_TIMED_OUT,
      );
      assert.ok(Date.now() - started >= 450);

      // With the ISR down to the leader alone, min.insync.replicas=2 refuses before appending (the
      // other follower is stopped too, or it would rejoin the ISR at its next fetch).
      await cluster.stopNode(2);
      const st = cluster.coordinator.state('bounded', 0)!;
      cluster.coordinator.setPartition('bounded', 0, { leader: 1, isr: [1] });
      await waitUntil(
        () => leader.services.replicas.replica('bounded', 0)!.state.partitionEpoch > st.partitionEpoch,
        5000,
        'ISR change',
      );
      const end = log.logEndOffset;
      assert.equal(
        (await produce(conn, 'bounded', 0, ['five'], -1)).errorCode,
        ErrorCode.NOT_ENOUGH_REPLICAS,
      );
      assert.equal(log.logEndOffset, end, 'nothing appended');
      // acks=1 still works, and the high watermark is the leader's log end with an ISR of one.
      assert.equal((await produce(conn, 'bounded', 0, ['six'], 1)).errorCode, ErrorCode.NONE);
      await waitUntil(() => log.highWatermark === log.logEndOffset, 5000, 'high watermark');
    } finally {
      conn.close();
      if (!cluster.nodes.get(2)!.broker) await cluster.startNode(2);
      await cluster.startNode(3);
    }
  });

  it('a new leader keeps deduplicating an idempotent producer: its state was rebuilt from the replicated batches', async () => {
    await cluster.createTopic('idempotent', [[1, 2, 3]]);
    await waitUntil(
      () => cluster.broker(1).services.replicas.replica('idempotent', 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const producer = (baseSequence: number) => ({ producerId: 4242n, producerEpoch: 0, baseSequence });
    let conn = await connect(cluster.broker(1));
    try {
      assert.deepEqual(await produce(conn, 'idempotent', 0, ['s0', 's1'], -1, 30_000, producer(0)), {
        errorCode: ErrorCode.NONE,
        baseOffset: 0,
      });
      assert.deepEqual(await produce(conn, 'idempotent', 0, ['s2'], -1, 30_000, producer(2)), {
        errorCode: ErrorCode.NONE,
        baseOffset: 2,
      });
    } finally {
      conn.close();
    }
    cluster.coordinator.setPartition('idempotent', 0, { leader: 2 });
    const b2 = cluster.broker(2);
    await waitUntil(
      () => b2.services.replicas.replica('idempotent', 0)?.isLeader === true,
      10_000,
      'new leader',
    );
    conn = await connect(b2);
    try {
      // The producer retries its last batch at the new leader (its answer was lost): a duplicate.
      assert.deepEqual(await produce(conn, 'idempotent', 0, ['s2'], -1, 30_000, producer(2)), {
        errorCode: ErrorCode.NONE,
        baseOffset: 2,
      });
      assert.equal(b2.services.replicas.getLog('idempotent', 0)!.logEndOffset, 3, 'nothing appended twice');
      assert.equal(
        (await produce(conn, 'idempotent', 0, ['s9'], -1, 30_000, producer(9))).errorCode,
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      );
      assert.deepEqual(await produce(conn, 'idempotent', 0, ['s3'], -1, 30_000, producer(3)), {
        errorCode: ErrorCode.NONE,
        baseOffset: 3,
      });
    } finally {
      conn.close();
    }
  });

  it('a partition state that arrives before its topic is known creates the replica once the topic is', async () => {
    const topic = {
      name: 'late-config',
      topicId: '6d6a7b0e-6f3e-4b8e-9a55-2d0c7f5b9a11',
      partitions: 1,
      replicationFactor: 3,
      configs: {},
    };
    cluster.coordinator.setPartition(topic.name, 0, { replicas: [3, 1, 2], leader: 3, isr: [3, 1, 2] });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(cluster.broker(3).services.replicas.getLog(topic.name, 0), undefined);
    for (const id of [1, 2, 3]) await cluster.broker(id).services.metadata.putTopic(topic);
    await waitUntil(
      () => cluster.broker(3).services.replicas.replica(topic.name, 0)?.isLeader === true,
      10_000,
      'leader once the topic is known',
    );
    const conn = await connect(cluster.broker(3));
    try {
      assert.equal((await produce(conn, topic.name, 0, ['late'], -1)).errorCode, ErrorCode.NONE);
    } finally {
      conn.close();
    }
    for (const id of [1, 2])
      assert.equal(cluster.broker(id).services.replicas.getLog(topic.name, 0)!.logEndOffset, 1);
  });

  it('a leader whose coordination session is lost stops leading at once, and resumes with a new session', async () => {
    await cluster.createTopic('fenced', [[1, 2, 3]]);
    const b1 = cluster.broker(1);
    await waitUntil(() => b1.services.replicas.replica('fenced', 0)?.isLeader === true, 10_000, 'leadership');
    const conn = await connect(b1);
    try {
      assert.equal((await produce(conn, 'fenced', 0, ['before'], -1)).errorCode, ErrorCode.NONE);
      cluster.coordinator.setSession(1, false);
      assert.equal(
        (await produce(conn, 'fenced', 0, ['lost'], 1)).errorCode,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
      );
      assert.equal(
        (await consumerFetch(conn, 'fenced', 0, 0, -1, '', 10)).errorCode,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
      );
      cluster.coordinator.setSession(1, true);
      await waitUntil(
        () => b1.services.replicas.replica('fenced', 0)?.isLeader === true,
        10_000,
        'leading again',
      );
      assert.equal((await produce(conn, 'fenced', 0, ['after'], -1)).errorCode, ErrorCode.NONE);
      assert.equal(b1.services.replicas.getLog('fenced', 0)!.logEndOffset, 2);
    } finally {
      conn.close();
    }
  });
});
