// Builds the broker's transaction coordinator: its __transaction_state store, markers written to
// the local logs (settling transactional offset commits in __consumer_offsets), and in cluster mode
// the coordinator following the leadership of its __transaction_state partitions, as the group
// coordinator follows __consumer_offsets, and sending markers for partitions other brokers lead to
// them (marker-channel.ts).
import type { ProducerIdManager } from '../broker/producer-id-manager.js';
import type { ReplicaManager } from '../broker/replica-manager.js';
import type { TopicManager } from '../broker/topic-manager.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';
import { completeTxnOffsets } from '../group/txn-offsets.js';
import type { Logger } from '../logger.js';
import type { LogManager } from '../storage/log-manager.js';
import { TransactionCoordinator } from './transaction-coordinator.js';
import { TransactionMarkerChannel } from './marker-channel.js';
import { appendMarker, MARKER_REPLICATION_TIMEOUT_MS, type TxnMarker } from './transaction-markers.js';
import { TRANSACTION_STATE_TOPIC, TransactionStateStore } from './transaction-state-store.js';

/** How long a write to __transaction_state waits for the partition's ISR in a cluster. */
const STATE_WRITE_TIMEOUT_MS = 5000;
/** How long another broker has to answer WriteTxnMarkers (Kafka's request.timeout.ms). */
const MARKER_REQUEST_TIMEOUT_MS = 30_000;

export function createTransactionCoordinator(
  config: BrokerConfig,
  topics: TopicManager,
  logs: LogManager,
  replicas: ReplicaManager,
  groups: GroupCoordinator,
  producerIds: ProducerIdManager,
  logger: Logger,
): TransactionCoordinator {
  const store = new TransactionStateStore(
    topics,
    logs,
    {
      numPartitions: config.transactionStateLogNumPartitions,
      replicationFactor: config.transactionStateLogReplicationFactor,
      minIsr: config.transactionStateLogMinIsr,
      segmentBytes: config.transactionStateLogSegmentBytes,
    },
    logger,
  );
  const onOffsetsMarker = (partition: number, producerId: number, commit: boolean): void =>
    completeTxnOffsets(groups, partition, producerId, commit);
  const writeLocal = (topic: string, partition: number, marker: TxnMarker): Promise<number> =>
    appendMarker(replicas, topic, partition, marker, onOffsetsMarker);
  // In a cluster, markers for partitions other brokers lead go to them as WriteTxnMarkers.
  const channel = replicas.replicated
    ? new TransactionMarkerChannel({
        cluster: replicas.cluster,
        writeLocal,
        requestTimeoutMs: MARKER_REQUEST_TIMEOUT_MS,
        replicationTimeoutMs: MARKER_REPLICATION_TIMEOUT_MS,
        logger,
      })
    : null;
  const coordinator = new TransactionCoordinator(
    {
      maxTimeoutMs: config.transactionMaxTimeoutMs,
      idExpirationMs: config.transactionalIdExpirationMs,
      abortTimedOutIntervalMs: config.transactionAbortTimedOutTransactionCleanupIntervalMs,
      removeExpiredIntervalMs: config.transactionRemoveExpiredTransactionCleanupIntervalMs,
    },
    store,
    () => producerIds.generate(),
    channel !== null ? (topic, partition, marker) => channel.send(topic, partition, marker) : writeLocal,
    logger,
  );
  if (channel !== null) coordinator.onStop(() => channel.stop());
  if (replicas.replicated) {
    coordinator.enableClusterMode();
    store.replication = {
      leaderEpochOf: (partition) => replicas.leaderEpochOf(TRANSACTION_STATE_TOPIC, partition),
      isLeader: (partition) => replicas.replica(TRANSACTION_STATE_TOPIC, partition)?.isLeader === true,
      underMinIsr: (partition) => replicas.underMinIsr(TRANSACTION_STATE_TOPIC, partition),
      awaitReplicated: (partition, offset) =>
        replicas.awaitReplicated(TRANSACTION_STATE_TOPIC, partition, offset, STATE_WRITE_TIMEOUT_MS),
    };
    replicas.onLeadershipChange((topic, partition, leader) => {
      if (topic === TRANSACTION_STATE_TOPIC) void coordinator.onStateLeadership(partition, leader);
    });
  }
  return coordinator;
}

export { TRANSACTION_STATE_TOPIC } from './transaction-state-store.js';
export type { TransactionCoordinator } from './transaction-coordinator.js';
