// ConsumerGroupHeartbeat for KIP-848 groups (Kafka's GroupMetadataManager.consumerGroupHeartbeat
// and consumerGroupLeave): join, heartbeat, subscription changes and leave are one request.
// 1. Find or create the group and the member (epoch 0 joins; static members come back under their
//    group.instance.id), and check the member's epoch (FENCED_MEMBER_EPOCH for a stale one).
// 2. Update its subscription; a new member, a changed subscription or a subscribed topic whose
//    partitions changed bumps the group epoch.
// 3. A group epoch above the target assignment's epoch recomputes the target with the server
//    assignor (the one most members ask for, else the first of group.consumer.assignors).
// 4. Reconcile this member (current-assignment.ts) and answer with its epoch and, when it changed
//    or the member joined, its assignment. Other members learn of a new target on their own
//    heartbeat, every group.consumer.heartbeat.interval.ms.
// Session expiry (group.consumer.session.timeout.ms) and a revocation that takes longer than the
// member's rebalance timeout remove the member, which bumps the group epoch.
// What changed is written to __consumer_offsets before the answer (consumer-group-persist.ts).
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from '../protocol/generated/consumer-group-heartbeat.js';
import { ASSIGNORS, type AssignorMember, type AssignorTopic } from './assignors/index.js';
import {
  ConsumerGroup,
  ConsumerGroupMember,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  emptyPersisted,
} from './consumer-group.js';
import { persistConsumerGroup } from './consumer-group-persist.js';
import { downgradeToClassic, shouldDowngrade } from './consumer-group-migration.js';
import { convertClassicGroup } from './consumer-group-classic.js';
import { reconcile } from './current-assignment.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { fromWire, isSubset, partitionsEqual, toWire, type TopicPartitions } from './topic-partitions.js';

/** The request, with what the handler knows about the connection. */
export interface ConsumerHeartbeatParams extends ConsumerGroupHeartbeatRequest {
  apiVersion: number;
  clientId: string;
  clientHost: string;
}

export type ConsumerHeartbeatResult = Omit<ConsumerGroupHeartbeatResponse, 'throttleTimeMs'>;

/** Topics as the coordinator sees them (TopicManager in a broker). */
export interface TopicLookup {
  get(name: string): { topicId: string; partitions: number } | undefined;
  getById(topicId: string): { name: string; partitions: number } | undefined;
  all(): Iterable<{ name: string; topicId: string; partitions: number }>;
}

/** First ConsumerGroupHeartbeat version where the client generates its member id (KIP-1082). */
const CLIENT_MEMBER_ID_VERSION = 1;

