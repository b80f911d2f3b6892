// Appends to and reads from the partitions this broker holds, and parks Fetch requests until data
// arrives. Storage errors become Kafka error codes here, so that handlers deal only in codes.
// - A single node (LocalClusterView) leads every partition at leader epoch 0; the log moves its own
//   high watermark with every write, exactly as before clusters existed, and nothing below runs.
// - A cluster member follows the ClusterView's partition states (Kafka's ReplicaManager): it becomes
//   leader (records the new epoch at its log end, stamps it into every batch, tracks its followers'
//   fetch positions, moves the high watermark over the ISR, shrinks and expands the ISR through
//   alterIsr), becomes follower (a ReplicaFetcher per leader truncates then copies the leader's log),
//   or stops. acks=all produces wait here until the high watermark covers them.
import { join } from 'node:path';
import type { ClusterView, PartitionChanges, PartitionState } from '../cluster/cluster-view.js';
import { LocalClusterView } from '../cluster/cluster-view.js';
import { HighWatermarkCheckpoint } from '../cluster/hw-checkpoint.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import { PartitionReplica } from '../cluster/partition-replica.js';
import { ReplicaFetcher, type ReplicaFetcherConfig } from '../cluster/replica-fetcher.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { topicLogConfig } from '../config/topic-config.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { BATCH_OFFSET_MAGIC } from '../protocol/batch-header.js';
import { CompressionError } from '../protocol/compression.js';
import { convertLegacyMessageSet } from '../protocol/legacy-records.js';
import { CorruptRecordError } from '../protocol/records.js';
import { StorageError } from '../storage/errors.js';
import { fsyncDir } from '../storage/fsync-dir.js';
import type { LogManager } from '../storage/log-manager.js';
import { readPartitionMetadata, writePartitionMetadata } from '../storage/partition-metadata-file.js';
import {
  maxDecompressedBytesFor,
  RecordValidationError,
  validateCompressedRecords,
  validateRecords,
  type RecordError,
  timestampWindow,
  type ValidateOptions,
} from '../storage/record-batches.js';
import type { AppendResult, UnifiedLog } from '../storage/unified-log.js';

/** What replication needs besides the logs: where partition states come from, and the broker's config. */
export interface ReplicationContext {
  cluster: ClusterView;
  /** Topic configs and ids for logs created because a partition state names this broker. */
  metadata: MetadataStore;
  /** The data dir holding replication-offset-checkpoint. */
  dataDir: string;
  config: () => BrokerConfig;
}

export interface AppendRequest {
  /** 0, 1 or -1 (all). */
  acks: number;
  /** Produce's TimeoutMs: how long acks=all waits for the ISR. */
  timeoutMs: number;
}

export interface AppendOutcome {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Records refused one by one (KIP-467); empty unless errorCode is INVALID_RECORD. */
  recordErrors: RecordError[];
}

const STORAGE_ERROR_CODES: Record<string, number> = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  OUT_OF_ORDER_SEQUENCE_NUMBER: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH: ErrorCode.INVALID_PRODUCER_EPOCH,
  DUPLICATE_SEQUENCE_NUMBER: ErrorCode.DUPLICATE_SEQUENCE_NUMBER,
  KAFKA_STORAGE_ERROR: ErrorCode.KAFKA_STORAGE_ERROR,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
  INVALID_TIMESTAMP: ErrorCode.INVALID_TIMESTAMP,
};

