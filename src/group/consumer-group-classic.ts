// Classic members in a KIP-848 consumer group (Kafka 4.0's online upgrade path, GroupMetadataManager's
// classicGroupJoinToConsumerGroup and friends): consumers still on group.protocol=classic share a group
// with consumer-protocol members while an application is upgraded one instance at a time.
// - JoinGroup: the member's subscription (ConsumerProtocolSubscription) becomes its subscribed topic
//   names and its ownedPartitions what it still owns; the coordinator assigns as for any member and
//   answers at once with the member epoch as generation and no leader (the client does not assign).
// - SyncGroup hands back the member's current assignment as a ConsumerProtocolAssignment; a partition
//   it must give up is left out, so a cooperative client revokes it and joins again.
// - Heartbeat answers REBALANCE_IN_PROGRESS while the member is not at the target assignment, so it
//   rejoins to get the next step; LeaveGroup and the member's own session timeout remove it.
// - A Stable classic group that a consumer-protocol member joins is converted (when
//   group.consumer.migration.policy allows the upgrade): its members keep their assignments and
//   generation (as member epochs) and move on with their next JoinGroup. The way back is
//   consumer-group-migration.ts.
import { randomUUID } from 'node:crypto';
import { decodeAssignment, decodeSubscription } from '../client/consumer-protocol.js';
import { encodeToBuffer } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/errors.js';
import { ConsumerProtocolAssignmentSchema } from '../protocol/generated/consumer-protocol-assignment.js';
import { ConsumerGroup, ConsumerGroupMember, emptyPersisted } from './consumer-group.js';
import { persistConsumerGroup, persistConsumerGroupInBackground } from './consumer-group-persist.js';
import { upgradeAllowed } from './consumer-group-migration.js';
import {
  HeartbeatError,
  addMember,
  clearTimers,
  computeTargetAssignment,
  removeMember,
  sameNames,
  scheduleSessionExpiry,
  subscriptionSignature,
  updateAndReconcile,
} from './consumer-group-heartbeat.js';
import { EMPTY_BYTES, type ClassicGroup, type JoinResult, type SyncResult } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { joinError, type JoinGroupParams } from './join-group.js';
import type { SyncGroupParams } from './sync-group.js';
import { addPartition, type TopicPartitions } from './topic-partitions.js';

const CONSUMER_PROTOCOL_TYPE = 'consumer';
/** The ConsumerProtocolAssignment version written (every version has the same fields). */
const ASSIGNMENT_VERSION = ConsumerProtocolAssignmentSchema.validVersions[1];

export async function classicJoinToConsumerGroup(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  p: JoinGroupParams,
): Promise<JoinResult> {
  if (p.protocolType !== CONSUMER_PROTOCOL_TYPE || p.protocols.length === 0) {
    return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId);
  }
  const protocol = p.protocols[0]!;
  const subscription = decodeSubscription(protocol.metadata);
  if (!subscription) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId);
  let found: ReturnType<typeof classicMember>;
  try {
    found = classicMember(coord, group, p);
  } catch (err) {
    if (err instanceof HeartbeatError) return joinError(err.code, p.memberId);
    throw err;
  }
  // KIP-394: a new member first gets its id, and joins with it.
  if ('memberIdRequired' in found) return joinError(ErrorCode.MEMBER_ID_REQUIRED, found.memberIdRequired);
  const { member, added } = found;
  member.classic = {
    protocols: p.protocols,
    protocolName: protocol.name,
    sessionTimeoutMs: p.sessionTimeoutMs,
  };
  member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
  member.clientId = p.clientId;
  member.clientHost = p.clientHost;
  let bump = added;
  if (!sameNames(subscription.topics, member.subscribedTopicNames)) {
    member.subscribedTopicNames = [...subscription.topics];
    bump = true;
  }
  // Eager clients give up everything before they join; cooperative ones list what they kept.
  const owned: TopicPartitions = new Map();
  for (const tp of subscription.ownedPartitions ?? []) {
    const topic = coord.topics.get(tp.topic);
    if (topic) for (const partition of tp.partitions) addPartition(owned, topic.topicId, partition);
  }
  updateAndReconcile(coord, group, member, bump, owned);
  try {
    await persistConsumerGroup(coord, group);
  } catch (err) {
    coord.logger.error('Consumer group state could not be written', {
      group: group.groupId,
      err: String(err),
    });
    return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId);
  }
  return {
    errorCode: ErrorCode.NONE,
    generationId: member.memberEpoch,
    protocolType: CONSUMER_PROTOCOL_TYPE,
    protocolName: protocol.name,
    leader: '',
    memberId: member.memberId,
    members: [],
    skipAssignment: false,
  };
}