export class HeartbeatError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function consumerGroupHeartbeat(
  coord: GroupCoordinator,
  p: ConsumerHeartbeatParams,
): Promise<ConsumerHeartbeatResult> {
  const fail = (code: number, message: string | null = null): ConsumerHeartbeatResult => ({
    errorCode: code,
    errorMessage: message,
    memberId: null,
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    assignment: null,
  });
  const unavailable = coord.availability(p.groupId);
  if (unavailable !== ErrorCode.NONE) return fail(unavailable);
  let result: ConsumerHeartbeatResult;
  let downgrade: Promise<void> | null = null;
  try {
    validateRequest(coord, p);
    if (p.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      ({ result, downgrade } = leave(coord, p));
    } else {
      result = heartbeat(coord, p);
    }
  } catch (err) {
    if (err instanceof HeartbeatError) return fail(err.code, err.message);
    throw err;
  }
  // The answer goes out once what it says is durable (Kafka answers when its records are committed).
  const group = coord.groups.get(p.groupId)?.consumer;
  if (group || downgrade) {
    try {
      await (downgrade ?? persistConsumerGroup(coord, group!));
    } catch (err) {
      coord.logger.error('Consumer group state could not be written', { group: p.groupId, err: String(err) });
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }
  return result;
}

/** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, same checks and messages. */
function validateRequest(coord: GroupCoordinator, p: ConsumerHeartbeatParams): void {
  const invalid = (message: string) => new HeartbeatError(ErrorCode.INVALID_REQUEST, message);
  if (
    (p.apiVersion >= CLIENT_MEMBER_ID_VERSION ||
      p.memberEpoch > 0 ||
      p.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) &&
    p.memberId === ''
  ) {
    throw invalid("MemberId can't be empty.");
  }
  if (p.groupId === '') throw invalid("GroupId can't be empty.");
  if (p.instanceId === '') throw invalid("InstanceId can't be empty.");
  if (p.rackId === '') throw invalid("RackId can't be empty.");
  if (p.memberEpoch === 0) {
    if (p.rebalanceTimeoutMs === -1) throw invalid('RebalanceTimeoutMs must be provided in first request.');
    if (p.topicPartitions === null || p.topicPartitions.length > 0) {
      throw invalid('TopicPartitions must be empty when (re-)joining.');
    }
    if (p.subscribedTopicNames === null && p.subscribedTopicRegex === null) {
      throw invalid(
        'Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.',
      );
    }
  } else if (p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    if (p.instanceId === null) throw invalid("InstanceId can't be null.");
  } else if (p.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    throw invalid('MemberEpoch is invalid.');
  }
  if (p.serverAssignor !== null && !coord.config.consumerAssignors.includes(p.serverAssignor)) {
    throw new HeartbeatError(
      ErrorCode.UNSUPPORTED_ASSIGNOR,
      `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${coord.config.consumerAssignors.join(', ')}.`,
    );
  }
  if (p.subscribedTopicRegex !== null && p.subscribedTopicRegex !== '') compileRegex(p.subscribedTopicRegex);
}

/** The group's consumer-protocol state, created for a join; a non-empty classic group is refused. */
function consumerGroupFor(coord: GroupCoordinator, groupId: string, create: boolean): ConsumerGroup {
  const entry = coord.groups.get(groupId);
  if (entry?.consumer) return entry.consumer;
  if (!create) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Consumer group ${groupId} not found.`);
  if (entry && (entry.members.size > 0 || entry.pendingMembers.size > 0 || entry.state !== 'Empty')) {
    // Kafka's online upgrade: a Stable classic group whose members all speak "consumer" converts.
    const converted = convertClassicGroup(coord, entry);
    if (converted) return converted;
    throw new HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
  }
  // An empty classic group (offline migration) is replaced: its GroupMetadata record is tombstoned
  // with the consumer group's first write; its committed offsets stay.
  const group = coord.getOrCreateGroup(groupId);
  group.consumer = new ConsumerGroup(groupId, coord.now());
  if (entry) group.consumer.persisted = emptyPersisted(true);
  return group.consumer;
}

function heartbeat(coord: GroupCoordinator, p: ConsumerHeartbeatParams): ConsumerHeartbeatResult {
  const group = consumerGroupFor(coord, p.groupId, p.memberEpoch === 0);
  const owned = p.topicPartitions === null ? null : fromWire(p.topicPartitions);
  const { member, added } = findMember(coord, group, p, owned);
  const assignedBefore = member.assigned;

  // 2. Subscription and member metadata.
  let bump = added;
  if (p.subscribedTopicNames !== null && !sameNames(p.subscribedTopicNames, member.subscribedTopicNames)) {
    member.subscribedTopicNames = [...p.subscribedTopicNames];
    bump = true;
  }
  if (p.subscribedTopicRegex !== null) {
    const regex = p.subscribedTopicRegex === '' ? null : p.subscribedTopicRegex;
    if (regex !== member.subscribedTopicRegex) {
      member.subscribedTopicRegex = regex;
      bump = true;
    }
  }
  if (p.serverAssignor !== null && p.serverAssignor !== member.serverAssignor) {
    member.serverAssignor = p.serverAssignor;
    bump = true;
  }
  if (p.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
  if (p.rackId !== null) member.rackId = p.rackId;
  member.clientId = p.clientId;
  member.clientHost = p.clientHost;
  updateAndReconcile(coord, group, member, bump, owned);

  const fullRequest =
    p.rebalanceTimeoutMs !== -1 &&
    (p.subscribedTopicNames !== null || p.subscribedTopicRegex !== null) &&
    owned !== null;
  const changed = !partitionsEqual(assignedBefore, member.assigned);
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    memberId: member.memberId,
    memberEpoch: member.memberEpoch,
    heartbeatIntervalMs: coord.config.consumerHeartbeatIntervalMs,
    assignment:
      p.memberEpoch === 0 || fullRequest || changed ? { topicPartitions: toWire(member.assigned) } : null,
  };
}

/**
 * Steps 2-4 for a member whose subscription was just updated (`bump` when it changed): bump the group
 * epoch if needed, recompute the target, reconcile the member and re-arm its timers.
 */
export function updateAndReconcile(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  member: ConsumerGroupMember,
  bump: boolean,
  owned: TopicPartitions | null,
): void {
  const signature = subscriptionSignature(coord, group);
  if (signature !== group.subscriptionSignature) {
    group.subscriptionSignature = signature;
    bump = true;
  }
  if (bump) group.groupEpoch++;
  if (group.groupEpoch > group.targetAssignmentEpoch) computeTargetAssignment(coord, group);
  reconcile(
    group,
    member,
    group.targetAssignmentEpoch,
    group.targetAssignment.get(member.memberId) ?? new Map(),
    owned,
    subscribedTopicIds(coord, member),
  );
  scheduleSessionExpiry(coord, group, member);
  scheduleRebalanceTimeout(coord, group, member);
}

/** Step 1: the member this heartbeat is for, checked like Kafka checks it. */
function findMember(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  p: ConsumerHeartbeatParams,
  owned: TopicPartitions | null,
): { member: ConsumerGroupMember; added: boolean } {
  if (p.instanceId !== null) {
    const currentId = group.staticMembers.get(p.instanceId);
    const current = currentId === undefined ? undefined : group.members.get(currentId);
    if (p.memberEpoch === 0) {
      const memberId = p.memberId === '' ? randomUUID() : p.memberId;
      if (!current) return { member: addMember(coord, group, memberId, p.instanceId), added: true };
      if (current.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH && current.memberId !== memberId) {
        throw new HeartbeatError(
          ErrorCode.UNRELEASED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${p.instanceId} cannot join the group because the instance id is owned by ${current.memberId} member.`,
        );
      }
      if (current.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        resetMember(group, current);
        return { member: current, added: false };
      }
      // A static member that left with epoch -2 comes back: it gets its old epoch and assignment.
      clearTimers(current);
      const member = group.replaceStaticMember(current, memberId);
      if (member.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH)
        member.memberEpoch = member.previousMemberEpoch;
      return { member, added: false };
    }
    if (!current) {
      throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${p.instanceId} is unknown.`);
    }
    if (current.memberId !== p.memberId) {
      throw new HeartbeatError(
        ErrorCode.FENCED_INSTANCE_ID,
        `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by member ${current.memberId}.`,
      );
    }
    checkEpoch(current, p.memberEpoch, owned);
    return { member: current, added: false };
  }
  const existing = group.members.get(p.memberId);
  if (p.memberEpoch === 0) {
    if (existing) {
      // The member lost its partitions (fenced, or restarted with the same id) and joins again.
      resetMember(group, existing);
      return { member: existing, added: false };
    }
    const memberId = p.memberId === '' ? randomUUID() : p.memberId;
    return { member: addMember(coord, group, memberId, null), added: true };
  }
  if (!existing) {
    throw new HeartbeatError(
      ErrorCode.UNKNOWN_MEMBER_ID,
      `Member ${p.memberId} is not a member of group ${p.groupId}.`,
    );
  }
  checkEpoch(existing, p.memberEpoch, owned);
  return { member: existing, added: false };
}

export function addMember(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  memberId: string,
  instanceId: string | null,
): ConsumerGroupMember {
  if (group.members.size >= coord.config.consumerMaxSize) {
    throw new HeartbeatError(
      ErrorCode.GROUP_MAX_SIZE_REACHED,
      `The consumer group has reached its maximum capacity of ${coord.config.consumerMaxSize} members.`,
    );
  }
  const member = new ConsumerGroupMember(memberId, instanceId);
  group.add(member);
  return member;
}

/** A member that joins again with epoch 0 owns nothing any more: start it from scratch. */
function resetMember(group: ConsumerGroup, member: ConsumerGroupMember): void {
  clearTimers(member);
  member.memberEpoch = 0;
  member.previousMemberEpoch = -1;
  member.state = 'STABLE';
  group.setAssignment(member, new Map(), new Map());
}

/** Kafka's throwIfMemberEpochIsInvalid: one epoch behind is fine if the answer with the new one was lost. */
function checkEpoch(member: ConsumerGroupMember, received: number, owned: TopicPartitions | null): void {
  const fenced = () =>
    new HeartbeatError(
      ErrorCode.FENCED_MEMBER_EPOCH,
      `The consumer group member has a ${received > member.memberEpoch ? 'greater' : 'smaller'} member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
    );
  if (received > member.memberEpoch) throw fenced();
  if (received < member.memberEpoch) {
    if (received !== member.previousMemberEpoch || owned === null || !isSubset(owned, member.assigned)) {
      throw fenced();
    }
  }
}

