// How members of a classic group stay and go: Heartbeat, LeaveGroup, session timeouts and the
// removal that moves the group on (a rebalance, or finishing the one in progress).
// - Every timer here is unref'd and does nothing once the coordinator stopped.
import { ErrorCode } from '../protocol/errors.js';
import type { ClassicGroup, GroupMember } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { classicHeartbeatToConsumerGroup, classicLeaveConsumerGroup } from './consumer-group-classic.js';
import { joinError } from './join-group.js';
import { afterMembershipChange, tryCompleteJoin } from './rebalance.js';
import { syncError } from './sync-group.js';

export interface LeaveResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export function heartbeat(
  coord: GroupCoordinator,
  groupId: string,
  memberId: string,
  groupInstanceId: string | null,
  generationId: number,
): number {
  const unavailable = coord.availability(groupId);
  if (unavailable !== ErrorCode.NONE) return unavailable;
  const group = coord.groups.get(groupId);
  if (group?.consumer && !coord.isStopped) {
    return classicHeartbeatToConsumerGroup(coord, group.consumer, memberId, groupInstanceId, generationId);
  }
  const error = coord.checkCurrentMember(group, memberId, groupInstanceId, generationId);
  if (error !== ErrorCode.NONE) return error;
  const member = group!.members.get(memberId)!;
  switch (group!.state) {
    case 'Stable':
    case 'CompletingRebalance':
      scheduleSessionExpiry(coord, group!, member);
      return ErrorCode.NONE;
    case 'PreparingRebalance':
      if (member.awaitingJoin === null) scheduleSessionExpiry(coord, group!, member);
      return ErrorCode.REBALANCE_IN_PROGRESS;
    default:
      return ErrorCode.UNKNOWN_MEMBER_ID;
  }
}

export function leaveGroup(
  coord: GroupCoordinator,
  groupId: string,
  leaving: readonly { memberId: string; groupInstanceId: string | null }[],
): LeaveResult {
  const unavailable = coord.availability(groupId);
  if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, members: [] };
  const group = coord.groups.get(groupId);
  if (group?.state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
  if (group?.consumer) {
    const errors = classicLeaveConsumerGroup(coord, group.consumer, leaving);
    return { errorCode: ErrorCode.NONE, members: leaving.map((l, i) => ({ ...l, errorCode: errors[i]! })) };
  }
  const members = leaving.map((l) => ({
    ...l,
    errorCode: group ? leaveOne(coord, group, l) : ErrorCode.UNKNOWN_MEMBER_ID,
  }));
  return { errorCode: ErrorCode.NONE, members };
}

function leaveOne(
  coord: GroupCoordinator,
  group: ClassicGroup,
  l: { memberId: string; groupInstanceId: string | null },
): number {
  if (l.groupInstanceId !== null) {
    const current = group.staticMembers.get(l.groupInstanceId);
    if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (l.memberId !== '' && l.memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
    removeMember(coord, group, group.members.get(current)!, 'left the group');
    return ErrorCode.NONE;
  }
  const pending = group.pendingMembers.get(l.memberId);
  if (pending !== undefined) {
    expirePendingMember(coord, group, l.memberId);
    return ErrorCode.NONE;
  }
  const member = group.members.get(l.memberId);
  if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
  removeMember(coord, group, member, 'left the group');
  return ErrorCode.NONE;
}

/** Removes a member (left, session expired) and moves the group on: rebalance or finish the join. */
export function removeMember(
  coord: GroupCoordinator,
  group: ClassicGroup,
  member: GroupMember,
  reason: string,
): void {
  if (group.members.get(member.memberId) !== member) return;
  coord.logger.debug('Removing group member', { group: group.groupId, member: member.memberId, reason });
  dropMember(group, member);
  afterMembershipChange(coord, group);
}

/** Takes a member out and answers whatever it still waits for; no state transition. */
export function dropMember(group: ClassicGroup, member: GroupMember): void {
  clearTimeout(member.timer);
  member.timer = undefined;
  group.remove(member.memberId);
  const join = member.awaitingJoin;
  const sync = member.awaitingSync;
  member.awaitingJoin = null;
  member.awaitingSync = null;
  join?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
  sync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
}

export function expirePendingMember(coord: GroupCoordinator, group: ClassicGroup, memberId: string): void {
  clearTimeout(group.pendingMembers.get(memberId));
  if (!group.pendingMembers.delete(memberId)) return;
  tryCompleteJoin(coord, group);
  coord.forgetIfUnused(group);
}

export function scheduleSessionExpiry(
  coord: GroupCoordinator,
  group: ClassicGroup,
  member: GroupMember,
): void {
  clearTimeout(member.timer);
  member.timer = groupTimer(coord, member.sessionTimeoutMs, () => {
    member.timer = undefined;
    // A member waiting in JoinGroup or SyncGroup is kept alive; the rebalance timeouts bound that.
    if (member.awaitingJoin !== null || member.awaitingSync !== null) return;
    removeMember(coord, group, member, 'session timeout');
  });
}

export function groupTimer(coord: GroupCoordinator, ms: number, fn: () => void): NodeJS.Timeout {
  const t = setTimeout(
    () => {
      if (!coord.isStopped) fn();
    },
    Math.max(0, Math.min(ms, 0x7fffffff)),
  );
  t.unref();
  return t;
}
