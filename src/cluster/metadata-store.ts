// The cluster's metadata: which topics exist, their stable IDs, partition counts and topic-level
// config overrides, topics being deleted, dynamic broker config and the producer-ID high-water mark.
// A single broker keeps it embedded under the data directory (embedded-metadata-store.ts: an
// append-only log of changes plus snapshots). A ZooKeeper-backed store will implement the same
// interface for clusters.
import { randomUUID } from 'node:crypto';

export interface TopicMetadata {
  readonly name: string;
  /** Stable topic ID (KIP-516), canonical UUID string. */
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic-level config overrides (Kafka key names). */
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * A topic that is gone from the metadata but whose partition directories may not all be renamed
 * away yet (Kafka's ZooKeeper mode keeps the same thing under /admin/delete_topics).
 */
export interface PendingTopicDeletion {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
}

export interface MetadataStore {
  readonly clusterId: string;
  topics(): IterableIterator<TopicMetadata>;
  getTopic(name: string): TopicMetadata | undefined;
  getTopicById(topicId: string): TopicMetadata | undefined;
  /**
   * Creates or replaces a topic; the change is visible once it is durable. `assignment` (cluster
   * mode) gives the replicas of the new partitions; a single broker holds every partition itself.
   */
  putTopic(topic: TopicMetadata, assignment?: readonly (readonly number[])[]): Promise<void>;
  /** Removes a topic and records it as a pending deletion until completeTopicDeletion. */
  deleteTopic(name: string): Promise<void>;
  pendingTopicDeletions(): IterableIterator<PendingTopicDeletion>;
  /** Every partition directory of the deleted topic is renamed away. */
  completeTopicDeletion(topicId: string): Promise<void>;
  /** Dynamic broker config: the cluster-wide defaults (resource "") or this broker's own (its node id). */
  brokerConfigs(scope?: BrokerConfigScope): Readonly<Record<string, string>>;
  setBrokerConfigs(configs: Record<string, string>, scope?: BrokerConfigScope): Promise<void>;
  /** Reserves `count` producer IDs that no broker has handed out before, even across restarts. */
  allocateProducerIds(count: number): Promise<{ first: number; count: number }>;
  close(): Promise<void>;
}

/** putTopic of a new topic that another broker or request created first (TOPIC_ALREADY_EXISTS). */
export class TopicExistsError extends Error {}

/** A write lost a race with another writer (a ZooKeeper znode's version moved on); the caller may retry. */
export class StaleWriteError extends Error {}

export type BrokerConfigScope = 'cluster-default' | 'broker';

/** Kafka cluster IDs are 22-character URL-safe base64 of a UUID. */
export function newClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

export function newTopicId(): string {
  return randomUUID();
}
