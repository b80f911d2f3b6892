// Durable state of KIP-848 consumer groups (Kafka's GroupCoordinatorRecordHelpers and the replay
// side of GroupMetadataManager): what a heartbeat changed is written to __consumer_offsets, in
// Kafka's record formats (consumer-group-records.ts), before the heartbeat is answered, and read
// back at startup so that members continue with their member id and epoch after a restart.
// - Writes are diffs: each group remembers what its last successful write said (`persisted`), and
//   a write carries only the records whose value changed, in Kafka's order (member subscriptions,
//   subscription metadata, group epoch, target assignment, epoch of the target, current
//   assignments), with tombstones for the members that are gone. A steady heartbeat writes nothing.
// - The snapshot moves on only when the write succeeded: after a failed write, the next one
//   carries the same changes again.
// - A group that stops being a consumer group (deleted, expired, or converted to a classic group)
//   gets tombstones for every record it had.
import type { OffsetsRecord } from './offset-manager.js';
import {
  ConsumerGroup,
  ConsumerGroupMember,
  emptyPersisted,
  type MemberState,
  type PersistedGroup,
  type PersistedMember,
} from './consumer-group.js';
import {
  ConsumerRecordType as T,
  consumerKey,
  consumerValue,
  parseConsumerValue,
  type ConsumerRecordKey,
  type CurrentMemberAssignmentRecord,
  type GroupMetadataRecord,
  type MemberMetadataRecord,
  type PartitionMetadataRecord,
  type TargetAssignmentMemberRecord,
  type TargetAssignmentMetadataRecord,
} from './consumer-group-records.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { groupKey } from './offsets-records.js';
import { fromWire, partitionsEqual, toWire } from './topic-partitions.js';

const STATE_CODES: Record<MemberState, number> = {
  STABLE: 0,
  UNREVOKED_PARTITIONS: 1,
  UNRELEASED_PARTITIONS: 2,
};
const STATES_BY_CODE: readonly MemberState[] = ['STABLE', 'UNREVOKED_PARTITIONS', 'UNRELEASED_PARTITIONS'];

let writeSeq = 0;

