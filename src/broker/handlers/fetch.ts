// Fetch (key 1), versions 0-17.
// - Returns whole stored batches as raw bytes, straight from the log files; clients skip records
//   before their fetch offset inside the first batch.
// - Long poll: when fewer than MinBytes are available the request is parked until an append to one
//   of its partitions, MaxWaitMs, or the client disconnecting.
// - Limits: PartitionMaxBytes per partition and MaxBytes (v3+) per response, except that the first
//   partition with data returns at least one batch, so a batch bigger than the limits still moves.
// - read_committed (isolation 1) reads up to the last stable offset, which equals the high
//   watermark without transactions; AbortedTransactions is then an empty list.
// - No incremental fetch sessions (KIP-227): SessionId is always 0, so every fetch is a full one.
// - v13+ names topics by ID; an unknown ID gets UNKNOWN_TOPIC_ID.
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
import type { UnifiedLog } from '../../storage/unified-log.js';
import { defineHandler } from '../handler.js';
import { checkLeaderEpoch, errorCodeOf } from '../replica-manager.js';

const READ_COMMITTED = 1;
const EMPTY = Buffer.alloc(0);

interface PartitionPlan {
  index: number;
  log: UnifiedLog | undefined;
  errorCode: number;
  fetchOffset: number;
  maxBytes: number;
}

interface TopicPlan {
  topic: string;
  topicId: string;
  partitions: PartitionPlan[];
}

export const fetchHandler = defineHandler<FetchRequest, DeepPartial<FetchResponse>>({
  apiKey: ApiKey.Fetch,
  versions: [0, 17],
  async handle(ctx, req) {
    const { topics, replicas } = ctx.services;
    const byId = ctx.header.apiVersion >= 13;
    const plans: TopicPlan[] = req.topics.map((t) => {
      const meta = byId ? topics.getById(t.topicId) : topics.get(t.topic);
      const missing = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return {
        topic: meta?.name ?? t.topic,
        topicId: meta?.topicId ?? t.topicId,
        partitions: t.partitions.map((p) => {
          const log = meta ? replicas.getLog(meta.name, p.partition) : undefined;
          let errorCode: number = meta
            ? log
              ? ErrorCode.NONE
              : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : missing;
          if (errorCode === ErrorCode.NONE) errorCode = checkLeaderEpoch(p.currentLeaderEpoch);
          return {
            index: p.partition,
            log,
            errorCode,
            fetchOffset: Number(p.fetchOffset),
            maxBytes: p.partitionMaxBytes,
          };
        }),
      };
    });
    const maxBytes = ctx.header.apiVersion >= 3 ? req.maxBytes : Number.MAX_SAFE_INTEGER;
    const readCommitted = req.isolationLevel === READ_COMMITTED;

    let result = await readAll(plans, maxBytes, readCommitted);
    if (result.bytes < req.minBytes && req.maxWaitMs > 0 && !result.hasError) {
      const logs = plans.flatMap((t) => t.partitions.flatMap((p) => (p.log ? [p.log] : [])));
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
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: result.responses };
  },
});

async function readAll(
  plans: TopicPlan[],
  maxBytes: number,
  readCommitted: boolean,
): Promise<{
  responses: DeepPartial<FetchResponseFetchableTopicResponse>[];
  bytes: number;
  hasError: boolean;
}> {
  let remaining = maxBytes;
  let bytes = 0;
  let hasError = false;
  const responses: DeepPartial<FetchResponseFetchableTopicResponse>[] = [];
  // Partitions are read one after another: the response budget depends on what came before.
  for (const t of plans) {
    const partitions: DeepPartial<FetchResponsePartitionData>[] = [];
    for (const p of t.partitions) {
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
      partitions.push(out);
      if (p.errorCode !== ErrorCode.NONE || !p.log) {
        hasError = true;
        continue;
      }
      const log = p.log;
      out.highWatermark = BigInt(log.highWatermark);
      out.lastStableOffset = BigInt(log.highWatermark);
      out.logStartOffset = BigInt(log.logStartOffset);
      try {
        const limit = Math.max(0, Math.min(p.maxBytes, remaining));
        const read = await log.read(p.fetchOffset, limit, {
          minOneBatch: bytes === 0,
          maxOffset: log.highWatermark,
        });
        out.records = read.records;
        out.highWatermark = BigInt(read.highWatermark);
        out.lastStableOffset = BigInt(read.highWatermark);
        out.logStartOffset = BigInt(read.logStartOffset);
        bytes += read.records.length;
        remaining -= read.records.length;
      } catch (err) {
        out.errorCode = errorCodeOf(err);
        hasError = true;
      }
    }
    responses.push({ topic: t.topic, topicId: t.topicId, partitions });
  }
  return { responses, bytes, hasError };
}
