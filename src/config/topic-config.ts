// Topic-level configuration: the keys CreateTopics / AlterConfigs accept per topic, each backed by a
// broker-level default (retention.ms ← log.retention.ms/minutes/hours, segment.bytes ← log.segment.bytes, ...).
//   validateTopicConfig(key, value)          throws ConfigError; the broker answers INVALID_CONFIG
//   resolveTopicConfig(broker, overrides)    the typed settings a partition log runs with
//   describeTopicConfig(broker, overrides)   DescribeConfigs entries with source and synonyms
import type { BrokerConfig, CleanupPolicy, CompressionTypeName, TimestampType } from './broker-config.js';
import {
  ConfigSource,
  describeConfigType,
  formatConfigValue,
  LONG_MAX_TEXT,
  parseConfigValue,
  type ConfigDef,
  type ConfigValue,
} from './config-def.js';
import { ConfigError } from './config-error.js';

interface TopicConfigDef extends ConfigDef {
  /** Broker keys that supply the default, most specific first (Kafka's synonyms). */
  readonly brokerKeys: readonly string[];
  /** The broker-level default, already resolved through the synonym chain. */
  readonly fromBroker: (b: BrokerConfig) => ConfigValue;
}

const COMPRESSION = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];

function def(
  name: string,
  type: ConfigDef['type'],
  brokerKeys: readonly string[],
  fromBroker: (b: BrokerConfig) => ConfigValue,
  doc: string,
  extra: Partial<ConfigDef> = {},
): TopicConfigDef {
  return { name, type, default: null, doc, brokerKeys, fromBroker, ...extra };
}

export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  def('cleanup.policy', 'list', ['log.cleanup.policy'], (b) => b.cleanupPolicy, 'delete, compact, or both.', {
    values: ['compact', 'delete'],
  }),
  def(
    'compression.type',
    'enum',
    ['compression.type'],
    (b) => b.compressionType,
    'Compression of stored batches.',
    {
      values: COMPRESSION,
    },
  ),
  def(
    'delete.retention.ms',
    'long',
    ['log.cleaner.delete.retention.ms'],
    (b) => b.cleanerDeleteRetentionMs,
    'Keep tombstones this long after compaction.',
    { min: 0 },
  ),
  def(
    'file.delete.delay.ms',
    'long',
    ['log.segment.delete.delay.ms'],
    (b) => b.segmentDeleteDelayMs,
    'Wait this long before removing a deleted segment file.',
    { min: 0 },
  ),
  def(
    'flush.messages',
    'long',
    ['log.flush.interval.messages'],
    (b) => b.flushIntervalMessages,
    'fsync after this many records.',
    { min: 1 },
  ),
  def(
    'flush.ms',
    'long',
    ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
    (b) => b.flushIntervalMs,
    'fsync when the oldest unflushed record is this old.',
    { min: 0 },
  ),
  def(
    'index.interval.bytes',
    'int',
    ['log.index.interval.bytes'],
    (b) => b.indexIntervalBytes,
    'Bytes of log between offset index entries.',
    { min: 0 },
  ),
  def(
    'max.compaction.lag.ms',
    'long',
    ['log.cleaner.max.compaction.lag.ms'],
    (b) => b.maxCompactionLagMs,
    'Longest a record may stay uncompacted.',
    { min: 1 },
  ),
  def(
    'max.message.bytes',
    'int',
    ['message.max.bytes'],
    (b) => b.messageMaxBytes,
    'Largest record batch accepted.',
    { min: 0 },
  ),
  def(
    'message.timestamp.type',
    'enum',
    ['log.message.timestamp.type'],
    (b) => b.messageTimestampType,
    'CreateTime or LogAppendTime.',
    { values: ['CreateTime', 'LogAppendTime'] },
  ),
  def(
    'message.timestamp.before.max.ms',
    'long',
    ['log.message.timestamp.before.max.ms'],
    (b) => b.messageTimestampBeforeMaxMs,
    'Reject records older than this (CreateTime).',
    { min: 0 },
  ),
  def(
    'message.timestamp.after.max.ms',
    'long',
    ['log.message.timestamp.after.max.ms'],
    (b) => b.messageTimestampAfterMaxMs,
    'Reject records further than this in the future.',
    { min: 0 },
  ),
  def(
    'min.cleanable.dirty.ratio',
    'double',
    ['log.cleaner.min.cleanable.ratio'],
    (b) => b.minCleanableDirtyRatio,
    'Compact once this fraction of the log is dirty.',
    { min: 0, max: 1 },
  ),
  def(
    'min.compaction.lag.ms',
    'long',
    ['log.cleaner.min.compaction.lag.ms'],
    (b) => b.minCompactionLagMs,
    'Shortest a record stays uncompacted.',
    { min: 0 },
  ),
  def(
    'min.insync.replicas',
    'int',
    ['min.insync.replicas'],
    (b) => b.minInsyncReplicas,
    'Replicas that must acknowledge an acks=all produce.',
    { min: 1 },
  ),
  def('preallocate', 'boolean', ['log.preallocate'], (b) => b.preallocate, 'Preallocate segment files.'),
  def(
    'retention.bytes',
    'long',
    ['log.retention.bytes'],
    (b) => b.retentionBytes,
    'Partition size above which old segments are deleted; -1 = no limit.',
  ),
  def(
    'retention.ms',
    'long',
    ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
    (b) => b.retentionMs,
    'Delete segments older than this; -1 = keep forever.',
    { min: -1 },
  ),
  def('segment.bytes', 'int', ['log.segment.bytes'], (b) => b.segmentBytes, 'Segment size before rolling.', {
    min: 14,
  }),
  def(
    'segment.index.bytes',
    'int',
    ['log.index.size.max.bytes'],
    (b) => b.segmentIndexBytes,
    'Largest index file.',
    { min: 4 },
  ),
  def(
    'segment.jitter.ms',
    'long',
    ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
    (b) => b.rollJitterMs,
    'Random jitter subtracted from segment.ms.',
    { min: 0 },
  ),
  def(
    'segment.ms',
    'long',
    ['log.roll.ms', 'log.roll.hours'],
    (b) => b.rollMs,
    'Roll a segment after this long.',
    {
      min: 1,
    },
  ),
  def(
    'unclean.leader.election.enable',
    'boolean',
    ['unclean.leader.election.enable'],
    (b) => b.uncleanLeaderElectionEnable,
    'Allow an out-of-sync leader; meaningless on one node.',
  ),
];