function leave(
  coord: GroupCoordinator,
  p: ConsumerHeartbeatParams,
): { result: ConsumerHeartbeatResult; downgrade: Promise<void> | null } {
  const group = consumerGroupFor(coord, p.groupId, false);
  let member: ConsumerGroupMember | undefined;
  if (p.instanceId !== null) {
    const id = group.staticMembers.get(p.instanceId);
    member = id === undefined ? undefined : group.members.get(id);
    if (member && member.memberId !== p.memberId) {
      throw new HeartbeatError(
        ErrorCode.FENCED_INSTANCE_ID,
        `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by member ${member.memberId}.`,
      );
    }
  } else {
    member = group.members.get(p.memberId);
  }
  if (!member) {
    throw new HeartbeatError(
      ErrorCode.UNKNOWN_MEMBER_ID,
      `Member ${p.memberId} is not a member of group ${p.groupId}.`,
    );
  }
  const result = (memberEpoch: number): ConsumerHeartbeatResult => ({
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    memberId: p.memberId,
    memberEpoch,
    heartbeatIntervalMs: 0,
    assignment: null,
  });
  if (p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    // A static member leaves for a while: its partitions stay reserved until the session expires.
    if (member.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH)
      member.previousMemberEpoch = member.memberEpoch;
    member.memberEpoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
    clearTimeout(member.rebalanceTimer);
    scheduleSessionExpiry(coord, group, member);
    return { result: result(LEAVE_GROUP_STATIC_MEMBER_EPOCH), downgrade: null };
  }
  return {
    result: result(LEAVE_GROUP_MEMBER_EPOCH),
    downgrade: removeOrDowngrade(coord, group, member, 'left the group'),
  };
}

