// Creates, alters and deletes topics: the metadata store says what exists, the LogManager holds
// the partitions' logs. Concurrent creations of one topic (several clients auto-creating it at
// once) share one operation.
import type { MetadataStore, TopicMetadata } from '../cluster/metadata-store.js';
import { newTopicId } from '../cluster/metadata-store.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LogManager } from '../storage/log-manager.js';
import type { LogConfig } from '../storage/log-config.js';
import { topicLogConfig, validateTopicConfigs } from '../config/topic-config.js';
import type { BrokerSettings } from './services.js';

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
}

export class TopicManager {
  private readonly creating = new Map<string, Promise<TopicMetadata>>();
  /**
   * Topic changes run one at a time: each reads a topic, waits on disk, then writes it back, so two
   * concurrent changes (or a delete racing a partition increase) would otherwise lose one of them.
   * They are rare admin operations; produce and fetch never wait here.
   */
  private changes: Promise<unknown> = Promise.resolve();

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.changes.then(change);
    this.changes = result.catch(() => undefined);
    return result;
  }

  constructor(
    private readonly metadata: MetadataStore,
    private readonly logs: LogManager,
    private readonly settings: BrokerSettings,
    private readonly logger: Logger,
  ) {}

  /** Opens a log for every partition the metadata knows, and drops logs of topics that are gone. */
  async reconcile(): Promise<void> {
    const known = new Set<string>();
    const work: Promise<unknown>[] = [];
    for (const topic of this.metadata.topics()) {
      const config = this.logConfigFor(topic);
      for (let p = 0; p < topic.partitions; p++) {
        known.add(`${topic.name}-${p}`);
        if (!this.logs.getLog(topic.name, p)) work.push(this.logs.createLog(topic.name, p, config));
        else this.logs.getLog(topic.name, p)!.updateConfig?.(config);
      }
    }
    for (const log of this.logs.allLogs()) {
      if (!known.has(`${log.topic}-${log.partition}`)) {
        this.logger.warn('Deleting the log of a topic that no longer exists', {
          topic: log.topic,
          partition: log.partition,
        });
        work.push(this.logs.deleteLog(log.topic, log.partition));
      }
    }
    await Promise.all(work);
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
    if (!Number.isInteger(opts.numPartitions) || opts.numPartitions < 1) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
    }
    if (opts.numPartitions > 100_000) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be at most 100000.');
    }
    if (opts.replicationFactor < 1) {
      throw new TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
    }
    if (opts.replicationFactor > 1) {
      throw new TopicError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Replication factor: ${opts.replicationFactor} larger than available brokers: 1.`,
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
    const work = this.serially(async () => {
      if (this.metadata.getTopic(topic.name)) {
        throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
      }
      const config = this.logConfigFor(topic);
      await Promise.all(
        Array.from({ length: topic.partitions }, (_, p) => this.logs.createLog(topic.name, p, config)),
      );
      await this.metadata.putTopic(topic);
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
      replicationFactor: 1,
      configs: {},
    });
  }

  delete(name: string): Promise<void> {
    return this.serially(() => this.deleteNow(name));
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
    // Forget it first so no new produce or fetch finds it, then remove the files.
    await this.metadata.deleteTopic(name);
    await Promise.all(Array.from({ length: topic.partitions }, (_, p) => this.logs.deleteLog(topic.name, p)));
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
  ): Promise<void> {
    return this.serially(() => this.createPartitionsNow(name, count, validateOnly, check));
  }

  private async createPartitionsNow(
    name: string,
    count: number,
    validateOnly: boolean,
    check?: (topic: TopicMetadata) => void,
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
    const config = this.logConfigFor(topic);
    const added = [];
    for (let p = topic.partitions; p < count; p++) added.push(this.logs.createLog(name, p, config));
    await Promise.all(added);
    await this.metadata.putTopic({ ...topic, partitions: count });
  }

  /** Replaces a topic's config overrides (AlterConfigs) and applies them to its open logs. */
  setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    return this.serially(() => this.setConfigsNow(name, configs));
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
