// The transaction coordinator's durable state: __transaction_state, a compacted internal topic on
// the broker's own log (Kafka's TransactionStateManager). A transactional id lives in partition
// abs(transactionalId.hashCode) % transaction.state.log.num.partitions, as in Kafka.
// - write(): one record batch per state change, resolved once written (fsynced with
//   log.flush.before.ack; in a cluster once the partition's ISR has it), so the coordinator answers
//   only after its decision is durable.
// - loadPartition(): reads a partition from its log start to its end (startup, or a cluster member
//   becoming its leader); a damaged batch is skipped with a warning.
import { TopicError, type TopicManager } from '../broker/topic-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { LocalClusterView } from '../cluster/cluster-view.js';
import { partitionForGroup } from '../group/offsets-records.js';
import type { OffsetsReplication } from '../group/offset-manager.js';
import type { Logger } from '../logger.js';
import { encodeBatchSync } from '../protocol/records.js';
import { replayInternalPartition } from '../storage/internal-topic-replay.js';
import type { LogManager } from '../storage/log-manager.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/** Cluster mode: the replication of __transaction_state's partitions, as for __consumer_offsets. */
export interface TxnStateReplication extends OffsetsReplication {
  /**
   * Whether the partition's ISR is below min.insync.replicas (transaction.state.log.min.isr): a state
   * change is then refused before it is written, as Kafka appends it with acks=all.
   */
  underMinIsr(partition: number): boolean;
}

/** What __transaction_state is created with (Kafka's transaction.state.log.* keys). */
export interface TxnStateTopicConfig {
  numPartitions: number;
  /** transaction.state.log.replication.factor (cluster mode; a single node has one replica). */
  replicationFactor: number;
  /** transaction.state.log.min.isr: the topic's min.insync.replicas (cluster mode). */
  minIsr: number;
  /** transaction.state.log.segment.bytes */
  segmentBytes: number;
}

export interface TxnStateRecord {
  key: Buffer;
  /** null = tombstone. */
  value: Buffer | null;
}

export class TransactionStateStore {
  private numPartitionsValue: number;
  /** Cluster mode: stamping and replication of the coordinator's writes; null on a single node. */
  replication: TxnStateReplication | null = null;
  /** The wait for enough live brokers has been logged. */
  private toldWaiting = false;

  constructor(
    private readonly topics: TopicManager,
    private readonly logs: LogManager,
    private readonly topicConfig: TxnStateTopicConfig,
    private readonly logger: Logger,
  ) {
    this.numPartitionsValue = topicConfig.numPartitions;
  }

  get numPartitions(): number {
    return this.numPartitionsValue;
  }

  /** Kafka's partitionFor(transactionalId): the same Java String.hashCode rule as for groups. */
  partitionFor(transactionalId: string): number {
    return partitionForGroup(transactionalId, this.numPartitionsValue);
  }

  /** The coordinator epoch of a partition (its leader epoch), stamped into markers. */
  coordinatorEpoch(partition: number): number {
    return this.replication?.leaderEpochOf(partition) ?? LocalClusterView.LEADER_EPOCH;
  }

  /** Whether __transaction_state exists (it is created by the first transactional producer, as in Kafka). */
  topicExists(): boolean {
    const existing = this.topics.get(TRANSACTION_STATE_TOPIC);
    if (existing) this.numPartitionsValue = existing.partitions;
    return existing !== undefined;
  }

  /**
   * Creates __transaction_state (compacted) unless it exists; an existing topic keeps its partition
   * count and replicas. Cluster mode: with transaction.state.log.replication.factor replicas and
   * min.insync.replicas = transaction.state.log.min.isr, as Kafka. While fewer brokers are live it is
   * not created with fewer replicas (a coordinator failover would lose transactions): this throws a
   * TopicError INVALID_REPLICATION_FACTOR, the caller answers COORDINATOR_NOT_AVAILABLE, and the next
   * transactional request tries again (Kafka: "internal topic creation will fail until the cluster
   * size meets this replication factor requirement").
   */
  async ensureTopic(): Promise<void> {
    const existing = this.topics.get(TRANSACTION_STATE_TOPIC);
    if (existing) {
      this.numPartitionsValue = existing.partitions;
      return;
    }
    const cluster = this.replication !== null;
    const configs: Record<string, string> = {
      'cleanup.policy': 'compact',
      'segment.bytes': String(this.topicConfig.segmentBytes),
    };
    if (cluster) configs['min.insync.replicas'] = String(this.topicConfig.minIsr);
    let created;
    try {
      created = await this.topics.create({
        name: TRANSACTION_STATE_TOPIC,
        numPartitions: this.numPartitionsValue,
        replicationFactor: cluster ? this.topicConfig.replicationFactor : 1,
        configs,
      });
    } catch (err) {
      // In a cluster another broker may create it first.
      const other = this.topics.get(TRANSACTION_STATE_TOPIC);
      if (err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS && other) {
        created = other;
      } else {
        if (
          err instanceof TopicError &&
          err.code === ErrorCode.INVALID_REPLICATION_FACTOR &&
          !this.toldWaiting
        ) {
          this.toldWaiting = true;
          this.logger.info(
            '__transaction_state waits for transaction.state.log.replication.factor live brokers before it is created',
            { replicationFactor: this.topicConfig.replicationFactor },
          );
        }
        throw err;
      }
    }
    this.numPartitionsValue = created.partitions;
  }

  /** Appends one record for `transactionalId`; resolves when durable. Throws on storage errors. */
  async write(transactionalId: string, record: TxnStateRecord): Promise<void> {
    const partition = this.partitionFor(transactionalId);
    const log = this.logs.getLog(TRANSACTION_STATE_TOPIC, partition);
    if (!log) throw new Error(`${TRANSACTION_STATE_TOPIC} partition ${partition} is not available`);
    const replication = this.replication;
    if (replication !== null && !replication.isLeader(partition)) {
      throw new Error(`this broker does not lead ${TRANSACTION_STATE_TOPIC} partition ${partition}`);
    }
    if (replication?.underMinIsr(partition) === true) {
      throw new Error(
        `the ISR of ${TRANSACTION_STATE_TOPIC} partition ${partition} is below transaction.state.log.min.isr`,
      );
    }
    const leaderEpoch = replication?.leaderEpochOf(partition) ?? LocalClusterView.LEADER_EPOCH;
    const batch = encodeBatchSync({ records: [record], partitionLeaderEpoch: leaderEpoch });
    const result = log.append(batch, { leaderEpoch, assignOffsets: true });
    await result.durable;
    if (replication !== null) await replication.awaitReplicated(partition, result.lastOffset + 1);
  }

  /** Visits every record of one partition in log order. */
  async loadPartition(p: number, visit: (record: TxnStateRecord) => void): Promise<number> {
    const log = this.logs.getLog(TRANSACTION_STATE_TOPIC, p);
    if (!log) return 0;
    let count = 0;
    await replayInternalPartition(log, TRANSACTION_STATE_TOPIC, p, this.logger, {
      record: (r) => {
        visit({ key: Buffer.from(r.key!), value: r.value === null ? null : Buffer.from(r.value) });
        count++;
      },
    });
    return count;
  }
}
