// The group coordinator's durable state: __consumer_offsets, a compacted internal topic on the
// broker's own log (Kafka's GroupMetadataManager). A group lives in partition
// abs(groupId.hashCode) % offsets.topic.num.partitions, as in Kafka.
// - write(): one record batch per call (all offsets of one OffsetCommit together), resolved once the
//   batch is written (and fsynced when log.flush.before.ack is on), so an acknowledged commit
//   survives a crash.
// - load(): reads every partition from its log start to its end at startup and hands each record,
//   in log order, to the coordinator. A damaged batch (CRC, undecodable) is skipped with a warning:
//   losing one commit beats refusing to start or dropping every commit after it.
import type { Logger } from '../logger.js';
import { readBatchInfo, decodeBatchSync, encodeBatchSync } from '../protocol/records.js';
import { LocalClusterView } from '../cluster/cluster-view.js';
import { TopicError, type TopicManager } from '../broker/topic-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { replayInternalPartition } from '../storage/internal-topic-replay.js';
import type { LogManager } from '../storage/log-manager.js';
import type { UnifiedLog } from '../storage/unified-log.js';
import { partitionForGroup } from './offsets-records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

export interface OffsetsRecord {
  key: Buffer;
  /** null = tombstone. */
  value: Buffer | null;
}

/** What a cluster member's offsets partitions need from replication. */
export interface OffsetsReplication {
  /** The partition's current leader epoch, stamped into the coordinator's batches. */
  leaderEpochOf(partition: number): number;
  /** Whether this broker leads the partition (a follower's log is written by its fetcher only). */
  isLeader(partition: number): boolean;
  /** Resolves once the ISR has everything below `offset`; rejects when it cannot (acks=all for commits). */
  awaitReplicated(partition: number, offset: number): Promise<void>;
}

/** Transactional offset commits met while loading (TxnOffsetCommit; see txn-offsets.ts). */
export interface TxnOffsetsReplay {
  /** A record of a transactional batch: pending until its producer's marker. */
  record(partition: number, producerId: number, record: OffsetsRecord): void;
  /** A COMMIT or ABORT marker of `producerId` in `partition`. */
  marker(partition: number, producerId: number, commit: boolean): void;
}

export class OffsetManager {
  private numPartitions: number;
  /** Set by the broker: where transactional commits go while loading (null: they are skipped). */
  txnReplay: TxnOffsetsReplay | null = null;
  /** Cluster mode: how commits are stamped and replicated (ReplicaManager); null on a single node. */
  replication: OffsetsReplication | null = null;

  private retryTimer: NodeJS.Timeout | null = null;
  private retrying = false;
  private toldWaiting = false;