/** The Kafka error code for an error thrown by storage (unknown errors are UNKNOWN_SERVER_ERROR). */
export function errorCodeOf(err: unknown): number {
  if (err instanceof StorageError) return STORAGE_ERROR_CODES[err.code] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  // Legacy (magic 0/1) message sets are decoded before storage sees them.
  if (err instanceof CompressionError)
    return err.tooLarge ? ErrorCode.MESSAGE_TOO_LARGE : ErrorCode.CORRUPT_MESSAGE;
  if (err instanceof CorruptRecordError) return ErrorCode.CORRUPT_MESSAGE;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Checks a client's view of the leader epoch against ours (KIP-320); NONE when it matches or is unset. */
export function checkLeaderEpoch(currentLeaderEpoch: number, leaderEpoch: number): number {
  if (currentLeaderEpoch < 0 || currentLeaderEpoch === leaderEpoch) return ErrorCode.NONE;
  return currentLeaderEpoch > leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}

const SINGLE_NODE_EPOCH = LocalClusterView.LEADER_EPOCH;
/** Wait before taking a partition state again whose topic this broker's metadata did not know yet. */
const CREATE_RETRY_MS = 500;

export class ReplicaManager {
  /** Per partition, the last append still waiting for an earlier one or for its records' check. */
  private readonly appendQueues = new Map<UnifiedLog, Promise<void>>();
  /** False on a single node: every partition is led here at epoch 0 and nothing is tracked. */
  readonly replicated: boolean;
  readonly cluster: ClusterView;
  /** Cluster mode: the partitions this broker is a replica of, by topic then partition. */
  private readonly replicas = new Map<string, Map<number, PartitionReplica>>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** Per partition, state changes applied one at a time (becoming follower awaits a truncation). */
  private readonly transitions = new Map<string, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private hwCheckpoint: HighWatermarkCheckpoint | null = null;
  private checkpointedHw = new Map<string, Map<number, number>>();
  private unsubscribe: (() => void) | null = null;
  private unsubscribeSession: (() => void) | null = null;
  private stopped = false;
  /** False once a controlled shutdown began: this broker fetches for no partition any more. */
  private following = true;
  /** Called when this broker becomes leader of a partition, or stops leading it (group coordinator). */
  private readonly leadershipListeners = new Set<
    (topic: string, partition: number, leader: boolean) => void
  >();

  constructor(
    private readonly logs: LogManager,
    private readonly logger: Logger,
    private readonly context?: ReplicationContext,
  ) {
    this.cluster =
      context?.cluster ??
      new LocalClusterView(
        1,
        () => ({ nodeId: 1, host: '', port: 0, rack: null }),
        () => undefined,
      );
    this.replicated = context !== undefined && !(context.cluster instanceof LocalClusterView);
  }

  /**
   * Cluster mode: reads the checkpointed high watermarks, takes every partition state the view
   * already has, follows its changes, and starts the ISR and checkpoint timers. Nothing on a single node.
   */
  async start(): Promise<void> {
    if (!this.replicated || this.context === undefined) return;
    const { dataDir, metadata } = this.context;
    this.checkpointedHw = await HighWatermarkCheckpoint.read(dataDir);
    this.hwCheckpoint = new HighWatermarkCheckpoint(dataDir);
    this.unsubscribe = this.cluster.onPartitionChanges((changes) => this.onPartitionChanges(changes));
    this.unsubscribeSession =
      this.cluster.onSessionChange?.((valid) => {
        if (!valid) this.fenceLeaderships();
      }) ?? null;
    const initial: PartitionState[] = [];
    const seen = new Set<string>();
    const consider = (topic: string, partition: number): void => {
      const k = `${topic}\u0000${partition}`;
      if (seen.has(k)) return;
      seen.add(k);
      const st = this.cluster.partitionState(topic, partition);
      if (st !== undefined) initial.push(st);
    };
    for (const t of metadata.topics()) for (let p = 0; p < t.partitions; p++) consider(t.name, p);
    for (const log of this.logs.allLogs()) consider(log.topic, log.partition);
    await Promise.all(initial.map((st) => this.applyState(st)));
    const config = this.context.config();
    const lagCheck = setInterval(() => this.maybeShrinkIsr(), Math.max(10, config.replicaLagTimeMaxMs / 2));
    const checkpoint = setInterval(
      () => void this.checkpointHighWatermarks().catch((err: unknown) => this.logCheckpointError(err)),
      config.replicaHighWatermarkCheckpointIntervalMs,
    );
    lagCheck.unref();
    checkpoint.unref();
    this.timers.push(lagCheck, checkpoint);
  }

  /** Stops fetchers and timers and writes the high watermarks a last time (before the logs close). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribeSession?.();
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    this.fetchers.clear();
    await Promise.allSettled([...this.transitions.values()]);
    for (const byPartition of this.replicas.values()) for (const r of byPartition.values()) r.wake();
    if (this.replicated)
      await this.checkpointHighWatermarks().catch((err: unknown) => this.logCheckpointError(err));
  }

  /**
   * Controlled shutdown, before leadership moves away: this broker stops fetching, now and for the
   * partitions it is about to follow. A stopping broker that kept fetching would be taken back into
   * the ISRs the controller removes it from, and the leaders' acks=all would wait for it again.
   */
  async stopFollowing(): Promise<void> {
    this.following = false;
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    this.fetchers.clear();
  }

  /** Calls `listener` when this broker starts or stops leading a partition; returns its removal. */
  onLeadershipChange(listener: (topic: string, partition: number, leader: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  getLog(topic: string, partition: number): UnifiedLog | undefined {
    return this.logs.getLog(topic, partition);
  }

  /** The log directory (log.dirs, absolute) and every partition log in it (DescribeLogDirs). */
  get logDir(): string {
    return this.logs.dataDir;
  }
  allLogs(): UnifiedLog[] {
    return this.logs.allLogs();
  }

  /** Cluster mode: this broker's replica of the partition, if it is one. */
  replica(topic: string, partition: number): PartitionReplica | undefined {
    return this.replicas.get(topic)?.get(partition);
  }

  /** The partition's current leader epoch as this broker knows it (0 on a single node), or -1. */
  leaderEpochOf(topic: string, partition: number): number {
    if (!this.replicated) return SINGLE_NODE_EPOCH;
    return this.cluster.partitionState(topic, partition)?.leaderEpoch ?? -1;
  }

  /**
   * The error for a request that only the leader serves (Produce, consumer Fetch, ListOffsets,
   * OffsetForLeaderEpoch), checking the client's leader epoch first (KIP-320): NONE when this broker
   * leads the partition in that epoch. The caller has already found the log.
   */
  leaderError(topic: string, partition: number, currentLeaderEpoch: number): number {
    if (!this.replicated) return checkLeaderEpoch(currentLeaderEpoch, SINGLE_NODE_EPOCH);
    const r = this.replicas.get(topic)?.get(partition);
    if (r === undefined) {
      return this.cluster.partitionState(topic, partition) !== undefined
        ? ErrorCode.NOT_LEADER_OR_FOLLOWER
        : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    const epochError = checkLeaderEpoch(currentLeaderEpoch, r.state.leaderEpoch);
    if (epochError !== ErrorCode.NONE) return epochError;
    return r.isLeader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /**
   * A consumer's Fetch: the leader serves it, and with `allowFollower` (Fetch v11+, KIP-392) a
   * follower too, up to its own high watermark. NONE when this broker may answer.
   */
  readError(topic: string, partition: number, currentLeaderEpoch: number, allowFollower: boolean): number {
    if (!allowFollower || !this.replicated) return this.leaderError(topic, partition, currentLeaderEpoch);
    const r = this.replicas.get(topic)?.get(partition);
    if (r === undefined || r.role === 'offline')
      return this.leaderError(topic, partition, currentLeaderEpoch);
    return checkLeaderEpoch(currentLeaderEpoch, r.state.leaderEpoch);
  }

  /**
   * KIP-392 on the leader, with replica.selector.class = RackAwareReplicaSelector: the in-sync
   * follower in the consumer's rack (client.rack) that has `fetchOffset` (the furthest ahead), or -1
   * when the consumer should read here (no rack, the leader's own rack, no such follower).
   */
  preferredReadReplica(topic: string, partition: number, clientRack: string, fetchOffset: number): number {
    if (!this.replicated || clientRack === '' || !this.context!.config().rackAwareReplicaSelector) return -1;
    const r = this.replicas.get(topic)?.get(partition);
    if (r === undefined || !r.isLeader) return -1;
    if (this.cluster.broker(this.cluster.localNodeId)?.rack === clientRack) return -1;
    let best = -1;
    let bestEnd = -1;
    for (const [id, f] of r.followers) {
      if (!r.state.isr.includes(id) || f.logEndOffset < fetchOffset || f.logEndOffset <= bestEnd) continue;
      if (this.cluster.broker(id)?.rack !== clientRack) continue;
      best = id;
      bestEnd = f.logEndOffset;
    }
    return best;
  }

  /**
   * Leader side of a follower's Fetch: the follower's fetch offset is its log end offset. Moves the
   * high watermark and lets a caught-up follower rejoin the ISR. Returns the error for the
   * partition (NOT_LEADER_OR_FOLLOWER, fenced epochs), NONE when the follower may read.
   */
  recordFollowerFetch(
    topic: string,
    partition: number,
    followerId: number,
    fetchOffset: number,
    currentLeaderEpoch: number,
  ): number {
    const error = this.leaderError(topic, partition, currentLeaderEpoch);
    if (error !== ErrorCode.NONE || !this.replicated) return error;
    const r = this.replicas.get(topic)!.get(partition)!;
    // A follower past our log end has not truncated yet: its offset is no position (Kafka records a
    // follower's fetch only after the read succeeded), and it must not count towards HW or ISR.
    if (fetchOffset > r.log.logEndOffset || fetchOffset < r.log.logStartOffset) {
      return ErrorCode.OFFSET_OUT_OF_RANGE;
    }
    if (r.recordFetch(followerId, fetchOffset, Date.now()) === undefined) {
      return ErrorCode.NOT_LEADER_OR_FOLLOWER; // not one of its replicas
    }
    if (r.canJoinIsr(followerId)) this.changeIsr(r, [...r.state.isr, followerId]);
    r.maybeAdvanceHighWatermark();
    return ErrorCode.NONE;
  }

  /**
   * Appends a client's records. Resolves once the bytes are written (and fsynced when
   * log.flush.before.ack is on), so an acknowledged write survives a process crash; in a cluster
   * with acks=all, once the high watermark covers them (the whole ISR has them).
   */
  async appendRecords(
    topic: string,
    partition: number,
    records: Buffer | null,
    request: AppendRequest,
  ): Promise<AppendOutcome> {
    const log = this.logs.getLog(topic, partition);
    if (!log) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
    let leaderEpoch = SINGLE_NODE_EPOCH;
    let replica: PartitionReplica | undefined;
    if (this.replicated) {
      replica = this.replicas.get(topic)?.get(partition);
      if (replica === undefined || !replica.isLeader) {
        return failure(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This broker does not lead ${topic}-${partition}.`);
      }
      leaderEpoch = replica.state.leaderEpoch;
      if (request.acks === -1) {
        const minIsr = this.minInsyncReplicas(topic);
        if (replica.state.isr.length < minIsr) {
          return failure(
            ErrorCode.NOT_ENOUGH_REPLICAS,
            `The ISR of ${topic}-${partition} has ${replica.state.isr.length} replicas, min.insync.replicas is ${minIsr}.`,
          );
        }
      }
    }
    if (!records || records.length === 0) {
      return failure(ErrorCode.CORRUPT_MESSAGE, 'Produce request carries no records.');
    }
    try {
      if (records.length > BATCH_OFFSET_MAGIC && records[BATCH_OFFSET_MAGIC]! < 2) {
        // Magic v0/v1 message sets (old client versions) are stored as v2 like everything else.
        const maxDecompressedBytes = maxDecompressedBytesFor(log.config.maxMessageBytes);
        records = await convertLegacyMessageSet(records, { maxDecompressedBytes });
      }
      // Everything Kafka checks before storing a client's records (record-batches.ts). Compressed
      // batches are inflated to check their records, off the event loop where the codec allows.
      const config = log.config;
      const opts: ValidateOptions = {
        compacted: config.cleanupPolicy !== 'delete',
        origin: 'client',
        topicPartition: `${topic}-${partition}`,
        timestamps: timestampWindow(config, Date.now()),
      };
      const validated = validateRecords(records, config.maxMessageBytes, opts);
      const inflated =
        validated.compressedBatches > 0
          ? validateCompressedRecords(records, maxDecompressedBytesFor(config.maxMessageBytes), opts)
          : null;
      const stamped = records;
      const result = await this.appendInOrder(log, inflated, () => {
        // Leadership may have moved while the records were checked.
        if (replica !== undefined && (!replica.isLeader || replica.state.leaderEpoch !== leaderEpoch)) {
          throw new NotLeaderError();
        }
        return log.append(stamped, { leaderEpoch, assignOffsets: true, validated });
      });
      if (request.acks !== 0) await result.durable;
      const outcome: AppendOutcome = {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        baseOffset: result.baseOffset,
        logAppendTimeMs: result.logAppendTimeMs,
        logStartOffset: result.logStartOffset,
        recordErrors: [],
      };
      if (replica !== undefined) {
        if (request.acks === -1) {
          const code = await this.waitForIsr(replica, result.lastOffset + 1, leaderEpoch, request.timeoutMs);
          if (code !== ErrorCode.NONE) {
            outcome.errorCode = code;
            outcome.errorMessage = ISR_WAIT_MESSAGES[code] ?? null;
          }
        }
      }
      return outcome;
    } catch (err) {
      if (err instanceof NotLeaderError) {
        return failure(
          ErrorCode.NOT_LEADER_OR_FOLLOWER,
          `This broker no longer leads ${topic}-${partition}.`,
        );
      }
      const code = errorCodeOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.logger.error('Append failed', { topic, partition, err: (err as Error).stack });
      }
      const outcome = failure(code, (err as Error).message);
      if (err instanceof RecordValidationError) outcome.recordErrors = err.recordErrors;
      return outcome;
    }
  }

  /**
   * Whether a partition this broker leads has fewer replicas in its ISR than min.insync.replicas: an
   * acks=all write would be refused with NOT_ENOUGH_REPLICAS before it is appended.
   */
  underMinIsr(topic: string, partition: number): boolean {
    const r = this.replicas.get(topic)?.get(partition);
    return r !== undefined && r.state.isr.length < this.minInsyncReplicas(topic);
  }

  /** min.insync.replicas of the topic (its override, else the broker's). */
  private minInsyncReplicas(topic: string): number {
    const override = this.context?.metadata.getTopic(topic)?.configs['min.insync.replicas'];
    const n = override === undefined ? NaN : Number(override);
    return Number.isInteger(n) && n > 0 ? n : (this.context?.config().minInsyncReplicas ?? 1);
  }

  /**
   * acks=all's purgatory (Kafka's DelayedProduce): NONE once the high watermark reaches
   * `requiredOffset` with at least min.insync.replicas in the ISR (else
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND), NOT_LEADER_OR_FOLLOWER when leadership moved meanwhile,
   * REQUEST_TIMED_OUT after `timeoutMs`.
   */
  private waitForIsr(
    replica: PartitionReplica,
    requiredOffset: number,
    leaderEpoch: number,
    timeoutMs: number,
  ): Promise<number> {
    const check = (): number | null => {
      if (this.stopped || !replica.isLeader || replica.state.leaderEpoch !== leaderEpoch) {
        return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      }
      if (replica.log.highWatermark < requiredOffset) return null;
      return replica.state.isr.length < this.minInsyncReplicas(replica.topic)
        ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        : ErrorCode.NONE;
    };
    const now = check();
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (code: number): void => {
        clearTimeout(timer);
        remove();
        resolve(code);
      };
      const remove = replica.addWaiter(() => {
        const code = check();
        if (code !== null) finish(code);
      });
      const timer = setTimeout(() => finish(ErrorCode.REQUEST_TIMED_OUT), Math.max(0, timeoutMs));
    });
  }

  /**
   * Cluster mode: resolves once the ISR of a partition this broker leads has every offset below
   * `offset` (the group coordinator's commits, as Kafka appends them with acks=all); rejects with the
   * Kafka error's name otherwise (leadership lost, timeout, ISR below min.insync.replicas).
   */
  async awaitReplicated(topic: string, partition: number, offset: number, timeoutMs: number): Promise<void> {
    const r = this.replicas.get(topic)?.get(partition);
    if (r === undefined || !r.isLeader) throw new Error(`not the leader of ${topic}-${partition}`);
    const code = await this.waitForIsr(r, offset, r.state.leaderEpoch, timeoutMs);
    if (this.stopped) throw new Error('the broker is shutting down');
    if (code !== ErrorCode.NONE) throw new Error(ISR_WAIT_MESSAGES[code] ?? `error ${code}`);
  }

  /**
   * The coordination session is lost: this broker can no longer prove any leadership (another broker
   * may lead already), so it stops acting as leader at once: produce and consumer fetches get
   * NOT_LEADER_OR_FOLLOWER, acks=all waits end, the group coordinator drops its groups. With a new
   * session the view delivers every current state again, and the partitions it still leads resume.
   */
  private fenceLeaderships(): void {
    for (const byPartition of this.replicas.values()) {
      for (const r of byPartition.values()) {
        if (!r.isLeader) continue;
        r.role = 'offline';
        r.listenToAppends(false);
        r.wake();
        this.emitLeadership(r.topic, r.partition, false);
      }
    }
    this.logger.warn('Coordination session lost: leading nothing until it is back');
  }

  // ---- partition states (cluster mode) ----------------------------------------------------------

  private onPartitionChanges(changes: PartitionChanges): void {
    if (this.stopped) return;
    for (const st of changes.updated) void this.applyState(st);
    for (const { topic, partition } of changes.removed)
      void this.enqueue(topic, partition, () => this.stopReplica(topic, partition));
  }

  /** Applies a partition state after the ones before it for the same partition. */
  private applyState(state: PartitionState): Promise<void> {
    return this.enqueue(state.topic, state.partition, () => this.transition(state));
  }

  private enqueue(topic: string, partition: number, work: () => Promise<void>): Promise<void> {
    const k = `${topic}\u0000${partition}`;
    const next = (this.transitions.get(k) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      this.logger.error('Partition state change failed', { topic, partition, err: (err as Error).stack });
    });
    this.transitions.set(k, next);
    void next.then(() => {
      if (this.transitions.get(k) === next) this.transitions.delete(k);
    });
    return next;
  }

  private async transition(state: PartitionState): Promise<void> {
    if (this.stopped) return;
    const me = this.cluster.localNodeId;
    const { topic, partition } = state;
    if (!state.replicas.includes(me)) {
      await this.stopReplica(topic, partition);
      await this.deleteRemovedReplica(state);
      return;
    }
    let r = this.replicas.get(topic)?.get(partition);
    if (r !== undefined) {
      const sameEpoch = state.leaderEpoch === r.state.leaderEpoch;
      if (!r.updateState(state)) return; // stale
      if (sameEpoch && r.role !== 'offline') {
        // Same leader and epoch: an ISR or replica set change only.
        if (r.isLeader) {
          r.maybeAdvanceHighWatermark();
          r.wake();
        }
        return;
      }
    } else {
      const log = this.logs.getLog(topic, partition) ?? (await this.createLog(topic, partition));
      // Stopped while the log was created: no fetcher may start after stop() stopped them.
      if (this.stopped) return;
      if (log === undefined) {
        // The state came before the topic's config (another watch): try again shortly.
        this.retryLater(topic, partition);
        return;
      }
      const topicHw = this.checkpointedHw.get(topic)?.get(partition) ?? log.logStartOffset;
      log.manageHighWatermark(topicHw);
      r = new PartitionReplica(state, log, me);
      let byPartition = this.replicas.get(topic);
      if (byPartition === undefined) this.replicas.set(topic, (byPartition = new Map()));
      byPartition.set(partition, r);
    }
    const wasLeader = r.isLeader;
    // A leadership decided before this broker registered was an earlier incarnation's (KIP-380): the
    // controller decides again (a new state), and until then this broker leads nothing it finds so.
    const mayLead =
      (this.cluster.sessionValid ?? true) &&
      !(this.cluster.leadershipDecidedBeforeRegistration?.(state) ?? false);
    if ((state.leader !== me || !mayLead) && wasLeader) {
      // At once, before any await: an append must never stamp the new epoch on a former leader.
      r.role = 'offline';
      r.listenToAppends(false);
      r.wake();
    }
    await this.removeFromFetcher(topic, partition);
    if (state.leader === me && !mayLead) {
      // A state read before the session was lost, or decided before this broker registered, proves nothing now.
      r.role = 'offline';
    } else if (state.leader === me) {
      await this.becomeLeader(r);
    } else if (state.leader >= 0) {
      this.becomeFollower(r);
    } else {
      r.role = 'offline';
      r.listenToAppends(false);
    }
    r.wake();
    if (wasLeader !== r.isLeader) this.emitLeadership(topic, partition, r.isLeader);
  }

  private retryLater(topic: string, partition: number): void {
    setTimeout(() => {
      const state = this.cluster.partitionState(topic, partition);
      if (!this.stopped && state !== undefined && this.replicas.get(topic)?.get(partition) === undefined) {
        void this.applyState(state);
      }
    }, CREATE_RETRY_MS).unref();
  }

  private async becomeLeader(r: PartitionReplica): Promise<void> {
    await r.log.assignLeaderEpoch(r.state.leaderEpoch);
    r.leaderEpochStartOffset = r.log.logEndOffset;
    r.resetFollowers(Date.now());
    r.role = 'leader';
    r.listenToAppends(true);
    r.maybeAdvanceHighWatermark();
    this.logger.info('Became leader', {
      topic: r.topic,
      partition: r.partition,
      leaderEpoch: r.state.leaderEpoch,
      isr: r.state.isr.join(','),
    });
  }

  private becomeFollower(r: PartitionReplica): void {
    r.role = 'follower';
    r.listenToAppends(false);
    r.followers.clear();
    const leaderId = r.state.leader;
    // stop() or a controlled shutdown already stopped the fetchers: start no new one.
    if (this.stopped || !this.following) return;
    let fetcher = this.fetchers.get(leaderId);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher(
        leaderId,
        this.cluster.localNodeId,
        () => this.cluster.broker(leaderId),
        this.fetcherConfig(),
        this.logger.child({ name: `replica-fetcher-${leaderId}` }),
      );
      this.fetchers.set(leaderId, fetcher);
    }
    fetcher.add(r);
    this.logger.info('Became follower', {
      topic: r.topic,
      partition: r.partition,
      leader: leaderId,
      leaderEpoch: r.state.leaderEpoch,
    });
  }

  private async stopReplica(topic: string, partition: number): Promise<void> {
    const r = this.replicas.get(topic)?.get(partition);
    if (r === undefined) return;
    await this.removeFromFetcher(topic, partition);
    const wasLeader = r.isLeader;
    r.role = 'offline';
    r.listenToAppends(false);
    this.replicas.get(topic)!.delete(partition);
    if (this.replicas.get(topic)!.size === 0) this.replicas.delete(topic);
    r.wake();
    if (wasLeader) this.emitLeadership(topic, partition, false);
  }

  /**
   * A partition whose replica set no longer names this broker (a completed or cancelled
   * reassignment moved it away): its log here is deleted, as Kafka's StopReplica with
   * deletePartition does. Only for the topic the state belongs to (a log of an older topic of the
   * same name is not this one's to delete).
   */
  private async deleteRemovedReplica(state: PartitionState): Promise<void> {
    const { topic, partition } = state;
    const log = this.logs.getLog(topic, partition);
    const topicId = this.context?.metadata.getTopic(topic)?.topicId;
    if (log === undefined || topicId === undefined || this.stopped) return;
    const logTopicId = await readPartitionMetadata(log.dir).catch(() => null);
    if (logTopicId !== null && logTopicId !== topicId) return;
    await this.logs.deleteLog(topic, partition);
    this.logger.info('Deleted the local log of a replica moved to other brokers', {
      topic,
      partition,
      replicas: state.replicas.join(','),
    });
  }

  /** Resolves once no fetcher touches the partition's log any more. */
  private async removeFromFetcher(topic: string, partition: number): Promise<void> {
    const inFlight: Promise<void>[] = [];
    for (const [leaderId, f] of this.fetchers) {
      inFlight.push(f.remove(topic, partition));
      if (f.size === 0) {
        this.fetchers.delete(leaderId);
        void f.stop();
      }
    }
    await Promise.all(inFlight);
  }

  private emitLeadership(topic: string, partition: number, leader: boolean): void {
    for (const l of this.leadershipListeners) {
      try {
        l(topic, partition, leader);
      } catch (err) {
        this.logger.error('Leadership listener threw', { err: (err as Error).message });
      }
    }
  }

  /** A replica named by a partition state with no log here: created with its topic's config. */
  private async createLog(topic: string, partition: number): Promise<UnifiedLog | undefined> {
    const meta = this.context?.metadata.getTopic(topic);
    if (meta === undefined) {
      this.logger.debug('A partition state names this broker but its topic is not known here yet', {
        topic,
        partition,
      });
      return undefined;
    }
    const log = await this.logs.createLog(topic, partition, topicLogConfig(this.logs.defaults, meta.configs));
    await writePartitionMetadata(log.dir, meta.topicId);
    await fsyncDir(log.dir);
    await this.logs.syncDataDir();
    this.logger.info('Created the log of a replica', { topic, partition, dir: join(log.dir) });
    return log;
  }

  private fetcherConfig(): ReplicaFetcherConfig {
    const c = this.context!.config();
    return {
      backoffMs: c.replicaFetchBackoffMs,
      maxBytes: c.replicaFetchMaxBytes,
      responseMaxBytes: c.replicaFetchResponseMaxBytes,
      minBytes: c.replicaFetchMinBytes,
      waitMaxMs: c.replicaFetchWaitMaxMs,
      socketTimeoutMs: c.replicaSocketTimeoutMs,
    };
  }

  // ---- ISR (leader) -------------------------------------------------------------------------------

  /** Drops followers that have not caught up within replica.lag.time.max.ms (Kafka's maybeShrinkIsr). */
  private maybeShrinkIsr(): void {
    if (this.stopped || this.context === undefined) return;
    const lagMaxMs = this.context.config().replicaLagTimeMaxMs;
    const now = Date.now();
    for (const byPartition of this.replicas.values()) {
      for (const r of byPartition.values()) {
        if (!r.isLeader) continue;
        const lagging = r.laggingReplicas(now, lagMaxMs);
        if (lagging.length === 0) continue;
        this.logger.info('Shrinking the ISR: followers fell behind', {
          topic: r.topic,
          partition: r.partition,
          lagging: lagging.join(','),
        });
        this.changeIsr(
          r,
          r.state.isr.filter((id) => !lagging.includes(id)),
        );
      }
    }
  }

  /** alterIsr, one at a time per partition; a stale answer (null) is decided again on the new state. */
  private changeIsr(r: PartitionReplica, isr: readonly number[]): void {
    if (r.isrChangePending) return;
    r.isrChangePending = true;
    const before = r.state;
    this.cluster
      .alterIsr(before, isr)
      .then((next) => {
        if (next !== null) {
          r.updateState(next);
          r.maybeAdvanceHighWatermark();
          r.wake();
        }
      })
      .catch((err: unknown) => {
        this.logger.warn('Changing the ISR failed', {
          topic: r.topic,
          partition: r.partition,
          err: (err as Error).message,
        });
      })
      .finally(() => {
        r.isrChangePending = false;
      });
  }

  // ---- high watermark checkpoint -----------------------------------------------------------------

  private async checkpointHighWatermarks(): Promise<void> {
    if (this.hwCheckpoint === null) return;
    const entries: { topic: string; partition: number; offset: number }[] = [];
    for (const [topic, byPartition] of this.replicas) {
      for (const [partition, r] of byPartition)
        entries.push({ topic, partition, offset: r.log.highWatermark });
    }
    // Partitions known from the last checkpoint but not (yet) replicas here keep their entry.
    for (const [topic, byPartition] of this.checkpointedHw) {
      for (const [partition, offset] of byPartition) {
        if (this.replicas.get(topic)?.has(partition)) continue;
        if (this.logs.getLog(topic, partition)) entries.push({ topic, partition, offset });
      }
    }
    await this.hwCheckpoint.write(entries);
  }

  private logCheckpointError(err: unknown): void {
    this.logger.error('Writing replication-offset-checkpoint failed', { err: (err as Error).message });
  }

  /**
   * Appends to one partition in request order, even when one of them first waits for its compressed
   * records to be checked: an idempotent producer's pipelined batches must not overtake each other.
   * With nothing to wait for, the append happens now, synchronously.
   */
  private appendInOrder(
    log: UnifiedLog,
    check: Promise<void> | null,
    append: () => AppendResult,
  ): AppendResult | Promise<AppendResult> {
    const previous = this.appendQueues.get(log);
    if (check === null && previous === undefined) return append();
    check?.catch(() => undefined); // observed below, after the previous append; not unhandled meanwhile
    const turn = (async (): Promise<AppendResult> => {
      if (previous !== undefined) await previous;
      if (check !== null) await check;
      return append();
    })();
    const done = turn.then(
      () => undefined,
      () => undefined,
    );
    this.appendQueues.set(log, done);
    void done.then(() => {
      if (this.appendQueues.get(log) === done) this.appendQueues.delete(log);
    });
    return turn;
  }

  /**
   * Waits until one of `logs` gets new data or `timeoutMs` passes: Fetch's long poll (MaxWaitMs,
   * MinBytes). A client that disconnects meanwhile is noticed by the caller when this returns, as
   * Kafka's purgatory does; the wait is bounded by the client's own MaxWaitMs.
   */
  waitForData(logs: UnifiedLog[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const unsubscribes: (() => void)[] = [];
      const done = (): void => {
        clearTimeout(timer);
        for (const u of unsubscribes) u();
        resolve();
      };
      for (const log of logs) unsubscribes.push(log.onAppend(done));
      const timer = setTimeout(done, timeoutMs);
    });
  }
}

class NotLeaderError extends Error {}

const ISR_WAIT_MESSAGES: Record<number, string> = {
  [ErrorCode.REQUEST_TIMED_OUT]: 'The ISR did not acknowledge the records within the request timeout.',
  [ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND]:
    'The records were written but the ISR shrank below min.insync.replicas before acknowledging them.',
  [ErrorCode.NOT_LEADER_OR_FOLLOWER]: 'Leadership moved before the ISR acknowledged the records.',
};

function failure(errorCode: number, errorMessage: string | null): AppendOutcome {
  return {
    errorCode,
    errorMessage,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
  };
}
