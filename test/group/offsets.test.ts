// Committed offsets over the wire: commit/fetch round trips across versions (metadata, leader epoch,
// null topics, batched groups), the generation checks, durability across a clean restart and a
// kill -9, DeleteGroups/OffsetDelete, offsets.retention expiry, and the admin views (ListGroups,
// DescribeGroups, FindCoordinator) and consumer lag.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { groupLag } from '../../src/group/lag.js';
import { partitionForGroup } from '../../src/group/offsets-records.js';
import {
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  startTestBroker,
  withBroker,
} from '../helpers/broker.js';
import {
  Errors,
  TestClient,
  commitOffsets,
  createTopic,
  fetchOffsets,
  joinWithId,
  leaveGroup,
  syncGroup,
} from './helpers.js';

const CONFIG = { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '5' };

describe('committed offsets', () => {
  test('commit and fetch round-trip offset, metadata and leader epoch across versions', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const c = await TestClient.connect(b.port);
      await createTopic(c, 't1', 3);
      const errors = await commitOffsets(c, { groupId: 'simple' }, [
        { topic: 't1', partition: 0, offset: 42n, leaderEpoch: 7, metadata: 'hello' },
        { topic: 't1', partition: 2, offset: 9n, metadata: null },
        { topic: 'nope', partition: 0, offset: 1n },
        { topic: 't1', partition: 1, offset: 5n, metadata: 'x'.repeat(5000) },
      ]);
      // Answered per topic in request order: t1 (0, 2, 1), then nope.
      assert.deepEqual(errors, [
        Errors.NONE,
        Errors.NONE,
        Errors.OFFSET_METADATA_TOO_LARGE,
        Errors.UNKNOWN_TOPIC_OR_PARTITION,
      ]);

      const v7 = await fetchOffsets(c, 'simple', [{ name: 't1', partitionIndexes: [0, 1, 2] }]);
      assert.equal(v7.errorCode, Errors.NONE);
      assert.deepEqual(
        v7.topics[0]!.partitions.map((p) => [
          p.partitionIndex,
          p.committedOffset,
          p.committedLeaderEpoch,
          p.metadata,
          p.errorCode,
        ]),
        [
          [0, 42n, 7, 'hello', 0],
          [1, -1n, -1, '', 0],
          [2, 9n, -1, '', 0],
        ],
      );
      // v1 (kafka-python, sarama): no leader epoch on the wire.
      const v1 = await fetchOffsets(c, 'simple', [{ name: 't1', partitionIndexes: [0] }], 1);
      assert.equal(v1.topics[0]!.partitions[0]!.committedOffset, 42n);
      assert.equal(v1.topics[0]!.partitions[0]!.metadata, 'hello');
      // Null topics: everything the group committed.
      const all = await fetchOffsets(c, 'simple', null, 7);
      assert.deepEqual(
        all.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
        [['t1', [0, 2]]],
      );
      // v8+: batched groups, one with null topics.
      const batched = await c.send<{
        groups: {
          groupId: string;
          errorCode: number;
          topics: { name: string; partitions: { partitionIndex: number; committedOffset: bigint }[] }[];
        }[];
      }>(ApiKey.OffsetFetch, 9, {
        groups: [
          { groupId: 'simple', memberId: null, memberEpoch: -1, topics: null },
          { groupId: 'unknown', topics: [{ name: 't1', partitionIndexes: [0] }] },
        ],
        requireStable: true,
      });
      assert.equal(batched.groups.length, 2);
      assert.deepEqual(
        batched.groups[0]!.topics[0]!.partitions.map((p) => p.committedOffset),
        [42n, 9n],
      );
      assert.equal(batched.groups[1]!.topics[0]!.partitions[0]!.committedOffset, -1n);
      // v2 (kafka-python) with retention time, v1 with commit timestamp (sarama).
      assert.deepEqual(
        await commitOffsets(c, { groupId: 'simple', version: 2 }, [
          { topic: 't1', partition: 1, offset: 11n },
        ]),
        [0],
      );
      assert.deepEqual(
        await commitOffsets(c, { groupId: 'simple', version: 1 }, [
          { topic: 't1', partition: 1, offset: 12n },
        ]),
        [0],
      );
      const p1 = await fetchOffsets(c, 'simple', [{ name: 't1', partitionIndexes: [1] }], 3);
      assert.equal(p1.topics[0]!.partitions[0]!.committedOffset, 12n);
      c.close();
    });
  });

  test('commits are checked against the group: stale generation, unknown member, simple commit only when empty', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const c = await TestClient.connect(b.port);
      await createTopic(c, 't2');
      const j = await joinWithId(c, { groupId: 'managed' });
      await syncGroup(c, {
        groupId: 'managed',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [],
      });
      const tp = [{ topic: 't2', partition: 0, offset: 3n }];
      assert.deepEqual(
        await commitOffsets(
          c,
          { groupId: 'managed', generationId: j.generationId, memberId: j.memberId },
          tp,
        ),
        [0],
      );
      assert.deepEqual(
        await commitOffsets(
          c,
          { groupId: 'managed', generationId: j.generationId - 1, memberId: j.memberId },
          tp,
        ),
        [Errors.ILLEGAL_GENERATION],
      );
      assert.deepEqual(
        await commitOffsets(c, { groupId: 'managed', generationId: j.generationId, memberId: 'who' }, tp),
        [Errors.UNKNOWN_MEMBER_ID],
      );
      assert.deepEqual(
        await commitOffsets(c, { groupId: 'managed' }, tp),
        [Errors.UNKNOWN_MEMBER_ID],
        'simple commit to a group with members',
      );
      assert.deepEqual(await commitOffsets(c, { groupId: 'no-group', generationId: 3, memberId: 'm' }, tp), [
        Errors.ILLEGAL_GENERATION,
      ]);
      await leaveGroup(c, 'managed', [{ memberId: j.memberId }]);
      assert.deepEqual(
        await commitOffsets(c, { groupId: 'managed' }, tp),
        [0],
        'simple commit once the group is empty',
      );
      c.close();
    });
  });

  test('offsets and group state survive a clean restart', async () => {
    const dir = makeTempDir();
    try {
      let b = await startTestBroker(CONFIG, dir);
      let c = await TestClient.connect(b.port);
      await createTopic(c, 't3', 2);
      const j = await joinWithId(c, { groupId: 'durable' });
      await syncGroup(c, {
        groupId: 'durable',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [{ memberId: j.memberId, assignment: Buffer.from('a') }],
      });
      await commitOffsets(c, { groupId: 'durable', generationId: j.generationId, memberId: j.memberId }, [
        { topic: 't3', partition: 0, offset: 100n, leaderEpoch: 0, metadata: 'm0' },
        { topic: 't3', partition: 1, offset: 200n, metadata: 'm1' },
      ]);
      await commitOffsets(c, { groupId: 'durable', generationId: j.generationId, memberId: j.memberId }, [
        { topic: 't3', partition: 1, offset: 201n, metadata: 'm1b' },
      ]);
      await leaveGroup(c, 'durable', [{ memberId: j.memberId }]);
      c.close();
      await b.stop();

      b = await startTestBroker(CONFIG, dir);
      c = await TestClient.connect(b.port);
      const r = await fetchOffsets(c, 'durable', null);
      assert.deepEqual(
        r.topics[0]!.partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch, p.metadata]),
        [
          [100n, 0, 'm0'],
          [201n, -1, 'm1b'],
        ],
      );
      const g = b.broker.services.groups.groups.get('durable')!;
      assert.equal(g.state, 'Empty');
      assert.equal(g.protocolType, 'consumer');
      assert.equal(g.generationId, j.generationId + 1);
      c.close();
      await b.stop();
    } finally {
      removeDir(dir);
    }
  });

  test('an acknowledged commit survives kill -9 of a broker process', { timeout: 120_000 }, async () => {
    const dir = makeTempDir();
    try {
      let p = await spawnBrokerProcess({ dataDir: dir, config: CONFIG });
      try {
        const c = await TestClient.connect(p.port);
        await createTopic(c, 't4');
        assert.deepEqual(
          await commitOffsets(c, { groupId: 'crash' }, [
            { topic: 't4', partition: 0, offset: 77n, leaderEpoch: 0, metadata: 'before crash' },
          ]),
          [0],
        );
        c.close();
      } finally {
        p.kill('SIGKILL');
        await p.waitExit();
      }
      p = await spawnBrokerProcess({ dataDir: dir, config: CONFIG });
      try {
        const c = await TestClient.connect(p.port);
        const r = await fetchOffsets(c, 'crash', [{ name: 't4', partitionIndexes: [0] }]);
        assert.equal(r.topics[0]!.partitions[0]!.committedOffset, 77n);
        assert.equal(r.topics[0]!.partitions[0]!.metadata, 'before crash');
        c.close();
      } finally {
        p.kill('SIGKILL');
        await p.waitExit();
      }
    } finally {
      removeDir(dir);
    }
  });

  test('DeleteGroups only deletes empty groups; OffsetDelete respects subscriptions', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const c = await TestClient.connect(b.port);
      await createTopic(c, 't5');
      const j = await joinWithId(c, { groupId: 'busy' });
      await syncGroup(c, {
        groupId: 'busy',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [],
      });
      await commitOffsets(c, { groupId: 'busy', generationId: j.generationId, memberId: j.memberId }, [
        { topic: 't5', partition: 0, offset: 5n },
      ]);
      const del = () =>
        c.send<{ results: { groupId: string; errorCode: number }[] }>(ApiKey.DeleteGroups, 2, {
          groupsNames: ['busy', 'ghost'],
        });
      assert.deepEqual(
        (await del()).results.map((r) => r.errorCode),
        [Errors.NON_EMPTY_GROUP, Errors.GROUP_ID_NOT_FOUND],
      );
      // Non-"consumer" metadata cannot be read for subscriptions: a group with members refuses OffsetDelete.
      const offDel = await c.send<{ errorCode: number }>(ApiKey.OffsetDelete, 0, {
        groupId: 'busy',
        topics: [{ name: 't5', partitions: [{ partitionIndex: 0 }] }],
      });
      assert.equal(offDel.errorCode, Errors.NON_EMPTY_GROUP);
      await leaveGroup(c, 'busy', [{ memberId: j.memberId }]);
      assert.deepEqual(
        (await del()).results.map((r) => r.errorCode),
        [Errors.NONE, Errors.GROUP_ID_NOT_FOUND],
      );
      const after = await fetchOffsets(c, 'busy', [{ name: 't5', partitionIndexes: [0] }]);
      assert.equal(after.topics[0]!.partitions[0]!.committedOffset, -1n);

      await commitOffsets(c, { groupId: 'simple2' }, [{ topic: 't5', partition: 0, offset: 1n }]);
      const od = await c.send<{ errorCode: number; topics: { partitions: { errorCode: number }[] }[] }>(
        ApiKey.OffsetDelete,
        0,
        {
          groupId: 'simple2',
          topics: [{ name: 't5', partitions: [{ partitionIndex: 0 }] }],
        },
      );
      assert.equal(od.errorCode, Errors.NONE);
      assert.equal(od.topics[0]!.partitions[0]!.errorCode, Errors.NONE);
      assert.equal((await fetchOffsets(c, 'simple2', null)).topics.length, 0);
      c.close();
    });
  });

  test('offsets.retention.minutes expires the offsets of an empty group, durably', async () => {
    const dir = makeTempDir();
    try {
      let b = await startTestBroker(CONFIG, dir);
      const c = await TestClient.connect(b.port);
      await createTopic(c, 't6');
      await commitOffsets(c, { groupId: 'old' }, [{ topic: 't6', partition: 0, offset: 1n }]);
      c.close();
      const groups = b.broker.services.groups;
      assert.equal(await groups.expireOffsets(Date.now()), 0, 'nothing is old yet');
      const week = 7 * 24 * 60 * 60 * 1000;
      assert.equal(await groups.expireOffsets(Date.now() + week + 1000), 1);
      assert.equal(groups.groups.has('old'), false);
      await b.stop();
      b = await startTestBroker(CONFIG, dir);
      assert.equal(
        b.broker.services.groups.groups.has('old'),
        false,
        'expiry is written to __consumer_offsets',
      );
      await b.stop();
    } finally {
      removeDir(dir);
    }
  });

  test('ListGroups, DescribeGroups, FindCoordinator and consumer lag', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const c = await TestClient.connect(b.port);
      await createTopic(c, 't7');
      const j = await joinWithId(c, { groupId: 'listed' });
      await syncGroup(c, {
        groupId: 'listed',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [],
      });
      await commitOffsets(c, { groupId: 'offsets-only' }, [{ topic: 't7', partition: 0, offset: 0n }]);

      const list = await c.send<{ groups: { groupId: string; protocolType: string; groupState: string }[] }>(
        ApiKey.ListGroups,
        4,
        { statesFilter: [] },
      );
      assert.deepEqual(list.groups.map((g) => [g.groupId, g.protocolType, g.groupState]).sort(), [
        ['listed', 'consumer', 'Stable'],
        ['offsets-only', '', 'Empty'],
      ]);
      const stable = await c.send<{ groups: { groupId: string }[] }>(ApiKey.ListGroups, 5, {
        statesFilter: ['stable'],
        typesFilter: ['classic'],
      });
      assert.deepEqual(
        stable.groups.map((g) => g.groupId),
        ['listed'],
      );
      const v0 = await c.send<{ groups: { groupId: string }[] }>(ApiKey.ListGroups, 0, {});
      assert.equal(v0.groups.length, 2);

      const described = await c.send<{
        groups: {
          groupId: string;
          groupState: string;
          members: { clientHost: string; clientId: string }[];
        }[];
      }>(ApiKey.DescribeGroups, 5, { groups: ['listed', 'ghost'], includeAuthorizedOperations: true });
      assert.equal(described.groups[0]!.groupState, 'Stable');
      assert.equal(described.groups[0]!.members[0]!.clientHost, '/127.0.0.1');
      assert.equal(described.groups[1]!.groupState, 'Dead');

      const fc0 = await c.send<{ errorCode: number; nodeId: number; port: number }>(
        ApiKey.FindCoordinator,
        0,
        { key: 'listed' },
      );
      assert.deepEqual([fc0.errorCode, fc0.port], [0, b.port]);
      const fc4 = await c.send<{ coordinators: { key: string; errorCode: number; port: number }[] }>(
        ApiKey.FindCoordinator,
        4,
        { keyType: 0, coordinatorKeys: ['a', 'b'] },
      );
      assert.deepEqual(
        fc4.coordinators.map((x) => [x.key, x.errorCode, x.port]),
        [
          ['a', 0, b.port],
          ['b', 0, b.port],
        ],
      );
      // Transaction coordinator (issue 10): this node, like groups.
      const txn = await c.send<{ errorCode: number; port: number }>(ApiKey.FindCoordinator, 1, {
        key: 'tx',
        keyType: 1,
      });
      assert.deepEqual([txn.errorCode, txn.port], [0, b.port]);

      // Lag: produce 3 records and compare with the committed offset 0.
      const log = b.broker.services.replicas.getLog('t7', 0)!;
      const { encodeBatchSync } = await import('../../src/protocol/records.js');
      await log.append(encodeBatchSync({ records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }), {
        leaderEpoch: 0,
        assignOffsets: true,
      }).durable;
      const lag = groupLag(
        b.broker.services.groups,
        (t, p) => b.broker.services.replicas.getLog(t, p)?.highWatermark,
        'offsets-only',
      )!;
      assert.deepEqual(
        lag.partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.logEndOffset, p.lag]),
        [['t7', 0, 0, 3, 3]],
      );
      assert.equal(lag.totalLag, 3);
      c.close();
    });
  });

  test("partitionForGroup matches Kafka's abs(String.hashCode) % n", () => {
    // Values computed with Java: Utils.abs("test_group".hashCode()) % 50 etc.
    assert.equal(partitionForGroup('test_group', 50), Math.abs(javaHash('test_group')) % 50);
    assert.equal(partitionForGroup('', 50), 0);
    assert.equal(partitionForGroup('polygenelubricants', 50), 0, 'hashCode is Integer.MIN_VALUE → 0');
    assert.equal(
      partitionForGroup('console-consumer-12345', 50),
      Math.abs(javaHash('console-consumer-12345')) % 50,
    );
  });
});

function javaHash(s: string): number {
  let h = 0;
  for (const ch of s) for (let i = 0; i < ch.length; i++) h = (h * 31 + ch.charCodeAt(i)) | 0;
  return h;
}
