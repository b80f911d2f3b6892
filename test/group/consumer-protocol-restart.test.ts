// KIP-848 consumer groups across a broker restart, with raw requests: the group is written to
// __consumer_offsets in Kafka's record formats (ConsumerGroup* keys 3-8) before the heartbeat is
// answered, and read back at startup, so a member continues with its member id and epoch; a member
// that does not come back is removed after its session timeout. Offline migration between a classic
// and an empty consumer group is persisted too, offsets included, and so is the online downgrade (the
// last consumer-protocol member leaves a group of classic members), which group.consumer.migration.policy gates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { encodeToBuffer } from '../../src/protocol/codec.js';
import {
  ConsumerRecordType,
  parseConsumerValue,
  type CurrentMemberAssignmentRecord,
} from '../../src/group/consumer-group-records.js';
import { parseKey } from '../../src/group/offsets-records.js';
import { makeTempDir, removeDir, startTestBroker, withBroker, type TestBroker } from '../helpers/broker.js';
import { ConsumerProtocolAssignmentSchema } from '../../src/protocol/generated/consumer-protocol-assignment.js';
import {
  TestClient,
  commitOffsets,
  createTopic,
  describeGroup,
  fetchOffsets,
  heartbeat,
  joinGroup,
  joinWithId,
  leaveGroup,
  sleep,
  syncGroup,
} from './helpers.js';
import { describeConsumer, hb, parts, subscriptionBytes, type Owned } from './consumer-helpers.js';

const CONFIG = {
  'group.consumer.heartbeat.interval.ms': '200',
  'group.consumer.min.heartbeat.interval.ms': '100',
  'group.consumer.session.timeout.ms': '1500',
  'group.consumer.min.session.timeout.ms': '1000',
  'group.initial.rebalance.delay.ms': '0',
};

/** Starts a broker on `dir` (kept for the next start), runs `fn` with a client "a", then stops both. */
async function onBroker<T>(dir: string, fn: (a: TestClient, b: TestBroker) => Promise<T>): Promise<T> {
  const b = await startTestBroker(CONFIG, dir);
  const a = await TestClient.connect(b.port, 'a');
  try {
    return await fn(a, b);
  } finally {
    a.close();
    await b.stop();
  }
}

async function listGroups(c: TestClient): Promise<[string, string][]> {
  const r = await c.send<{ groups: { groupId: string; groupType: string }[] }>(ApiKey.ListGroups, 5, {
    statesFilter: [],
    typesFilter: [],
  });
  return r.groups.map((g) => [g.groupId, g.groupType]);
}

/** Every __consumer_offsets record of the broker, in log order. */
async function offsetsRecords(b: TestBroker) {
  const out: { key: Buffer; value: Buffer | null }[] = [];
  await b.broker.services.groups.store.load((r) => out.push(r));
  return out;
}

/**
 * A consumer group with one consumer-protocol member "c" and one classic member (cooperative: it
 * rejoins after each step) that share six partitions 3+3. Returns the classic member's id.
 */
async function mixedGroup(a: TestClient, k: TestClient, g: string): Promise<string> {
  const c1 = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 0, topics: ['six'] });
  assert.equal(c1.errorCode, 0, c1.errorMessage ?? '');
  const protocols = [{ name: 'range', metadata: subscriptionBytes(['six']) }];
  const j1 = await joinWithId(k, { groupId: g, protocols });
  assert.equal(j1.errorCode, 0);
  const c2 = await hb(a, {
    groupId: g,
    memberId: 'c',
    memberEpoch: 1,
    owned: c1.assignment!.topicPartitions,
  });
  const c3 = await hb(a, {
    groupId: g,
    memberId: 'c',
    memberEpoch: 1,
    owned: c2.assignment!.topicPartitions,
  });
  assert.equal(c3.memberEpoch, 2);
  const j2 = await joinGroup(k, { groupId: g, memberId: j1.memberId, protocols });
  assert.equal(j2.errorCode, 0);
  const s2 = await syncGroup(k, { groupId: g, generationId: j2.generationId, memberId: j1.memberId });
  assert.equal(s2.errorCode, 0);
  assert.equal((await describeConsumer(a, g)).groupState, 'Stable');
  return j1.memberId;
}

