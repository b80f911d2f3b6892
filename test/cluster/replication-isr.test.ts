// ISR changes and leader changes between real in-process brokers; the coordinator is the in-memory
// test double (a controller would move leadership the same way: a new state with a higher epoch).
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { iterateBatches, readBatchInfo } from '../../src/protocol/records.js';
import { TestCluster, waitUntil } from '../helpers/in-memory-cluster.js';
import { connect, consumerFetch, produce, segmentBytes } from './replication-helpers.js';

describe('ISR and leader changes (3 brokers)', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start(3, {
      'replica.lag.time.max.ms': '1000',
      'replica.fetch.wait.max.ms': '100',
      'replica.fetch.backoff.ms': '100',
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a stopped follower leaves the ISR after replica.lag.time.max.ms and rejoins once caught up', async () => {
    await cluster.createTopic('lagging', [[1, 2, 3]]);
    const leader = cluster.broker(1);
    await waitUntil(
      () => leader.services.replicas.replica('lagging', 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    const conn = await connect(leader);
    try {
      assert.equal((await produce(conn, 'lagging', 0, ['a'], -1)).errorCode, ErrorCode.NONE);
      await cluster.stopNode(3);
      const stoppedAt = Date.now();
      // Writes go on with acks=1; follower 3 falls behind and is dropped (generous bound for a loaded machine).
      for (let i = 0; i < 5; i++) await produce(conn, 'lagging', 0, [`b${i}`], 1);
      await waitUntil(() => !cluster.coordinator.state('lagging', 0)!.isr.includes(3), 15_000, 'ISR shrink');
      assert.ok(Date.now() - stoppedAt >= 900, 'not dropped before replica.lag.time.max.ms');
      assert.deepEqual([...cluster.coordinator.state('lagging', 0)!.isr].sort(), [1, 2]);
      // With 3 out of the ISR, acks=all completes again on 1 and 2.
      assert.equal((await produce(conn, 'lagging', 0, ['c'], -1, 10_000)).errorCode, ErrorCode.NONE);

      // Follower 3 comes back, copies what it missed, and the leader adds it to the ISR.
      await cluster.startNode(3);
      await waitUntil(() => cluster.coordinator.state('lagging', 0)!.isr.includes(3), 15_000, 'ISR expand');
      const log1 = leader.services.replicas.getLog('lagging', 0)!;
      const log3 = cluster.broker(3).services.replicas.getLog('lagging', 0)!;
      assert.equal(log3.logEndOffset, log1.logEndOffset);
      assert.ok(
        cluster.coordinator.isrChanges.some((c) => c.topic === 'lagging' && c.isr.includes(3)),
        'the leader asked for the expansion',
      );
    } finally {
      conn.close();
    }
  });

  it('after a leader change the old leader truncates its diverged records (OffsetForLeaderEpoch) and follows', async () => {
    await cluster.createTopic('diverged', [[1, 2, 3]]);
    const b1 = cluster.broker(1);
    await waitUntil(
      () => b1.services.replicas.replica('diverged', 0)?.isLeader === true,
      10_000,
      'leadership',
    );
    let conn = await connect(b1);
    try {
      for (let i = 0; i < 5; i++) {
        assert.equal((await produce(conn, 'diverged', 0, [`committed${i}`], -1)).errorCode, ErrorCode.NONE);
      }
      // Followers gone; the leader takes three records nobody else has (acks=1), then dies.
      await cluster.stopNode(2);
      await cluster.stopNode(3);
      for (let i = 0; i < 3; i++) {
        assert.equal((await produce(conn, 'diverged', 0, [`lost${i}`], 1)).errorCode, ErrorCode.NONE);
      }
      assert.equal(b1.services.replicas.getLog('diverged', 0)!.logEndOffset, 8);
    } finally {
      conn.close();
    }
    const epoch0 = cluster.coordinator.state('diverged', 0)!.leaderEpoch;
    await cluster.stopNode(1);
    // The clean stop checkpointed the high watermark (Kafka's format): 5, not the log end 8.
    const checkpoint = await readFile(
      join(cluster.nodes.get(1)!.dataDir, 'replication-offset-checkpoint'),
      'utf8',
    );
    assert.match(checkpoint, /^0\n\d+\n/);
    assert.ok(checkpoint.split('\n').includes('diverged 0 5'), checkpoint);

    // 2 and 3 come back; 2 is elected (as a controller would, from the ISR) in a new epoch.
    await cluster.startNode(2);
    await cluster.startNode(3);
    cluster.coordinator.setPartition('diverged', 0, { leader: 2, isr: [2, 3] });
    const b2 = cluster.broker(2);
    await waitUntil(
      () => b2.services.replicas.replica('diverged', 0)?.isLeader === true,
      10_000,
      'new leader',
    );
    conn = await connect(b2);
    try {
      for (let i = 0; i < 2; i++) {
        assert.equal((await produce(conn, 'diverged', 0, [`new${i}`], -1, 10_000)).errorCode, ErrorCode.NONE);
      }
    } finally {
      conn.close();
    }
    const log2 = b2.services.replicas.getLog('diverged', 0)!;
    assert.equal(log2.logEndOffset, 7);
    // KIP-320 against the real epoch: a client still on epoch 0 is fenced, one ahead is told to wait.
    conn = await connect(b2);
    try {
      assert.equal(
        (await consumerFetch(conn, 'diverged', 0, 0, epoch0)).errorCode,
        ErrorCode.FENCED_LEADER_EPOCH,
      );
      assert.equal(
        (await consumerFetch(conn, 'diverged', 0, 0, epoch0 + 2)).errorCode,
        ErrorCode.UNKNOWN_LEADER_EPOCH,
      );
      const current = await consumerFetch(conn, 'diverged', 0, 0, epoch0 + 1);
      assert.equal(current.errorCode, ErrorCode.NONE);
      assert.equal(current.highWatermark, 7);
    } finally {
      conn.close();
    }

    // The old leader restarts as a follower: it must drop offsets 5-7 (epoch 0) and take 5-6 (epoch 1).
    await cluster.startNode(1);
    const log1 = cluster.broker(1).services.replicas.getLog('diverged', 0)!;
    await waitUntil(() => log1.logEndOffset === 7 && log1.latestEpoch > epoch0, 15_000, 'follower caught up');
    await waitUntil(
      () => cluster.coordinator.state('diverged', 0)!.isr.includes(1),
      15_000,
      'rejoined the ISR',
    );
    const bytes = await Promise.all(
      [1, 2, 3].map((id) => segmentBytes(cluster.nodes.get(id)!.dataDir, 'diverged', 0)),
    );
    assert.ok(bytes[0]!.equals(bytes[1]!), "the old leader now holds exactly the new leader's log");
    assert.ok(bytes[2]!.equals(bytes[1]!));
    const epochs: number[] = [];
    for (const { pos } of iterateBatches(bytes[0]!))
      epochs.push(readBatchInfo(bytes[0]!, pos).partitionLeaderEpoch);
    assert.deepEqual(epochs, [epoch0, epoch0, epoch0, epoch0, epoch0, epoch0 + 1, epoch0 + 1]);
    const values = bytes[0]!.toString('latin1');
    assert.ok(!values.includes('lost'), 'the diverged records are gone');
  });

  it("a follower behind the leader's log start (retention) restarts its log there and catches up", async () => {
    await cluster.createTopic('behind', [[1, 2]]);
    const b1 = cluster.broker(1);
    await waitUntil(() => b1.services.replicas.replica('behind', 0)?.isLeader === true, 10_000, 'leadership');
    const conn = await connect(b1);
    try {
      for (let i = 0; i < 3; i++) await produce(conn, 'behind', 0, [`old${i}`], -1);
      await cluster.stopNode(2);
      cluster.coordinator.setPartition('behind', 0, { leader: 1, isr: [1] });
      await waitUntil(() => b1.services.replicas.replica('behind', 0)!.state.isr.length === 1, 5000, 'ISR');
      for (let i = 0; i < 5; i++) await produce(conn, 'behind', 0, [`new${i}`], -1);
    } finally {
      conn.close();
    }
    const log1 = b1.services.replicas.getLog('behind', 0)!;
    await waitUntil(() => log1.highWatermark === 8, 5000, 'high watermark');
    await log1.deleteRecordsBefore(6); // as retention would: the follower's offsets 3-5 are gone
    await cluster.startNode(2);
    const log2 = cluster.broker(2).services.replicas.getLog('behind', 0)!;
    await waitUntil(() => log2.logEndOffset === 8, 15_000, 'follower caught up');
    assert.equal(log2.logStartOffset, 6);
    await waitUntil(
      () => cluster.coordinator.state('behind', 0)!.isr.includes(2),
      15_000,
      'rejoined the ISR',
    );
  });
});
