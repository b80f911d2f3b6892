// KIP-848 consumer groups over the wire, with raw ConsumerGroupHeartbeat / ConsumerGroupDescribe
// requests: joins, convergence with revocation before assignment, leave and session expiry,
// fencing, static members, the uniform and range assignors, commits with the member epoch, the
// group's type in ListGroups, and what survives a restart.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { ConsumerGroupHeartbeatResponse } from '../../src/protocol/generated/consumer-group-heartbeat.js';
import { makeTempDir, removeDir, startTestBroker, withBroker } from '../helpers/broker.js';
import { decodeAssignment } from '../../src/client/consumer-protocol.js';
import { encodeToBuffer } from '../../src/protocol/codec.js';
import { ConsumerProtocolAssignmentSchema } from '../../src/protocol/generated/consumer-protocol-assignment.js';
import {
  TestClient,
  commitOffsets,
  createTopic,
  describeGroup,
  heartbeat,
  joinGroup,
  joinWithId,
  leaveGroup,
  sleep,
  syncGroup,
} from './helpers.js';
import { describeConsumer, hb, parts, subscriptionBytes, type Owned } from './consumer-helpers.js';

const E = {
  NONE: 0,
  INVALID_REQUEST: 42,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  UNKNOWN_MEMBER_ID: 25,
  FENCED_MEMBER_EPOCH: 110,
  UNRELEASED_INSTANCE_ID: 111,
  UNSUPPORTED_ASSIGNOR: 112,
  STALE_MEMBER_EPOCH: 113,
  GROUP_MAX_SIZE_REACHED: 81,
} as const;

function assigned(r: ConsumerGroupHeartbeatResponse): Owned {
  assert.ok(r.assignment, 'the answer carries an assignment');
  return r.assignment.topicPartitions;
}

const CONFIG = {
  'group.consumer.heartbeat.interval.ms': '200',
  'group.consumer.min.heartbeat.interval.ms': '100',
  'group.consumer.session.timeout.ms': '1500',
  'group.consumer.min.session.timeout.ms': '1000',
};

