// SyncGroup of the classic group coordinator.
// - In CompletingRebalance every member waits for the leader's SyncGroup; the leader's assignments are
//   persisted first (as Kafka does), then every waiting member gets its own.
// - In a Stable group SyncGroup hands back the member's current assignment.
import { ErrorCode } from '../protocol/errors.js';
import { EMPTY_BYTES, type ClassicGroup, type GroupMember, type SyncResult } from './group.js';
import { groupRecord, type GroupCoordinator } from './group-coordinator.js';
import { scheduleSessionExpiry } from './member-liveness.js';
import { classicSyncToConsumerGroup } from './consumer-group-classic.js';

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export function syncGroup(coord: GroupCoordinator, p: SyncGroupParams): Promise<SyncResult> {
  const unavailable = coord.availability(p.groupId);
  if (unavailable !== ErrorCode.NONE) return Promise.resolve(syncError(unavailable));
  const group = coord.groups.get(p.groupId);
  if (group?.consumer && !coord.isStopped) {
    return Promise.resolve(classicSyncToConsumerGroup(coord, group.consumer, p));
  }
  const error = coord.checkCurrentMember(group, p.memberId, p.groupInstanceId, p.generationId);
  if (error !== ErrorCode.NONE) return Promise.resolve(syncError(error));
  const g = group!;
  if (
    (p.protocolType !== null && p.protocolType !== g.protocolType) ||
    (p.protocolName !== null && p.protocolName !== g.protocolName)
  ) {
    return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
  }
  const member = g.members.get(p.memberId)!;
  switch (g.state) {
    case 'PreparingRebalance':
      return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    case 'Stable':
      g.pendingSync.delete(member.memberId);
      scheduleSessionExpiry(coord, g, member);
      return Promise.resolve(syncResult(g, member));
    case 'CompletingRebalance':
      break;
    default:
      return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
  }
  return new Promise<SyncResult>((resolve) => {
    member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    member.awaitingSync = resolve;
    g.pendingSync.delete(member.memberId);
    scheduleSessionExpiry(coord, g, member);
    if (!g.isLeader(member.memberId)) return;
    const assignments = new Map<string, Buffer>();
    for (const a of p.assignments) if (g.members.has(a.memberId)) assignments.set(a.memberId, a.assignment);
    const generation = g.generationId;
    // Persist first (Kafka stores the group before it answers), then hand out the assignments.
    // Membership is best effort: a group record too big for the log (megabytes of member metadata)
    // is logged and the group carries on; only the offsets must be durable.
    coord.store
      .write(g.groupId, [groupRecord(g, assignments, coord.now())])
      .catch((err: unknown) => {
        coord.logger.warn('Could not store group assignment', { group: g.groupId, err: String(err) });
      })
      .then(() => {
        if (g.state !== 'CompletingRebalance' || g.generationId !== generation) return;
        for (const m of g.members.values()) {
          m.assignment = assignments.get(m.memberId) ?? EMPTY_BYTES;
          const reply = m.awaitingSync;
          m.awaitingSync = null;
          reply?.(syncResult(g, m));
        }
        g.transitionTo('Stable', coord.now());
      });
  });
}

function syncResult(group: ClassicGroup, member: GroupMember): SyncResult {
  return {
    errorCode: ErrorCode.NONE,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    assignment: member.assignment,
  };
}
