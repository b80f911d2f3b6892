// Broker configuration: Kafka key names in, one typed object out.
//   resolveBrokerConfig(parseServerProperties(text), { onUnknownKey })  → BrokerConfig
//   withDynamicBrokerConfig(config, { 'log.retention.ms': '60000' })    → a new BrokerConfig (AlterConfigs)
//   describeBrokerConfig(config)                                         → DescribeConfigs entries
// The key table lives in broker-config-keys.ts. Synonyms resolve as in Kafka: node.id over broker.id, log.dirs
// over log.dir, log.retention.ms over .minutes over .hours, log.roll.ms over .hours.
import type { LogLevel } from '../logger.js';
import { BROKER_CONFIG_DEFS, RACK_AWARE_SELECTOR } from './broker-config-keys.js';
import {
  ConfigSource,
  describeConfigType,
  parseConfigValue,
  type ConfigDef,
  type ConfigValue,
} from './config-def.js';
import { ConfigError } from './config-error.js';
import {
  advertisedListeners,
  brokerListeners,
  formatListener,
  parseListeners,
  parseProtocolMap,
  type Listener,
} from './listeners.js';

export { BROKER_CONFIG_DEFS } from './broker-config-keys.js';
export type { Listener } from './listeners.js';

export type CleanupPolicy = 'delete' | 'compact';
export type TimestampType = 'CreateTime' | 'LogAppendTime';
export type CompressionTypeName = 'uncompressed' | 'zstd' | 'lz4' | 'snappy' | 'gzip' | 'producer';

/** group.consumer.migration.policy: which online conversions between group types are allowed. */
export type ConsumerGroupMigrationPolicy = 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';

export interface BrokerConfig {
  nodeId: number;
  clusterId: string | null;
  /** Where to bind (controller listeners removed). */
  listeners: Listener[];
  /** What Metadata tells clients. */
  advertisedListeners: Listener[];
  logDirs: string[];
  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopicsEnable: boolean;
  deleteTopicEnable: boolean;
  /** -1 = keep forever. */
  retentionMs: number;
  /** -1 = no size limit. */
  retentionBytes: number;
  segmentBytes: number;
  rollMs: number;
  rollJitterMs: number;
  retentionCheckIntervalMs: number;
  segmentDeleteDelayMs: number;
  flushIntervalMessages: number;
  flushIntervalMs: number;
  flushSchedulerIntervalMs: number;
  flushBeforeAck: boolean;
  indexIntervalBytes: number;
  segmentIndexBytes: number;
  preallocate: boolean;
  cleanupPolicy: CleanupPolicy[];
  cleanerEnable: boolean;
  cleanerDeleteRetentionMs: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
  messageTimestampType: TimestampType;
  messageTimestampBeforeMaxMs: number;
  messageTimestampAfterMaxMs: number;
  messageMaxBytes: number;
  compressionType: CompressionTypeName;
  minInsyncReplicas: number;
  /** replica.* keys: followers' fetching and the leader's ISR bookkeeping (cluster mode). */
  replicaLagTimeMaxMs: number;
  replicaFetchBackoffMs: number;
  replicaFetchMaxBytes: number;
  replicaFetchResponseMaxBytes: number;
  replicaFetchMinBytes: number;
  replicaFetchWaitMaxMs: number;
  replicaSocketTimeoutMs: number;
  replicaHighWatermarkCheckpointIntervalMs: number;
  /** replica.selector.class is RackAwareReplicaSelector (KIP-392). */
  rackAwareReplicaSelector: boolean;
  uncleanLeaderElectionEnable: boolean;
  /** controlled.shutdown.enable, .max.retries, .retry.backoff.ms (cluster mode). */
  controlledShutdownEnable: boolean;
  controlledShutdownMaxRetries: number;
  controlledShutdownRetryBackoffMs: number;
  socketRequestMaxBytes: number;
  connectionsMaxIdleMs: number;
  /** Per-connection bound on requests in flight (queued.max.requests). */
  queuedMaxRequests: number;
  /** max.incremental.fetch.session.cache.slots */
  maxIncrementalFetchSessionCacheSlots: number;
  /** Broker-wide bound on request and Fetch response bytes held (queued.max.request.bytes, resolved: -1 = none). */
  queuedMaxRequestBytes: number;
  /** fetch.max.bytes: broker-side cap of a Fetch response. */
  fetchMaxBytes: number;
  /** log.open.files.max; 0 = derived from the process's open-file limit at startup. */
  logOpenFilesMax: number;
  /** log.cleaner.dedupe.buffer.size. */
  cleanerDedupeBufferBytes: number;
  offsetsTopicNumPartitions: number;
  offsetsTopicReplicationFactor: number;
  offsetsTopicSegmentBytes: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupMaxSize: number;
  groupConsumerHeartbeatIntervalMs: number;
  groupConsumerSessionTimeoutMs: number;
  groupConsumerMaxSize: number;
  groupConsumerAssignors: string[];
  groupConsumerMigrationPolicy: ConsumerGroupMigrationPolicy;
  transactionStateLogNumPartitions: number;
  transactionStateLogReplicationFactor: number;
  transactionStateLogMinIsr: number;
  transactionMaxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  transactionStateLogSegmentBytes: number;
  transactionAbortTimedOutTransactionCleanupIntervalMs: number;
  transactionRemoveExpiredTransactionCleanupIntervalMs: number;
  producerIdExpirationMs: number;
  logLevel: LogLevel;
  /** max.partitions.per.request */
  maxPartitionsPerRequest: number;
  /** metadata.log.max.record.bytes.between.snapshots */
  metadataSnapshotIntervalBytes: number;
  /** metadata.recovery.rebuild.from.logs */
  metadataRebuildFromLogs: boolean;
  /** zookeeper.connect: '' = a single broker (embedded metadata); otherwise a cluster member. */
  zookeeperConnect: string;
  /** zookeeper.session.timeout.ms */
  zookeeperSessionTimeoutMs: number;
  /** zookeeper.connection.timeout.ms (unset: the session timeout) */
  zookeeperConnectionTimeoutMs: number;
  /** broker.rack, or null */
  brokerRack: string | null;
  /** auto.leader.rebalance.enable */
  autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in ms */
  leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage */
  leaderImbalancePerBrokerPercentage: number;
  /** Values set in server.properties (or by the embedding code), by Kafka key. */
  readonly staticValues: Readonly<Record<string, string>>;
  /**
   * Cluster-wide dynamic defaults (AlterConfigs on the broker resource ""), by Kafka key; they win over
   * staticValues. DescribeConfigs reports them as DYNAMIC_DEFAULT_BROKER_CONFIG.
   */
  readonly dynamicValues: Readonly<Record<string, string>>;
  /**
   * This broker's own dynamic values (AlterConfigs on the resource named by its node id); they win over
   * the cluster-wide ones. DescribeConfigs reports them as DYNAMIC_BROKER_CONFIG.
   */
  readonly dynamicBrokerValues: Readonly<Record<string, string>>;
}

