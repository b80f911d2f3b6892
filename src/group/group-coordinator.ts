// Kafka's classic group coordinator (GroupCoordinator.scala): membership, rebalances and the
// group's committed offsets. This broker is the coordinator of every group.
// - JoinGroup waits (PreparingRebalance) until every known member rejoined or the rebalance timeout
//   passed; members that did not rejoin are dropped. An Empty group waits
//   group.initial.rebalance.delay.ms first, extended while new members keep coming.
// - The leader gets the member list; its SyncGroup is persisted, then hands every member its
//   assignment. A member that does not SyncGroup within the rebalance timeout is dropped.
// - Session timeouts drop members that stop heartbeating. Static members (group.instance.id) that
//   come back get their old member's place (and, in a Stable group, its assignment) without a rebalance.
// - All state changes are synchronous; only the __consumer_offsets writes are awaited.
// - Cluster mode: this broker coordinates the groups of the __consumer_offsets partitions it leads,
//   reading a partition back when it becomes its leader and dropping its groups when it stops
//   (NOT_COORDINATOR sends clients to FindCoordinator again).
// The JoinGroup flow lives in join-group.ts, the rebalance in rebalance.ts, SyncGroup in sync-group.ts,
// Heartbeat, LeaveGroup and session timeouts in member-liveness.ts; this class is their façade.
// Offsets live in group-offsets.ts (commit, fetch, delete, retention), admin calls in group-admin.ts.
import { PendingTxnOffsets } from './txn-offsets.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  ClassicGroup,
  EMPTY_BYTES,
  validateMember,
  type GroupMember,
  type JoinResult,
  type SyncResult,
} from './group.js';
import { deleteGroups, describeGroup, listGroups } from './group-admin.js';
import {
  commitOffsets,
  deleteOffsets,
  expireOffsets,
  fetchOffsets,
  finishLoad,
  replayRecord,
  type CommitParams,
} from './group-offsets.js';
import { joinError, joinGroup, type JoinGroupParams } from './join-group.js';
import {
  heartbeat,
  leaveGroup,
  removeMember,
  scheduleSessionExpiry,
  type LeaveResult,
} from './member-liveness.js';
import { syncError, syncGroup, type SyncGroupParams } from './sync-group.js';
import { OffsetManager } from './offset-manager.js';
import {
  consumerGroupHeartbeat,
  type ConsumerHeartbeatParams,
  type ConsumerHeartbeatResult,
  type TopicLookup,
} from './consumer-group-heartbeat.js';
import { describeConsumerGroup, type DescribedConsumerGroup } from './consumer-group-admin.js';
import { groupKey, groupValue } from './offsets-records.js';
import type { BrokerConfig, ConsumerGroupMigrationPolicy } from '../config/broker-config.js';
import type { TopicManager } from '../broker/topic-manager.js';
import type { LogManager } from '../storage/log-manager.js';

export { joinError, syncError };
export type { JoinGroupParams, LeaveResult, SyncGroupParams };

const NO_TOPICS: TopicLookup = { get: () => undefined, getById: () => undefined, all: () => [] };

/** offset.metadata.max.bytes (Kafka's default; not a Brook config key yet). */
const OFFSET_METADATA_MAX_BYTES = 4096;

export interface GroupConfig {
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** group.max.size */
  maxSize: number;
  /** offsets.retention.minutes (in ms) */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
  /** group.consumer.heartbeat.interval.ms (KIP-848 groups) */
  consumerHeartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms */
  consumerSessionTimeoutMs: number;
  /** group.consumer.max.size */
  consumerMaxSize: number;
  /** group.consumer.assignors: server assignor names, the first is the default. */
  consumerAssignors: readonly string[];
  /** group.consumer.migration.policy (online upgrade/downgrade; empty groups always convert). */
  consumerMigrationPolicy?: ConsumerGroupMigrationPolicy;
}

