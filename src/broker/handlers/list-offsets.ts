// ListOffsets (key 2), versions 0-10.
// - Timestamp -1 (latest): the high watermark, or the last stable offset for read_committed (equal
//   without transactions). -2 (earliest): the log start offset. -3 (max timestamp, v7+): the offset
//   of the batch with the largest timestamp. -4 (earliest local, v8+): the log start offset (no
//   tiered storage). Any other timestamp: the first offset whose timestamp is at least that, or -1.
// - v0 answers with a list of "old style" offsets (at most MaxNumOffsets of them).
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
import { LEADER_EPOCH, checkLeaderEpoch, errorCodeOf } from '../replica-manager.js';

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
              const epochError = checkLeaderEpoch(p.currentLeaderEpoch);
              if (epochError !== ErrorCode.NONE) return fail(epochError);
              try {
                const { offset, timestamp } = await lookup(log, Number(p.timestamp));
                return {
                  partitionIndex: p.partitionIndex,
                  errorCode: ErrorCode.NONE,
                  oldStyleOffsets: v0 ? (offset >= 0 && p.maxNumOffsets > 0 ? [BigInt(offset)] : []) : [],
                  timestamp: BigInt(timestamp),
                  offset: BigInt(offset),
                  leaderEpoch: offset >= 0 ? LEADER_EPOCH : -1,
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

async function lookup(log: UnifiedLog, timestamp: number): Promise<{ offset: number; timestamp: number }> {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      return { offset: log.highWatermark, timestamp: -1 };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
      return { offset: log.logStartOffset, timestamp: -1 };
    case MAX_TIMESTAMP: {
      const latest = await log.latestTimestamp();
      return latest ?? { offset: -1, timestamp: -1 };
    }
    default: {
      if (timestamp < 0) return { offset: -1, timestamp: -1 };
      const found = await log.offsetForTimestamp(timestamp);
      return found ? { offset: found.offset, timestamp: found.timestamp } : { offset: -1, timestamp: -1 };
    }
  }
}