describe('KIP-848 consumer groups across a restart', () => {
  test('a member continues with its id and epoch after a restart; one that does not come back expires', async () => {
    const dir = makeTempDir('brook-kip848-restart-');
    const g = 'g-restart';
    try {
      let c1Owned: Owned = [];
      let epoch = 0;
      await onBroker(dir, async (a, b) => {
        await createTopic(a, 'six', 6);
        const j1 = await hb(a, { groupId: g, memberId: 'c1', memberEpoch: 0, topics: ['six'] });
        assert.deepEqual(parts(j1.assignment?.topicPartitions), [0, 1, 2, 3, 4, 5]);
        const j2 = await hb(a, { groupId: g, memberId: 'c2', memberEpoch: 0, topics: ['six'] });
        assert.equal(j2.memberEpoch, 2);
        // c1 revokes three partitions, then moves to epoch 2; c2 gets the three it released.
        const r1 = await hb(a, {
          groupId: g,
          memberId: 'c1',
          memberEpoch: 1,
          owned: j1.assignment!.topicPartitions,
        });
        c1Owned = r1.assignment!.topicPartitions;
        const r2 = await hb(a, { groupId: g, memberId: 'c1', memberEpoch: 1, owned: c1Owned });
        assert.equal(r2.memberEpoch, 2);
        const r3 = await hb(a, { groupId: g, memberId: 'c2', memberEpoch: 2, owned: [] });
        assert.equal(parts(r3.assignment?.topicPartitions).length, 3);
        epoch = r2.memberEpoch;
        const d = await describeConsumer(a, g);
        assert.equal(d.groupState, 'Stable');

        // What was written is Kafka's: every consumer-group record type, for this group.
        const types = new Set<number>();
        let c1Epoch = -1;
        for (const r of await offsetsRecords(b)) {
          const key = parseKey(r.key);
          if (key.kind !== 'consumer' || key.key.groupId !== g) continue;
          types.add(key.key.type);
          if (key.key.type === ConsumerRecordType.CurrentMemberAssignment && key.key.memberId === 'c1') {
            c1Epoch = parseConsumerValue<CurrentMemberAssignmentRecord>(key.key.type, r.value!).memberEpoch;
          }
        }
        assert.deepEqual([...types].sort(), [3, 4, 5, 6, 7, 8]);
        assert.equal(c1Epoch, 2);
        // Heartbeats that change nothing write nothing.
        const count = (await offsetsRecords(b)).length;
        for (let i = 0; i < 3; i++) {
          const steady = await hb(a, { groupId: g, memberId: 'c1', memberEpoch: 2, owned: c1Owned });
          assert.equal(steady.errorCode, 0);
        }
        assert.equal((await offsetsRecords(b)).length, count);
        // A record type this broker does not know (a share group's, Kafka's key version 10) is skipped.
        await b.broker.services.groups.store.write(g, [
          { key: Buffer.from([0, 10, 0, 1, 0x67]), value: Buffer.from([0, 0, 1, 2, 3]) },
        ]);
      });
      await onBroker(dir, async (a) => {
        // c1 heartbeats with its old epoch: it continues, nothing moves.
        const again = await hb(a, { groupId: g, memberId: 'c1', memberEpoch: epoch, owned: c1Owned });
        assert.equal(again.errorCode, 0, again.errorMessage ?? '');
        assert.equal(again.memberEpoch, epoch);
        const d = await describeConsumer(a, g);
        assert.equal(d.groupEpoch, 2);
        assert.equal(d.assignmentEpoch, 2);
        assert.deepEqual(d.members.map((m) => m.memberId).sort(), ['c1', 'c2']);
        const c1 = d.members.find((m) => m.memberId === 'c1')!;
        assert.deepEqual(c1.assignment.topicPartitions[0]!.partitions, parts(c1Owned));
        // c2 never comes back: after its session timeout (1.5 s from the load) c1 gets everything.
        let last = again;
        let owned = c1Owned;
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && parts(owned).length < 6) {
          await sleep(200);
          last = await hb(a, { groupId: g, memberId: 'c1', memberEpoch: last.memberEpoch, owned });
          assert.equal(last.errorCode, 0, last.errorMessage ?? '');
          if (last.assignment) owned = last.assignment.topicPartitions;
        }
        assert.deepEqual(parts(owned), [0, 1, 2, 3, 4, 5]);
        assert.ok(last.memberEpoch > epoch);
        const gone = await hb(a, { groupId: g, memberId: 'c2', memberEpoch: epoch, owned: [] });
        assert.equal(gone.errorCode, 25, 'c2 was removed (UNKNOWN_MEMBER_ID)');
      });
    } finally {
      removeDir(dir);
    }
  });

  test('an empty consumer group becomes classic for a classic member, and back; each survives a restart', async () => {
    const dir = makeTempDir('brook-kip848-convert-');
    const g = 'g-convert';
    const protocols = [{ name: 'range', metadata: subscriptionBytes(['six']) }];
    try {
      let classicMember = '';
      await onBroker(dir, async (a) => {
        await createTopic(a, 'six', 6);
        const j = await hb(a, { groupId: g, memberId: 'c', memberEpoch: 0, topics: ['six'] });
        const ok = await commitOffsets(
          a,
          { groupId: g, generationId: j.memberEpoch, memberId: 'c', version: 9 },
          [{ topic: 'six', partition: 0, offset: 7n }],
        );
        assert.deepEqual(ok, [0]);
        const left = await hb(a, { groupId: g, memberId: 'c', memberEpoch: -1 });
        assert.equal(left.errorCode, 0);
        // The consumer group is empty: a classic member makes it a classic group.
        const k = await joinWithId(a, { groupId: g, protocols });
        assert.equal(k.errorCode, 0);
        assert.equal(k.leader, k.memberId);
        classicMember = k.memberId;
        const s = await syncGroup(a, { groupId: g, generationId: k.generationId, memberId: k.memberId });
        assert.equal(s.errorCode, 0);
        assert.deepEqual(await listGroups(a), [[g, 'classic']]);
      });
      await onBroker(dir, async (a) => {
        assert.deepEqual(await listGroups(a), [[g, 'classic']]);
        assert.equal((await describeConsumer(a, g)).errorCode, 69, 'no consumer group any more');
        const d = await describeGroup(a, g);
        assert.equal(d.groupState, 'Stable');
        assert.deepEqual(
          d.members.map((m) => m.memberId),
          [classicMember],
        );
        const h = await heartbeat(a, { groupId: g, generationId: 1, memberId: classicMember });
        assert.equal(h.errorCode, 0);
        // The classic member leaves: the empty classic group is taken by a consumer-protocol member.
        const left = await leaveGroup(a, g, [{ memberId: classicMember }]);
        assert.equal(left.members[0]!.errorCode, 0);
        const j = await hb(a, { groupId: g, memberId: 'c2', memberEpoch: 0, topics: ['six'] });
        assert.equal(j.errorCode, 0, j.errorMessage ?? '');
        assert.equal(j.memberEpoch, 1, 'a new consumer group');
        assert.deepEqual(await listGroups(a), [[g, 'consumer']]);
      });
      await onBroker(dir, async (a) => {
        assert.deepEqual(await listGroups(a), [[g, 'consumer']]);
        assert.equal((await describeGroup(a, g)).groupState, 'Dead', 'the classic group is gone');
        const again = await hb(a, { groupId: g, memberId: 'c2', memberEpoch: 1, owned: [] });
        assert.equal(again.errorCode, 0, again.errorMessage ?? '');
        assert.equal(again.memberEpoch, 1);
        const fetched = await fetchOffsets(a, g, [{ name: 'six', partitionIndexes: [0] }]);
        assert.equal(
          fetched.topics[0]!.partitions[0]!.committedOffset,
          7n,
          'offsets survive both conversions',
        );
      });
    } finally {
      removeDir(dir);
    }
  });

  test('the last consumer-protocol member leaves: the classic members get a classic group, which survives a restart', async () => {
    const dir = makeTempDir('brook-kip848-downgrade-');
    const g = 'g-downgrade';
    const protocols = [{ name: 'range', metadata: subscriptionBytes(['six']) }];
    try {
      let kId = '';
      await onBroker(dir, async (a, b) => {
        const k = await TestClient.connect(b.port, 'classic');
        try {
          await createTopic(a, 'six', 6);
          kId = await mixedGroup(a, k, g);
          const left = await hb(a, { groupId: g, memberId: 'c', memberEpoch: -1 });
          assert.equal(left.errorCode, 0);
          assert.equal(left.memberEpoch, -1);
          // Kafka 4.0 (group.consumer.migration.policy=bidirectional): a classic group, rebalancing.
          assert.deepEqual(await listGroups(a), [[g, 'classic']]);
          assert.equal((await describeConsumer(a, g)).errorCode, 69);
          const d = await describeGroup(a, g);
          assert.equal(d.groupState, 'PreparingRebalance');
          assert.deepEqual(
            d.members.map((m) => m.memberId),
            [kId],
          );
          const h = await heartbeat(k, { groupId: g, generationId: 2, memberId: kId });
          assert.equal(h.errorCode, 27, 'the classic member is told to rejoin');
          const j = await joinGroup(k, { groupId: g, memberId: kId, protocols });
          assert.equal(j.errorCode, 0);
          assert.equal(j.generationId, 3, 'the generation goes on from the group epoch (2)');
          assert.equal(j.leader, kId, 'a client leader assigns again');
          const all = encodeToBuffer(ConsumerProtocolAssignmentSchema, 0, {
            assignedPartitions: [{ topic: 'six', partitions: [0, 1, 2, 3, 4, 5] }],
            userData: null,
          });
          const s = await syncGroup(k, {
            groupId: g,
            generationId: j.generationId,
            memberId: kId,
            assignments: [{ memberId: kId, assignment: Buffer.concat([Buffer.from([0, 0]), all]) }],
          });
          assert.equal(s.errorCode, 0);
        } finally {
          k.close();
        }
      });
      await onBroker(dir, async (a) => {
        assert.deepEqual(await listGroups(a), [[g, 'classic']]);
        assert.equal((await describeConsumer(a, g)).errorCode, 69, 'no consumer group came back');
        const d = await describeGroup(a, g);
        assert.equal(d.groupState, 'Stable');
        assert.deepEqual(
          d.members.map((m) => m.memberId),
          [kId],
        );
        assert.equal((await heartbeat(a, { groupId: g, generationId: 3, memberId: kId })).errorCode, 0);
      });
    } finally {
      removeDir(dir);
    }
  });

  test('group.consumer.migration.policy=disabled: the group stays a consumer group for its classic member', async () => {
    await withBroker({ config: { ...CONFIG, 'group.consumer.migration.policy': 'disabled' } }, async (b) => {
      const [a, k] = [await TestClient.connect(b.port, 'a'), await TestClient.connect(b.port, 'classic')];
      try {
        await createTopic(a, 'six', 6);
        const g = 'g-no-downgrade';
        const kId = await mixedGroup(a, k, g);
        const left = await hb(a, { groupId: g, memberId: 'c', memberEpoch: -1 });
        assert.equal(left.errorCode, 0);
        assert.deepEqual(await listGroups(a), [[g, 'consumer']]);
        const d = await describeConsumer(a, g);
        assert.deepEqual(
          d.members.map((m) => m.memberId),
          [kId],
        );
        // And no online upgrade either: a Stable classic group refuses a consumer-protocol member.
        const protocols = [{ name: 'range', metadata: subscriptionBytes(['six']) }];
        const j = await joinWithId(k, { groupId: 'g-classic', protocols });
        await syncGroup(k, { groupId: 'g-classic', generationId: j.generationId, memberId: j.memberId });
        const refused = await hb(a, { groupId: 'g-classic', memberId: 'c', memberEpoch: 0, topics: ['six'] });
        assert.equal(refused.errorCode, 69);
      } finally {
        a.close();
        k.close();
      }
    });
  });
});