/** The records that bring __consumer_offsets from `group.persisted` to the group's state now. */
function diff(
  coord: GroupCoordinator,
  group: ConsumerGroup,
): { records: OffsetsRecord[]; next: PersistedGroup } {
  const before = group.persisted;
  const id = group.groupId;
  const records: OffsetsRecord[] = [];
  if (before.classicTombstone) records.push({ key: groupKey(id), value: null });
  const members = new Map<string, PersistedMember>();
  // Members that are gone: Kafka's order, current assignment, target, then the member itself.
  for (const memberId of before.members.keys()) {
    if (group.members.has(memberId)) continue;
    records.push(
      { key: consumerKey(T.CurrentMemberAssignment, id, memberId), value: null },
      { key: consumerKey(T.TargetAssignmentMember, id, memberId), value: null },
      { key: consumerKey(T.MemberMetadata, id, memberId), value: null },
    );
  }
  for (const m of group.members.values()) {
    const old = before.members.get(m.memberId);
    if (!old || !sameMetadata(old, m)) {
      records.push({ key: consumerKey(T.MemberMetadata, id, m.memberId), value: memberValue(m) });
    }
    members.set(m.memberId, snapshotOf(m, old?.target, old?.current));
  }
  if (group.subscriptionSignature !== before.subscriptionSignature) {
    records.push({
      key: consumerKey(T.PartitionMetadata, id),
      value: consumerValue(T.PartitionMetadata, partitionMetadata(coord, group.subscriptionSignature)),
    });
  }
  if (group.groupEpoch !== before.groupEpoch) {
    const v: GroupMetadataRecord = { epoch: group.groupEpoch };
    records.push({ key: consumerKey(T.GroupMetadata, id), value: consumerValue(T.GroupMetadata, v) });
  }
  for (const [memberId, p] of members) {
    const target = group.targetAssignment.get(memberId);
    if (target === p.target) continue;
    if (target === undefined) {
      records.push({ key: consumerKey(T.TargetAssignmentMember, id, memberId), value: null });
    } else if (p.target === undefined || !partitionsEqual(target, p.target)) {
      const v: TargetAssignmentMemberRecord = { topicPartitions: toWire(target) };
      records.push({
        key: consumerKey(T.TargetAssignmentMember, id, memberId),
        value: consumerValue(T.TargetAssignmentMember, v),
      });
    }
    p.target = target;
  }
  if (group.targetAssignmentEpoch !== before.targetAssignmentEpoch) {
    const v: TargetAssignmentMetadataRecord = { assignmentEpoch: group.targetAssignmentEpoch };
    records.push({
      key: consumerKey(T.TargetAssignmentMetadata, id),
      value: consumerValue(T.TargetAssignmentMetadata, v),
    });
  }
  for (const m of group.members.values()) {
    const p = members.get(m.memberId)!;
    const c = p.current;
    const same =
      c !== undefined &&
      c.memberEpoch === m.memberEpoch &&
      c.previousMemberEpoch === m.previousMemberEpoch &&
      c.state === m.state &&
      (c.assigned === m.assigned || partitionsEqual(c.assigned, m.assigned)) &&
      (c.pending === m.pendingRevocation || partitionsEqual(c.pending, m.pendingRevocation));
    // A member waiting for unreleased partitions gets equal new maps on every heartbeat: no record.
    if (!same) {
      const v: CurrentMemberAssignmentRecord = {
        memberEpoch: m.memberEpoch,
        previousMemberEpoch: m.previousMemberEpoch,
        state: STATE_CODES[m.state],
        assignedPartitions: toWire(m.assigned),
        partitionsPendingRevocation: toWire(m.pendingRevocation),
      };
      records.push({
        key: consumerKey(T.CurrentMemberAssignment, id, m.memberId),
        value: consumerValue(T.CurrentMemberAssignment, v),
      });
    }
    p.current = currentOf(m);
  }
  const next: PersistedGroup = {
    groupEpoch: group.groupEpoch,
    targetAssignmentEpoch: group.targetAssignmentEpoch,
    subscriptionSignature: group.subscriptionSignature,
    members,
    classicTombstone: false,
    seq: ++writeSeq,
  };
  return { records, next };
}

/** A member's metadata as written, with the given target and current assignment snapshots. */
function snapshotOf(
  m: ConsumerGroupMember,
  target: PersistedMember['target'],
  current: PersistedMember['current'],
): PersistedMember {
  return {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor,
    classic: m.classic,
    target,
    current,
  };
}

function currentOf(m: ConsumerGroupMember): NonNullable<PersistedMember['current']> {
  return {
    memberEpoch: m.memberEpoch,
    previousMemberEpoch: m.previousMemberEpoch,
    state: m.state,
    assigned: m.assigned,
    pending: m.pendingRevocation,
  };
}

function sameMetadata(p: PersistedMember, m: ConsumerGroupMember): boolean {
  return (
    p.instanceId === m.instanceId &&
    p.rackId === m.rackId &&
    p.clientId === m.clientId &&
    p.clientHost === m.clientHost &&
    p.subscribedTopicNames === m.subscribedTopicNames &&
    p.subscribedTopicRegex === m.subscribedTopicRegex &&
    p.rebalanceTimeoutMs === m.rebalanceTimeoutMs &&
    p.serverAssignor === m.serverAssignor &&
    p.classic === m.classic
  );
}

function memberValue(m: ConsumerGroupMember): Buffer {
  const v: MemberMetadataRecord = {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor,
    classicMemberMetadata: m.classic
      ? { sessionTimeoutMs: m.classic.sessionTimeoutMs, supportedProtocols: m.classic.protocols }
      : null,
  };
  return consumerValue(T.MemberMetadata, v);
}

/** The subscription signature ("topicId:partitions,...") as Kafka's subscription metadata. */
function partitionMetadata(coord: GroupCoordinator, signature: string): PartitionMetadataRecord {
  if (signature === '') return { topics: [] };
  return {
    topics: signature.split(',').map((entry) => {
      const colon = entry.lastIndexOf(':');
      const topicId = entry.slice(0, colon);
      return {
        topicId,
        topicName: coord.topics.getById(topicId)?.name ?? '',
        numPartitions: Number(entry.slice(colon + 1)),
        partitionMetadata: [],
      };
    }),
  };
}

