// Partition reassignment (KIP-455), the controller's arithmetic, as Kafka's ReplicaAssignment does it.
// A partition being reassigned keeps three lists in its topic znode: the full replica set RS (target
// replicas first, then the original ones not in the target), adding_replicas AR = TRS - ORS and
// removing_replicas RR = ORS - TRS. The original set is RS - AR and the target RS - RR, so the znode
// alone lets a new controller resume a reassignment its predecessor started.
//
// Phase A (the request): RS, AR and RR are written; the added replicas see themselves in RS and start
// fetching. Phase B (once every target replica is in the ISR): in one transaction RS becomes the
// target, AR and RR are cleared, the removed replicas leave the ISR and, if the leader is one of them
// (or is not alive), the first live target replica leads (leader epoch + 1). A removed replica sees
// itself gone from RS, stops and deletes its log. Cancelling is a reassignment back to the original set.
import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionState } from '../cluster-view.js';

export interface ReplicaAssignment {
  /** RS: every replica, target first. */
  readonly replicas: readonly number[];
  /** AR: being added (empty unless reassigning). */
  readonly adding: readonly number[];
  /** RR: being removed (empty unless reassigning). */
  readonly removing: readonly number[];
}

export function isReassigning(a: ReplicaAssignment): boolean {
  return a.adding.length > 0 || a.removing.length > 0;
}

/** ORS: the replicas before the reassignment began. */
export function originReplicas(a: ReplicaAssignment): number[] {
  return a.replicas.filter((b) => !a.adding.includes(b));
}

/** TRS: the replicas once the reassignment completes. */
export function targetReplicas(a: ReplicaAssignment): number[] {
  return a.replicas.filter((b) => !a.removing.includes(b));
}

/**
 * Kafka's ReplicaAssignment.reassignTo: the assignment that moves from the original replicas (kept
 * across a reassignment that replaces an ongoing one) to `target`. With nothing to add or remove
 * (the same set, maybe in another order) the result is simply `target`, not being reassigned.
 */
export function reassignTo(current: ReplicaAssignment, target: readonly number[]): ReplicaAssignment {
  const origin = originReplicas(current);
  const replicas = [...new Set([...target, ...origin])];
  return {
    replicas,
    adding: target.filter((b) => !origin.includes(b)),
    removing: origin.filter((b) => !target.includes(b)),
  };
}

/** Why a target replica list is refused (Kafka's validateReplicas), or null. */
export function validateTarget(
  current: ReplicaAssignment,
  target: readonly number[],
  live: ReadonlySet<number>,
): { errorCode: number; errorMessage: string } | null {
  const invalid = (errorMessage: string) => ({
    errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    errorMessage,
  });
  if (target.length === 0) return invalid('Empty replica list specified in partition reassignment.');
  if (new Set(target).size !== target.length) {
    return invalid(`Duplicate replica ids in partition reassignment replica list: ${target.join(',')}.`);
  }
  if (target.some((b) => b < 0)) return invalid(`Invalid broker id in replica list: ${target.join(',')}.`);
  const dead = reassignTo(current, target).adding.filter((b) => !live.has(b));
  if (dead.length > 0) {
    return invalid(
      `Replica assignment has brokers that are not alive: ${dead.join(',')} (live brokers: ${[...live]
        .sort((a, b) => a - b)
        .join(',')}).`,
    );
  }
  return null;
}

export interface LeaderAndIsrChange {
  leader: number;
  leaderEpoch: number;
  isr: number[];
}

/**
 * The partition state once the replica set is `replicas`: replicas outside it leave the ISR, and a
 * leader outside it (or not alive) hands over to the first live replica in the ISR, else the
 * partition has no leader. Null when nothing changes. The leader epoch goes up with every change,
 * as Kafka's controller bumps it.
 */
export function stateForReplicas(
  s: PartitionState,
  replicas: readonly number[],
  live: ReadonlySet<number>,
): LeaderAndIsrChange | null {
  const isr = s.isr.filter((b) => replicas.includes(b));
  let leader = s.leader;
  if (leader < 0 || !replicas.includes(leader) || !live.has(leader)) {
    leader = replicas.find((b) => live.has(b) && isr.includes(b)) ?? -1;
  }
  if (leader === s.leader && isr.length === s.isr.length) return null;
  // The ISR is never written empty: a partition without a leader keeps who may lead cleanly.
  return { leader, leaderEpoch: s.leaderEpoch + 1, isr: isr.length > 0 ? isr : [...s.isr] };
}

/**
 * Phase B's condition: every target replica is in the ISR and one of them is alive to lead (a
 * partition without a leader waits for its election first).
 */
export function canComplete(a: ReplicaAssignment, s: PartitionState, live: ReadonlySet<number>): boolean {
  if (!isReassigning(a) || s.leader < 0) return false;
  const target = targetReplicas(a);
  return target.every((b) => s.isr.includes(b)) && target.some((b) => live.has(b));
}
