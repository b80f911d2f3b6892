// Classic group membership over the wire, with raw requests: joins, the leader's member list,
// SyncGroup, heartbeats in a rebalance, generations, session expiry, static membership and protocol
// checks. Each test starts its own broker (group.initial.rebalance.delay.ms=0 unless it needs more).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withBroker, type TestBroker } from '../helpers/broker.js';
import {
  Errors,
  TestClient,
  commitOffsets,
  createTopic,
  describeGroup,
  heartbeat,
  joinGroup,
  joinWithId,
  leaveGroup,
  syncGroup,
  waitForGroupState,
  sleep,
} from './helpers.js';

const CONFIG = { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100' };

async function clients(b: TestBroker, n: number): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => TestClient.connect(b.port, `client-${i}`)));
}

/** Two members in one Stable generation: a is the leader, b the follower; returns their ids and generation. */
async function twoMemberGroup(
  a: TestClient,
  b: TestClient,
  groupId: string,
  extra: { aInstance?: string; bInstance?: string } = {},
) {
  const ja = await joinWithId(a, { groupId, groupInstanceId: extra.aInstance ?? null });
  assert.equal(ja.errorCode, Errors.NONE);
  // b joins: the group rebalances and waits for a, which learns it from its heartbeat.
  const jbPromise = joinWithId(b, { groupId, groupInstanceId: extra.bInstance ?? null });
  let hb = await heartbeat(a, {
    groupId,
    generationId: ja.generationId,
    memberId: ja.memberId,
    groupInstanceId: extra.aInstance ?? null,
  });
  for (let i = 0; hb.errorCode === Errors.NONE && i < 50; i++) {
    await sleep(20);
    hb = await heartbeat(a, {
      groupId,
      generationId: ja.generationId,
      memberId: ja.memberId,
      groupInstanceId: extra.aInstance ?? null,
    });
  }
  assert.equal(hb.errorCode, Errors.REBALANCE_IN_PROGRESS);
  const ja2 = await joinGroup(a, {
    groupId,
    memberId: ja.memberId,
    groupInstanceId: extra.aInstance ?? null,
  });
  const jb = await jbPromise;
  assert.equal(ja2.errorCode, Errors.NONE);
  assert.equal(jb.errorCode, Errors.NONE);
  assert.equal(ja2.generationId, jb.generationId);
  assert.equal(ja2.generationId, ja.generationId + 1);
  return { a: ja2, b: jb };
}