/**
 * Writes what changed in the group since its last write, and resolves once it is durable.
 * Throws (and leaves the snapshot as it was) when the write fails.
 */
export async function persistConsumerGroup(coord: GroupCoordinator, group: ConsumerGroup): Promise<void> {
  // Most heartbeats change nothing: find that out without allocating.
  if (unchanged(group)) return;
  const { records, next } = diff(coord, group);
  if (records.length > 0) await coord.store.write(group.groupId, records);
  // With no records, only references changed (a recomputed target equal to the old one).
  if (next.seq > group.persisted.seq) group.persisted = next;
}

/** True when the group is exactly what its last write said, compared by reference (no allocation). */
function unchanged(group: ConsumerGroup): boolean {
  const p = group.persisted;
  if (
    p.classicTombstone ||
    p.groupEpoch !== group.groupEpoch ||
    p.targetAssignmentEpoch !== group.targetAssignmentEpoch ||
    p.subscriptionSignature !== group.subscriptionSignature ||
    p.members.size !== group.members.size
  ) {
    return false;
  }
  for (const m of group.members.values()) {
    const old = p.members.get(m.memberId);
    if (!old || !sameMetadata(old, m) || old.target !== group.targetAssignment.get(m.memberId)) return false;
    const c = old.current;
    if (
      !c ||
      c.memberEpoch !== m.memberEpoch ||
      c.previousMemberEpoch !== m.previousMemberEpoch ||
      c.state !== m.state ||
      c.assigned !== m.assigned ||
      c.pending !== m.pendingRevocation
    ) {
      return false;
    }
  }
  return true;
}

/** The same for changes no request waits on (session and rebalance timeouts, classic members). */
export function persistConsumerGroupInBackground(coord: GroupCoordinator, group: ConsumerGroup): void {
  persistConsumerGroup(coord, group).catch((err: unknown) => {
    coord.logger.warn('Could not store consumer group state', { group: group.groupId, err: String(err) });
  });
}

/** Tombstones for every record of a consumer group that goes away (Kafka's order). */
export function consumerGroupTombstones(group: ConsumerGroup): OffsetsRecord[] {
  const id = group.groupId;
  const memberIds = new Set([...group.persisted.members.keys(), ...group.members.keys()]);
  const out: OffsetsRecord[] = [];
  for (const memberId of memberIds) {
    out.push(
      { key: consumerKey(T.CurrentMemberAssignment, id, memberId), value: null },
      { key: consumerKey(T.TargetAssignmentMember, id, memberId), value: null },
      { key: consumerKey(T.MemberMetadata, id, memberId), value: null },
    );
  }
  out.push(
    { key: consumerKey(T.TargetAssignmentMetadata, id), value: null },
    { key: consumerKey(T.PartitionMetadata, id), value: null },
    { key: consumerKey(T.GroupMetadata, id), value: null },
  );
  group.persisted = { ...emptyPersisted(), seq: ++writeSeq };
  return out;
}

// ---- replay (startup) ---------------------------------------------------------------------------

