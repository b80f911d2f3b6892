// Fetch (key 1), versions 0-17.
// - Returns whole stored batches as raw bytes, straight from the log files; clients skip records
//   before their fetch offset inside the first batch.
// - Long poll: when fewer than MinBytes are available the request is parked until an append to one
//   of its partitions, MaxWaitMs, or the client disconnecting.
// - Limits: PartitionMaxBytes per partition and MaxBytes (v3+) per response, the latter capped by the
//   broker's fetch.max.bytes, except that the first partition with data returns at least one batch,
//   so a batch bigger than the limits still moves.
// - read_committed (isolation 1) reads up to the last stable offset (the high watermark, or the
//   first offset of the oldest ongoing transaction) and lists the aborted transactions overlapping
//   what it returns (from the .txnindex), so the client drops their records; LastStableOffset is
//   answered at every isolation level.
// - Incremental fetch sessions (KIP-227, ../fetch-session.ts) from v7: SessionEpoch 0 opens a session,
//   later fetches name only changed partitions (and ForgottenTopicsData) and get only partitions with
//   something new; session errors come back as the top-level ErrorCode with no partitions.
// - v13+ names topics by ID; an unknown ID gets UNKNOWN_TOPIC_ID.
// - Cluster mode: consumers read from the leader (NOT_LEADER_OR_FOLLOWER elsewhere) up to the high
//   watermark, and with v11+ (which carries client.rack) from a follower too (KIP-392), up to the
//   follower's high watermark; with replica.selector.class = RackAwareReplicaSelector the leader answers
//   a consumer in a follower's rack with PreferredReadReplica and no records; a follower's fetch (ReplicaId, or ReplicaState v15+, = its node id) reads up to
//   the log end, and its fetch offset tells the leader the follower's log end offset
//   (ReplicaManager.recordFollowerFetch: high watermark, ISR expansion).
// v3: MaxBytes. v4: isolation, LSO, aborted txns. v5: log start offset. v7: sessions.
// v9: current leader epoch. v11: rack, preferred read replica. v12: flexible. v13: topic ids.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  FetchRequest,
  FetchResponse,
  FetchResponseFetchableTopicResponse,
  FetchResponsePartitionData,
} from '../../protocol/generated/fetch.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/wire.js';
import type { UnifiedLog } from '../../storage/unified-log.js';
import {
  INVALID_SESSION_ID,
  type FetchContext,
  type FetchPartition,
  type ForgottenPartition,
  type PartitionOutcome,
} from '../fetch-session.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../replica-manager.js';
import type { BrokerServices } from '../services.js';

const READ_COMMITTED = 1;
const EMPTY = Buffer.alloc(0);

interface PartitionPlan {
  topic: string;
  topicId: string;
  index: number;
  log: UnifiedLog | undefined;
  errorCode: number;
  fetchOffset: number;
  maxBytes: number;
  /** A follower's fetch (cluster mode): reads up to the log end, not the high watermark. */
  fromFollower: boolean;
  /** KIP-392: the replica the consumer should read from instead (no records then), or -1. */
  preferredReadReplica: number;
}

interface ReadResult {
  partitions: DeepPartial<FetchResponsePartitionData>[];
  outcomes: PartitionOutcome[];
  bytes: number;
  hasError: boolean;
}