describe('group membership', () => {
  test('JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED, then joins with it', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [c] = await clients(b, 1);
      const first = await joinGroup(c!, { groupId: 'g1' });
      assert.equal(first.errorCode, Errors.MEMBER_ID_REQUIRED);
      assert.match(first.memberId, /^client-0-[0-9a-f-]{36}$/);
      const second = await joinGroup(c!, { groupId: 'g1', memberId: first.memberId });
      assert.equal(second.errorCode, Errors.NONE);
      assert.equal(second.memberId, first.memberId);
      assert.equal(second.leader, first.memberId);
      assert.equal(second.generationId, 1);
      assert.equal(second.protocolName, 'range');
      assert.deepEqual(
        second.members.map((m) => m.memberId),
        [first.memberId],
      );
      // v2 (kafka-python) gets a member id at once.
      const [old] = await clients(b, 1);
      const v2 = await joinGroup(old!, { groupId: 'g-v2', version: 2 });
      assert.equal(v2.errorCode, Errors.NONE);
      assert.notEqual(v2.memberId, '');
      c!.close();
      old!.close();
    });
  });

  test('two members: the leader gets both, SyncGroup hands out the assignments, heartbeats get REBALANCE_IN_PROGRESS', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, c] = await clients(b, 2);
      const { a: ja, b: jb } = await twoMemberGroup(a!, c!, 'g2');
      const leader = ja.leader === ja.memberId ? ja : jb;
      const follower = leader === ja ? jb : ja;
      assert.equal(leader.members.length, 2);
      assert.deepEqual(new Set(leader.members.map((m) => m.memberId)), new Set([ja.memberId, jb.memberId]));
      assert.equal(follower.members.length, 0);
      assert.ok(leader.members.every((m) => m.metadata.equals(Buffer.from('meta'))));

      const leaderClient = leader === ja ? a! : c!;
      const followerClient = leader === ja ? c! : a!;
      // The follower's SyncGroup waits for the leader's.
      const followerSync = syncGroup(followerClient, {
        groupId: 'g2',
        generationId: follower.generationId,
        memberId: follower.memberId,
      });
      await sleep(50);
      const leaderSync = await syncGroup(leaderClient, {
        groupId: 'g2',
        generationId: leader.generationId,
        memberId: leader.memberId,
        assignments: [
          { memberId: leader.memberId, assignment: Buffer.from('for-leader') },
          { memberId: follower.memberId, assignment: Buffer.from('for-follower') },
        ],
      });
      assert.equal(leaderSync.errorCode, Errors.NONE);
      assert.equal(leaderSync.assignment.toString(), 'for-leader');
      const fs = await followerSync;
      assert.equal(fs.errorCode, Errors.NONE);
      assert.equal(fs.assignment.toString(), 'for-follower');
      await waitForGroupState(b, 'g2', 'Stable');
      const d = await describeGroup(a!, 'g2');
      assert.equal(d.groupState, 'Stable');
      assert.equal(d.protocolData, 'range');
      assert.equal(d.members.length, 2);

      // SyncGroup v5 checks the protocol type and name.
      const bad = await syncGroup(leaderClient, {
        groupId: 'g2',
        generationId: leader.generationId,
        memberId: leader.memberId,
        version: 5,
        protocolType: 'consumer',
        protocolName: 'roundrobin',
      });
      assert.equal(bad.errorCode, Errors.INCONSISTENT_GROUP_PROTOCOL);
      const good = await syncGroup(leaderClient, {
        groupId: 'g2',
        generationId: leader.generationId,
        memberId: leader.memberId,
        version: 5,
        protocolType: 'consumer',
        protocolName: 'range',
      });
      assert.equal(good.errorCode, Errors.NONE);
      assert.equal(good.protocolName, 'range');
      assert.equal(good.assignment.toString(), 'for-leader');
      a!.close();
      c!.close();
    });
  });

  test('wrong generation is ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [c] = await clients(b, 1);
      const j = await joinWithId(c!, { groupId: 'g3' });
      await syncGroup(c!, {
        groupId: 'g3',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [],
      });
      const ok = await heartbeat(c!, { groupId: 'g3', generationId: j.generationId, memberId: j.memberId });
      assert.equal(ok.errorCode, Errors.NONE);
      const stale = await heartbeat(c!, {
        groupId: 'g3',
        generationId: j.generationId - 1,
        memberId: j.memberId,
      });
      assert.equal(stale.errorCode, Errors.ILLEGAL_GENERATION);
      const unknown = await heartbeat(c!, {
        groupId: 'g3',
        generationId: j.generationId,
        memberId: 'nobody',
      });
      assert.equal(unknown.errorCode, Errors.UNKNOWN_MEMBER_ID);
      const noGroup = await heartbeat(c!, { groupId: 'no-such-group', generationId: 1, memberId: 'x' });
      assert.equal(noGroup.errorCode, Errors.UNKNOWN_MEMBER_ID);
      const staleSync = await syncGroup(c!, {
        groupId: 'g3',
        generationId: j.generationId + 5,
        memberId: j.memberId,
      });
      assert.equal(staleSync.errorCode, Errors.ILLEGAL_GENERATION);
      const rejoinUnknown = await joinGroup(c!, { groupId: 'g3', memberId: 'nobody' });
      assert.equal(rejoinUnknown.errorCode, Errors.UNKNOWN_MEMBER_ID);
      const badSession = await joinGroup(c!, { groupId: 'g3', sessionTimeoutMs: 10 });
      assert.equal(badSession.errorCode, Errors.INVALID_SESSION_TIMEOUT);
      c!.close();
    });
  });

  test('a member that stops heartbeating is removed after its session timeout and the group rebalances', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, c] = await clients(b, 2);
      const ja = await joinWithId(a!, { groupId: 'g4', sessionTimeoutMs: 10_000 });
      const jbPromise = joinWithId(c!, { groupId: 'g4', sessionTimeoutMs: 400 });
      await waitForGroupState(b, 'g4', 'PreparingRebalance');
      const ja2 = await joinGroup(a!, { groupId: 'g4', memberId: ja.memberId, sessionTimeoutMs: 10_000 });
      const jb = await jbPromise;
      assert.equal(ja2.generationId, 2);
      await syncGroup(a!, { groupId: 'g4', generationId: 2, memberId: ja2.memberId, assignments: [] });
      await syncGroup(c!, { groupId: 'g4', generationId: 2, memberId: jb.memberId });
      // b goes silent; a keeps heartbeating and is told to rejoin once b's session expired.
      let code: number = Errors.NONE;
      const deadline = Date.now() + 5000;
      while (code === Errors.NONE && Date.now() < deadline) {
        await sleep(100);
        code = (await heartbeat(a!, { groupId: 'g4', generationId: 2, memberId: ja2.memberId })).errorCode;
      }
      assert.equal(code, Errors.REBALANCE_IN_PROGRESS);
      const ja3 = await joinGroup(a!, { groupId: 'g4', memberId: ja2.memberId, sessionTimeoutMs: 10_000 });
      assert.equal(ja3.errorCode, Errors.NONE);
      assert.equal(ja3.generationId, 3);
      assert.deepEqual(
        ja3.members.map((m) => m.memberId),
        [ja2.memberId],
      );
      const gone = await heartbeat(c!, { groupId: 'g4', generationId: 2, memberId: jb.memberId });
      assert.equal(gone.errorCode, Errors.UNKNOWN_MEMBER_ID);
      a!.close();
      c!.close();
    });
  });

  test('a restarted static member gets its assignment back without a rebalance; the old instance is fenced', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, c, c2] = await clients(b, 3);
      await createTopic(a!, 'static-topic');
      const { a: ja, b: jb } = await twoMemberGroup(a!, c!, 'g5', {
        aInstance: 'instance-a',
        bInstance: 'instance-b',
      });
      const gen = ja.generationId;
      const bSync = syncGroup(c!, {
        groupId: 'g5',
        generationId: gen,
        memberId: jb.memberId,
        groupInstanceId: 'instance-b',
      });
      const aSync = await syncGroup(a!, {
        groupId: 'g5',
        generationId: gen,
        memberId: ja.memberId,
        groupInstanceId: 'instance-a',
        assignments: [
          { memberId: ja.memberId, assignment: Buffer.from('A') },
          { memberId: jb.memberId, assignment: Buffer.from('B') },
        ],
      });
      assert.equal(aSync.errorCode, Errors.NONE);
      assert.equal((await bSync).assignment.toString(), 'B');
      await waitForGroupState(b, 'g5', 'Stable');

      // instance-b restarts: new connection, no member id, same instance id.
      const rejoin = await joinGroup(c2!, { groupId: 'g5', groupInstanceId: 'instance-b' });
      assert.equal(rejoin.errorCode, Errors.NONE);
      assert.notEqual(rejoin.memberId, jb.memberId);
      assert.equal(rejoin.generationId, gen, 'no generation bump');
      assert.equal(b.broker.services.groups.groups.get('g5')!.state, 'Stable', 'no rebalance');
      const resync = await syncGroup(c2!, {
        groupId: 'g5',
        generationId: gen,
        memberId: rejoin.memberId,
        groupInstanceId: 'instance-b',
      });
      assert.equal(resync.errorCode, Errors.NONE);
      assert.equal(resync.assignment.toString(), 'B');
      // The leader is not disturbed.
      const hbA = await heartbeat(a!, {
        groupId: 'g5',
        generationId: gen,
        memberId: ja.memberId,
        groupInstanceId: 'instance-a',
      });
      assert.equal(hbA.errorCode, Errors.NONE);

      // The old instance is fenced on heartbeat and commit.
      const hbOld = await heartbeat(c!, {
        groupId: 'g5',
        generationId: gen,
        memberId: jb.memberId,
        groupInstanceId: 'instance-b',
      });
      assert.equal(hbOld.errorCode, Errors.FENCED_INSTANCE_ID);
      const commitOld = await commitOffsets(
        c!,
        { groupId: 'g5', generationId: gen, memberId: jb.memberId, groupInstanceId: 'instance-b' },
        [{ topic: 'static-topic', partition: 0, offset: 1n }],
      );
      assert.deepEqual(commitOld, [Errors.FENCED_INSTANCE_ID]);
      const commitNew = await commitOffsets(
        c2!,
        { groupId: 'g5', generationId: gen, memberId: rejoin.memberId, groupInstanceId: 'instance-b' },
        [{ topic: 'static-topic', partition: 0, offset: 1n }],
      );
      assert.deepEqual(commitNew, [Errors.NONE]);
      // LeaveGroup by instance id with the old member id is fenced too; with the new one it works.
      const leaveOld = await leaveGroup(a!, 'g5', [{ memberId: jb.memberId, groupInstanceId: 'instance-b' }]);
      assert.equal(leaveOld.members[0]!.errorCode, Errors.FENCED_INSTANCE_ID);
      for (const x of [a, c, c2]) x!.close();
    });
  });

  test('protocol type and protocols must match the group: INCONSISTENT_GROUP_PROTOCOL', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, c] = await clients(b, 2);
      const ja = await joinWithId(a!, {
        groupId: 'g6',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      });
      assert.equal(ja.errorCode, Errors.NONE);
      const other = await joinWithId(c!, {
        groupId: 'g6',
        protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.alloc(0) }],
      });
      assert.equal(other.errorCode, Errors.INCONSISTENT_GROUP_PROTOCOL);
      const otherType = await joinWithId(c!, { groupId: 'g6', protocolType: 'connect' });
      assert.equal(otherType.errorCode, Errors.INCONSISTENT_GROUP_PROTOCOL);
      const noProtocols = await joinWithId(c!, { groupId: 'g6-new', protocols: [] });
      assert.equal(noProtocols.errorCode, Errors.INCONSISTENT_GROUP_PROTOCOL);
      assert.equal(
        b.broker.services.groups.groups.has('g6-new'),
        false,
        'a failed join leaves no group behind',
      );
      a!.close();
      c!.close();
    });
  });

  test('the chosen protocol is one every member supports (the vote)', async () => {
    await withBroker({ config: { ...CONFIG, 'group.initial.rebalance.delay.ms': '300' } }, async (b) => {
      const [a, c] = await clients(b, 2);
      const meta = Buffer.alloc(0);
      const [ja, jb] = await Promise.all([
        joinWithId(a!, {
          groupId: 'g7',
          protocols: [
            { name: 'range', metadata: meta },
            { name: 'roundrobin', metadata: meta },
          ],
        }),
        joinWithId(c!, {
          groupId: 'g7',
          protocols: [
            { name: 'cooperative-sticky', metadata: meta },
            { name: 'roundrobin', metadata: meta },
          ],
        }),
      ]);
      assert.equal(ja.errorCode, Errors.NONE);
      assert.equal(jb.generationId, ja.generationId);
      assert.equal(ja.protocolName, 'roundrobin');
      assert.equal(jb.protocolName, 'roundrobin');
      a!.close();
      c!.close();
    });
  });

  test('1 MB of member metadata goes to the leader intact', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [c] = await clients(b, 1);
      const big = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      const j = await joinWithId(c!, { groupId: 'g8', protocols: [{ name: 'range', metadata: big }] });
      assert.equal(j.errorCode, Errors.NONE);
      assert.ok(j.members[0]!.metadata.equals(big));
      const s = await syncGroup(c!, {
        groupId: 'g8',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [{ memberId: j.memberId, assignment: big }],
      });
      assert.equal(s.errorCode, Errors.NONE);
      assert.ok(s.assignment.equals(big));
      c!.close();
    });
  });

  test('LeaveGroup: v3 batch, unknown members, and the group goes Empty', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [c] = await clients(b, 1);
      const j = await joinWithId(c!, { groupId: 'g9' });
      await syncGroup(c!, {
        groupId: 'g9',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: [],
      });
      const r = await leaveGroup(c!, 'g9', [{ memberId: j.memberId }, { memberId: 'stranger' }]);
      assert.equal(r.errorCode, Errors.NONE);
      assert.deepEqual(
        r.members.map((m) => m.errorCode),
        [Errors.NONE, Errors.UNKNOWN_MEMBER_ID],
      );
      await waitForGroupState(b, 'g9', 'Empty');
      c!.close();
    });
  });
});