/** Applies one consumer-group record while loading (log order). */
export function replayConsumerRecord(
  coord: GroupCoordinator,
  key: ConsumerRecordKey,
  value: Buffer | null,
): void {
  const entry = coord.groups.get(key.groupId);
  if (value === null) {
    const group = entry?.consumer;
    if (!entry || !group) return;
    const member = group.members.get(key.memberId);
    switch (key.type) {
      case T.GroupMetadata:
        entry.consumer = null;
        coord.forgetIfUnused(entry);
        return;
      case T.PartitionMetadata:
        group.subscriptionSignature = '';
        return;
      case T.MemberMetadata:
        if (member) group.remove(member, coord.now());
        return;
      case T.TargetAssignmentMetadata:
        group.targetAssignmentEpoch = 0;
        return;
      case T.TargetAssignmentMember:
        group.targetAssignment.delete(key.memberId);
        return;
      case T.CurrentMemberAssignment:
        if (member) group.setAssignment(member, new Map(), new Map());
        return;
    }
  }
  const group = consumerGroupForReplay(coord, key.groupId);
  switch (key.type) {
    case T.GroupMetadata:
      group.groupEpoch = parseConsumerValue<GroupMetadataRecord>(key.type, value).epoch;
      return;
    case T.PartitionMetadata: {
      const v = parseConsumerValue<PartitionMetadataRecord>(key.type, value);
      // The same string subscriptionSignature() builds, so an unchanged subscription is no change.
      group.subscriptionSignature = v.topics
        .map((t) => `${t.topicId}:${t.numPartitions}`)
        .sort()
        .join(',');
      return;
    }
    case T.MemberMetadata: {
      const v = parseConsumerValue<MemberMetadataRecord>(key.type, value);
      const m = memberForReplay(group, key.memberId, v.instanceId);
      m.rackId = v.rackId;
      m.clientId = v.clientId;
      m.clientHost = v.clientHost;
      m.subscribedTopicNames = v.subscribedTopicNames;
      m.subscribedTopicRegex = v.subscribedTopicRegex;
      m.rebalanceTimeoutMs = v.rebalanceTimeoutMs;
      m.serverAssignor = v.serverAssignor;
      const classic = v.classicMemberMetadata;
      m.classic =
        classic && classic.supportedProtocols.length > 0
          ? {
              protocols: classic.supportedProtocols,
              protocolName: classic.supportedProtocols[0]!.name,
              sessionTimeoutMs: classic.sessionTimeoutMs,
            }
          : null;
      return;
    }
    case T.TargetAssignmentMetadata:
      group.targetAssignmentEpoch = parseConsumerValue<TargetAssignmentMetadataRecord>(
        key.type,
        value,
      ).assignmentEpoch;
      return;
    case T.TargetAssignmentMember: {
      const v = parseConsumerValue<TargetAssignmentMemberRecord>(key.type, value);
      group.targetAssignment.set(key.memberId, fromWire(v.topicPartitions));
      return;
    }
    case T.CurrentMemberAssignment: {
      const v = parseConsumerValue<CurrentMemberAssignmentRecord>(key.type, value);
      const m = memberForReplay(group, key.memberId, null);
      m.memberEpoch = v.memberEpoch;
      m.previousMemberEpoch = v.previousMemberEpoch;
      m.state = STATES_BY_CODE[v.state] ?? 'STABLE';
      group.setAssignment(m, fromWire(v.assignedPartitions), fromWire(v.partitionsPendingRevocation));
      return;
    }
  }
}

function consumerGroupForReplay(coord: GroupCoordinator, groupId: string): ConsumerGroup {
  const entry = coord.getOrCreateGroup(groupId);
  if (!entry.consumer) {
    // A consumer group's records follow the tombstone of the classic group it replaced.
    entry.consumer = new ConsumerGroup(groupId, coord.now());
  }
  return entry.consumer;
}

function memberForReplay(
  group: ConsumerGroup,
  memberId: string,
  instanceId: string | null,
): ConsumerGroupMember {
  let m = group.members.get(memberId);
  if (!m || (instanceId !== null && m.instanceId !== instanceId)) {
    const fresh = new ConsumerGroupMember(memberId, instanceId);
    if (m) {
      // The current assignment came first (compaction keeps only the latest of each key).
      fresh.memberEpoch = m.memberEpoch;
      fresh.previousMemberEpoch = m.previousMemberEpoch;
      fresh.state = m.state;
      const { assigned, pendingRevocation } = m;
      group.remove(m, 0);
      group.add(fresh);
      group.setAssignment(fresh, assigned, pendingRevocation);
    } else {
      group.add(fresh);
    }
    m = fresh;
  }
  return m;
}

/** After loading: the snapshot is what was read, so an unchanged group writes nothing. */
export function markLoaded(group: ConsumerGroup): void {
  const members = new Map<string, PersistedMember>();
  for (const m of group.members.values()) {
    members.set(m.memberId, snapshotOf(m, group.targetAssignment.get(m.memberId), currentOf(m)));
  }
  group.persisted = {
    groupEpoch: group.groupEpoch,
    targetAssignmentEpoch: group.targetAssignmentEpoch,
    subscriptionSignature: group.subscriptionSignature,
    members,
    classicTombstone: false,
    seq: ++writeSeq,
  };
}
