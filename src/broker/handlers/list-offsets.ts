// ListOffsets (key 2), versions 0-10.
// - Timestamp -1 (latest): the high watermark, or the last stable offset for read_committed (below
//   the oldest ongoing transaction), with the current leader epoch. -2 (earliest): the log start offset with
//   the epoch that covers it. -3 (max timestamp, v7+): the first record carrying the largest
//   timestamp. -4 (earliest local, v8+): as -2 (no tiered storage). Any other timestamp: the first
//   record whose own timestamp is at least that (the batch is searched record by record, as Kafka
//   does), with that record's timestamp and its batch's leader epoch; else offset and timestamp -1.
// - v0 answers with a list of "old style" offsets (at most MaxNumOffsets of them).
// - Only the partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere); in a cluster the
//   high watermark is the ISR's, so LATEST never names records the ISR does not have.
// v1: one offset + timestamp. v2: isolation level. v4: leader epochs. v6: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  ListOffsetsRequest,
  ListOffsetsResponse,
  ListOffsetsResponseListOffsetsPartitionResponse,
} from '../../protocol/generated/list-offsets.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { UnifiedLog } from '../../storage/unified-log.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../replica-manager.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;

export const listOffsetsHandler = defineHandler<ListOffsetsRequest, DeepPartial<ListOffsetsResponse>>({
  apiKey: ApiKey.ListOffsets,
  versions: [0, 10],
  async handle(ctx, req) {
    const { replicas } = ctx.services;
    const v0 = ctx.header.apiVersion === 0;
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(
            async (p): Promise<DeepPartial<ListOffsetsResponseListOffsetsPartitionResponse>> => {
              const log = replicas.getLog(t.name, p.partitionIndex);
              const fail = (errorCode: number) => ({
                partitionIndex: p.partitionIndex,
                errorCode,
                oldStyleOffsets: [],
                timestamp: -1n,
                offset: -1n,
                leaderEpoch: -1,
              });
              if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
              const leaderError = replicas.leaderError(t.name, p.partitionIndex, p.currentLeaderEpoch);
              if (leaderError !== ErrorCode.NONE) return fail(leaderError);
              try {
                const epoch = replicas.leaderEpochOf(t.name, p.partitionIndex);
                const { offset, timestamp, leaderEpoch } = await lookup(
                  log,
                  Number(p.timestamp),
                  epoch,
                  req.isolationLevel === READ_COMMITTED,
                );
                return {
                  partitionIndex: p.partitionIndex,
                  errorCode: ErrorCode.NONE,
                  oldStyleOffsets: v0 ? (offset >= 0 && p.maxNumOffsets > 0 ? [BigInt(offset)] : []) : [],
                  timestamp: BigInt(timestamp),
                  offset: BigInt(offset),
                  leaderEpoch: leaderEpoch >= 0 ? leaderEpoch : -1,
                };
              } catch (err) {
                return fail(errorCodeOf(err));
              }
            },
          ),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});

interface Found {
  offset: number;
  timestamp: number;
  /** -1 when unknown. */
  leaderEpoch: number;
}

const NOT_FOUND: Found = { offset: -1, timestamp: -1, leaderEpoch: -1 };

const READ_COMMITTED = 1;

async function lookup(
  log: UnifiedLog,
  timestamp: number,
  currentEpoch: number,
  readCommitted: boolean,
): Promise<Found> {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      // Kafka answers with the partition's current leader epoch, even for an empty log.
      return {
        offset: readCommitted ? log.lastStableOffset : log.highWatermark,
        timestamp: -1,
        leaderEpoch: currentEpoch,
      };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP: {
      const offset = log.logStartOffset;
      return { offset, timestamp: -1, leaderEpoch: log.epochForOffset(offset) };
    }
    case MAX_TIMESTAMP: {
      const found = await log.latestTimestamp();
      return found
        ? { offset: found.offset, timestamp: found.timestampMs, leaderEpoch: found.leaderEpoch }
        : NOT_FOUND;
    }
    default: {
      if (timestamp < 0) return NOT_FOUND;
      const found = await log.offsetForTimestamp(timestamp);
      if (found === null || found.offset >= log.highWatermark) return NOT_FOUND;
      return { offset: found.offset, timestamp: found.timestampMs, leaderEpoch: found.leaderEpoch };
    }
  }
}
