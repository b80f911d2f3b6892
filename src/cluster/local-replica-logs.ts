// Cluster mode: what a broker does to its local logs when the cluster's topics change, beside
// ReplicaManager (which creates a partition's log when a state names this broker as a replica):
// - a deleted topic's partitions disappear from the cluster view: their logs here are removed, once
//   ReplicaManager has stopped the replica;
// - a topic config changed through another broker reaches this broker's open logs.
// Nothing in single-node mode uses this.
import type { BrokerServices } from '../broker/services.js';
import type { Logger } from '../logger.js';
import type { LogManager } from '../storage/log-manager.js';
import type { LogConfig } from '../storage/log-config.js';
import type { ClusterView } from './cluster-view.js';
import type { MetadataStore, TopicMetadata } from './metadata-store.js';

/** How long a removal waits for ReplicaManager to let go of the replica before removing the log anyway. */
const STOP_WAIT_MS = 5000;

export function removeLogsOfDeletedTopics(
  cluster: ClusterView,
  logs: LogManager,
  replicas: Pick<BrokerServices['replicas'], 'replica'>,
  logger: Logger,
): () => void {
  return cluster.onPartitionChanges((changes) => {
    for (const { topic, partition } of changes.removed) {
      void (async () => {
        const deadline = Date.now() + STOP_WAIT_MS;
        while (replicas.replica(topic, partition) !== undefined && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        // Recreated meanwhile (a new topic of the same name): its state names it again, keep it.
        if (cluster.partitionState(topic, partition) !== undefined) return;
        if (!logs.getLog(topic, partition)) return;
        await logs.deleteLog(topic, partition);
        logger.info('Removed the local log of a deleted topic', { topic, partition });
      })().catch((err: unknown) => {
        logger.error('Removing the log of a deleted topic failed', { topic, partition, error: String(err) });
      });
    }
  });
}

/** Applies topic configs changed anywhere in the cluster to this broker's open logs. */
export function followTopicConfigs(
  metadata: MetadataStore,
  logs: LogManager,
  logConfigFor: (topic: TopicMetadata) => LogConfig,
): () => void {
  const seen = new Map<string, Readonly<Record<string, string>>>();
  for (const t of metadata.topics()) seen.set(t.name, t.configs);
  return () => {
    for (const t of metadata.topics()) {
      if (seen.get(t.name) === t.configs) continue;
      const known = seen.has(t.name);
      seen.set(t.name, t.configs);
      if (!known) continue;
      const config = logConfigFor(t);
      for (let p = 0; p < t.partitions; p++) logs.getLog(t.name, p)?.updateConfig?.(config);
    }
  };
}