/**
 * Removes a member, or, when only classic members would remain and the migration policy allows it,
 * turns the group into a classic group without it (Kafka 4.0). Returns the downgrade's write, if any.
 */
function removeOrDowngrade(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  member: ConsumerGroupMember,
  reason: string,
): Promise<void> | null {
  const entry = coord.groups.get(group.groupId);
  if (entry?.consumer === group && shouldDowngrade(coord, group, member)) {
    return downgradeToClassic(coord, entry, group, member, reason);
  }
  removeMember(coord, group, member, reason);
  return null;
}

/** The same from a timer: nobody waits for the write. */
function expireMember(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  member: ConsumerGroupMember,
  reason: string,
): void {
  const downgrade = removeOrDowngrade(coord, group, member, reason);
  const write = downgrade ?? persistConsumerGroup(coord, group);
  write.catch((err: unknown) => {
    coord.logger.warn('Could not store consumer group state', { group: group.groupId, err: String(err) });
  });
}

/** Drops a member (leave, session expiry, revocation too slow); the others converge without it. */
export function removeMember(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  member: ConsumerGroupMember,
  reason: string,
): void {
  clearTimers(member);
  group.remove(member, coord.now());
  group.groupEpoch++;
  coord.logger.info('Consumer group member removed', {
    group: group.groupId,
    member: member.memberId,
    reason,
    groupEpoch: group.groupEpoch,
  });
}

export function clearTimers(member: ConsumerGroupMember): void {
  clearTimeout(member.sessionTimer);
  clearTimeout(member.rebalanceTimer);
  member.sessionTimer = undefined;
  member.rebalanceTimer = undefined;
  member.rebalanceTimerEpoch = -1;
}

export function scheduleSessionExpiry(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  member: ConsumerGroupMember,
): void {
  clearTimeout(member.sessionTimer);
  member.sessionTimer = setTimeout(() => {
    if (coord.isStopped || group.members.get(member.memberId) !== member) return;
    expireMember(coord, group, member, 'session timeout expired');
  }, member.classic?.sessionTimeoutMs ?? coord.config.consumerSessionTimeoutMs);
  member.sessionTimer.unref();
}

/** A member asked to revoke must do so within its rebalance timeout, or it is fenced. */
export function scheduleRebalanceTimeout(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  member: ConsumerGroupMember,
): void {
  if (member.state !== 'UNREVOKED_PARTITIONS') {
    clearTimeout(member.rebalanceTimer);
    member.rebalanceTimer = undefined;
    member.rebalanceTimerEpoch = -1;
    return;
  }
  if (member.rebalanceTimerEpoch === member.memberEpoch) return;
  clearTimeout(member.rebalanceTimer);
  const epoch = member.memberEpoch;
  member.rebalanceTimerEpoch = epoch;
  member.rebalanceTimer = setTimeout(
    () => {
      if (coord.isStopped || group.members.get(member.memberId) !== member) return;
      if (member.state !== 'UNREVOKED_PARTITIONS' || member.memberEpoch !== epoch) return;
      expireMember(coord, group, member, 'did not revoke its partitions within the rebalance timeout');
    },
    Math.max(member.rebalanceTimeoutMs, 0),
  );
  member.rebalanceTimer.unref();
}

