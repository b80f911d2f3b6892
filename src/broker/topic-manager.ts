// Creates, alters and deletes topics: the metadata store says what exists, the LogManager holds
// the partitions' logs. Concurrent creations of one topic (several clients auto-creating it at
// once) share one operation.
//
// Crash safety, as in Kafka: a topic is created logs first (each partition directory with its
// partition.metadata, the data directory fsynced), metadata last, so a topic the metadata knows
// always has its logs; a creation that fails midway removes what it made. A topic is deleted
// metadata first (recorded as a pending deletion), then each partition directory is renamed to
// `*-delete` and removed in the background; a start after a crash finishes pending deletions. A
// directory the metadata does not know is never deleted: it is renamed aside (`*-stray`) and kept.
//
// In cluster mode (a ClusterView is given) topics live in ZooKeeper: any broker creates, grows and
// deletes them there, and each broker creates or removes its own partition logs when the partition
// states name it (LocalReplicaLogs, later ReplicaManager), so this class touches no log then.
import type { ClusterView } from '../cluster/cluster-view.js';
import type { MetadataStore, TopicMetadata } from '../cluster/metadata-store.js';
import { AssignmentError } from '../cluster/zookeeper/replica-assignment.js';
import { newTopicId, TopicExistsError } from '../cluster/metadata-store.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LogManager } from '../storage/log-manager.js';
import type { LogConfig } from '../storage/log-config.js';
import { topicLogConfig, validateTopicConfigs } from '../config/topic-config.js';
import { writePartitionMetadata } from '../storage/partition-metadata-file.js';
import { fsyncDir } from '../storage/fsync-dir.js';
import { crashPoint } from './crash-points.js';
import type { BrokerSettings } from './services.js';

/**
 * Partition logs created at once across all creations: each holds file descriptors while it opens,
 * so a request for thousands of partitions must not open them all together.
 */
const CREATE_CONCURRENCY = 64;

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
/** Internal topics are created by the broker itself and hidden from "all topics" listings by no one. */
export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