/** The member a classic JoinGroup is for, or the id a new member must join with. */
function classicMember(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  p: JoinGroupParams,
): { member: ConsumerGroupMember; added: boolean } | { memberIdRequired: string } {
  if (p.groupInstanceId !== null) {
    const currentId = group.staticMembers.get(p.groupInstanceId);
    const current = currentId === undefined ? undefined : group.members.get(currentId);
    if (current && p.memberId !== '' && p.memberId !== current.memberId) {
      throw new HeartbeatError(
        ErrorCode.FENCED_INSTANCE_ID,
        `Instance id ${p.groupInstanceId} is owned by another member.`,
      );
    }
    if (current && p.memberId === current.memberId) return { member: current, added: false };
    const memberId = `${p.groupInstanceId}-${randomUUID()}`;
    if (current) {
      // A restarted static member takes its old place and assignment.
      clearTimers(current);
      return { member: group.replaceStaticMember(current, memberId), added: false };
    }
    return { member: addMember(coord, group, memberId, p.groupInstanceId), added: true };
  }
  if (p.memberId === '') {
    const memberId = `${p.clientId}-${randomUUID()}`;
    if (p.requireKnownMemberId) return { memberIdRequired: memberId };
    return { member: addMember(coord, group, memberId, null), added: true };
  }
  const existing = group.members.get(p.memberId);
  if (existing) return { member: existing, added: false };
  // The id handed out with MEMBER_ID_REQUIRED: the member joins now.
  return { member: addMember(coord, group, p.memberId, null), added: true };
}

/** Member checks shared by SyncGroup, Heartbeat and OffsetCommit of classic members. */
function checkClassicMember(
  group: ConsumerGroup,
  memberId: string,
  groupInstanceId: string | null,
  generationId: number,
): { error: number; member?: ConsumerGroupMember } {
  if (groupInstanceId !== null) {
    const current = group.staticMembers.get(groupInstanceId);
    if (current !== undefined && current !== memberId) return { error: ErrorCode.FENCED_INSTANCE_ID };
  }
  const member = group.members.get(memberId);
  if (!member || member.classic === null) return { error: ErrorCode.UNKNOWN_MEMBER_ID };
  if (generationId !== member.memberEpoch) return { error: ErrorCode.ILLEGAL_GENERATION };
  return { error: ErrorCode.NONE, member };
}

export function classicSyncToConsumerGroup(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  p: SyncGroupParams,
): SyncResult {
  const fail = (errorCode: number): SyncResult => ({
    errorCode,
    protocolType: null,
    protocolName: null,
    assignment: EMPTY_BYTES,
  });
  const { error, member } = checkClassicMember(group, p.memberId, p.groupInstanceId, p.generationId);
  if (error !== ErrorCode.NONE) return fail(error);
  const classic = member!.classic!;
  if (
    (p.protocolType !== null && p.protocolType !== CONSUMER_PROTOCOL_TYPE) ||
    (p.protocolName !== null && p.protocolName !== classic.protocolName)
  ) {
    return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  }
  scheduleSessionExpiry(coord, group, member!);
  return {
    errorCode: ErrorCode.NONE,
    protocolType: CONSUMER_PROTOCOL_TYPE,
    protocolName: classic.protocolName,
    assignment: encodeAssignment(coord, member!.assigned),
  };
}

export function classicHeartbeatToConsumerGroup(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  memberId: string,
  groupInstanceId: string | null,
  generationId: number,
): number {
  const { error, member } = checkClassicMember(group, memberId, groupInstanceId, generationId);
  if (error !== ErrorCode.NONE) return error;
  scheduleSessionExpiry(coord, group, member!);
  const signature = subscriptionSignature(coord, group);
  if (signature !== group.subscriptionSignature) {
    group.subscriptionSignature = signature;
    group.groupEpoch++;
  }
  if (group.groupEpoch > group.targetAssignmentEpoch) computeTargetAssignment(coord, group);
  persistConsumerGroupInBackground(coord, group);
  // Not at the target yet: the member takes its next step by joining again.
  if (member!.state !== 'STABLE' || member!.memberEpoch !== group.targetAssignmentEpoch) {
    return ErrorCode.REBALANCE_IN_PROGRESS;
  }
  return ErrorCode.NONE;
}

