// One replicated partition on this broker, as ReplicaManager drives it from the ClusterView: its
// role (leader, follower, or neither while the partition has no live leader), and on the leader the
// followers' fetch positions, from which the high watermark (the smallest log end offset in the ISR)
// and the ISR changes (shrink after replica.lag.time.max.ms, expand once caught up) are decided, as in
// Kafka's Partition.scala.
import type { PartitionState } from './cluster-view.js';
import type { UnifiedLog } from '../storage/unified-log.js';

export type ReplicaRole = 'leader' | 'follower' | 'offline';

/** What the leader knows of one follower (Kafka's Replica). */
export interface FollowerPosition {
  /** The follower's log end offset: the offset of its last fetch; -1 until it fetched in this epoch. */
  logEndOffset: number;
  /** Last time the follower was known to have reached the leader's log end. */
  lastCaughtUpMs: number;
  /** Leader's log end and time at the follower's previous fetch (Kafka's lastFetchLeaderLogEndOffset). */
  lastFetchLeaderLogEndOffset: number;
  lastFetchMs: number;
}

export class PartitionReplica {
  role: ReplicaRole = 'offline';
  /** Leader only: followers by node id. */
  readonly followers = new Map<number, FollowerPosition>();
  /** Offset where the current leader epoch started on this leader (an ISR joiner must reach it). */
  leaderEpochStartOffset = 0;
  /** An alterIsr is in flight: one at a time, decided again on its answer. */
  isrChangePending = false;
  /** Produce requests (acks=all) waiting for the high watermark or a state change. */
  private readonly waiters = new Set<() => void>();
  private stopListening: (() => void) | null = null;

  constructor(
    public state: PartitionState,
    readonly log: UnifiedLog,
    private readonly localNodeId: number,
  ) {}

  get topic(): string {
    return this.state.topic;
  }
  get partition(): number {
    return this.state.partition;
  }
  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /** Takes a newer state (a stale one, by partition epoch and leader epoch, is ignored). */
  updateState(next: PartitionState): boolean {
    if (
      next.leaderEpoch < this.state.leaderEpoch ||
      (next.leaderEpoch === this.state.leaderEpoch && next.partitionEpoch < this.state.partitionEpoch)
    ) {
      return false;
    }
    this.state = next;
    // A replica reassigned away is no follower any more: its fetches are refused from now on.
    for (const id of this.followers.keys()) if (!next.replicas.includes(id)) this.followers.delete(id);
    return true;
  }

  /** On becoming leader: every replica counts as caught up now, none has a known position yet. */
  resetFollowers(nowMs: number): void {
    this.followers.clear();
    for (const id of this.state.replicas) {
      if (id === this.localNodeId) continue;
      this.followers.set(id, {
        logEndOffset: -1,
        lastCaughtUpMs: nowMs,
        lastFetchLeaderLogEndOffset: -1,
        lastFetchMs: nowMs,
      });
    }
  }

  /** A fetch from follower `nodeId` at `fetchOffset` (its log end), as Kafka's updateFetchState. */
  recordFetch(nodeId: number, fetchOffset: number, nowMs: number): FollowerPosition | undefined {
    let f = this.followers.get(nodeId);
    if (f === undefined) {
      if (!this.state.replicas.includes(nodeId)) return undefined;
      f = { logEndOffset: -1, lastCaughtUpMs: 0, lastFetchLeaderLogEndOffset: -1, lastFetchMs: 0 };
      this.followers.set(nodeId, f);
    }
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, nowMs);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset && f.lastFetchLeaderLogEndOffset >= 0)
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.logEndOffset = fetchOffset;
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    f.lastFetchMs = nowMs;
    return f;
  }

  /**
   * The high watermark the ISR allows: the smallest log end offset among its members (a member
   * whose position is unknown holds it where it is). Never below the current one.
   */
  computeHighWatermark(): number {
    let hw = this.log.logEndOffset;
    for (const id of this.state.isr) {
      if (id === this.localNodeId) continue;
      const f = this.followers.get(id);
      if (f === undefined || f.logEndOffset < 0) return this.log.highWatermark;
      if (f.logEndOffset < hw) hw = f.logEndOffset;
    }
    return Math.max(hw, this.log.highWatermark);
  }

  /**
   * Leader: every write to the log (produce, the group coordinator's commits) may move the high
   * watermark, e.g. at once when the ISR is this broker alone.
   */
  listenToAppends(on: boolean): void {
    if (on && this.stopListening === null) {
      this.stopListening = this.log.onAppend(() => this.maybeAdvanceHighWatermark());
    } else if (!on && this.stopListening !== null) {
      this.stopListening();
      this.stopListening = null;
    }
  }

  /** Moves the high watermark up to what the ISR allows; true when it moved. */
  maybeAdvanceHighWatermark(): boolean {
    if (!this.isLeader) return false;
    const hw = this.computeHighWatermark();
    if (hw <= this.log.highWatermark) return false;
    this.log.highWatermark = hw;
    this.wake();
    return true;
  }

  /** ISR members (not us) that have not caught up within `lagMaxMs` (Kafka's getOutOfSyncReplicas). */
  laggingReplicas(nowMs: number, lagMaxMs: number): number[] {
    const out: number[] = [];
    for (const id of this.state.isr) {
      if (id === this.localNodeId) continue;
      const f = this.followers.get(id);
      if (f === undefined || nowMs - f.lastCaughtUpMs > lagMaxMs) out.push(id);
    }
    return out;
  }

  /** A follower outside the ISR that may join it: caught up to the high watermark in this epoch. */
  canJoinIsr(nodeId: number): boolean {
    if (this.state.isr.includes(nodeId) || !this.state.replicas.includes(nodeId)) return false;
    const f = this.followers.get(nodeId);
    return (
      f !== undefined &&
      f.logEndOffset >= this.log.highWatermark &&
      f.logEndOffset >= this.leaderEpochStartOffset
    );
  }

  /** Registers a produce waiting for the high watermark or a role change; returns its removal. */
  addWaiter(waiter: () => void): () => void {
    this.waiters.add(waiter);
    return () => this.waiters.delete(waiter);
  }

  /** Wakes every waiter to check again (high watermark moved, ISR or role changed). */
  wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