// ---- subscriptions and the target assignment ----------------------------------------------------

const regexCache = new Map<string, RegExp>();
/** Bound on cached compiled regexes (each group usually has one). */
const REGEX_CACHE_MAX = 1024;

/**
 * A SubscribedTopicRegex as a JS RegExp that must match the whole topic name, as RE2/J's
 * Matcher.matches() does. JS syntax covers RE2's common subset (classes, alternation, quantifiers,
 * anchors, non-capturing groups); RE2-only syntax such as \Q...\E or (?P<name>...) is refused.
 */
export function compileRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (re) return re;
  try {
    re = new RegExp(`^(?:${source})$`, 'u');
  } catch (err) {
    throw new HeartbeatError(
      ErrorCode.INVALID_REQUEST,
      `SubscribedTopicRegex \`${source}\` is not a valid regular expression: ${(err as Error).message}.`,
    );
  }
  if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
  regexCache.set(source, re);
  return re;
}

/** Topic ids a member subscribes to: its names that exist, plus every topic its regex matches. */
export function subscribedTopicIds(coord: GroupCoordinator, member: ConsumerGroupMember): Set<string> {
  const ids = new Set<string>();
  for (const name of member.subscribedTopicNames) {
    const t = coord.topics.get(name);
    if (t) ids.add(t.topicId);
  }
  if (member.subscribedTopicRegex !== null) {
    const re = compileRegex(member.subscribedTopicRegex);
    for (const t of coord.topics.all()) {
      if (!t.name.startsWith('__') && re.test(t.name)) ids.add(t.topicId);
    }
  }
  return ids;
}

/** Subscribed topics with their partition counts: a change (new topic, more partitions) bumps the epoch. */
export function subscriptionSignature(coord: GroupCoordinator, group: ConsumerGroup): string {
  const ids = new Set<string>();
  for (const m of group.members.values()) for (const id of subscribedTopicIds(coord, m)) ids.add(id);
  return [...ids]
    .sort()
    .map((id) => `${id}:${coord.topics.getById(id)?.partitions ?? 0}`)
    .join(',');
}

/** The assignor most members ask for (ties: the earlier in group.consumer.assignors), else the default. */
export function preferredAssignor(coord: GroupCoordinator, group: ConsumerGroup): string {
  const votes = new Map<string, number>();
  for (const m of group.members.values()) {
    if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
  }
  let best = coord.config.consumerAssignors[0] ?? 'uniform';
  let bestVotes = 0;
  for (const name of coord.config.consumerAssignors) {
    const n = votes.get(name) ?? 0;
    if (n > bestVotes) {
      best = name;
      bestVotes = n;
    }
  }
  return best;
}

export function computeTargetAssignment(coord: GroupCoordinator, group: ConsumerGroup): void {
  const topics = new Map<string, AssignorTopic>();
  const members: AssignorMember[] = [];
  for (const m of group.members.values()) {
    const ids = subscribedTopicIds(coord, m);
    for (const id of ids) {
      const t = coord.topics.getById(id);
      if (t) topics.set(id, { topicId: id, name: t.name, partitions: t.partitions });
    }
    members.push({
      memberId: m.memberId,
      instanceId: m.instanceId,
      subscribedTopicIds: ids,
      previous: group.targetAssignment.get(m.memberId) ?? new Map(),
    });
  }
  const assignor = ASSIGNORS.get(preferredAssignor(coord, group))!;
  group.targetAssignment = assignor.assign(members, topics);
  group.targetAssignmentEpoch = group.groupEpoch;
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((n) => set.has(n));
}

/** Names of the topics any member of the group subscribes to (offsets of these never expire). */
export function subscribedTopicNames(coord: GroupCoordinator, group: ConsumerGroup): Set<string> {
  const names = new Set<string>();
  for (const m of group.members.values()) {
    for (const id of subscribedTopicIds(coord, m)) {
      const t = coord.topics.getById(id);
      if (t) names.add(t.name);
    }
  }
  return names;
}