export class GroupCoordinator {
  readonly groups = new Map<string, ClassicGroup>();
  /** True until __consumer_offsets is read back: requests get COORDINATOR_LOAD_IN_PROGRESS. */
  loading = true;
  private stopped = false;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<unknown> = Promise.resolve();
  /** Topic names, ids and partition counts (consumer-protocol subscriptions and assignments). */
  topics: TopicLookup = NO_TOPICS;
  /**
   * Cluster mode: the __consumer_offsets partitions this broker leads and has loaded; it coordinates
   * only their groups. null on a single node, which coordinates every group.
   */
  private owned: Set<number> | null = null;
  /** Offsets committed inside transactions, waiting for their producer's marker (txn-offsets.ts). */
  readonly txnOffsets = new PendingTxnOffsets();
  /** Cluster mode: partitions being loaded after this broker became their leader. */
  private readonly loadingPartitions = new Set<number>();
  /** Cluster mode: per partition, the load or unload in progress (they run in order). */
  private readonly partitionChanges = new Map<number, Promise<void>>();

  constructor(
    readonly config: GroupConfig,
    readonly store: OffsetManager,
    readonly logger: Logger,
    /** Whether a topic partition exists (commits to unknown partitions fail, as in Kafka). */
    readonly partitionExists: (topic: string, partition: number) => boolean,
    readonly now: () => number = Date.now,
  ) {}

  /** The coordinator of a broker, configured from its group.* and offsets.* keys. */
  static forBroker(
    config: BrokerConfig,
    topics: TopicManager,
    logs: LogManager,
    logger: Logger,
  ): GroupCoordinator {
    const store = new OffsetManager(
      topics,
      logs,
      config.offsetsTopicNumPartitions,
      config.offsetsTopicSegmentBytes,
      logger,
      config.offsetsTopicReplicationFactor,
    );
    const groupConfig: GroupConfig = {
      initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
      maxSize: config.groupMaxSize,
      offsetsRetentionMs: config.offsetsRetentionMs,
      offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
      offsetMetadataMaxBytes: OFFSET_METADATA_MAX_BYTES,
      consumerHeartbeatIntervalMs: config.groupConsumerHeartbeatIntervalMs,
      consumerSessionTimeoutMs: config.groupConsumerSessionTimeoutMs,
      consumerMaxSize: config.groupConsumerMaxSize,
      consumerAssignors: config.groupConsumerAssignors,
      consumerMigrationPolicy: config.groupConsumerMigrationPolicy,
    };
    const exists = (topic: string, partition: number): boolean => {
      const t = topics.get(topic);
      return t !== undefined && partition >= 0 && partition < t.partitions;
    };
    const coordinator = new GroupCoordinator(groupConfig, store, logger, exists);
    coordinator.topics = topics;
    return coordinator;
  }

  /**
   * Cluster mode: groups are loaded per __consumer_offsets partition when this broker becomes its
   * leader (onOffsetsLeadership), not at start. Call before start().
   */
  enableClusterMode(): void {
    this.owned = new Set();
  }