export interface ResolveOptions {
  /** Called once per key the table does not know; the CLI warns. Default: ignore. */
  onUnknownKey?: (key: string) => void;
}

const DEFS = new Map<string, ConfigDef>(BROKER_CONFIG_DEFS.map((d) => [d.name, d]));

export function brokerConfigDef(key: string): ConfigDef | undefined {
  return DEFS.get(key);
}

/** Keys AlterConfigs may change at runtime; the broker applies them without a restart. */
export const DYNAMIC_BROKER_CONFIG_KEYS: ReadonlySet<string> = new Set(
  BROKER_CONFIG_DEFS.filter((d) => d.dynamic).map((d) => d.name),
);

export function resolveBrokerConfig(
  raw: Readonly<Record<string, string>>,
  options: ResolveOptions = {},
): BrokerConfig {
  for (const key of Object.keys(raw)) if (!DEFS.has(key)) options.onUnknownKey?.(key);
  return build({ ...raw }, {});
}

/** The default configuration, as `brook broker start` with no properties file would use it. */
export function defaultBrokerConfig(): BrokerConfig {
  return resolveBrokerConfig({});
}

/** Which dynamic values an alteration changes: this broker's own, or the cluster-wide defaults. */
export type DynamicScope = 'broker' | 'cluster-default';

/**
 * Applies AlterConfigs to the broker: a string sets a dynamic key, null removes the dynamic value (back to the
 * cluster default, static or default one). Throws ConfigError for unknown or non-dynamic keys and invalid
 * values; on error the config is unchanged (the result is a new object).
 */