describe('KIP-848 consumer groups (ConsumerGroupHeartbeat)', () => {
  test('two members converge to 3+3 of six partitions, and nothing is assigned before it is revoked', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, c] = [await TestClient.connect(b.port, 'a'), await TestClient.connect(b.port, 'b')];
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-converge';
        const a1 = await hb(a, { groupId: g, memberId: 'member-a', memberEpoch: 0, topics: ['six'] });
        assert.equal(a1.errorCode, E.NONE);
        assert.equal(a1.memberEpoch, 1);
        assert.equal(a1.heartbeatIntervalMs, 200);
        assert.deepEqual(parts(assigned(a1)), [0, 1, 2, 3, 4, 5]);
        const ownedA = assigned(a1);

        const b1 = await hb(c, { groupId: g, memberId: 'member-b', memberEpoch: 0, topics: ['six'] });
        assert.equal(b1.errorCode, E.NONE);
        assert.equal(b1.memberEpoch, 2);
        // Every partition is still owned by a: b gets none of them yet.
        assert.deepEqual(parts(assigned(b1)), []);

        // a learns it must give up three: same epoch, a smaller assignment.
        const a2 = await hb(a, { groupId: g, memberId: 'member-a', memberEpoch: 1, owned: ownedA });
        assert.equal(a2.memberEpoch, 1);
        const keepA = parts(assigned(a2));
        assert.equal(keepA.length, 3);

        // a has not acknowledged the revocation: b still gets nothing.
        const b2 = await hb(c, { groupId: g, memberId: 'member-b', memberEpoch: 2 });
        assert.equal(b2.errorCode, E.NONE);
        assert.deepEqual(parts(b2.assignment?.topicPartitions), []);
        const mid = await describeConsumer(a, g);
        assert.equal(mid.groupState, 'Reconciling');

        // a revokes (its owned partitions no longer list them) and moves to epoch 2.
        const a3 = await hb(a, { groupId: g, memberId: 'member-a', memberEpoch: 1, owned: assigned(a2) });
        assert.equal(a3.errorCode, E.NONE);
        assert.equal(a3.memberEpoch, 2);

        // Now b gets exactly the three a gave up.
        const b3 = await hb(c, { groupId: g, memberId: 'member-b', memberEpoch: 2, owned: [] });
        const gotB = parts(assigned(b3));
        assert.equal(gotB.length, 3);
        assert.deepEqual(
          [...keepA, ...gotB].sort((x, y) => x - y),
          [0, 1, 2, 3, 4, 5],
        );

        const d = await describeConsumer(a, g);
        assert.equal(d.errorCode, E.NONE);
        assert.equal(d.groupState, 'Stable');
        assert.equal(d.groupEpoch, 2);
        assert.equal(d.assignmentEpoch, 2);
        assert.equal(d.assignorName, 'uniform');
        assert.deepEqual(
          d.members
            .map((m) => [m.memberId, m.memberEpoch, m.assignment.topicPartitions[0]?.topicName])
            .sort(),
          [
            ['member-a', 2, 'six'],
            ['member-b', 2, 'six'],
          ],
        );
      } finally {
        a.close();
        c.close();
      }
    });
  });

  test('a member that leaves, or stops heartbeating, hands its partitions to the others', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, c, d] = [
        await TestClient.connect(b.port, 'a'),
        await TestClient.connect(b.port, 'b'),
        await TestClient.connect(b.port, 'c'),
      ];
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-leave';
        // Three members that each end up with two partitions (joined one after another on an
        // idle topic, so nothing needs revoking between joins... except what the first ones own).
        const members = [
          { c: a, id: 'm-a' },
          { c, id: 'm-b' },
          { c: d, id: 'm-c' },
        ];
        const state = new Map<string, { epoch: number; owned: Owned }>();
        for (const m of members) {
          const r = await hb(m.c, { groupId: g, memberId: m.id, memberEpoch: 0, topics: ['six'] });
          state.set(m.id, { epoch: r.memberEpoch, owned: assigned(r) });
        }
        // Heartbeat everyone until the group is Stable.
        const round = async (ids: string[]) => {
          for (const m of members.filter((x) => ids.includes(x.id))) {
            const s = state.get(m.id)!;
            const r = await hb(m.c, { groupId: g, memberId: m.id, memberEpoch: s.epoch, owned: s.owned });
            assert.equal(r.errorCode, E.NONE, `${m.id}: ${r.errorMessage}`);
            state.set(m.id, {
              epoch: r.memberEpoch,
              owned: r.assignment ? r.assignment.topicPartitions : s.owned,
            });
          }
        };
        for (let i = 0; i < 6 && (await describeConsumer(a, g)).groupState !== 'Stable'; i++) {
          await round(['m-a', 'm-b', 'm-c']);
        }
        assert.deepEqual(
          members.map((m) => parts(state.get(m.id)!.owned).length),
          [2, 2, 2],
        );

        // m-c leaves: epoch -1 in the answer, and a and b share its partitions.
        const left = await hb(d, { groupId: g, memberId: 'm-c', memberEpoch: -1 });
        assert.equal(left.errorCode, E.NONE);
        assert.equal(left.memberEpoch, -1);
        for (let i = 0; i < 6 && (await describeConsumer(a, g)).groupState !== 'Stable'; i++) {
          await round(['m-a', 'm-b']);
        }
        assert.deepEqual(
          [...parts(state.get('m-a')!.owned), ...parts(state.get('m-b')!.owned)].sort(),
          [0, 1, 2, 3, 4, 5],
        );

        // m-b goes silent: after group.consumer.session.timeout.ms (1.5 s) m-a owns everything.
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && parts(state.get('m-a')!.owned).length < 6) {
          await sleep(200);
          await round(['m-a']);
        }
        assert.deepEqual(parts(state.get('m-a')!.owned), [0, 1, 2, 3, 4, 5]);
        const gone = await hb(c, { groupId: g, memberId: 'm-b', memberEpoch: state.get('m-b')!.epoch });
        assert.equal(gone.errorCode, E.UNKNOWN_MEMBER_ID);
      } finally {
        for (const x of [a, c, d]) x.close();
      }
    });
  });

  test('fencing, validation and group type errors come back as Kafka gives them', async () => {
    await withBroker({ config: { ...CONFIG, 'group.consumer.max.size': '2' } }, async (b) => {
      const a = await TestClient.connect(b.port, 'a');
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-fence';
        const j = await hb(a, { groupId: g, memberId: 'm1', memberEpoch: 0, topics: ['six'] });
        assert.equal(j.memberEpoch, 1);
        // A newer epoch than the coordinator's, or an older one that is not the previous one.
        assert.equal(
          (await hb(a, { groupId: g, memberId: 'm1', memberEpoch: 7 })).errorCode,
          E.FENCED_MEMBER_EPOCH,
        );
        const j2 = await hb(a, { groupId: g, memberId: 'm2', memberEpoch: 0, topics: ['six'] });
        assert.equal(j2.memberEpoch, 2);
        const stale = await hb(a, { groupId: g, memberId: 'm2', memberEpoch: 1, owned: [] });
        assert.equal(stale.errorCode, E.FENCED_MEMBER_EPOCH);
        assert.match(stale.errorMessage ?? '', /smaller member epoch/);
        // Unknown member, unknown group.
        assert.equal(
          (await hb(a, { groupId: g, memberId: 'nobody', memberEpoch: 3 })).errorCode,
          E.UNKNOWN_MEMBER_ID,
        );
        assert.equal(
          (await hb(a, { groupId: 'nope', memberId: 'x', memberEpoch: 3 })).errorCode,
          E.UNKNOWN_MEMBER_ID,
        );
        // group.consumer.max.size=2.
        const third = await hb(a, { groupId: g, memberId: 'm3', memberEpoch: 0, topics: ['six'] });
        assert.equal(third.errorCode, E.GROUP_MAX_SIZE_REACHED);
        // Malformed requests.
        const noTopics = await hb(a, { groupId: g, memberId: 'm4', memberEpoch: 0 });
        assert.equal(noTopics.errorCode, E.INVALID_REQUEST);
        assert.match(noTopics.errorMessage ?? '', /SubscribedTopicNames or SubscribedTopicRegex/);
        const noId = await hb(a, { groupId: g, memberId: '', memberEpoch: 0, topics: ['six'] });
        assert.equal(noId.errorCode, E.INVALID_REQUEST);
        const badEpoch = await hb(a, { groupId: g, memberId: 'm1', memberEpoch: -3 });
        assert.equal(badEpoch.errorCode, E.INVALID_REQUEST);
        const joinOwning = await hb(a, {
          groupId: g,
          memberId: 'm5',
          memberEpoch: 0,
          topics: ['six'],
          owned: null,
        });
        assert.equal(joinOwning.errorCode, E.INVALID_REQUEST);
        const assignor = await hb(a, {
          groupId: g,
          memberId: 'm6',
          memberEpoch: 0,
          topics: ['six'],
          assignor: 'sticky',
        });
        assert.equal(assignor.errorCode, E.UNSUPPORTED_ASSIGNOR);
        const regex = await hb(a, { groupId: g, memberId: 'm7', memberEpoch: 0, regex: '(unclosed' });
        assert.equal(regex.errorCode, E.INVALID_REQUEST);

        // The group is a consumer group: ListGroups says so, DescribeGroups (classic) says Dead,
        // and a classic member cannot join it while consumer members are in it.
        const lg = await a.send<{
          groups: { groupId: string; groupState: string; groupType: string; protocolType: string }[];
        }>(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
        assert.deepEqual(
          lg.groups.map((x) => [x.groupId, x.groupType, x.protocolType, x.groupState]),
          [[g, 'consumer', 'consumer', 'Reconciling']],
        );
        const classicOnly = await a.send<{ groups: unknown[] }>(ApiKey.ListGroups, 5, {
          statesFilter: [],
          typesFilter: ['classic'],
        });
        assert.equal(classicOnly.groups.length, 0);
        assert.equal((await describeGroup(a, g)).groupState, 'Dead');
        // A classic member must speak the "consumer" protocol type to join it.
        const classic = await joinGroup(a, { groupId: g, protocolType: 'connect' });
        assert.equal(classic.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
        // ConsumerGroupDescribe of an unknown group.
        assert.equal((await describeConsumer(a, 'nope')).errorCode, 69);
      } finally {
        a.close();
      }
    });
  });

  test('uniform balances the total, range gives each member a contiguous range per topic', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const a = await TestClient.connect(b.port, 'a');
      try {
        await createTopic(a, 't1', 3);
        await createTopic(a, 't2', 3);
        for (const assignor of ['uniform', 'range']) {
          const g = `g-${assignor}`;
          await hb(a, { groupId: g, memberId: 'x1', memberEpoch: 0, topics: ['t1', 't2'], assignor });
          await hb(a, { groupId: g, memberId: 'x2', memberEpoch: 0, topics: ['t1', 't2'], assignor });
          const d = await describeConsumer(a, g);
          assert.equal(d.assignorName, assignor);
          const target = new Map(
            d.members.map((m) => [
              m.memberId,
              m.targetAssignment.topicPartitions
                .map((t) => `${t.topicName}:${t.partitions.join(',')}`)
                .sort()
                .join(' '),
            ]),
          );
          if (assignor === 'range') {
            assert.equal(target.get('x1'), 't1:0,1 t2:0,1');
            assert.equal(target.get('x2'), 't1:2 t2:2');
          } else {
            const count = (s: string) => s.split(' ').flatMap((t) => t.split(':')[1]!.split(',')).length;
            assert.equal(count(target.get('x1')!), 3);
            assert.equal(count(target.get('x2')!), 3);
          }
        }
      } finally {
        a.close();
      }
    });
  });

  test('a regex subscription picks up matching topics, including one created later', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const a = await TestClient.connect(b.port, 'a');
      try {
        await createTopic(a, 'orders-eu', 2);
        await createTopic(a, 'payments', 2);
        const g = 'g-regex';
        const j = await hb(a, { groupId: g, memberId: 'r1', memberEpoch: 0, regex: 'orders-.*' });
        assert.equal(j.errorCode, E.NONE);
        assert.equal(parts(assigned(j)).length, 2);
        await createTopic(a, 'orders-us', 2);
        const next = await hb(a, {
          groupId: g,
          memberId: 'r1',
          memberEpoch: j.memberEpoch,
          owned: assigned(j),
        });
        assert.equal(next.memberEpoch, j.memberEpoch + 1);
        assert.equal(parts(assigned(next)).length, 4);
        const d = await describeConsumer(a, g);
        assert.deepEqual(d.members[0]!.assignment.topicPartitions.map((t) => t.topicName).sort(), [
          'orders-eu',
          'orders-us',
        ]);
      } finally {
        a.close();
      }
    });
  });

  test('static members: the instance id is held while the member is away, and it comes back to its partitions', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const a = await TestClient.connect(b.port, 'a');
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-static';
        const s1 = await hb(a, {
          groupId: g,
          memberId: 's-1',
          instanceId: 'inst',
          memberEpoch: 0,
          topics: ['six'],
        });
        assert.equal(s1.memberEpoch, 1);
        const dup = await hb(a, {
          groupId: g,
          memberId: 's-2',
          instanceId: 'inst',
          memberEpoch: 0,
          topics: ['six'],
        });
        assert.equal(dup.errorCode, E.UNRELEASED_INSTANCE_ID);
        const away = await hb(a, { groupId: g, memberId: 's-1', instanceId: 'inst', memberEpoch: -2 });
        assert.equal(away.errorCode, E.NONE);
        assert.equal(away.memberEpoch, -2);
        const back = await hb(a, {
          groupId: g,
          memberId: 's-2',
          instanceId: 'inst',
          memberEpoch: 0,
          topics: ['six'],
        });
        assert.equal(back.errorCode, E.NONE);
        assert.equal(back.memberEpoch, 1, 'same epoch, no rebalance');
        assert.deepEqual(parts(assigned(back)), [0, 1, 2, 3, 4, 5]);
        const d = await describeConsumer(a, g);
        assert.deepEqual(
          d.members.map((m) => [m.memberId, m.instanceId]),
          [['s-2', 'inst']],
        );
        assert.equal(d.groupEpoch, 1);
      } finally {
        a.close();
      }
    });
  });

  test('commits carry the member epoch (STALE_MEMBER_EPOCH), and offsets and members survive a restart', async () => {
    const dir = makeTempDir('brook-kip848-');
    try {
      let epoch = 0;
      {
        const b = await startTestBroker(CONFIG, dir);
        const a = await TestClient.connect(b.port, 'a');
        try {
          await createTopic(a, 'six', 6);
          const j = await hb(a, { groupId: 'g-commit', memberId: 'c1', memberEpoch: 0, topics: ['six'] });
          epoch = j.memberEpoch;
          const ok = await commitOffsets(
            a,
            { groupId: 'g-commit', generationId: epoch, memberId: 'c1', version: 9 },
            [{ topic: 'six', partition: 0, offset: 42n }],
          );
          assert.deepEqual(ok, [E.NONE]);
          const stale = await commitOffsets(
            a,
            { groupId: 'g-commit', generationId: epoch + 1, memberId: 'c1', version: 9 },
            [{ topic: 'six', partition: 0, offset: 43n }],
          );
          assert.deepEqual(stale, [E.STALE_MEMBER_EPOCH]);
          const stranger = await commitOffsets(
            a,
            { groupId: 'g-commit', generationId: epoch, memberId: 'zz', version: 9 },
            [{ topic: 'six', partition: 0, offset: 44n }],
          );
          assert.deepEqual(stranger, [E.UNKNOWN_MEMBER_ID]);
          const fetch = (memberEpoch: number) =>
            a.send<{
              groups: { errorCode: number; topics: { partitions: { committedOffset: bigint }[] }[] }[];
            }>(ApiKey.OffsetFetch, 9, {
              groups: [
                {
                  groupId: 'g-commit',
                  memberId: 'c1',
                  memberEpoch,
                  topics: [{ name: 'six', partitionIndexes: [0] }],
                },
              ],
              requireStable: false,
            });
          assert.equal((await fetch(epoch + 5)).groups[0]!.errorCode, E.STALE_MEMBER_EPOCH);
          const good = await fetch(epoch);
          assert.equal(good.groups[0]!.errorCode, E.NONE);
          assert.equal(good.groups[0]!.topics[0]!.partitions[0]!.committedOffset, 42n);
        } finally {
          a.close();
          await b.stop();
        }
      }
      const b = await startTestBroker(CONFIG, dir);
      const a = await TestClient.connect(b.port, 'a');
      try {
        // The group was stored in __consumer_offsets: the member continues with its epoch.
        const again = await hb(a, { groupId: 'g-commit', memberId: 'c1', memberEpoch: epoch, owned: [] });
        assert.equal(again.errorCode, E.NONE, again.errorMessage ?? '');
        assert.equal(again.memberEpoch, epoch);
        const r = await a.send<{
          groups: { errorCode: number; topics: { partitions: { committedOffset: bigint }[] }[] }[];
        }>(ApiKey.OffsetFetch, 9, {
          groups: [
            {
              groupId: 'g-commit',
              memberId: 'c1',
              memberEpoch: again.memberEpoch,
              topics: [{ name: 'six', partitionIndexes: [0] }],
            },
          ],
          requireStable: false,
        });
        assert.equal(r.groups[0]!.topics[0]!.partitions[0]!.committedOffset, 42n);
      } finally {
        a.close();
        await b.stop();
      }
    } finally {
      removeDir(dir);
    }
  });
});