  /**
   * NONE when this broker coordinates `groupId` now; COORDINATOR_LOAD_IN_PROGRESS while its
   * partition is being read back; NOT_COORDINATOR when another broker leads it (or this one stops).
   */
  availability(groupId: string): number {
    if (this.loading) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    if (this.owned !== null) {
      const p = this.store.partitionFor(groupId);
      if (this.loadingPartitions.has(p)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (!this.owned.has(p)) return ErrorCode.NOT_COORDINATOR;
    }
    return ErrorCode.NONE;
  }

  /**
   * Cluster mode: this broker became (or stopped being) the leader of __consumer_offsets partition
   * `partition`. Becoming leader reads the partition back (its log holds what the old leader wrote,
   * replicated) and takes over its groups; losing it drops them, answering waiting members
   * NOT_COORDINATOR so they find the new coordinator.
   */
  onOffsetsLeadership(partition: number, leader: boolean): Promise<void> {
    if (this.owned === null) return Promise.resolve();
    const owned = this.owned;
    const run = async (): Promise<void> => {
      this.unloadPartition(partition);
      if (!leader || this.stopped) return;
      this.loadingPartitions.add(partition);
      try {
        const loaded: ClassicGroup[] = [];
        const records = await this.store.loadPartition(partition, (record) => {
          try {
            replayRecord(this, record);
          } catch (err) {
            this.logger.warn('Skipping unreadable __consumer_offsets record', { err: String(err) });
          }
        });
        for (const g of this.groups.values()) {
          if (this.store.partitionFor(g.groupId) === partition) loaded.push(g);
        }
        finishLoad(this, loaded);
        owned.add(partition);
        this.logger.info('Took over the groups of an offsets partition', {
          partition,
          groups: loaded.length,
          records,
        });
      } finally {
        this.loadingPartitions.delete(partition);
      }
    };
    const next = (this.partitionChanges.get(partition) ?? Promise.resolve())
      .then(run)
      .catch((err: unknown) => {
        this.logger.error('Loading an offsets partition failed', { partition, err: String(err) });
      });
    this.partitionChanges.set(partition, next);
    return next;
  }

  /** Forgets the groups of one offsets partition (another broker coordinates them now). */
  private unloadPartition(partition: number): void {
    this.owned?.delete(partition);
    for (const group of [...this.groups.values()]) {
      if (this.store.partitionFor(group.groupId) !== partition) continue;
      this.closeGroup(group);
      this.groups.delete(group.groupId);
    }
  }

  /** Creates __consumer_offsets if needed and reads it back; call before the broker takes requests. */
  async start(): Promise<void> {
    await this.store.ensureTopic();
    if (this.owned !== null) {
      // Cluster mode: each partition is read back when this broker becomes its leader.
      this.loading = false;
      this.startRetentionTimer();
      return;
    }
    const started = this.now();
    const records = await this.store.load((record) => {
      try {
        replayRecord(this, record);
      } catch (err) {
        this.logger.warn('Skipping unreadable __consumer_offsets record', { err: String(err) });
      }
    });
    finishLoad(this);
    this.loading = false;
    this.logger.info('Group coordinator loaded', {
      groups: this.groups.size,
      records,
      ms: this.now() - started,
    });
    this.startRetentionTimer();
  }

  private startRetentionTimer(): void {
    this.retentionTimer = setInterval(() => {
      this.retentionRun = this.retentionRun
        .then(() => expireOffsets(this))
        .catch((err: unknown) => {
          this.logger.warn('Offset expiry failed', { err: String(err) });
        });
    }, this.config.offsetsRetentionCheckIntervalMs);
    this.retentionTimer.unref();
  }

  /** Stops timers and answers waiting joins and syncs, then waits for a running expiry pass. */
  async stop(): Promise<void> {
    this.store.stopRetrying();
    clearInterval(this.retentionTimer);
    this.shutdown();
    await this.retentionRun;
  }

  // ---- offsets and admin (group-offsets.ts, group-admin.ts) -----------------------------------

  commitOffsets(p: CommitParams): Promise<number[]> {
    return commitOffsets(this, p);
  }

  fetchOffsets(
    groupId: string,
    topics: readonly { name: string; partitions: readonly number[] }[] | null,
    member: { memberId: string | null; memberEpoch: number } | null = null,
  ) {
    return fetchOffsets(this, groupId, topics, member);
  }

  deleteOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[]) {
    return deleteOffsets(this, groupId, topics);
  }

