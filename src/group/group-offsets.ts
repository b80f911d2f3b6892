// Committed offsets of groups (Kafka's GroupCoordinator.handleCommitOffsets / handleFetchOffsets /
// handleDeleteOffsets and GroupMetadataManager's expiry and loading).
// - A commit is checked against the group like Kafka does (simple commits with generation -1 only
//   for groups without members), written to __consumer_offsets as one batch, and acknowledged, and
//   visible to OffsetFetch, once that write is durable.
// - Expiry (offsets.retention.minutes): all offsets of a group that has been Empty that long; offsets
//   of a standalone (simple) consumer that long after their commit; offsets of topics a Stable
//   consumer group no longer subscribes to. A group left Empty without offsets is removed.
import { ErrorCode } from '../protocol/errors.js';
import { GroupMember, validateMember, type ClassicGroup, type CommittedOffset } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import {
  groupKey,
  offsetKey,
  offsetValue,
  parseGroupValue,
  parseKey,
  parseOffsetValue,
} from './offsets-records.js';
import type { OffsetsRecord } from './offset-manager.js';
import { checkConsumerCommit, checkConsumerFetch } from './consumer-group-admin.js';
import {
  scheduleRebalanceTimeout,
  scheduleSessionExpiry,
  subscribedTopicNames,
} from './consumer-group-heartbeat.js';
import { consumerGroupTombstones, markLoaded, replayConsumerRecord } from './consumer-group-persist.js';

export interface CommitEntry {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  /** OffsetCommit v1 commit timestamp; -1 = now. */
  commitTimestampMs: number;
}

export interface CommitParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-4 retention time; -1 = the broker's offsets.retention.minutes. */
  retentionTimeMs: number;
  offsets: CommitEntry[];
}

export interface FetchedOffset {
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchOffsetsResult {
  errorCode: number;
  topics: { name: string; partitions: FetchedOffset[] }[];
}

/** Checks the committer like Kafka's validateOffsetCommit; NONE lets the commit through. */
export function checkCommitter(coord: GroupCoordinator, group: ClassicGroup, p: CommitParams): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (group.consumer) return checkConsumerCommit(group.consumer, p.memberId, p.generationId);
  // A consumer that only stores offsets here (assign() + commit): no membership to check.
  if (p.generationId < 0 && group.state === 'Empty' && group.members.size === 0) return ErrorCode.NONE;
  const error = validateMember(group, p.memberId, p.groupInstanceId);
  if (error !== ErrorCode.NONE) return error;
  if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  // Its generation is current but the assignment is not out yet: try again after SyncGroup.
  if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
  const member: GroupMember = group.members.get(p.memberId)!;
  if (member.awaitingJoin === null && member.awaitingSync === null)
    coord.scheduleSessionExpiry(group, member);
  return ErrorCode.NONE;
}