const DEFS = new Map<string, TopicConfigDef>(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

/** The broker key whose value is the default of a topic key (the most specific synonym), e.g. retention.ms → log.retention.ms. */
export const TOPIC_TO_BROKER_KEY: ReadonlyMap<string, string> = new Map(
  TOPIC_CONFIG_DEFS.map((d) => [d.name, d.brokerKeys[0]!]),
);

export function isTopicConfigKey(key: string): boolean {
  return DEFS.has(key);
}

/** Validates one topic config value; returns the typed value or throws ConfigError (→ INVALID_CONFIG). */
export function validateTopicConfig(key: string, value: string): ConfigValue {
  const d = DEFS.get(key);
  if (d === undefined) throw new ConfigError(`Unknown topic configuration ${key}.`, key, value);
  return parseConfigValue(d, value);
}

/** Validates every override and the constraints between keys. */
export function validateTopicConfigs(overrides: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(overrides)) validateTopicConfig(key, value);
  const minLag = overrides['min.compaction.lag.ms'];
  const maxLag = overrides['max.compaction.lag.ms'];
  if (minLag !== undefined && maxLag !== undefined && Number(minLag) > Number(maxLag)) {
    throw new ConfigError(
      `Invalid value ${JSON.stringify(minLag)} for configuration min.compaction.lag.ms: it must not exceed max.compaction.lag.ms (${maxLag}).`,
      'min.compaction.lag.ms',
      minLag,
    );
  }
}

export interface TopicConfig {
  cleanupPolicy: CleanupPolicy[];
  compressionType: CompressionTypeName;
  deleteRetentionMs: number;
  fileDeleteDelayMs: number;
  flushMessages: number;
  flushMs: number;
  indexIntervalBytes: number;
  maxCompactionLagMs: number;
  maxMessageBytes: number;
  messageTimestampType: TimestampType;
  messageTimestampBeforeMaxMs: number;
  messageTimestampAfterMaxMs: number;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  minInsyncReplicas: number;
  preallocate: boolean;
  retentionBytes: number;
  retentionMs: number;
  segmentBytes: number;
  segmentIndexBytes: number;
  segmentJitterMs: number;
  segmentMs: number;
  uncleanLeaderElectionEnable: boolean;
}

function camel(key: string): string {
  return key.replace(/\.([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The settings a partition log runs with: topic overrides over the broker's (possibly dynamic) defaults. */
export function resolveTopicConfig(
  broker: BrokerConfig,
  overrides: Readonly<Record<string, string>> = {},
): TopicConfig {
  const out: Record<string, ConfigValue> = {};
  for (const d of TOPIC_CONFIG_DEFS) {
    const override = overrides[d.name];
    let value = override === undefined ? d.fromBroker(broker) : parseConfigValue(d, override);
    // As in Kafka, any negative retention means "keep forever".
    if (d.name === 'retention.ms' && typeof value === 'number' && value < 0) value = -1;
    out[camel(d.name)] = value;
  }
  return out as unknown as TopicConfig;
}

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: ConfigSource;
}

export interface TopicConfigEntry {
  name: string;
  value: string;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  source: ConfigSource;
  /** Most specific first: the topic override, then the broker keys that were set, as Kafka lists them. */
  synonyms: ConfigSynonym[];
  configType: number;
  documentation: string;
}

/** DescribeConfigs entries for a topic, one per topic key, with where each value came from. */
export function describeTopicConfig(
  broker: BrokerConfig,
  overrides: Readonly<Record<string, string>> = {},
): TopicConfigEntry[] {
  return TOPIC_CONFIG_DEFS.map((d) => {
    const synonyms: ConfigSynonym[] = [];
    const override = overrides[d.name];
    if (override !== undefined) {
      synonyms.push({ name: d.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    }
    for (const key of d.brokerKeys) {
      const dyn = broker.dynamicValues[key];
      if (dyn !== undefined)
        synonyms.push({ name: key, value: dyn, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
      const stat = broker.staticValues[key];
      if (stat !== undefined)
        synonyms.push({ name: key, value: stat, source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
    const typed = override !== undefined ? parseConfigValue(d, override) : d.fromBroker(broker);
    // Longs are clamped to 2^53 - 1 in memory; report Kafka's "never" (Long.MAX_VALUE) as Kafka does.
    const value = typed === Number.MAX_SAFE_INTEGER ? LONG_MAX_TEXT : formatConfigValue(typed);
    return {
      name: d.name,
      value,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      sensitive: false,
      source,
      synonyms,
      configType: describeConfigType(d.type),
      documentation: d.doc,
    };
  });
}
