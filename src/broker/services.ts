// The broker's services, as handlers see them. Built once by Broker and shared by every request.
import type { ClusterView } from '../cluster/cluster-view.js';
import type { Controller } from '../cluster/zookeeper/controller.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import type { BrokerConfig, DynamicScope } from '../config/broker-config.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';
import type { Logger } from '../logger.js';
import type { TransactionCoordinator } from '../txn/transaction-coordinator.js';
import type { FetchSessionCache } from './fetch-session.js';
import type { ProducerIdManager } from './producer-id-manager.js';
import type { ReplicaManager } from './replica-manager.js';
import type { TopicManager } from './topic-manager.js';

/** The settings handlers read, resolved from the broker config (Kafka key in each comment). */
export interface BrokerSettings {
  /** node.id / broker.id */
  nodeId: number;
  /** advertised.listeners (or listeners): what Metadata tells clients to connect to. */
  advertisedHost: string;
  advertisedPort: number;
  /** num.partitions */
  numPartitions: number;
  /** default.replication.factor */
  defaultReplicationFactor: number;
  /** auto.create.topics.enable */
  autoCreateTopicsEnable: boolean;
  /** delete.topic.enable */
  deleteTopicEnable: boolean;
  /** message.max.bytes */
  messageMaxBytes: number;
  /** The broker config as Kafka key → value, for DescribeConfigs and topic defaults. */
  raw: Record<string, string>;
}

export interface BrokerServices {
  readonly settings: BrokerSettings;
  readonly logger: Logger;
  readonly metadata: MetadataStore;
  /**
   * Who leads what: LocalClusterView on a single broker (leads everything at epoch 0), the
   * ZooKeeper-backed store in cluster mode (zookeeper.connect). Metadata, FindCoordinator, produce and
   * fetch answer from it.
   */
  readonly cluster: ClusterView;
  /**
   * Cluster mode: this broker's controller candidate (it runs elections only while active), null on a
   * single node and until the broker joined the cluster.
   */
  controller(): Controller | null;
  readonly topics: TopicManager;
  readonly replicas: ReplicaManager;
  readonly producerIds: ProducerIdManager;
  /** The classic group coordinator: membership, rebalances and committed offsets. */
  readonly groups: GroupCoordinator;
  /** The transaction coordinator (src/txn/): transactional ids, their state and markers. */
  readonly transactions: TransactionCoordinator;
  /** Incremental fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
  /** Every API this broker serves, with the version range it advertises (ApiVersions). */
  readonly supportedApis: readonly { apiKey: number; minVersion: number; maxVersion: number }[];
  /** The broker config in force now: static values plus the dynamic ones AlterConfigs set. */
  brokerConfig(): BrokerConfig;
  /**
   * Changes dynamic broker config (AlterConfigs on the broker resource): a string sets a key, null
   * removes its dynamic value, in this broker's own values (resource = node id) or the cluster-wide
   * defaults (resource ""). Throws ConfigError (unknown, read-only or invalid) and changes
   * nothing; otherwise applies the new log defaults and settings at once and persists them.
   */
  reconfigure(
    updates: Readonly<Record<string, string | null>>,
    validateOnly?: boolean,
    scope?: DynamicScope,
  ): Promise<BrokerConfig>;
}
