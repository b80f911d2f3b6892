// Rebuilding the topic list from the partition directories: the explicit recovery step
// (metadata.recovery.rebuild.from.logs=true) for a data directory whose cluster metadata is missing
// or unreadable. Each `<topic>-<partition>` directory becomes a partition of its topic; the topic ID
// comes from the directories' partition.metadata files (so clients that cached it keep working),
// and a topic's config overrides, which only the metadata held, fall back to the broker defaults.
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readPartitionMetadata } from '../storage/partition-metadata-file.js';
import { UnifiedLog } from '../storage/unified-log.js';
import type { TopicMetadata } from './metadata-store.js';

/** Overrides the broker itself gives its internal topics, which a rebuild must not lose. */
const INTERNAL_TOPIC_CONFIGS: Readonly<Record<string, Record<string, string>>> = {
  __consumer_offsets: { 'cleanup.policy': 'compact' },
};

export interface MetadataLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Names of the `<topic>-<partition>` directories directly under the data directory. */
export async function listPartitionDirs(dataDir: string): Promise<string[]> {
  const entries = await readdir(dataDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && UnifiedLog.parseDirName(e.name) !== null)
    .map((e) => e.name)
    .sort();
}

export async function rebuildTopicsFromDirs(
  dataDir: string,
  dirNames: readonly string[],
  logger: MetadataLogger,
): Promise<TopicMetadata[]> {
  const byTopic = new Map<string, { partitions: number[]; ids: Map<string, number> }>();
  for (const name of dirNames) {
    const { topic, partition } = UnifiedLog.parseDirName(name)!;
    let entry = byTopic.get(topic);
    if (!entry) byTopic.set(topic, (entry = { partitions: [], ids: new Map() }));
    entry.partitions.push(partition);
    const id = await readPartitionMetadata(join(dataDir, name));
    if (id !== null) entry.ids.set(id, (entry.ids.get(id) ?? 0) + 1);
  }
  const topics: TopicMetadata[] = [];
  const usedIds = new Set<string>();
  for (const [name, entry] of [...byTopic].sort(([a], [b]) => a.localeCompare(b))) {
    const count = entry.partitions.reduce((max, p) => (p > max ? p : max), 0) + 1;
    if (count !== entry.partitions.length) {
      logger.warn('Rebuilt topic has missing partition directories; they are recreated empty', {
        topic: name,
        found: entry.partitions.length,
        partitions: count,
      });
    }
    // The ID most of its directories agree on; a new one when none recorded it (or it is taken).
    const recorded = [...entry.ids].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (entry.ids.size > 1) logger.warn('Partition directories disagree on the topic ID', { topic: name });
    const topicId = recorded !== undefined && !usedIds.has(recorded) ? recorded : randomUUID();
    usedIds.add(topicId);
    topics.push({
      name,
      topicId,
      partitions: count,
      replicationFactor: 1,
      configs: { ...(INTERNAL_TOPIC_CONFIGS[name] ?? {}) },
    });
    logger.warn('Rebuilt topic from its partition directories', {
      topic: name,
      partitions: count,
      topicId,
      idSource: topicId === recorded ? 'partition.metadata' : 'new',
    });
  }
  return topics;
}
