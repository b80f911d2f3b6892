// DeleteRecords (key 21), versions 0-2.
// - Moves a partition's log start offset up to the requested offset (persisted) and drops the
//   segments wholly below it; reads below it then get OFFSET_OUT_OF_RANGE. Offset -1 means the
//   high watermark (delete everything). An offset below the current start changes nothing.
// - Answers with the partition's new low watermark (log start offset).
// - Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, OFFSET_OUT_OF_RANGE (above the high
//   watermark, or negative), POLICY_VIOLATION (cleanup.policy=compact without delete, as in Kafka).
// v1: no changes. v2: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DeleteRecordsResponseDeleteRecordsPartitionResult,
} from '../../protocol/generated/delete-records.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../replica-manager.js';

const HIGH_WATERMARK = -1n;

export const deleteRecordsHandler = defineHandler<DeleteRecordsRequest, DeepPartial<DeleteRecordsResponse>>({
  apiKey: ApiKey.DeleteRecords,
  versions: [0, 2],
  async handle(ctx, req) {
    const { replicas, logger } = ctx.services;
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(
            async (p): Promise<DeepPartial<DeleteRecordsResponseDeleteRecordsPartitionResult>> => {
              const fail = (errorCode: number) => ({
                partitionIndex: p.partitionIndex,
                lowWatermark: -1n,
                errorCode,
              });
              const log = replicas.getLog(t.name, p.partitionIndex);
              if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
              if (log.config.cleanupPolicy === 'compact') return fail(ErrorCode.POLICY_VIOLATION);
              const offset = p.offset === HIGH_WATERMARK ? log.highWatermark : Number(p.offset);
              if (offset < 0 || offset > log.highWatermark) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
              try {
                const lowWatermark = await log.deleteRecordsBefore(offset);
                return {
                  partitionIndex: p.partitionIndex,
                  lowWatermark: BigInt(lowWatermark),
                  errorCode: ErrorCode.NONE,
                };
              } catch (err) {
                const code = errorCodeOf(err);
                if (code === ErrorCode.UNKNOWN_SERVER_ERROR) {
                  logger.error('DeleteRecords failed', {
                    topic: t.name,
                    partition: p.partitionIndex,
                    err: (err as Error).stack,
                  });
                }
                return fail(code);
              }
            },
          ),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