export class TopicError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Kafka's topic name rules; returns why a name is invalid, or null. */
export function invalidTopicNameReason(name: string): string | null {
  if (name.length === 0) return 'Topic name is empty.';
  if (name === '.' || name === '..') return `Topic name cannot be "${name}".`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters.`;
  }
  if (!LEGAL_TOPIC_NAME.test(name)) {
    return `Topic name "${name}" is illegal: it may contain only ASCII alphanumerics, '.', '_' and '-'.`;
  }
  return null;
}

export interface CreateTopicOptions {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
  validateOnly?: boolean;
  /** Cluster mode: explicit replicas per partition (CreateTopics replica assignments), checked by the caller. */
  assignment?: readonly (readonly number[])[];
}

/** Runs at most `limit` tasks at once, in arrival order. */
class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export class TopicManager {
  private readonly creating = new Map<string, Promise<TopicMetadata>>();
  /**
   * Changes of one topic run one at a time: each reads the topic, waits on disk, then writes it
   * back, so two concurrent changes (or a delete racing a partition increase) would otherwise lose
   * one of them. Changes of different topics run concurrently and share the metadata log's fsyncs.
   */
  private readonly changes = new Map<string, Promise<unknown>>();
  private readonly partitionCreations = new ConcurrencyLimit(CREATE_CONCURRENCY);

  private serially<T>(name: string, change: () => Promise<T>): Promise<T> {
    const result = (this.changes.get(name) ?? Promise.resolve()).then(change);
    const tail = result.catch(() => undefined);
    this.changes.set(name, tail);
    void tail.then(() => {
      if (this.changes.get(name) === tail) this.changes.delete(name);
    });
    return result;
  }

  constructor(
    private readonly metadata: MetadataStore,
    private readonly logs: LogManager,
    private readonly settings: BrokerSettings,
    private readonly logger: Logger,
    /** Set in cluster mode (zookeeper.connect): topics are the cluster's, logs are created per state. */
    private readonly cluster: ClusterView | null = null,
  ) {}

  /**
   * At startup: finishes deletions a crash interrupted, opens a log for every partition the
   * metadata knows, and moves aside (never deletes) the logs of topics it does not know.
   */
  async reconcile(): Promise<void> {
    if (this.cluster) return; // the cluster's states say which logs this broker holds
    for (const d of [...this.metadata.pendingTopicDeletions()]) {
      await Promise.all(Array.from({ length: d.partitions }, (_, p) => this.logs.deleteLog(d.name, p)));
      await this.metadata.completeTopicDeletion(d.topicId);
      this.logger.info('Finished deleting topic', { topic: d.name });
    }
    const known = new Set<string>();
    const work: Promise<unknown>[] = [];
    for (const topic of this.metadata.topics()) {
      const config = this.logConfigFor(topic);
      for (let p = 0; p < topic.partitions; p++) {
        known.add(`${topic.name}-${p}`);
        const log = this.logs.getLog(topic.name, p);
        if (log) {
          log.updateConfig?.(config);
          continue;
        }
        this.logger.warn('Partition directory missing: the partition starts empty', {
          topic: topic.name,
          partition: p,
        });
        work.push(this.partitionCreations.run(() => this.createPartitionLog(topic, p, config)));
      }
    }
    for (const log of this.logs.allLogs()) {
      if (known.has(`${log.topic}-${log.partition}`)) continue;
      // Its topic was never acknowledged as created (a crash mid-create) or the metadata is older
      // than the directories: the data is kept, under a name no new topic can collide with.
      work.push(
        this.logs.detachLog(log.topic, log.partition).then((kept) => {
          this.logger.warn('Kept the log of a topic the metadata does not know, renamed aside', {
            topic: log.topic,
            partition: log.partition,
            keptAs: kept,
          });
        }),
      );
    }
    await Promise.all(work);
    if (work.length > 0) await this.logs.syncDataDir();
  }

  get(name: string): TopicMetadata | undefined {
    return this.metadata.getTopic(name);
  }

  getById(topicId: string): TopicMetadata | undefined {
    return this.metadata.getTopicById(topicId);
  }

  all(): IterableIterator<TopicMetadata> {
    return this.metadata.topics();
  }

  /** Broker defaults overlaid with the topic's own overrides. */
  logConfigFor(topic: TopicMetadata): LogConfig {
    return topicLogConfig(this.logs.defaults, topic.configs);
  }

  /** Validates a create request; throws TopicError with Kafka's error code. */
  validateCreate(opts: CreateTopicOptions): void {
    const reason = invalidTopicNameReason(opts.name);
    if (reason) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason);
    if (this.metadata.getTopic(opts.name) || this.creating.has(opts.name)) {
      throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${opts.name}' already exists.`);
    }
    this.checkNotBeingDeleted(opts.name);
    if (!Number.isInteger(opts.numPartitions) || opts.numPartitions < 1) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
    }
    if (opts.numPartitions > 100_000) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be at most 100000.');
    }
    if (opts.replicationFactor < 1) {
      throw new TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
    }
    const brokers = this.cluster ? this.cluster.liveBrokers().length : 1;
    if (opts.replicationFactor > brokers) {
      throw new TopicError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Replication factor: ${opts.replicationFactor} larger than available brokers: ${brokers}.`,
      );
    }
    try {
      validateTopicConfigs(opts.configs);
    } catch (err) {
      throw new TopicError(ErrorCode.INVALID_CONFIG, (err as Error).message);
    }
  }

  async create(opts: CreateTopicOptions): Promise<TopicMetadata> {
    this.validateCreate(opts);
    const topic: TopicMetadata = {
      name: opts.name,
      topicId: newTopicId(),
      partitions: opts.numPartitions,
      replicationFactor: opts.replicationFactor,
      configs: { ...opts.configs },
    };
    if (opts.validateOnly) return topic;
    const work = this.serially(topic.name, async () => {
      if (this.metadata.getTopic(topic.name)) {
        throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
      }
      this.checkNotBeingDeleted(topic.name);
      if (this.cluster) {
        await this.putClusterTopic(topic, opts.assignment);
        this.logger.info('Created topic', { topic: topic.name, partitions: topic.partitions });
        return topic;
      }
      await this.createPartitionLogs(topic, 0, topic.partitions);
      await this.metadata.putTopic(topic).catch(async (err: unknown) => {
        await this.removePartitionLogs(topic.name, 0, topic.partitions);
        throw err;
      });
      this.logger.info('Created topic', { topic: topic.name, partitions: topic.partitions });
      return topic;
    });
    this.creating.set(opts.name, work);
    try {
      return await work;
    } finally {
      this.creating.delete(opts.name);
    }
  }

  /** Metadata's auto-creation: the topic, created with broker defaults if it does not exist. */
  async getOrCreate(name: string): Promise<TopicMetadata> {
    const existing = this.metadata.getTopic(name);
    if (existing) return existing;
    const pending = this.creating.get(name);
    if (pending) return pending;
    return this.create({
      name,
      numPartitions: this.settings.numPartitions,
      replicationFactor: this.cluster
        ? Math.min(this.settings.defaultReplicationFactor, Math.max(1, this.cluster.liveBrokers().length))
        : 1,
      configs: {},
    });
  }

  delete(name: string): Promise<void> {
    return this.serially(name, () => this.deleteNow(name));
  }

  /** Cluster mode: writes the topic to ZooKeeper (another broker may have won the race). */
  private async putClusterTopic(
    topic: TopicMetadata,
    assignment?: readonly (readonly number[])[],
  ): Promise<void> {
    try {
      await this.metadata.putTopic(topic, assignment);
    } catch (err) {
      if (err instanceof TopicExistsError) {
        throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, err.message);
      }
      if (err instanceof AssignmentError)
        throw new TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, err.message);
      throw err;
    }
  }

  /** Kafka refuses to recreate a topic until its deletion is complete. */
  private checkNotBeingDeleted(name: string): void {
    for (const d of this.metadata.pendingTopicDeletions()) {
      if (d.name === name) {
        throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' is marked for deletion.`);
      }
    }
  }

  /**
   * Creates the logs of partitions [from, to) with their partition.metadata, then fsyncs the data
   * directory so the new directories are durable before the metadata names them. On failure
   * (EMFILE, ENOSPC, ...) removes every directory it made and rethrows: nothing is left behind.
   */
  private async createPartitionLogs(topic: TopicMetadata, from: number, to: number): Promise<void> {
    const config = this.logConfigFor(topic);
    const results = await Promise.allSettled(
      Array.from({ length: to - from }, (_, i) =>
        this.partitionCreations.run(() => this.createPartitionLog(topic, from + i, config)),
      ),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      if (failure) throw failure.reason;
      await this.logs.syncDataDir();
      crashPoint('topic-create:before-metadata');
    } catch (err) {
      this.logger.warn('Creating partitions failed; removing the ones created', {
        topic: topic.name,
        partitions: to - from,
        error: String(err),
      });
      await this.removePartitionLogs(topic.name, from, to);
      throw err;
    }
  }

  private async createPartitionLog(
    topic: TopicMetadata,
    partition: number,
    config: LogConfig,
  ): Promise<void> {
    const log = await this.logs.createLog(topic.name, partition, config);
    await writePartitionMetadata(log.dir, topic.topicId);
    // One fsync of the new directory makes both of its entries durable: partition.metadata and the
    // first (empty) segment, which the log does not fsync at creation.
    await fsyncDir(log.dir);
  }

  private async removePartitionLogs(name: string, from: number, to: number): Promise<void> {
    const results = await Promise.allSettled(
      Array.from({ length: to - from }, (_, i) => this.logs.deleteLog(name, from + i)),
    );
    for (const r of results) {
      if (r.status === 'rejected') {
        this.logger.error('Could not remove a partition of a failed creation', {
          topic: name,
          error: String(r.reason),
        });
      }
    }
  }

  private async deleteNow(name: string): Promise<void> {
    const topic = this.metadata.getTopic(name);
    if (!topic) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unknown topic '${name}'.`);
    if (!this.settings.deleteTopicEnable) {
      throw new TopicError(
        ErrorCode.TOPIC_DELETION_DISABLED,
        'Topic deletion is disabled (delete.topic.enable).',
      );
    }
    if (this.cluster) {
      // Marked in /admin/delete_topics; the controller removes its znodes, and every broker then
      // removes its logs of it.
      await this.metadata.deleteTopic(name);
      this.logger.info('Marked topic for deletion', { topic: name });
      return;
    }
    // Forget it first (durably, as a pending deletion) so no new produce or fetch finds it, then
    // rename the directories away; each step survives a crash (reconcile finishes the rest).
    await this.metadata.deleteTopic(name);
    crashPoint('topic-delete:after-metadata');
    await this.logs.deleteLog(topic.name, 0);
    crashPoint('topic-delete:after-first-rename');
    await Promise.all(
      Array.from({ length: topic.partitions - 1 }, (_, i) => this.logs.deleteLog(topic.name, i + 1)),
    );
    crashPoint('topic-delete:before-complete');
    await this.metadata.completeTopicDeletion(topic.topicId);
    this.logger.info('Deleted topic', { topic: name });
  }

  /**
   * Raises a topic's partition count. `check` (e.g. a manual replica assignment) runs against the
   * topic as it is inside this serialized change, so it never validates a stale partition count.
   */
  createPartitions(
    name: string,
    count: number,
    validateOnly: boolean,
    check?: (topic: TopicMetadata) => void,
    assignment?: readonly (readonly number[])[],
  ): Promise<void> {
    return this.serially(name, () => this.createPartitionsNow(name, count, validateOnly, check, assignment));
  }

  private async createPartitionsNow(
    name: string,
    count: number,
    validateOnly: boolean,
    check?: (topic: TopicMetadata) => void,
    assignment?: readonly (readonly number[])[],
  ): Promise<void> {
    const topic = this.metadata.getTopic(name);
    if (!topic) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unknown topic '${name}'.`);
    if (count <= topic.partitions) {
      throw new TopicError(
        ErrorCode.INVALID_PARTITIONS,
        `Topic currently has ${topic.partitions} partitions, ${count} would not be an increase.`,
      );
    }
    check?.(topic);
    if (count > 100_000) throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'At most 100000 partitions.');
    if (validateOnly) return;
    if (this.cluster) {
      await this.putClusterTopic({ ...topic, partitions: count }, assignment);
      return;
    }
    await this.createPartitionLogs(topic, topic.partitions, count);
    await this.metadata.putTopic({ ...topic, partitions: count }).catch(async (err: unknown) => {
      await this.removePartitionLogs(name, topic.partitions, count);
      throw err;
    });
  }

  /** Replaces a topic's config overrides (AlterConfigs) and applies them to its open logs. */
  setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    return this.serially(name, () => this.setConfigsNow(name, configs));
  }

  private async setConfigsNow(name: string, configs: Record<string, string>): Promise<void> {
    const topic = this.metadata.getTopic(name);
    if (!topic) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unknown topic '${name}'.`);
    const updated = { ...topic, configs: { ...configs } };
    const config = this.logConfigFor(updated);
    await this.metadata.putTopic(updated);
    for (let p = 0; p < topic.partitions; p++) this.logs.getLog(name, p)?.updateConfig?.(config);
  }
}