export async function commitOffsets(coord: GroupCoordinator, p: CommitParams): Promise<number[]> {
  const all = (code: number) => p.offsets.map(() => code);
  const unavailable = coord.availability(p.groupId);
  if (unavailable !== ErrorCode.NONE) return all(unavailable);
  let group = coord.groups.get(p.groupId);
  if (!group) {
    if (p.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
    group = coord.getOrCreateGroup(p.groupId);
  }
  const error = checkCommitter(coord, group, p);
  if (error !== ErrorCode.NONE) {
    coord.forgetIfUnused(group);
    return all(error);
  }
  const nowMs = coord.now();
  const { errors, accepted, records } = prepareCommit(coord, p.groupId, p.offsets, (e) => {
    const commitTimestampMs = e.commitTimestampMs >= 0 ? e.commitTimestampMs : nowMs;
    return {
      offset: e.offset,
      leaderEpoch: e.leaderEpoch,
      metadata: e.metadata ?? '',
      commitTimestampMs,
      expireTimestampMs: p.retentionTimeMs >= 0 ? commitTimestampMs + p.retentionTimeMs : -1,
    };
  });
  if (accepted.length === 0) {
    coord.forgetIfUnused(group);
    return errors;
  }
  try {
    await coord.store.write(p.groupId, records);
  } catch (err) {
    coord.logger.error('Offset commit could not be written', { group: p.groupId, err: String(err) });
    const tooLarge = /too large/i.test(String(err));
    const code = tooLarge ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    coord.forgetIfUnused(group);
    return errors.map((c) => (c === ErrorCode.NONE ? code : c));
  }
  for (const { entry, value } of accepted) setOffset(group, entry.topic, entry.partition, value);
  return errors;
}

/** What a commit (plain or transactional) writes: per-entry errors, and the accepted entries as values and records. */
export interface PreparedCommit {
  errors: number[];
  accepted: { entry: CommitEntry; value: CommittedOffset }[];
  records: OffsetsRecord[];
}

/**
 * Checks each entry as Kafka does (the partition exists, the metadata fits offset.metadata.max.bytes) and
 * builds the value and the __consumer_offsets record of every accepted one.
 */
export function prepareCommit(
  coord: GroupCoordinator,
  groupId: string,
  offsets: readonly CommitEntry[],
  valueOf: (e: CommitEntry) => CommittedOffset,
): PreparedCommit {
  const errors: number[] = [];
  const accepted: { entry: CommitEntry; value: CommittedOffset }[] = [];
  for (const e of offsets) {
    let code: number = ErrorCode.NONE;
    if (!coord.partitionExists(e.topic, e.partition)) code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    else if (e.metadata !== null && Buffer.byteLength(e.metadata) > coord.config.offsetMetadataMaxBytes) {
      code = ErrorCode.OFFSET_METADATA_TOO_LARGE;
    }
    errors.push(code);
    if (code === ErrorCode.NONE) accepted.push({ entry: e, value: valueOf(e) });
  }
  const records = accepted.map(({ entry, value }) => ({
    key: offsetKey(groupId, entry.topic, entry.partition),
    value: offsetValue({
      offset: BigInt(value.offset),
      leaderEpoch: value.leaderEpoch,
      metadata: value.metadata,
      commitTimestamp: BigInt(value.commitTimestampMs),
      expireTimestamp: BigInt(value.expireTimestampMs),
    }),
  }));
  return { errors, accepted, records };
}

export function setOffset(
  group: ClassicGroup,
  topic: string,
  partition: number,
  value: CommittedOffset,
): void {
  let partitions = group.offsets.get(topic);
  if (!partitions) group.offsets.set(topic, (partitions = new Map()));
  partitions.set(partition, value);
}

function deleteOffset(group: ClassicGroup, topic: string, partition: number): boolean {
  const partitions = group.offsets.get(topic);
  if (!partitions?.delete(partition)) return false;
  if (partitions.size === 0) group.offsets.delete(topic);
  return true;
}

/** OffsetFetch for one group; `topics` null = every committed partition. */
export function fetchOffsets(
  coord: GroupCoordinator,
  groupId: string,
  topics: readonly { name: string; partitions: readonly number[] }[] | null,
  member: { memberId: string | null; memberEpoch: number } | null = null,
): FetchOffsetsResult {
  const unavailable = coord.availability(groupId);
  if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, topics: [] };
  const group = coord.groups.get(groupId);
  if (group?.consumer && member) {
    const error = checkConsumerFetch(group.consumer, member.memberId, member.memberEpoch);
    if (error !== ErrorCode.NONE) return { errorCode: error, topics: [] };
  }
  const committed = group?.state === 'Dead' ? undefined : group?.offsets;
  const toFetched = (partition: number, o: CommittedOffset | undefined): FetchedOffset =>
    o
      ? {
          partition,
          offset: o.offset,
          leaderEpoch: o.leaderEpoch,
          metadata: o.metadata,
          errorCode: ErrorCode.NONE,
        }
      : { partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
  if (topics === null) {
    return {
      errorCode: ErrorCode.NONE,
      topics: [...(committed ?? new Map<string, Map<number, CommittedOffset>>())].map(([name, parts]) => ({
        name,
        partitions: [...parts].sort((a, b) => a[0] - b[0]).map(([p, o]) => toFetched(p, o)),
      })),
    };
  }
  return {
    errorCode: ErrorCode.NONE,
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => toFetched(p, committed?.get(t.name)?.get(p))),
    })),
  };
}

export interface DeleteOffsetsResult {
  errorCode: number;
  topics: { name: string; partitions: { partition: number; errorCode: number }[] }[];
}