function assignmentOf(bytes: Buffer): number[] {
  return (decodeAssignment(bytes)?.assignedPartitions ?? [])
    .flatMap((t) => t.partitions)
    .sort((a, b) => a - b);
}

describe('KIP-848 groups with classic members (the upgrade path)', () => {
  test('a classic member joins a consumer group: it waits for released partitions, rejoins, and gets its share', async () => {
    await withBroker({ config: CONFIG }, async (b) => {
      const [a, k] = [await TestClient.connect(b.port, 'a'), await TestClient.connect(b.port, 'classic')];
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-mixed';
        const c1 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 0, topics: ['six'] });
        assert.equal(c1.memberEpoch, 1);
        const protocols = [{ name: 'range', metadata: subscriptionBytes(['six']) }];
        const j1 = await joinWithId(k, { groupId: g, protocols });
        assert.equal(j1.errorCode, E.NONE);
        assert.equal(j1.generationId, 2);
        assert.equal(j1.protocolName, 'range');
        assert.equal(j1.leader, '', 'the coordinator assigns: no client leader');
        const s1 = await syncGroup(k, { groupId: g, generationId: 2, memberId: j1.memberId });
        assert.equal(s1.errorCode, E.NONE);
        assert.deepEqual(assignmentOf(s1.assignment), [], 'c still owns everything');
        // The classic member is told to rejoin until it is at the target.
        const h1 = await heartbeat(k, { groupId: g, generationId: 2, memberId: j1.memberId });
        assert.equal(h1.errorCode, 27);
        // c gives up three partitions.
        const c2 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 1, owned: assigned(c1) });
        const c3 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 1, owned: assigned(c2) });
        assert.equal(c3.memberEpoch, 2);
        const keepC = parts(assigned(c2));
        const j2 = await joinGroup(k, { groupId: g, memberId: j1.memberId, protocols });
        assert.equal(j2.errorCode, E.NONE);
        const s2 = await syncGroup(k, { groupId: g, generationId: j2.generationId, memberId: j1.memberId });
        const gotK = assignmentOf(s2.assignment);
        assert.equal(gotK.length, 3);
        assert.deepEqual([...keepC, ...gotK].sort(), [0, 1, 2, 3, 4, 5]);
        const h2 = await heartbeat(k, { groupId: g, generationId: j2.generationId, memberId: j1.memberId });
        assert.equal(h2.errorCode, E.NONE);
        assert.equal((await describeConsumer(a, g)).groupState, 'Stable');
        // Its commits carry the generation (= member epoch): a stale one is ILLEGAL_GENERATION.
        const good = await commitOffsets(
          k,
          { groupId: g, generationId: j2.generationId, memberId: j1.memberId },
          [{ topic: 'six', partition: gotK[0]!, offset: 5n }],
        );
        assert.deepEqual(good, [E.NONE]);
        const stale = await commitOffsets(k, { groupId: g, generationId: 1, memberId: j1.memberId }, [
          { topic: 'six', partition: gotK[0]!, offset: 6n },
        ]);
        assert.deepEqual(stale, [22]);
        // It leaves: c gets everything back.
        const left = await leaveGroup(k, g, [{ memberId: j1.memberId }]);
        assert.equal(left.members[0]!.errorCode, E.NONE);
        const c4 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 2, owned: assigned(c2) });
        assert.deepEqual(parts(assigned(c4)), [0, 1, 2, 3, 4, 5]);
      } finally {
        a.close();
        k.close();
      }
    });
  });

  test('a Stable classic group converts when a consumer-protocol member joins; its member keeps its partitions until it rejoins', async () => {
    await withBroker({ config: { ...CONFIG, 'group.initial.rebalance.delay.ms': '0' } }, async (b) => {
      const [a, k] = [await TestClient.connect(b.port, 'a'), await TestClient.connect(b.port, 'classic')];
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-upgrade';
        const protocols = [{ name: 'range', metadata: subscriptionBytes(['six']) }];
        const j = await joinWithId(k, { groupId: g, protocols });
        assert.equal(j.leader, j.memberId);
        const all = encodeToBuffer(ConsumerProtocolAssignmentSchema, 0, {
          assignedPartitions: [{ topic: 'six', partitions: [0, 1, 2, 3, 4, 5] }],
          userData: null,
        });
        const s = await syncGroup(k, {
          groupId: g,
          generationId: j.generationId,
          memberId: j.memberId,
          assignments: [{ memberId: j.memberId, assignment: Buffer.concat([Buffer.from([0, 0]), all]) }],
        });
        assert.equal(s.errorCode, E.NONE);

        const c1 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 0, topics: ['six'] });
        assert.equal(c1.errorCode, E.NONE, c1.errorMessage ?? '');
        assert.deepEqual(parts(assigned(c1)), [], 'the classic member still owns every partition');
        const lg = await a.send<{ groups: { groupId: string; groupType: string }[] }>(ApiKey.ListGroups, 5, {
          statesFilter: [],
          typesFilter: [],
        });
        assert.deepEqual(
          lg.groups.map((x) => [x.groupId, x.groupType]),
          [[g, 'consumer']],
        );
        const h = await heartbeat(k, { groupId: g, generationId: j.generationId, memberId: j.memberId });
        assert.equal(h.errorCode, 27, 'the classic member is asked to rejoin');
        // An eager client rejoins having given up everything.
        const j2 = await joinGroup(k, { groupId: g, memberId: j.memberId, protocols });
        assert.equal(j2.errorCode, E.NONE);
        const s2 = await syncGroup(k, { groupId: g, generationId: j2.generationId, memberId: j.memberId });
        const gotK = assignmentOf(s2.assignment);
        assert.equal(gotK.length, 3);
        const c2 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: c1.memberEpoch, owned: [] });
        const gotC = parts(assigned(c2));
        assert.deepEqual([...gotK, ...gotC].sort(), [0, 1, 2, 3, 4, 5]);
      } finally {
        a.close();
        k.close();
      }
    });
  });
});