  /** One offsets.retention pass now (or at `nowMs`, for tests). */
  expireOffsets(nowMs = this.now()): Promise<number> {
    return expireOffsets(this, nowMs);
  }

  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]) {
    return listGroups(this, statesFilter, typesFilter);
  }

  describeGroup(groupId: string) {
    return describeGroup(this, groupId);
  }

  deleteGroups(groupIds: readonly string[]) {
    return deleteGroups(this, groupIds);
  }

  // ---- KIP-848 consumer groups (consumer-group-heartbeat.ts, consumer-group-admin.ts) -----------

  consumerGroupHeartbeat(p: ConsumerHeartbeatParams): Promise<ConsumerHeartbeatResult> {
    return consumerGroupHeartbeat(this, p);
  }

  consumerGroupDescribe(groupId: string): DescribedConsumerGroup {
    return describeConsumerGroup(this, groupId);
  }

  // ---- group membership (join-group.ts, sync-group.ts, member-liveness.ts) ----------------------

  joinGroup(p: JoinGroupParams): Promise<JoinResult> {
    return joinGroup(this, p);
  }

  syncGroup(p: SyncGroupParams): Promise<SyncResult> {
    return syncGroup(this, p);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    return heartbeat(this, groupId, memberId, groupInstanceId, generationId);
  }

  leaveGroup(
    groupId: string,
    leaving: readonly { memberId: string; groupInstanceId: string | null }[],
  ): LeaveResult {
    return leaveGroup(this, groupId, leaving);
  }

  /** The checks Heartbeat, SyncGroup and OffsetCommit share, in Kafka's order. */
  checkCurrentMember(
    group: ClassicGroup | undefined,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
  ): number {
    if (this.loading) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = validateMember(group, memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  /** Removes a member (left, session expired) and moves the group on: rebalance or finish the join. */
  removeMember(group: ClassicGroup, member: GroupMember, reason: string): void {
    removeMember(this, group, member, reason);
  }

  scheduleSessionExpiry(group: ClassicGroup, member: GroupMember): void {
    scheduleSessionExpiry(this, group, member);
  }

  // ---- group lifecycle --------------------------------------------------------------------------

  getOrCreateGroup(groupId: string): ClassicGroup {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new ClassicGroup(groupId, this.now());
      this.groups.set(groupId, group);
    }
    return group;
  }

  /** A group created by a request that then failed, with nothing to remember, is dropped again. */
  forgetIfUnused(group: ClassicGroup): void {
    if (
      group.state === 'Empty' &&
      group.members.size === 0 &&
      group.pendingMembers.size === 0 &&
      !group.hasOffsets() &&
      group.generationId === 0 &&
      group.consumer === null &&
      this.groups.get(group.groupId) === group
    ) {
      this.groups.delete(group.groupId);
    }
  }

  /** Writes the group's membership (fire and forget: the offsets, not the membership, must be durable). */
  persistGroup(group: ClassicGroup): void {
    const assignments = new Map([...group.members.values()].map((m) => [m.memberId, m.assignment]));
    this.store.write(group.groupId, [groupRecord(group, assignments, this.now())]).catch((err: unknown) => {
      this.logger.warn('Could not store group metadata', { group: group.groupId, err: String(err) });
    });
  }

  /** Answers everything that waits with NOT_COORDINATOR and stops every timer (broker shutdown). */
  shutdown(): void {
    this.stopped = true;
    for (const group of this.groups.values()) this.closeGroup(group);
  }

  /** Stops a group's timers and answers its waiting joins and syncs with NOT_COORDINATOR. */
  private closeGroup(group: ClassicGroup): void {
    clearTimeout(group.timer);
    for (const t of group.pendingMembers.values()) clearTimeout(t);
    for (const m of group.members.values()) {
      clearTimeout(m.timer);
      const join = m.awaitingJoin;
      const sync = m.awaitingSync;
      m.awaitingJoin = null;
      m.awaitingSync = null;
      join?.(joinError(ErrorCode.NOT_COORDINATOR, m.memberId));
      sync?.(syncError(ErrorCode.NOT_COORDINATOR));
    }
    for (const m of group.consumer?.members.values() ?? []) {
      clearTimeout(m.sessionTimer);
      clearTimeout(m.rebalanceTimer);
    }
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

/** The GroupMetadata record (key v2, value v3) of a group with the given assignments. */
export function groupRecord(
  group: ClassicGroup,
  assignments: ReadonlyMap<string, Buffer>,
  nowMs: number,
): { key: Buffer; value: Buffer } {
  return {
    key: groupKey(group.groupId),
    value: groupValue({
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      currentStateTimestamp: BigInt(group.state === 'Empty' ? group.stateTimestampMs : nowMs),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: group.protocolName === null ? EMPTY_BYTES : m.metadataFor(group.protocolName),
        assignment: assignments.get(m.memberId) ?? EMPTY_BYTES,
      })),
    }),
  };
}