/** OffsetDelete: only for an Empty group, or for topics a consumer group does not subscribe to. */
export async function deleteOffsets(
  coord: GroupCoordinator,
  groupId: string,
  topics: readonly { name: string; partitions: readonly number[] }[],
): Promise<DeleteOffsetsResult> {
  const fail = (errorCode: number): DeleteOffsetsResult => ({ errorCode, topics: [] });
  const unavailable = coord.availability(groupId);
  if (unavailable !== ErrorCode.NONE) return fail(unavailable);
  const group = coord.groups.get(groupId);
  if (!group || group.state === 'Dead') return fail(ErrorCode.GROUP_ID_NOT_FOUND);
  let subscribed: Set<string> | null = new Set();
  if (group.consumer) subscribed = subscribedTopicNames(coord, group.consumer);
  else if (group.state !== 'Empty') {
    subscribed = group.subscribedTopics();
    if (subscribed === null) return fail(ErrorCode.NON_EMPTY_GROUP);
  }
  const tombstones: OffsetsRecord[] = [];
  const removed: { topic: string; partition: number }[] = [];
  const result = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((partition) => {
      if (!coord.partitionExists(t.name, partition))
        return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      if (subscribed!.has(t.name)) return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
      if (group.offsets.get(t.name)?.has(partition)) {
        tombstones.push({ key: offsetKey(groupId, t.name, partition), value: null });
        removed.push({ topic: t.name, partition });
      }
      return { partition, errorCode: ErrorCode.NONE };
    }),
  }));
  try {
    await coord.store.write(groupId, tombstones);
  } catch (err) {
    coord.logger.error('Offset delete could not be written', { group: groupId, err: String(err) });
    return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  for (const r of removed) deleteOffset(group, r.topic, r.partition);
  return { errorCode: ErrorCode.NONE, topics: result };
}

/** Kafka's removeExpiredOffsets for one group: which offsets are past offsets.retention.minutes now. */
function expiredOffsets(
  group: ClassicGroup,
  nowMs: number,
  retentionMs: number,
  consumerSubscribed: Set<string>,
): { topic: string; partition: number }[] {
  const consumer = group.consumer;
  let base: ((o: CommittedOffset) => number) | null = null;
  let keep = new Set<string>();
  if (consumer) {
    // A consumer-protocol group (Kafka's ConsumerGroup): offsets of topics it no longer
    // subscribes to expire from their commit; an empty group's from when it became empty.
    if (consumer.members.size === 0) base = () => consumer.emptySinceMs;
    else {
      base = (o) => o.commitTimestampMs;
      keep = consumerSubscribed;
    }
  } else if (group.protocolType === null) base = (o) => o.commitTimestampMs;
  else if (group.state === 'Empty') base = () => group.stateTimestampMs;
  else if (group.state === 'Stable') {
    const subscribed = group.subscribedTopics();
    if (subscribed !== null) {
      base = (o) => o.commitTimestampMs;
      keep = subscribed;
    }
  }
  if (base === null) return [];
  const out: { topic: string; partition: number }[] = [];
  for (const [topic, partitions] of group.offsets) {
    if (keep.has(topic)) continue;
    for (const [partition, o] of partitions) {
      const expired =
        o.expireTimestampMs >= 0 ? nowMs >= o.expireTimestampMs : nowMs - base(o) >= retentionMs;
      if (expired) out.push({ topic, partition });
    }
  }
  return out;
}

/** One pass of offset expiry (offsets.retention.check.interval.ms); returns how many offsets went. */
export async function expireOffsets(coord: GroupCoordinator, nowMs = coord.now()): Promise<number> {
  let count = 0;
  for (const group of [...coord.groups.values()]) {
    if (group.state === 'Dead') continue;
    const subscribed = group.consumer ? subscribedTopicNames(coord, group.consumer) : new Set<string>();
    const expired = expiredOffsets(group, nowMs, coord.config.offsetsRetentionMs, subscribed);
    const records: OffsetsRecord[] = expired.map((e) => ({
      key: offsetKey(group.groupId, e.topic, e.partition),
      value: null,
    }));
    for (const e of expired) deleteOffset(group, e.topic, e.partition);
    count += expired.length;
    const remove =
      group.state === 'Empty' &&
      (group.consumer?.members.size ?? 0) === 0 &&
      !group.hasOffsets() &&
      group.members.size === 0 &&
      group.pendingMembers.size === 0;
    if (remove) {
      group.transitionTo('Dead', nowMs);
      coord.groups.delete(group.groupId);
      if (group.consumer) records.push(...consumerGroupTombstones(group.consumer));
      records.push({ key: groupKey(group.groupId), value: null });
    }
    try {
      await coord.store.write(group.groupId, records);
    } catch (err) {
      coord.logger.warn('Could not write expired offsets', { group: group.groupId, err: String(err) });
    }
  }
  if (count > 0) coord.logger.info('Expired committed offsets', { count });
  return count;
}