  constructor(
    private readonly topics: TopicManager,
    private readonly logs: LogManager,
    configuredPartitions: number,
    private readonly segmentBytes: number,
    private readonly logger: Logger,
    /** offsets.topic.replication.factor (cluster mode only; a single node has one replica). */
    private readonly replicationFactor = 1,
  ) {
    this.numPartitions = configuredPartitions;
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.numPartitions);
  }

  /**
   * Creates __consumer_offsets (compacted) unless it exists; an existing topic keeps its partition count.
   * Cluster mode: with offsets.topic.replication.factor replicas, as Kafka. While fewer brokers are live
   * (the first broker of a cluster starting) it is not created with fewer replicas, which would leave the
   * groups on one broker for good: creation is retried every second until enough brokers are live, and
   * until then FindCoordinator answers COORDINATOR_NOT_AVAILABLE. Another broker creating it first is
   * fine (the topic may not have reached our view yet).
   */
  async ensureTopic(): Promise<void> {
    if (this.replication === null) {
      await this.createTopic(1);
      return;
    }
    if (await this.tryCreateInCluster()) return;
    this.retryTimer = setInterval(() => {
      if (this.retrying) return;
      this.retrying = true;
      void this.tryCreateInCluster()
        .then((done) => {
          if (done) this.stopRetrying();
        })
        .finally(() => {
          this.retrying = false;
        });
    }, 1000);
    this.retryTimer.unref();
  }

  stopRetrying(): void {
    if (this.retryTimer !== null) clearInterval(this.retryTimer);
    this.retryTimer = null;
  }

  private async tryCreateInCluster(): Promise<boolean> {
    try {
      await this.createTopic(this.replicationFactor);
      return true;
    } catch (err) {
      if (err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return true;
      if (!(err instanceof TopicError && err.code === ErrorCode.INVALID_REPLICATION_FACTOR)) {
        this.logger.warn('Creating __consumer_offsets failed; retrying', { err: (err as Error).message });
      } else if (!this.toldWaiting) {
        this.toldWaiting = true;
        this.logger.info(
          '__consumer_offsets waits for offsets.topic.replication.factor live brokers before it is created',
          { replicationFactor: this.replicationFactor },
        );
      }
      return false;
    }
  }

  private async createTopic(replicationFactor: number): Promise<void> {
    const existing = this.topics.get(OFFSETS_TOPIC);
    if (existing) {
      this.numPartitions = existing.partitions;
      return;
    }
    let created;
    try {
      created = await this.topics.create({
        name: OFFSETS_TOPIC,
        numPartitions: this.numPartitions,
        replicationFactor,
        configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(this.segmentBytes) },
      });
    } catch (err) {
      // In a cluster another broker may create it first.
      const other = this.topics.get(OFFSETS_TOPIC);
      if (!(err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) || !other) throw err;
      created = other;
    }
    this.numPartitions = created.partitions;
  }

  private logFor(groupId: string): UnifiedLog | undefined {
    return this.logs.getLog(OFFSETS_TOPIC, this.partitionFor(groupId));
  }

  /**
   * Appends records of one group as one batch; resolves when durable. Throws on storage errors.
   * With `producer`, a transactional batch of that producer (TxnOffsetCommit): its offsets count once
   * the producer's COMMIT marker follows.
   */
  async write(
    groupId: string,
    records: readonly OffsetsRecord[],
    producer?: { producerId: number; producerEpoch: number },
  ): Promise<void> {
    if (records.length === 0) return;
    const partition = this.partitionFor(groupId);
    const log = this.logFor(groupId);
    if (!log) throw new Error(`${OFFSETS_TOPIC} partition ${partition} is not available`);
    const replication = this.replication;
    if (replication !== null && !replication.isLeader(partition)) {
      throw new Error(`this broker does not lead ${OFFSETS_TOPIC} partition ${partition}`);
    }
    const leaderEpoch = replication?.leaderEpochOf(partition) ?? LocalClusterView.LEADER_EPOCH;
    const batch = encodeBatchSync(
      producer === undefined
        ? { records, partitionLeaderEpoch: leaderEpoch }
        : {
            records,
            partitionLeaderEpoch: leaderEpoch,
            producerId: producer.producerId,
            producerEpoch: producer.producerEpoch,
            baseSequence: -1,
            transactional: true,
          },
    );
    const result = log.append(batch, {
      leaderEpoch,
      assignOffsets: true,
      fromCoordinator: producer !== undefined,
    });
    await result.durable;
    // As Kafka's coordinator appends with acks=all: a commit is answered once the ISR has it.
    if (replication !== null) await replication.awaitReplicated(partition, result.lastOffset + 1);
  }

  private replayMarker(partition: number, buf: Buffer, pos: number): void {
    try {
      const { records } = decodeBatchSync(buf, pos);
      const key = records[0]?.key;
      if (key === undefined || key === null || key.length < 4) return;
      const info = readBatchInfo(buf, pos);
      this.txnReplay!.marker(partition, Number(info.producerId), key.readInt16BE(2) === 1);
    } catch (err) {
      this.logger.warn('Skipping an undecodable __consumer_offsets marker', { partition, err: String(err) });
    }
  }

  /** Visits every record of every partition, in log order per partition. */
  async load(visit: (record: OffsetsRecord, timestampMs: number) => void): Promise<number> {
    let count = 0;
    for (let p = 0; p < this.numPartitions; p++) count += await this.loadPartition(p, visit);
    this.logger.debug('Loaded __consumer_offsets', { records: count, partitions: this.numPartitions });
    return count;
  }

  /** Visits every record of one partition in log order (a cluster member taking over its groups). */
  async loadPartition(
    p: number,
    visit: (record: OffsetsRecord, timestampMs: number) => void,
  ): Promise<number> {
    const log = this.logs.getLog(OFFSETS_TOPIC, p);
    if (!log) return 0;
    let count = 0;
    await replayInternalPartition(log, OFFSETS_TOPIC, p, this.logger, {
      control: (buf, pos, info) => {
        if (info.isTransactional && this.txnReplay !== null) this.replayMarker(p, buf, pos);
      },
      record: (r, info) => {
        const key = Buffer.from(r.key!);
        const value = r.value === null ? null : Buffer.from(r.value);
        // Transactional commits stay pending until their marker (replayed in log order).
        if (info.isTransactional && this.txnReplay !== null) {
          this.txnReplay.record(p, Number(info.producerId), { key, value });
          return;
        }
        visit({ key, value }, r.timestamp);
        count++;
      },
    });
    return count;
  }
}