export function withDynamicBrokerConfig(
  config: BrokerConfig,
  updates: Readonly<Record<string, string | null>>,
  scope: DynamicScope = 'cluster-default',
): BrokerConfig {
  const changed: Record<string, string> = {
    ...(scope === 'broker' ? config.dynamicBrokerValues : config.dynamicValues),
  };
  for (const [key, value] of Object.entries(updates)) {
    const def = DEFS.get(key);
    if (def === undefined) throw new ConfigError(`Unknown broker configuration ${key}.`, key);
    if (!def.dynamic) {
      throw new ConfigError(
        `Cannot update configuration ${key} at runtime: it is read-only; set it in server.properties and restart.`,
        key,
      );
    }
    if (value === null) delete changed[key];
    else changed[key] = value;
  }
  return scope === 'broker'
    ? build({ ...config.staticValues }, { ...config.dynamicValues }, changed)
    : build({ ...config.staticValues }, changed, { ...config.dynamicBrokerValues });
}

export interface BrokerConfigEntry {
  name: string;
  /** null when unset or sensitive. */
  value: string | null;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  source: ConfigSource;
  /** DescribeConfigs v3+ ConfigType. */
  configType: number;
  documentation: string;
}

/** One entry per known key, in table order, for DescribeConfigs on the broker resource. */
export function describeBrokerConfig(config: BrokerConfig): BrokerConfigEntry[] {
  return BROKER_CONFIG_DEFS.map((def) => {
    const perBroker = config.dynamicBrokerValues[def.name];
    const dynamic = config.dynamicValues[def.name];
    const stat = config.staticValues[def.name];
    const value = perBroker ?? dynamic ?? stat ?? def.default;
    const source =
      perBroker !== undefined
        ? ConfigSource.DYNAMIC_BROKER_CONFIG
        : dynamic !== undefined
          ? ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
          : stat !== undefined
            ? ConfigSource.STATIC_BROKER_CONFIG
            : ConfigSource.DEFAULT_CONFIG;
    const sensitive = def.sensitive === true || def.type === 'password';
    return {
      name: def.name,
      value: sensitive ? null : value,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      readOnly: def.dynamic !== true,
      sensitive,
      source,
      configType: describeConfigType(def.type),
      documentation: def.doc,
    };
  });
}

/** Typed values of every key, explicit values over defaults; null for an unset key without default. */
class Values {
  private readonly parsed = new Map<string, ConfigValue | null>();

  constructor(private readonly merged: Readonly<Record<string, string>>) {
    for (const [key, text] of Object.entries(merged)) {
      const def = DEFS.get(key);
      if (def) this.parsed.set(key, parseConfigValue(def, text));
    }
    for (const def of BROKER_CONFIG_DEFS) {
      if (!this.parsed.has(def.name)) {
        this.parsed.set(def.name, def.default === null ? null : parseConfigValue(def, def.default));
      }
    }
  }

  isSet(key: string): boolean {
    return this.merged[key] !== undefined;
  }

  raw(key: string): string | undefined {
    return this.merged[key];
  }

  opt<T extends ConfigValue>(key: string): T | null {
    if (!DEFS.has(key)) throw new Error(`BUG: broker config key ${key} is not in the table`);
    return this.parsed.get(key) as T | null;
  }

  get<T extends ConfigValue>(key: string): T {
    const value = this.opt<T>(key);
    if (value === null) throw new Error(`BUG: broker config key ${key} has no default`);
    return value;
  }
}