/** Applies one __consumer_offsets record while loading (log order). */
export function replayRecord(coord: GroupCoordinator, record: OffsetsRecord): void {
  const key = parseKey(record.key);
  if (key.kind === 'unknown') return;
  if (key.kind === 'consumer') {
    replayConsumerRecord(coord, key.key, record.value);
    return;
  }
  if (key.kind === 'offset') {
    if (record.value === null) {
      const group = coord.groups.get(key.group);
      if (group) deleteOffset(group, key.topic, key.partition);
      return;
    }
    const v = parseOffsetValue(record.value);
    setOffset(coord.getOrCreateGroup(key.group), key.topic, key.partition, {
      offset: Number(v.offset),
      leaderEpoch: v.leaderEpoch,
      metadata: v.metadata,
      commitTimestampMs: Number(v.commitTimestamp),
      expireTimestampMs: Number(v.expireTimestamp),
    });
    return;
  }
  if (record.value === null) {
    // The classic group is gone; its committed offsets have their own records (and tombstones),
    // and a consumer group may have taken its place.
    const group = coord.groups.get(key.group);
    if (!group) return;
    group.members.clear();
    group.staticMembers.clear();
    group.protocolType = null;
    group.protocolName = null;
    group.leaderId = null;
    group.generationId = 0;
    coord.forgetIfUnused(group);
    return;
  }
  const v = parseGroupValue(record.value);
  const group = coord.getOrCreateGroup(key.group);
  // A classic group written after a consumer group's tombstones: it is classic again.
  group.consumer = null;
  group.protocolType = v.protocolType === '' ? null : v.protocolType;
  group.generationId = v.generation;
  group.protocolName = v.protocol;
  group.leaderId = null;
  group.members.clear();
  group.staticMembers.clear();
  if (v.currentStateTimestamp >= 0n) group.stateTimestampMs = Number(v.currentStateTimestamp);
  for (const m of v.members) {
    const member = new GroupMember(
      m.memberId,
      m.groupInstanceId,
      m.clientId,
      m.clientHost,
      m.rebalanceTimeout > 0 ? m.rebalanceTimeout : m.sessionTimeout,
      m.sessionTimeout,
      [{ name: v.protocol ?? '', metadata: m.subscription }],
    );
    member.assignment = m.assignment;
    group.add(member, group.protocolType ?? '');
  }
  group.protocolType = v.protocolType === '' ? null : v.protocolType;
  if (v.leader !== null && group.members.has(v.leader)) group.leaderId = v.leader;
}

/**
 * After loading: groups with members resume Stable (their sessions must be renewed by heartbeats),
 * consumer groups with their members' epochs and assignments.
 */
export function finishLoad(
  coord: GroupCoordinator,
  groups: Iterable<ClassicGroup> = coord.groups.values(),
): void {
  for (const group of groups) {
    group.state = group.members.size > 0 ? 'Stable' : 'Empty';
    for (const m of group.members.values()) coord.scheduleSessionExpiry(group, m);
    const consumer = group.consumer;
    if (consumer) {
      // Members have one session timeout from now to heartbeat with their member id and epoch, as
      // after a coordinator failover in Kafka; a revocation in progress keeps its rebalance timeout.
      markLoaded(consumer);
      if (consumer.members.size > 0) consumer.emptySinceMs = coord.now();
      for (const m of consumer.members.values()) {
        scheduleSessionExpiry(coord, consumer, m);
        scheduleRebalanceTimeout(coord, consumer, m);
      }
    }
  }
}
