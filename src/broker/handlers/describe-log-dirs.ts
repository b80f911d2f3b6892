// DescribeLogDirs (key 35), versions 0-4 (kafka-log-dirs.sh, Admin.describeLogDirs).
// - One result per log directory (Brook has one: log.dirs), named by its absolute path, listing the
//   partitions it holds: Topics null means every partition, otherwise the ones asked for (topics and
//   partitions this broker does not hold are left out, as in Kafka).
// - PartitionSize is the bytes of the log's segments. OffsetLag is Kafka's: how far the replica's
//   log end is behind the high watermark, max(HW - LEO, 0), so 0 for a leader and for a follower
//   that is caught up to what it knows; -1 for a partition whose log went offline (a failed write or
//   fsync). IsFutureKey is always false: Brook has no future replicas (AlterReplicaLogDirs).
// - TotalBytes/UsableBytes (v4) come from statfs of the directory. A directory statfs cannot read
//   (removed, unmounted, I/O error) is offline: KAFKA_STORAGE_ERROR and no partitions.
// v1: no changes. v2: flexible. v3: top-level ErrorCode. v4: TotalBytes, UsableBytes.
import { statfs } from 'node:fs/promises';
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
  DescribeLogDirsResponseDescribeLogDirsResult,
  DescribeLogDirsResponseDescribeLogDirsTopic,
} from '../../protocol/generated/describe-log-dirs.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { UnifiedLog } from '../../storage/unified-log.js';
import { defineHandler } from '../handler.js';

/** Kafka's DescribeLogDirsResponse.INVALID_OFFSET_LAG: the replica is offline. */
const INVALID_OFFSET_LAG = -1n;

export const describeLogDirsHandler = defineHandler<
  DescribeLogDirsRequest,
  DeepPartial<DescribeLogDirsResponse>
>({
  apiKey: ApiKey.DescribeLogDirs,
  versions: [0, 4],
  async handle(ctx, req) {
    const { replicas, logger } = ctx.services;
    const logDir = replicas.logDir;
    let result: DeepPartial<DescribeLogDirsResponseDescribeLogDirsResult>;
    try {
      const fs = await statfs(logDir, { bigint: true });
      result = {
        errorCode: ErrorCode.NONE,
        logDir,
        topics: describeTopics(replicas.allLogs(), wanted(req)),
        totalBytes: fs.blocks * fs.bsize,
        usableBytes: fs.bavail * fs.bsize,
      };
    } catch (err) {
      logger.warn('Log directory is offline', { logDir, error: (err as Error).message });
      result = {
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        logDir,
        topics: [],
        totalBytes: -1n,
        usableBytes: -1n,
      };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results: [result] };
  },
});

/** The partitions asked for, by topic; null for all. */
function wanted(req: DescribeLogDirsRequest): Map<string, Set<number>> | null {
  if (req.topics === null) return null;
  const out = new Map<string, Set<number>>();
  for (const t of req.topics) {
    const set = out.get(t.topic) ?? new Set<number>();
    for (const p of t.partitions) set.add(p);
    out.set(t.topic, set);
  }
  return out;
}

function describeTopics(
  logs: readonly UnifiedLog[],
  filter: Map<string, Set<number>> | null,
): DescribeLogDirsResponseDescribeLogDirsTopic[] {
  const byTopic = new Map<string, DescribeLogDirsResponseDescribeLogDirsTopic>();
  for (const log of logs) {
    if (filter !== null && filter.get(log.topic)?.has(log.partition) !== true) continue;
    let topic = byTopic.get(log.topic);
    if (topic === undefined) {
      topic = { name: log.topic, partitions: [] };
      byTopic.set(log.topic, topic);
    }
    topic.partitions.push({
      partitionIndex: log.partition,
      partitionSize: BigInt(log.size),
      offsetLag: log.offline ? INVALID_OFFSET_LAG : BigInt(Math.max(log.highWatermark - log.logEndOffset, 0)),
      isFutureKey: false,
    });
  }
  const topics = [...byTopic.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of topics) t.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
  return topics;
}