export const fetchHandler = defineHandler<FetchRequest, DeepPartial<FetchResponse>>({
  apiKey: ApiKey.Fetch,
  versions: [0, 17],
  async handle(ctx, req) {
    const { replicas, fetchSessions } = ctx.services;
    const byId = ctx.header.apiVersion >= 13;
    const context = fetchSessions.newContext(
      ctx.header.apiVersion,
      req.sessionId,
      req.sessionEpoch,
      requestedPartitions(ctx.services, req, byId),
      forgottenPartitions(req, byId),
      Date.now(),
    );
    if (context.kind === 'error') {
      return {
        throttleTimeMs: 0,
        errorCode: context.errorCode,
        sessionId: INVALID_SESSION_ID,
        responses: [],
      };
    }
    const replicaId = ctx.header.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
    const follower = replicaId >= 0 && replicas.replicated ? replicaId : -1;
    // v11+ carries the consumer's rack: a follower may serve it, the leader may send it elsewhere.
    const clientRack = ctx.header.apiVersion >= 11 ? req.rackId : null;
    const plans = context.partitions.map((p) => planPartition(ctx.services, p, byId, follower, clientRack));
    // fetch.max.bytes caps what a client may ask for (Kafka: min(request MaxBytes, fetch.max.bytes)), so
    // MaxBytes 2^31-1 on a large log does not hold gigabytes per connection; one batch still always goes.
    const requested = ctx.header.apiVersion >= 3 ? req.maxBytes : Number.MAX_SAFE_INTEGER;
    const maxBytes = Math.min(requested, ctx.services.brokerConfig().fetchMaxBytes);
    const readCommitted = req.isolationLevel === READ_COMMITTED;

    let result = await readAll(plans, maxBytes, readCommitted);
    if (result.bytes < req.minBytes && req.maxWaitMs > 0 && !result.hasError) {
      const logs = plans.flatMap((p) => (p.log ? [p.log] : []));
      if (logs.length > 0) {
        const connection = ctx.connection;
        const deadline = Date.now() + req.maxWaitMs;
        // Woken by any append; re-read, and go back to sleep until MinBytes or the deadline.
        while (result.bytes < req.minBytes && !connection.closed) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          await replicas.waitForData(logs, left);
          result = await readAll(plans, maxBytes, readCommitted);
          if (result.hasError) break;
        }
      }
    }
    return answer(ctx.services, context, plans, result);
  },
});

/** The request's partitions, topics resolved by name (v0-12) or id (v13+; '' when unknown). */
function requestedPartitions(services: BrokerServices, req: FetchRequest, byId: boolean): FetchPartition[] {
  const out: FetchPartition[] = [];
  for (const t of req.topics) {
    const meta = byId ? services.topics.getById(t.topicId) : services.topics.get(t.topic);
    const topic = byId ? (meta?.name ?? '') : t.topic;
    const topicId = byId ? t.topicId : (meta?.topicId ?? ZERO_UUID);
    for (const p of t.partitions) {
      out.push({
        topic,
        topicId,
        partition: p.partition,
        fetchOffset: Number(p.fetchOffset),
        maxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
      });
    }
  }
  return out;
}

function forgottenPartitions(req: FetchRequest, byId: boolean): ForgottenPartition[] {
  return req.forgottenTopicsData.flatMap((f) =>
    f.partitions.map((partition) => ({ topic: byId ? '' : f.topic, topicId: f.topicId, partition })),
  );
}

/** Looks the partition's log up now: a session's topic may have been created or deleted since. */
function planPartition(
  services: BrokerServices,
  p: FetchPartition,
  byId: boolean,
  followerId: number,
  clientRack: string | null,
): PartitionPlan {
  const meta = byId ? services.topics.getById(p.topicId) : services.topics.get(p.topic);
  const log = meta ? services.replicas.getLog(meta.name, p.partition) : undefined;
  let errorCode: number = meta
    ? log
      ? ErrorCode.NONE
      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    : byId
      ? ErrorCode.UNKNOWN_TOPIC_ID
      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  let preferredReadReplica = -1;
  if (errorCode === ErrorCode.NONE) {
    const name = meta!.name;
    const { replicas } = services;
    if (followerId >= 0) {
      errorCode = replicas.recordFollowerFetch(
        name,
        p.partition,
        followerId,
        p.fetchOffset,
        p.currentLeaderEpoch,
      );
    } else {
      errorCode = replicas.readError(name, p.partition, p.currentLeaderEpoch, clientRack !== null);
      if (errorCode === ErrorCode.NONE && clientRack !== null && clientRack !== '') {
        preferredReadReplica = replicas.preferredReadReplica(name, p.partition, clientRack, p.fetchOffset);
      }
    }
  }
  return {
    topic: meta?.name ?? p.topic,
    topicId: meta?.topicId ?? p.topicId,
    index: p.partition,
    log,
    errorCode,
    fetchOffset: p.fetchOffset,
    maxBytes: p.maxBytes,
    fromFollower: followerId >= 0,
    preferredReadReplica,
  };
}

