// JoinGroup of the classic group coordinator, static membership (KIP-345) included.
// - A new member gets an id (and, from v4, first MEMBER_ID_REQUIRED with it); a known member's join
//   updates its protocols. Either then waits for the rebalance (rebalance.ts) to answer it.
// - A static member (group.instance.id) that comes back replaces its old member id; in a Stable group
//   with unchanged protocols it keeps its assignment without a rebalance.
// - Every function mutates state synchronously; the reply callback resolves the handler's promise.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import { GroupMember, validateMember, type ClassicGroup, type JoinResult, type Protocol } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { expirePendingMember, groupTimer, removeMember, scheduleSessionExpiry } from './member-liveness.js';
import { classicJoinToConsumerGroup } from './consumer-group-classic.js';
import { consumerGroupTombstones } from './consumer-group-persist.js';
import { maybePrepareRebalance } from './rebalance.js';
import { syncError } from './sync-group.js';

/** Kafka's limit on how long a brand-new member may wait in JoinGroup (NewMemberJoinTimeoutMs). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface JoinGroupParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED with its id. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a Stable group's static leader may skip the assignment (KIP-814). */
  supportSkipAssignment: boolean;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
}

export function joinError(errorCode: number, memberId = ''): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    memberId,
    members: [],
    skipAssignment: false,
  };
}

export function joinGroup(coord: GroupCoordinator, p: JoinGroupParams): Promise<JoinResult> {
  const unavailable = coord.availability(p.groupId);
  if (unavailable !== ErrorCode.NONE) return Promise.resolve(joinError(unavailable, p.memberId));
  if (p.groupId === '') return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, p.memberId));
  if (
    p.sessionTimeoutMs < coord.config.minSessionTimeoutMs ||
    p.sessionTimeoutMs > coord.config.maxSessionTimeoutMs
  ) {
    return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, p.memberId));
  }
  const isNewMember = p.memberId === '';
  let group = coord.groups.get(p.groupId);
  if (!group) {
    if (!isNewMember) return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId));
    group = coord.getOrCreateGroup(p.groupId);
  }
  if (group.consumer) {
    // A KIP-848 group: classic members join it as Kafka 4.0 allows (consumer-group-classic.ts);
    // an empty one becomes classic again.
    if (group.consumer.members.size > 0) return classicJoinToConsumerGroup(coord, group.consumer, p);
    // Offline migration: the consumer group's records are tombstoned (its offsets stay) before the
    // classic group writes its own; appends to the partition keep that order.
    coord.store.write(group.groupId, consumerGroupTombstones(group.consumer)).catch((err: unknown) => {
      coord.logger.warn('Could not store consumer group removal', { group: p.groupId, err: String(err) });
    });
    group.consumer = null;
  }
  const known = group.members.has(p.memberId) || group.pendingMembers.has(p.memberId);
  const staticKnown = p.groupInstanceId !== null && group.staticMembers.has(p.groupInstanceId);
  if (!known && !staticKnown && group.members.size >= coord.config.maxSize) {
    coord.forgetIfUnused(group);
    return Promise.resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, p.memberId));
  }
  const g = group;
  return new Promise<JoinResult>((resolve) => {
    if (isNewMember) newMemberJoin(coord, g, p, resolve);
    else currentMemberJoin(coord, g, p, resolve);
    coord.forgetIfUnused(g);
  });
}