function build(
  staticValues: Record<string, string>,
  dynamicValues: Record<string, string>,
  dynamicBrokerValues: Record<string, string> = {},
): BrokerConfig {
  const v = new Values({ ...staticValues, ...dynamicValues, ...dynamicBrokerValues });
  const n = (key: string): number => v.get<number>(key);
  const b = (key: string): boolean => v.get<boolean>(key);
  /** The first set key of a synonym chain, scaled to ms; else the last key's default. */
  const ms = (chain: readonly [string, number][]): number => {
    for (const [key, scale] of chain) {
      if (v.isSet(key)) return scaled(n(key), scale);
    }
    const [lastKey, lastScale] = chain[chain.length - 1]!;
    return scaled(n(lastKey), lastScale);
  };

  const nodeId = resolveNodeId(v);
  const protocolMap = parseProtocolMap(
    'listener.security.protocol.map',
    v.get<string>('listener.security.protocol.map'),
  );
  const controllerNames = v.get<string[]>('controller.listener.names');
  const listeners = brokerListeners(
    'listeners',
    parseListeners('listeners', v.get<string>('listeners')),
    protocolMap,
    controllerNames,
  );
  if (listeners.length === 0) {
    throw new ConfigError(
      `Invalid value ${JSON.stringify(v.get<string>('listeners'))} for configuration listeners: at least one PLAINTEXT listener is required.`,
      'listeners',
    );
  }
  const advertisedText = v.opt<string>('advertised.listeners');
  const advertised = advertisedListeners(
    'advertised.listeners',
    advertisedText === null || advertisedText === ''
      ? null
      : brokerListeners(
          'advertised.listeners',
          parseListeners('advertised.listeners', advertisedText),
          protocolMap,
          controllerNames,
        ),
    listeners,
  );
  const logDirs = v.opt<string[]>('log.dirs') ?? [v.get<string>('log.dir')];
  if (logDirs.length === 0 || logDirs.some((d) => d === '')) {
    throw new ConfigError(
      'Invalid value "" for configuration log.dirs: at least one directory is required.',
      'log.dirs',
    );
  }
  const zookeeperConnect = v.get<string>('zookeeper.connect').trim();
  if (zookeeperConnect !== '' && !/^[^/,\s]+(,[^/,\s]+)*(\/[^\s]*)?$/.test(zookeeperConnect)) {
    throw new ConfigError(
      `Invalid value ${JSON.stringify(zookeeperConnect)} for configuration zookeeper.connect: expected host:port[,host:port...][/chroot].`,
      'zookeeper.connect',
      zookeeperConnect,
    );
  }
  const zookeeperSessionTimeoutMs = n('zookeeper.session.timeout.ms');
  const rack = v.opt<string>('broker.rack');
  const groupMin = n('group.min.session.timeout.ms');
  const groupMax = n('group.max.session.timeout.ms');
  if (groupMin > groupMax) {
    throw new ConfigError(
      `Invalid value ${groupMin} for configuration group.min.session.timeout.ms: it must not exceed group.max.session.timeout.ms (${groupMax}).`,
      'group.min.session.timeout.ms',
    );
  }
  /** Kafka's check that a group.consumer.* value lies within its min and max keys. */
  const within = (key: string, minKey: string, maxKey: string): number => {
    const value = n(key);
    const min = n(minKey);
    const max = n(maxKey);
    if (value < min || value > max) {
      throw new ConfigError(
        `Invalid value ${value} for configuration ${key}: it must be between ${minKey} (${min}) and ${maxKey} (${max}).`,
        key,
      );
    }
    return value;
  };
  const consumerHeartbeatMs = within(
    'group.consumer.heartbeat.interval.ms',
    'group.consumer.min.heartbeat.interval.ms',
    'group.consumer.max.heartbeat.interval.ms',
  );
  const consumerSessionMs = within(
    'group.consumer.session.timeout.ms',
    'group.consumer.min.session.timeout.ms',
    'group.consumer.max.session.timeout.ms',
  );
  if (consumerHeartbeatMs >= consumerSessionMs) {
    throw new ConfigError(
      `Invalid value ${consumerHeartbeatMs} for configuration group.consumer.heartbeat.interval.ms: it must be less than group.consumer.session.timeout.ms (${consumerSessionMs}).`,
      'group.consumer.heartbeat.interval.ms',
    );
  }
  const consumerAssignors = v.get<string[]>('group.consumer.assignors');
  if (consumerAssignors.length === 0) {
    throw new ConfigError(
      'Invalid value for configuration group.consumer.assignors: at least one assignor is needed.',
      'group.consumer.assignors',
    );
  }
  const clusterId = v.opt<string>('cluster.id');

  return {
    nodeId,
    clusterId: clusterId === '' ? null : clusterId,
    listeners,
    advertisedListeners: advertised,
    logDirs,
    numPartitions: n('num.partitions'),
    defaultReplicationFactor: n('default.replication.factor'),
    autoCreateTopicsEnable: b('auto.create.topics.enable'),
    deleteTopicEnable: b('delete.topic.enable'),
    retentionMs: retentionMs(v),
    retentionBytes: n('log.retention.bytes'),
    segmentBytes: n('log.segment.bytes'),
    rollMs: ms([
      ['log.roll.ms', 1],
      ['log.roll.hours', 3_600_000],
    ]),
    rollJitterMs: ms([
      ['log.roll.jitter.ms', 1],
      ['log.roll.jitter.hours', 3_600_000],
    ]),
    retentionCheckIntervalMs: n('log.retention.check.interval.ms'),
    segmentDeleteDelayMs: n('log.segment.delete.delay.ms'),
    flushIntervalMessages: n('log.flush.interval.messages'),
    flushIntervalMs: ms([
      ['log.flush.interval.ms', 1],
      ['log.flush.scheduler.interval.ms', 1],
    ]),
    flushSchedulerIntervalMs: n('log.flush.scheduler.interval.ms'),
    flushBeforeAck: b('log.flush.before.ack'),
    indexIntervalBytes: n('log.index.interval.bytes'),
    segmentIndexBytes: n('log.index.size.max.bytes'),
    preallocate: b('log.preallocate'),
    cleanupPolicy: v.get<CleanupPolicy[]>('log.cleanup.policy'),
    cleanerEnable: b('log.cleaner.enable'),
    cleanerDeleteRetentionMs: n('log.cleaner.delete.retention.ms'),
    minCompactionLagMs: n('log.cleaner.min.compaction.lag.ms'),
    maxCompactionLagMs: n('log.cleaner.max.compaction.lag.ms'),
    minCleanableDirtyRatio: n('log.cleaner.min.cleanable.ratio'),
    messageTimestampType: v.get<TimestampType>('log.message.timestamp.type'),
    messageTimestampBeforeMaxMs: timestampLimit(v, 'log.message.timestamp.before.max.ms'),
    messageTimestampAfterMaxMs: timestampLimit(v, 'log.message.timestamp.after.max.ms'),
    messageMaxBytes: n('message.max.bytes'),
    compressionType: v.get<CompressionTypeName>('compression.type'),
    minInsyncReplicas: n('min.insync.replicas'),
    replicaLagTimeMaxMs: n('replica.lag.time.max.ms'),
    replicaFetchBackoffMs: n('replica.fetch.backoff.ms'),
    replicaFetchMaxBytes: n('replica.fetch.max.bytes'),
    replicaFetchResponseMaxBytes: n('replica.fetch.response.max.bytes'),
    replicaFetchMinBytes: n('replica.fetch.min.bytes'),
    replicaFetchWaitMaxMs: n('replica.fetch.wait.max.ms'),
    replicaSocketTimeoutMs: n('replica.socket.timeout.ms'),
    replicaHighWatermarkCheckpointIntervalMs: n('replica.high.watermark.checkpoint.interval.ms'),
    rackAwareReplicaSelector: v.opt<string>('replica.selector.class') === RACK_AWARE_SELECTOR,
    uncleanLeaderElectionEnable: b('unclean.leader.election.enable'),
    controlledShutdownEnable: b('controlled.shutdown.enable'),
    controlledShutdownMaxRetries: n('controlled.shutdown.max.retries'),
    controlledShutdownRetryBackoffMs: n('controlled.shutdown.retry.backoff.ms'),
    socketRequestMaxBytes: n('socket.request.max.bytes'),
    connectionsMaxIdleMs: n('connections.max.idle.ms'),
    queuedMaxRequests: n('queued.max.requests'),
    maxIncrementalFetchSessionCacheSlots: n('max.incremental.fetch.session.cache.slots'),
    queuedMaxRequestBytes:
      n('queued.max.request.bytes') === 0
        ? 2 * n('socket.request.max.bytes')
        : n('queued.max.request.bytes') < 0
          ? -1
          : n('queued.max.request.bytes'),
    fetchMaxBytes: n('fetch.max.bytes'),
    logOpenFilesMax: n('log.open.files.max'),
    cleanerDedupeBufferBytes: n('log.cleaner.dedupe.buffer.size'),
    offsetsTopicNumPartitions: n('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: n('offsets.topic.replication.factor'),
    offsetsTopicSegmentBytes: n('offsets.topic.segment.bytes'),
    offsetsRetentionMs: scaled(n('offsets.retention.minutes'), 60_000),
    offsetsRetentionCheckIntervalMs: n('offsets.retention.check.interval.ms'),
    groupInitialRebalanceDelayMs: n('group.initial.rebalance.delay.ms'),
    groupMinSessionTimeoutMs: groupMin,
    groupMaxSessionTimeoutMs: groupMax,
    groupMaxSize: n('group.max.size'),
    groupConsumerHeartbeatIntervalMs: consumerHeartbeatMs,
    groupConsumerSessionTimeoutMs: consumerSessionMs,
    groupConsumerMaxSize: n('group.consumer.max.size'),
    groupConsumerAssignors: consumerAssignors,
    groupConsumerMigrationPolicy: v.get<ConsumerGroupMigrationPolicy>('group.consumer.migration.policy'),
    transactionStateLogNumPartitions: n('transaction.state.log.num.partitions'),
    transactionStateLogReplicationFactor: n('transaction.state.log.replication.factor'),
    transactionStateLogMinIsr: n('transaction.state.log.min.isr'),
    transactionMaxTimeoutMs: n('transaction.max.timeout.ms'),
    transactionalIdExpirationMs: n('transactional.id.expiration.ms'),
    transactionStateLogSegmentBytes: n('transaction.state.log.segment.bytes'),
    transactionAbortTimedOutTransactionCleanupIntervalMs: n(
      'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    ),
    transactionRemoveExpiredTransactionCleanupIntervalMs: n(
      'transaction.remove.expired.transaction.cleanup.interval.ms',
    ),
    producerIdExpirationMs: n('producer.id.expiration.ms'),
    logLevel: v.get<LogLevel>('log.level'),
    maxPartitionsPerRequest: n('max.partitions.per.request'),
    metadataSnapshotIntervalBytes: n('metadata.log.max.record.bytes.between.snapshots'),
    metadataRebuildFromLogs: b('metadata.recovery.rebuild.from.logs'),
    zookeeperConnect,
    zookeeperSessionTimeoutMs,
    zookeeperConnectionTimeoutMs:
      v.opt<number>('zookeeper.connection.timeout.ms') ?? zookeeperSessionTimeoutMs,
    brokerRack: rack === null || rack === '' ? null : rack,
    autoLeaderRebalanceEnable: b('auto.leader.rebalance.enable'),
    leaderImbalanceCheckIntervalMs: scaled(n('leader.imbalance.check.interval.seconds'), 1000),
    leaderImbalancePerBrokerPercentage: n('leader.imbalance.per.broker.percentage'),
    staticValues,
    dynamicValues,
    dynamicBrokerValues,
  };
}

function resolveNodeId(v: Values): number {
  const nodeId = v.get<number>('node.id');
  const brokerId = v.get<number>('broker.id');
  if (v.isSet('node.id') && v.isSet('broker.id') && nodeId !== brokerId) {
    throw new ConfigError(
      `Invalid value ${JSON.stringify(v.raw('broker.id'))} for configuration broker.id: it must equal node.id (${nodeId}) when both are set.`,
      'broker.id',
    );
  }
  return v.isSet('node.id') ? nodeId : brokerId;
}

/** log.retention.ms over .minutes over .hours; a negative value in any of them means "keep forever" (-1). */
function retentionMs(v: Values): number {
  let value: number;
  if (v.isSet('log.retention.ms')) value = v.get<number>('log.retention.ms');
  else if (v.isSet('log.retention.minutes')) value = scaled(v.get<number>('log.retention.minutes'), 60_000);
  else value = scaled(v.get<number>('log.retention.hours'), 3_600_000);
  return value < 0 ? -1 : value;
}

/**
 * KIP-937: log.message.timestamp.before/after.max.ms left at their default (Long.MAX_VALUE, "no limit")
 * fall back to the deprecated log.message.timestamp.difference.max.ms, as Kafka 3.6+ does.
 */
function timestampLimit(v: Values, key: string): number {
  const limit = v.get<number>(key);
  return limit !== Number.MAX_SAFE_INTEGER ? limit : v.get<number>('log.message.timestamp.difference.max.ms');
}

function scaled(value: number, factor: number): number {
  return Math.max(Math.min(value * factor, Number.MAX_SAFE_INTEGER), Number.MIN_SAFE_INTEGER);
}

/**
 * Settings that parse but that the broker cannot honour yet are refused at startup, never silently
 * ignored: a second log directory would hold no data, a second listener would not be bound.
 */
export function refuseUnsupported(config: BrokerConfig): void {
  if (config.logDirs.length > 1) {
    throw new ConfigError(
      `Invalid value ${JSON.stringify(config.logDirs.join(','))} for configuration log.dirs: Brook supports one log directory so far, so list exactly one.`,
      'log.dirs',
    );
  }
  if (config.listeners.length > 1) {
    throw new ConfigError(
      `Invalid value ${JSON.stringify(config.listeners.map(formatListener).join(','))} for configuration listeners: Brook serves one listener so far (controller listeners aside), so list exactly one.`,
      'listeners',
    );
  }
}