/** The response the context calls for: every partition, or (incremental) those with something new. */
function answer(
  services: BrokerServices,
  context: Exclude<FetchContext, { kind: 'error' }>,
  plans: readonly PartitionPlan[],
  result: ReadResult,
): DeepPartial<FetchResponse> {
  let sessionId = INVALID_SESSION_ID;
  let include: readonly boolean[] | null = null;
  if (context.kind === 'full') {
    sessionId = services.fetchSessions.createSession(
      Date.now(),
      context.usesTopicIds,
      context.partitions,
      result.outcomes,
    );
  } else if (context.kind === 'incremental') {
    sessionId = context.session.id;
    include = services.fetchSessions.selectIncremental(context, result.outcomes);
    if (include === null) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH,
        sessionId,
        responses: [],
      };
    }
  }
  // Consecutive partitions of one topic share a topic entry; an incremental session's rotation can
  // list a topic twice, which clients accept (Kafka answers the same way).
  const responses: DeepPartial<FetchResponseFetchableTopicResponse>[] = [];
  let current: DeepPartial<FetchResponseFetchableTopicResponse> | undefined;
  plans.forEach((p, i) => {
    if (include !== null && !include[i]) return;
    if (current === undefined || current.topic !== p.topic || current.topicId !== p.topicId) {
      current = { topic: p.topic, topicId: p.topicId, partitions: [] };
      responses.push(current);
    }
    current.partitions!.push(result.partitions[i]!);
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId, responses };
}

async function readAll(
  plans: readonly PartitionPlan[],
  maxBytes: number,
  readCommitted: boolean,
): Promise<ReadResult> {
  let remaining = maxBytes;
  let bytes = 0;
  let hasError = false;
  const partitions: DeepPartial<FetchResponsePartitionData>[] = [];
  const outcomes: PartitionOutcome[] = [];
  // Partitions are read one after another: the response budget depends on what came before.
  for (const p of plans) {
    const out: DeepPartial<FetchResponsePartitionData> = {
      partitionIndex: p.index,
      errorCode: p.errorCode,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      abortedTransactions: readCommitted ? [] : null,
      preferredReadReplica: -1,
      records: EMPTY,
    };
    const outcome: PartitionOutcome = {
      errorCode: p.errorCode,
      highWatermark: -1,
      logStartOffset: -1,
      recordBytes: 0,
    };
    partitions.push(out);
    outcomes.push(outcome);
    if (p.errorCode !== ErrorCode.NONE || !p.log) {
      if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && p.log) {
        // A follower ahead of or behind our log: our log start tells it which (Kafka answers it too).
        out.highWatermark = BigInt(p.log.highWatermark);
        out.logStartOffset = BigInt(p.log.logStartOffset);
      }
      hasError = true;
      continue;
    }
    const log = p.log;
    out.highWatermark = BigInt(log.highWatermark);
    out.lastStableOffset = BigInt(log.lastStableOffset);
    out.logStartOffset = BigInt(log.logStartOffset);
    outcome.highWatermark = log.highWatermark;
    outcome.logStartOffset = log.logStartOffset;
    if (p.preferredReadReplica >= 0) {
      // KIP-392: no records, the consumer goes to that replica; answered at once, like an error.
      out.preferredReadReplica = p.preferredReadReplica;
      hasError = true;
      continue;
    }
    try {
      const limit = Math.max(0, Math.min(p.maxBytes, remaining));
      const committedOnly = readCommitted && !p.fromFollower;
      const lastStable = log.lastStableOffset;
      const read = await log.read(p.fetchOffset, limit, {
        minOneBatch: bytes === 0,
        maxOffset: p.fromFollower ? undefined : committedOnly ? lastStable : log.highWatermark,
      });
      out.records = read.records;
      out.highWatermark = BigInt(read.highWatermark);
      out.lastStableOffset = BigInt(lastStable);
      if (committedOnly && read.records.length > 0) {
        out.abortedTransactions = log
          .abortedTransactions(p.fetchOffset, lastStable)
          .map((t) => ({ producerId: BigInt(t.producerId), firstOffset: BigInt(t.firstOffset) }));
      }
      out.logStartOffset = BigInt(read.logStartOffset);
      outcome.highWatermark = read.highWatermark;
      outcome.logStartOffset = read.logStartOffset;
      outcome.recordBytes = read.records.length;
      bytes += read.records.length;
      remaining -= read.records.length;
    } catch (err) {
      out.errorCode = errorCodeOf(err);
      outcome.errorCode = out.errorCode;
      hasError = true;
    }
  }
  return { partitions, outcomes, bytes, hasError };
}