/** LeaveGroup of classic members from a consumer group: one error code per member. */
export function classicLeaveConsumerGroup(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  leaving: readonly { memberId: string; groupInstanceId: string | null }[],
): number[] {
  const errors = leaving.map((l) => {
    let member: ConsumerGroupMember | undefined;
    if (l.groupInstanceId !== null) {
      const id = group.staticMembers.get(l.groupInstanceId);
      if (id === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (l.memberId !== '' && l.memberId !== id) return ErrorCode.FENCED_INSTANCE_ID;
      member = group.members.get(id);
    } else {
      member = group.members.get(l.memberId);
    }
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    removeMember(coord, group, member, 'left the group');
    return ErrorCode.NONE;
  });
  persistConsumerGroupInBackground(coord, group);
  return errors;
}

/**
 * Online upgrade: a Stable classic "consumer" group becomes a consumer group when a consumer-protocol
 * member joins it. Returns null (the caller answers GROUP_ID_NOT_FOUND) when it cannot be converted.
 */
export function convertClassicGroup(coord: GroupCoordinator, entry: ClassicGroup): ConsumerGroup | null {
  if (
    entry.state !== 'Stable' ||
    entry.protocolType !== CONSUMER_PROTOCOL_TYPE ||
    entry.protocolName === null
  ) {
    return null;
  }
  if (entry.members.size >= coord.config.consumerMaxSize || !upgradeAllowed(coord)) return null;
  const group = new ConsumerGroup(entry.groupId, coord.now());
  for (const m of entry.members.values()) {
    const subscription = decodeSubscription(m.metadataFor(entry.protocolName));
    if (!subscription) return null;
    const member = new ConsumerGroupMember(m.memberId, m.groupInstanceId);
    member.classic = {
      protocols: m.protocols,
      protocolName: entry.protocolName,
      sessionTimeoutMs: m.sessionTimeoutMs,
    };
    member.subscribedTopicNames = [...subscription.topics];
    member.rebalanceTimeoutMs = m.rebalanceTimeoutMs;
    member.clientId = m.clientId;
    member.clientHost = m.clientHost;
    member.memberEpoch = entry.generationId;
    const assigned: TopicPartitions = new Map();
    for (const tp of decodeAssignment(m.assignment)?.assignedPartitions ?? []) {
      const topic = coord.topics.get(tp.topic);
      if (topic) for (const partition of tp.partitions) addPartition(assigned, topic.topicId, partition);
    }
    group.add(member);
    group.setAssignment(member, assigned, new Map());
    group.targetAssignment.set(member.memberId, new Map([...assigned].map(([t, set]) => [t, new Set(set)])));
  }
  group.groupEpoch = entry.generationId;
  group.targetAssignmentEpoch = entry.generationId;
  group.subscriptionSignature = subscriptionSignature(coord, group);
  // The classic side is emptied; its members carry on as consumer-group members.
  for (const m of entry.members.values()) clearTimeout(m.timer);
  clearTimeout(entry.timer);
  entry.members.clear();
  entry.staticMembers.clear();
  entry.pendingSync.clear();
  entry.leaderId = null;
  // Not a state transition of the classic machine: the group stops being classic altogether.
  entry.state = 'Empty';
  entry.consumer = group;
  // Its records replace the classic group's, whose GroupMetadata record is tombstoned in the same write.
  group.persisted = emptyPersisted(true);
  for (const member of group.members.values()) scheduleSessionExpiry(coord, group, member);
  coord.logger.info('Classic group converted to a consumer group', {
    group: entry.groupId,
    members: group.members.size,
  });
  return group;
}

/** A member's partitions as the ConsumerProtocolAssignment a classic client reads. */
export function encodeAssignment(coord: GroupCoordinator, assigned: TopicPartitions): Buffer {
  const assignedPartitions = [...assigned].flatMap(([topicId, set]) => {
    const topic = coord.topics.getById(topicId);
    return topic ? [{ topic: topic.name, partitions: [...set].sort((a, b) => a - b) }] : [];
  });
  const version = Buffer.alloc(2);
  version.writeInt16BE(ASSIGNMENT_VERSION);
  const body = encodeToBuffer(ConsumerProtocolAssignmentSchema, ASSIGNMENT_VERSION, {
    assignedPartitions,
    userData: null,
  });
  return Buffer.concat([version, body]);
}