function newMemberJoin(
  coord: GroupCoordinator,
  group: ClassicGroup,
  p: JoinGroupParams,
  reply: (r: JoinResult) => void,
): void {
  if (group.state === 'Dead') return reply(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
  if (!group.supportsProtocols(p.protocolType, p.protocols)) {
    return reply(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
  }
  const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`;
  if (p.groupInstanceId !== null) {
    const oldMemberId = group.staticMembers.get(p.groupInstanceId);
    if (oldMemberId !== undefined)
      return replaceStaticMember(coord, group, oldMemberId, newMemberId, p, reply);
    return addMemberAndRebalance(coord, group, newMemberId, p, reply);
  }
  if (p.requireKnownMemberId) {
    // KIP-394: the client must come back with this id, so a retried JoinGroup cannot leave ghosts.
    group.pendingMembers.set(
      newMemberId,
      groupTimer(coord, p.sessionTimeoutMs, () => expirePendingMember(coord, group, newMemberId)),
    );
    return reply(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId));
  }
  addMemberAndRebalance(coord, group, newMemberId, p, reply);
}

function currentMemberJoin(
  coord: GroupCoordinator,
  group: ClassicGroup,
  p: JoinGroupParams,
  reply: (r: JoinResult) => void,
): void {
  if (group.state === 'Dead') return reply(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, p.memberId));
  if (!group.supportsProtocols(p.protocolType, p.protocols)) {
    return reply(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId));
  }
  const pending = group.pendingMembers.get(p.memberId);
  if (pending !== undefined) {
    clearTimeout(pending);
    group.pendingMembers.delete(p.memberId);
    return addMemberAndRebalance(coord, group, p.memberId, p, reply);
  }
  const error = validateMember(group, p.memberId, p.groupInstanceId);
  if (error !== ErrorCode.NONE) return reply(joinError(error, p.memberId));
  const member = group.members.get(p.memberId)!;
  switch (group.state) {
    case 'PreparingRebalance':
      return updateMemberAndRebalance(coord, group, member, p, reply);
    case 'CompletingRebalance':
      // The same join again (its answer got lost): the current generation's answer.
      if (member.matches(p.protocols)) return reply(currentJoinResult(group, member));
      return updateMemberAndRebalance(coord, group, member, p, reply);
    case 'Stable':
      if (group.isLeader(member.memberId) || !member.matches(p.protocols)) {
        return updateMemberAndRebalance(coord, group, member, p, reply);
      }
      scheduleSessionExpiry(coord, group, member);
      return reply(currentJoinResult(group, member));
    default:
      return reply(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId));
  }
}

export function currentJoinResult(group: ClassicGroup, member: GroupMember): JoinResult {
  return {
    errorCode: ErrorCode.NONE,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    leader: group.leaderId ?? '',
    memberId: member.memberId,
    members: group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    skipAssignment: false,
  };
}

function addMemberAndRebalance(
  coord: GroupCoordinator,
  group: ClassicGroup,
  memberId: string,
  p: JoinGroupParams,
  reply: (r: JoinResult) => void,
): void {
  const rebalanceTimeoutMs = p.rebalanceTimeoutMs > 0 ? p.rebalanceTimeoutMs : p.sessionTimeoutMs;
  const member = new GroupMember(
    memberId,
    p.groupInstanceId,
    p.clientId,
    p.clientHost,
    rebalanceTimeoutMs,
    p.sessionTimeoutMs,
    p.protocols,
  );
  member.isNew = true;
  member.awaitingJoin = reply;
  group.add(member, p.protocolType);
  if (group.state === 'PreparingRebalance' && group.inInitialDelay) group.newMemberAdded = true;
  // A new member cannot heartbeat while it waits; a client that went away retries with a new id.
  clearTimeout(member.timer);
  member.timer = groupTimer(coord, NEW_MEMBER_JOIN_TIMEOUT_MS, () =>
    removeMember(coord, group, member, 'join timeout'),
  );
  maybePrepareRebalance(coord, group);
}

function updateMemberAndRebalance(
  coord: GroupCoordinator,
  group: ClassicGroup,
  member: GroupMember,
  p: JoinGroupParams,
  reply: (r: JoinResult) => void,
): void {
  member.protocols = p.protocols;
  member.rebalanceTimeoutMs = p.rebalanceTimeoutMs > 0 ? p.rebalanceTimeoutMs : p.sessionTimeoutMs;
  member.sessionTimeoutMs = p.sessionTimeoutMs;
  member.clientId = p.clientId;
  member.clientHost = p.clientHost;
  // A second JoinGroup from the same member supersedes the first, which must still get an answer.
  member.awaitingJoin?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
  member.awaitingJoin = reply;
  clearTimeout(member.timer); // kept alive while waiting; the rebalance timeout bounds the wait
  member.timer = undefined;
  maybePrepareRebalance(coord, group);
}

function replaceStaticMember(
  coord: GroupCoordinator,
  group: ClassicGroup,
  oldMemberId: string,
  newMemberId: string,
  p: JoinGroupParams,
  reply: (r: JoinResult) => void,
): void {
  const previousLeader = group.leaderId;
  const old = group.members.get(oldMemberId)!;
  // The old instance is fenced: anything it still waits for fails now.
  old.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId));
  old.awaitingJoin = null;
  old.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
  old.awaitingSync = null;
  const member = group.replaceStaticMember(oldMemberId, newMemberId);
  const protocolsChanged = !member.matches(p.protocols);
  member.protocols = p.protocols;
  member.rebalanceTimeoutMs = p.rebalanceTimeoutMs > 0 ? p.rebalanceTimeoutMs : p.sessionTimeoutMs;
  member.sessionTimeoutMs = p.sessionTimeoutMs;
  member.clientId = p.clientId;
  member.clientHost = p.clientHost;
  switch (group.state) {
    case 'Stable':
      if (!protocolsChanged || group.selectProtocol() === group.protocolName) {
        // Same generation, same assignment: SyncGroup in a Stable group hands it back.
        scheduleSessionExpiry(coord, group, member);
        coord.persistGroup(group);
        const isLeader = group.isLeader(newMemberId);
        return reply({
          errorCode: ErrorCode.NONE,
          generationId: group.generationId,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          // Before KIP-814 (v9) the old leader id keeps a restarted leader from assigning anew.
          leader: (p.supportSkipAssignment ? group.leaderId : previousLeader) ?? '',
          memberId: newMemberId,
          members: isLeader ? group.currentMemberMetadata() : [],
          skipAssignment: isLeader && p.supportSkipAssignment,
        });
      }
      member.awaitingJoin = reply;
      clearTimeout(member.timer);
      member.timer = undefined;
      return maybePrepareRebalance(coord, group);
    case 'CompletingRebalance':
    case 'PreparingRebalance':
      // The old instance may already hold an assignment from the leader: rebalance.
      member.awaitingJoin = reply;
      clearTimeout(member.timer);
      member.timer = undefined;
      return maybePrepareRebalance(coord, group);
    default:
      return reply(joinError(ErrorCode.UNKNOWN_MEMBER_ID, newMemberId));
  }
}
