// The classic group's rebalance: PreparingRebalance -> CompletingRebalance (Kafka's DelayedJoin,
// InitialDelayedJoin and DelayedSync).
// - The join phase ends when every member rejoined or the largest rebalance timeout passed; an Empty
//   group first waits group.initial.rebalance.delay.ms, extended while new members keep coming.
// - Completing the join drops who did not rejoin, starts the next generation and answers every
//   waiting JoinGroup; members that then do not SyncGroup within the rebalance timeout are dropped.
import { ErrorCode } from '../protocol/errors.js';
import { EMPTY_BYTES, type ClassicGroup } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { currentJoinResult } from './join-group.js';
import { dropMember, groupTimer, scheduleSessionExpiry } from './member-liveness.js';
import { syncError } from './sync-group.js';

export function maybePrepareRebalance(coord: GroupCoordinator, group: ClassicGroup): void {
  if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') {
    prepareRebalance(coord, group);
  } else if (group.state === 'PreparingRebalance') {
    tryCompleteJoin(coord, group);
  }
}

function prepareRebalance(coord: GroupCoordinator, group: ClassicGroup): void {
  if (group.state === 'CompletingRebalance') resetAssignments(group, ErrorCode.REBALANCE_IN_PROGRESS);
  clearTimeout(group.timer);
  group.pendingSync.clear();
  const wasEmpty = group.state === 'Empty';
  group.transitionTo('PreparingRebalance', coord.now());
  const rebalanceTimeoutMs = maxRebalanceTimeout(group);
  const delay = coord.config.initialRebalanceDelayMs;
  if (wasEmpty) {
    // Kafka's InitialDelayedJoin: wait for more members, extending while they keep arriving.
    group.inInitialDelay = true;
    group.newMemberAdded = false;
    scheduleInitialDelay(coord, group, delay, Math.max(rebalanceTimeoutMs - delay, 0));
  } else {
    group.timer = groupTimer(coord, rebalanceTimeoutMs, () => completeJoin(coord, group));
    tryCompleteJoin(coord, group);
  }
}

function scheduleInitialDelay(
  coord: GroupCoordinator,
  group: ClassicGroup,
  delayMs: number,
  remainingMs: number,
): void {
  group.timer = groupTimer(coord, delayMs, () => {
    if (group.newMemberAdded && remainingMs > 0) {
      group.newMemberAdded = false;
      const next = Math.min(coord.config.initialRebalanceDelayMs, remainingMs);
      scheduleInitialDelay(coord, group, next, Math.max(remainingMs - next, 0));
      return;
    }
    group.inInitialDelay = false;
    completeJoin(coord, group);
  });
}

export function tryCompleteJoin(coord: GroupCoordinator, group: ClassicGroup): void {
  if (group.state === 'PreparingRebalance' && !group.inInitialDelay && group.hasAllMembersJoined()) {
    completeJoin(coord, group);
  }
}

/** Kafka's onCompleteJoin: drop who did not rejoin, start the next generation, answer every JoinGroup. */
function completeJoin(coord: GroupCoordinator, group: ClassicGroup): void {
  if (group.state !== 'PreparingRebalance') return;
  clearTimeout(group.timer);
  group.timer = undefined;
  group.inInitialDelay = false;
  for (const m of [...group.members.values()]) {
    if (m.awaitingJoin === null && m.groupInstanceId === null) dropMember(group, m);
  }
  const joined = [...group.members.values()].filter((m) => m.awaitingJoin !== null);
  if (group.members.size > 0 && joined.length === 0) {
    // Only static members that have not come back: wait for them (or their session timeouts).
    group.timer = groupTimer(coord, maxRebalanceTimeout(group), () => completeJoin(coord, group));
    return;
  }
  if (group.leaderId === null || group.members.get(group.leaderId)?.awaitingJoin === null) {
    group.leaderId = joined[0]?.memberId ?? null;
  }
  group.generationId += 1;
  if (group.members.size === 0) {
    group.protocolName = null;
    group.transitionTo('Empty', coord.now());
    coord.persistGroup(group);
    return;
  }
  group.protocolName = group.selectProtocol();
  group.transitionTo('CompletingRebalance', coord.now());
  for (const m of group.members.values()) {
    group.pendingSync.add(m.memberId);
    const reply = m.awaitingJoin;
    m.awaitingJoin = null;
    m.isNew = false;
    scheduleSessionExpiry(coord, group, m);
    reply?.(currentJoinResult(group, m));
  }
  const generation = group.generationId;
  group.timer = groupTimer(coord, maxRebalanceTimeout(group), () =>
    expirePendingSync(coord, group, generation),
  );
}

export function afterMembershipChange(coord: GroupCoordinator, group: ClassicGroup): void {
  if (group.state === 'Stable' || group.state === 'CompletingRebalance') prepareRebalance(coord, group);
  else if (group.state === 'PreparingRebalance') tryCompleteJoin(coord, group);
}

/** Members that never sent SyncGroup for this generation are dropped (Kafka's DelayedSync). */
function expirePendingSync(coord: GroupCoordinator, group: ClassicGroup, generation: number): void {
  group.timer = undefined;
  if (group.generationId !== generation) return;
  if (group.state !== 'CompletingRebalance' && group.state !== 'Stable') return;
  const missing = [...group.pendingSync].map((id) => group.members.get(id)).filter((m) => m !== undefined);
  group.pendingSync.clear();
  for (const m of missing) dropMember(group, m);
  if (missing.length > 0) afterMembershipChange(coord, group);
}

function resetAssignments(group: ClassicGroup, errorCode: number): void {
  for (const m of group.members.values()) {
    m.assignment = EMPTY_BYTES;
    const reply = m.awaitingSync;
    m.awaitingSync = null;
    reply?.(syncError(errorCode));
  }
}

function maxRebalanceTimeout(group: ClassicGroup): number {
  let max = 0;
  for (const m of group.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
  return max;
}
