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
// Offsets live in group-offsets.ts (commit, fetch, delete, retention), admin calls in group-admin.ts.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  ClassicGroup,
  EMPTY_BYTES,
  GroupMember,
  validateMember,
  type JoinResult,
  type Protocol,
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
import { OffsetManager } from './offset-manager.js';
import { groupKey, groupValue } from './offsets-records.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { TopicManager } from '../broker/topic-manager.js';
import type { LogManager } from '../storage/log-manager.js';

/** offset.metadata.max.bytes (Kafka's default; not a Brook config key yet). */
const OFFSET_METADATA_MAX_BYTES = 4096;

/** Kafka's limit on how long a brand-new member may wait in JoinGroup (NewMemberJoinTimeoutMs). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

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
}

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

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface LeaveResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
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

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupCoordinator {
  readonly groups = new Map<string, ClassicGroup>();
  /** True until __consumer_offsets is read back: requests get COORDINATOR_LOAD_IN_PROGRESS. */
  loading = true;
  private stopped = false;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<unknown> = Promise.resolve();

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
    );
    const groupConfig: GroupConfig = {
      initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
      maxSize: config.groupMaxSize,
      offsetsRetentionMs: config.offsetsRetentionMs,
      offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
      offsetMetadataMaxBytes: OFFSET_METADATA_MAX_BYTES,
    };
    const exists = (topic: string, partition: number): boolean => {
      const t = topics.get(topic);
      return t !== undefined && partition >= 0 && partition < t.partitions;
    };
    return new GroupCoordinator(groupConfig, store, logger, exists);
  }

  /** Creates __consumer_offsets if needed and reads it back; call before the broker takes requests. */
  async start(): Promise<void> {
    await this.store.ensureTopic();
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
    clearInterval(this.retentionTimer);
    this.shutdown();
    await this.retentionRun;
  }

  // ---- offsets and admin (group-offsets.ts, group-admin.ts) -----------------------------------

  commitOffsets(p: CommitParams): Promise<number[]> {
    return commitOffsets(this, p);
  }

  fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null) {
    return fetchOffsets(this, groupId, topics);
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

  // ---- JoinGroup --------------------------------------------------------------------------------

  joinGroup(p: JoinGroupParams): Promise<JoinResult> {
    if (this.loading) return Promise.resolve(joinError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, p.memberId));
    if (this.stopped) return Promise.resolve(joinError(ErrorCode.NOT_COORDINATOR, p.memberId));
    if (p.groupId === '') return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, p.memberId));
    if (
      p.sessionTimeoutMs < this.config.minSessionTimeoutMs ||
      p.sessionTimeoutMs > this.config.maxSessionTimeoutMs
    ) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, p.memberId));
    }
    const isNewMember = p.memberId === '';
    let group = this.groups.get(p.groupId);
    if (!group) {
      if (!isNewMember) return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId));
      group = this.getOrCreateGroup(p.groupId);
    }
    const known = group.members.has(p.memberId) || group.pendingMembers.has(p.memberId);
    const staticKnown = p.groupInstanceId !== null && group.staticMembers.has(p.groupInstanceId);
    if (!known && !staticKnown && group.members.size >= this.config.maxSize) {
      this.forgetIfUnused(group);
      return Promise.resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, p.memberId));
    }
    const g = group;
    return new Promise<JoinResult>((resolve) => {
      if (isNewMember) this.newMemberJoin(g, p, resolve);
      else this.currentMemberJoin(g, p, resolve);
      this.forgetIfUnused(g);
    });
  }

  private newMemberJoin(group: ClassicGroup, p: JoinGroupParams, reply: (r: JoinResult) => void): void {
    if (group.state === 'Dead') return reply(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(p.protocolType, p.protocols)) {
      return reply(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(p.groupInstanceId);
      if (oldMemberId !== undefined)
        return this.replaceStaticMember(group, oldMemberId, newMemberId, p, reply);
      return this.addMemberAndRebalance(group, newMemberId, p, reply);
    }
    if (p.requireKnownMemberId) {
      // KIP-394: the client must come back with this id, so a retried JoinGroup cannot leave ghosts.
      group.pendingMembers.set(
        newMemberId,
        this.timer(p.sessionTimeoutMs, () => this.expirePendingMember(group, newMemberId)),
      );
      return reply(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId));
    }
    this.addMemberAndRebalance(group, newMemberId, p, reply);
  }

  private currentMemberJoin(group: ClassicGroup, p: JoinGroupParams, reply: (r: JoinResult) => void): void {
    if (group.state === 'Dead') return reply(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, p.memberId));
    if (!group.supportsProtocols(p.protocolType, p.protocols)) {
      return reply(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId));
    }
    const pending = group.pendingMembers.get(p.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      group.pendingMembers.delete(p.memberId);
      return this.addMemberAndRebalance(group, p.memberId, p, reply);
    }
    const error = validateMember(group, p.memberId, p.groupInstanceId);
    if (error !== ErrorCode.NONE) return reply(joinError(error, p.memberId));
    const member = group.members.get(p.memberId)!;
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, p, reply);
      case 'CompletingRebalance':
        // The same join again (its answer got lost): the current generation's answer.
        if (member.matches(p.protocols)) return reply(this.currentJoinResult(group, member));
        return this.updateMemberAndRebalance(group, member, p, reply);
      case 'Stable':
        if (group.isLeader(member.memberId) || !member.matches(p.protocols)) {
          return this.updateMemberAndRebalance(group, member, p, reply);
        }
        this.scheduleSessionExpiry(group, member);
        return reply(this.currentJoinResult(group, member));
      default:
        return reply(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId));
    }
  }

  private currentJoinResult(group: ClassicGroup, member: GroupMember): JoinResult {
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

  private addMemberAndRebalance(
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
    member.timer = this.timer(NEW_MEMBER_JOIN_TIMEOUT_MS, () =>
      this.removeMember(group, member, 'join timeout'),
    );
    this.maybePrepareRebalance(group);
  }

  private updateMemberAndRebalance(
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
    this.maybePrepareRebalance(group);
  }

  private replaceStaticMember(
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
          this.scheduleSessionExpiry(group, member);
          this.persistGroup(group);
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
        return this.maybePrepareRebalance(group);
      case 'CompletingRebalance':
      case 'PreparingRebalance':
        // The old instance may already hold an assignment from the leader: rebalance.
        member.awaitingJoin = reply;
        clearTimeout(member.timer);
        member.timer = undefined;
        return this.maybePrepareRebalance(group);
      default:
        return reply(joinError(ErrorCode.UNKNOWN_MEMBER_ID, newMemberId));
    }
  }

  // ---- rebalance --------------------------------------------------------------------------------

  private maybePrepareRebalance(group: ClassicGroup): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') {
      this.prepareRebalance(group);
    } else if (group.state === 'PreparingRebalance') {
      this.tryCompleteJoin(group);
    }
  }

  private prepareRebalance(group: ClassicGroup): void {
    if (group.state === 'CompletingRebalance') this.resetAssignments(group, ErrorCode.REBALANCE_IN_PROGRESS);
    clearTimeout(group.timer);
    group.pendingSync.clear();
    const wasEmpty = group.state === 'Empty';
    group.transitionTo('PreparingRebalance', this.now());
    const rebalanceTimeoutMs = maxRebalanceTimeout(group);
    const delay = this.config.initialRebalanceDelayMs;
    if (wasEmpty) {
      // Kafka's InitialDelayedJoin: wait for more members, extending while they keep arriving.
      group.inInitialDelay = true;
      group.newMemberAdded = false;
      this.scheduleInitialDelay(group, delay, Math.max(rebalanceTimeoutMs - delay, 0));
    } else {
      group.timer = this.timer(rebalanceTimeoutMs, () => this.completeJoin(group));
      this.tryCompleteJoin(group);
    }
  }

  private scheduleInitialDelay(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    group.timer = this.timer(delayMs, () => {
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const next = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialDelay(group, next, Math.max(remainingMs - next, 0));
        return;
      }
      group.inInitialDelay = false;
      this.completeJoin(group);
    });
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    if (group.state === 'PreparingRebalance' && !group.inInitialDelay && group.hasAllMembersJoined()) {
      this.completeJoin(group);
    }
  }

  /** Kafka's onCompleteJoin: drop who did not rejoin, start the next generation, answer every JoinGroup. */
  private completeJoin(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    clearTimeout(group.timer);
    group.timer = undefined;
    group.inInitialDelay = false;
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) this.dropMember(group, m);
    }
    const joined = [...group.members.values()].filter((m) => m.awaitingJoin !== null);
    if (group.members.size > 0 && joined.length === 0) {
      // Only static members that have not come back: wait for them (or their session timeouts).
      group.timer = this.timer(maxRebalanceTimeout(group), () => this.completeJoin(group));
      return;
    }
    if (group.leaderId === null || group.members.get(group.leaderId)?.awaitingJoin === null) {
      group.leaderId = joined[0]?.memberId ?? null;
    }
    group.generationId += 1;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.transitionTo('Empty', this.now());
      this.persistGroup(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    group.transitionTo('CompletingRebalance', this.now());
    for (const m of group.members.values()) {
      group.pendingSync.add(m.memberId);
      const reply = m.awaitingJoin;
      m.awaitingJoin = null;
      m.isNew = false;
      this.scheduleSessionExpiry(group, m);
      reply?.(this.currentJoinResult(group, m));
    }
    const generation = group.generationId;
    group.timer = this.timer(maxRebalanceTimeout(group), () => this.expirePendingSync(group, generation));
  }

  /** Members that never sent SyncGroup for this generation are dropped (Kafka's DelayedSync). */
  private expirePendingSync(group: ClassicGroup, generation: number): void {
    group.timer = undefined;
    if (group.generationId !== generation) return;
    if (group.state !== 'CompletingRebalance' && group.state !== 'Stable') return;
    const missing = [...group.pendingSync].map((id) => group.members.get(id)).filter((m) => m !== undefined);
    group.pendingSync.clear();
    for (const m of missing) this.dropMember(group, m);
    if (missing.length > 0) this.afterMembershipChange(group);
  }

  private resetAssignments(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) {
      m.assignment = EMPTY_BYTES;
      const reply = m.awaitingSync;
      m.awaitingSync = null;
      reply?.(syncError(errorCode));
    }
  }

  // ---- SyncGroup, Heartbeat, LeaveGroup -----------------------------------------------------------

  syncGroup(p: SyncGroupParams): Promise<SyncResult> {
    const group = this.groups.get(p.groupId);
    const error = this.checkCurrentMember(group, p.memberId, p.groupInstanceId, p.generationId);
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
        this.scheduleSessionExpiry(g, member);
        return Promise.resolve(this.syncResult(g, member));
      case 'CompletingRebalance':
        break;
      default:
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
    return new Promise<SyncResult>((resolve) => {
      member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      member.awaitingSync = resolve;
      g.pendingSync.delete(member.memberId);
      this.scheduleSessionExpiry(g, member);
      if (!g.isLeader(member.memberId)) return;
      const assignments = new Map<string, Buffer>();
      for (const a of p.assignments) if (g.members.has(a.memberId)) assignments.set(a.memberId, a.assignment);
      const generation = g.generationId;
      // Persist first (Kafka stores the group before it answers), then hand out the assignments.
      // Membership is best effort: a group record too big for the log (megabytes of member metadata)
      // is logged and the group carries on; only the offsets must be durable.
      this.store
        .write(g.groupId, [groupRecord(g, assignments, this.now())])
        .catch((err: unknown) => {
          this.logger.warn('Could not store group assignment', { group: g.groupId, err: String(err) });
        })
        .then(() => {
          if (g.state !== 'CompletingRebalance' || g.generationId !== generation) return;
          for (const m of g.members.values()) {
            m.assignment = assignments.get(m.memberId) ?? EMPTY_BYTES;
            const reply = m.awaitingSync;
            m.awaitingSync = null;
            reply?.(this.syncResult(g, m));
          }
          g.transitionTo('Stable', this.now());
        });
    });
  }

  private syncResult(group: ClassicGroup, member: GroupMember): SyncResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const group = this.groups.get(groupId);
    const error = this.checkCurrentMember(group, memberId, groupInstanceId, generationId);
    if (error !== ErrorCode.NONE) return error;
    const member = group!.members.get(memberId)!;
    switch (group!.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.scheduleSessionExpiry(group!, member);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        if (member.awaitingJoin === null) this.scheduleSessionExpiry(group!, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
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

  leaveGroup(
    groupId: string,
    leaving: readonly { memberId: string; groupInstanceId: string | null }[],
  ): LeaveResult {
    if (this.loading) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, members: [] };
    if (this.stopped) return { errorCode: ErrorCode.NOT_COORDINATOR, members: [] };
    const group = this.groups.get(groupId);
    if (group?.state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((l) => ({
      ...l,
      errorCode: group ? this.leaveOne(group, l) : ErrorCode.UNKNOWN_MEMBER_ID,
    }));
    return { errorCode: ErrorCode.NONE, members };
  }

  private leaveOne(group: ClassicGroup, l: { memberId: string; groupInstanceId: string | null }): number {
    if (l.groupInstanceId !== null) {
      const current = group.staticMembers.get(l.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (l.memberId !== '' && l.memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      this.removeMember(group, group.members.get(current)!, 'left the group');
      return ErrorCode.NONE;
    }
    const pending = group.pendingMembers.get(l.memberId);
    if (pending !== undefined) {
      this.expirePendingMember(group, l.memberId);
      return ErrorCode.NONE;
    }
    const member = group.members.get(l.memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, member, 'left the group');
    return ErrorCode.NONE;
  }

  // ---- member removal and timers ----------------------------------------------------------------

  /** Removes a member (left, session expired) and moves the group on: rebalance or finish the join. */
  removeMember(group: ClassicGroup, member: GroupMember, reason: string): void {
    if (group.members.get(member.memberId) !== member) return;
    this.logger.debug('Removing group member', { group: group.groupId, member: member.memberId, reason });
    this.dropMember(group, member);
    this.afterMembershipChange(group);
  }

  private afterMembershipChange(group: ClassicGroup): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
    else if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group);
  }

  /** Takes a member out and answers whatever it still waits for; no state transition. */
  private dropMember(group: ClassicGroup, member: GroupMember): void {
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

  private expirePendingMember(group: ClassicGroup, memberId: string): void {
    clearTimeout(group.pendingMembers.get(memberId));
    if (!group.pendingMembers.delete(memberId)) return;
    this.tryCompleteJoin(group);
    this.forgetIfUnused(group);
  }

  scheduleSessionExpiry(group: ClassicGroup, member: GroupMember): void {
    clearTimeout(member.timer);
    member.timer = this.timer(member.sessionTimeoutMs, () => {
      member.timer = undefined;
      // A member waiting in JoinGroup or SyncGroup is kept alive; the rebalance timeouts bound that.
      if (member.awaitingJoin !== null || member.awaitingSync !== null) return;
      this.removeMember(group, member, 'session timeout');
    });
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(
      () => {
        if (!this.stopped) fn();
      },
      Math.max(0, Math.min(ms, 0x7fffffff)),
    );
    t.unref();
    return t;
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
    for (const group of this.groups.values()) {
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
    }
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

function maxRebalanceTimeout(group: ClassicGroup): number {
  let max = 0;
  for (const m of group.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
  return max;
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
