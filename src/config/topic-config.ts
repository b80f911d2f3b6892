// Topic-level configuration: the keys CreateTopics / AlterConfigs accept per topic, each backed by a
// broker-level default (retention.ms ← log.retention.ms/minutes/hours, segment.bytes ← log.segment.bytes, ...).
//   validateTopicConfig(key, value)          throws ConfigError; the broker answers INVALID_CONFIG
//   topicLogConfig(defaults, overrides)      the settings a partition log runs with
//   describeTopicConfig(broker, overrides)   DescribeConfigs entries with source and synonyms (as Kafka lists them)
import type { LogConfig } from '../storage/log-config.js';
import { brokerConfigDef, type BrokerConfig, type CleanupPolicy } from './broker-config.js';
import { brokerSynonymChain, brokerSynonyms, type ConfigSynonym } from './config-synonyms.js';
import { checkGzipLevel, checkMessageFormatVersion, checkThrottledReplicas } from './config-checks.js';
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
  /** Broker keys that supply the default, most specific first (Kafka's synonyms); empty for topic-only keys. */
  readonly brokerKeys: readonly string[];
  /** The broker-level default, already resolved through the synonym chain. */
  readonly fromBroker: (b: BrokerConfig) => ConfigValue;
  /** The partition-log setting a topic override changes; keys without one have no effect on storage. */
  readonly logField?: LogField;
}

/** The LogConfig fields a topic key sets directly (cleanup.policy and retention.ms are converted). */
type LogField = Exclude<keyof LogConfig, 'flushBeforeAck' | 'retentionCheckIntervalMs'>;

const COMPRESSION = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];
const ONE_NODE = 'Brook is a single node: there is nothing to replicate or elect.';

function def(
  name: string,
  type: ConfigDef['type'],
  brokerKeys: readonly string[],
  fromBroker: (b: BrokerConfig) => ConfigValue,
  doc: string,
  extra: Partial<TopicConfigDef> = {},
): TopicConfigDef {
  return { name, type, default: null, doc, brokerKeys, fromBroker, ...extra };
}

/** A key whose broker default is the broker key's own value (read as text, parsed with the topic key's type). */
function brokerDefault(
  name: string,
  type: ConfigDef['type'],
  brokerKey: string,
  doc: string,
  extra: Partial<TopicConfigDef> = {},
): TopicConfigDef {
  const d: TopicConfigDef = def(
    name,
    type,
    [brokerKey],
    (b) => parseConfigValue(d, brokerText(b, brokerKey)),
    doc,
    extra,
  );
  return d;
}

/** A key Kafka has no broker synonym for: its default is Kafka's own. */
function topicOnly(
  name: string,
  type: ConfigDef['type'],
  dflt: string,
  doc: string,
  extra: Partial<TopicConfigDef> = {},
): TopicConfigDef {
  const d: TopicConfigDef = {
    name,
    type,
    default: dflt,
    doc,
    brokerKeys: [],
    fromBroker: () => parseConfigValue(d, dflt),
    ...extra,
  };
  return d;
}

function brokerText(b: BrokerConfig, key: string): string {
  return b.dynamicValues[key] ?? b.staticValues[key] ?? brokerConfigDef(key)?.default ?? '';
}

/**
 * Every key of Kafka 3.9's TopicConfig (plus the replication throttles LogConfig also accepts), with Kafka's
 * types, ranges and broker synonyms. `logField` keys are enforced by the partition log; `ignored` ones are
 * accepted, validated and reported by DescribeConfigs, and `doc` says why they change nothing here.
 */
export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  def('cleanup.policy', 'list', ['log.cleanup.policy'], (b) => b.cleanupPolicy, 'delete, compact, or both.', {
    values: ['compact', 'delete'],
    // An empty list would leave a log with neither retention nor compaction.
    check: (v) => ((v as string[]).length === 0 ? 'must name compact, delete or both' : null),
    logField: 'cleanupPolicy',
  }),
  def(
    'compression.type',
    'enum',
    ['compression.type'],
    (b) => b.compressionType,
    'Compression of stored batches.',
    {
      values: COMPRESSION,
      note: 'Brook stores batches as the producer sent them (as `producer`); other values are accepted but do not recompress.',
    },
  ),
  brokerDefault(
    'compression.gzip.level',
    'int',
    'compression.gzip.level',
    'gzip level when recompressing: -1 or 1 to 9.',
    {
      check: checkGzipLevel,
      ignored: true,
      note: 'Brook stores batches as sent.',
    },
  ),
  brokerDefault('compression.lz4.level', 'int', 'compression.lz4.level', 'lz4 level when recompressing.', {
    min: 1,
    max: 17,
    ignored: true,
    note: 'Brook stores batches as sent.',
  }),
  brokerDefault('compression.zstd.level', 'int', 'compression.zstd.level', 'zstd level when recompressing.', {
    min: -131072,
    max: 22,
    ignored: true,
    note: 'Brook stores batches as sent.',
  }),
  def(
    'delete.retention.ms',
    'long',
    ['log.cleaner.delete.retention.ms'],
    (b) => b.cleanerDeleteRetentionMs,
    'Keep tombstones and transaction markers this long after compaction.',
    { min: 0, logField: 'deleteRetentionMs' },
  ),
  def(
    'file.delete.delay.ms',
    'long',
    ['log.segment.delete.delay.ms'],
    (b) => b.segmentDeleteDelayMs,
    'Wait this long before removing a deleted segment file.',
    {
      min: 0,
      ignored: true,
      note: "Brook deletes a segment's files as soon as its in-flight reads finish.",
    },
  ),
  def(
    'flush.messages',
    'long',
    ['log.flush.interval.messages'],
    (b) => b.flushIntervalMessages,
    'fsync after this many records.',
    { min: 1, logField: 'flushIntervalMessages' },
  ),
  def(
    'flush.ms',
    'long',
    brokerSynonymChain('log.flush.interval.ms'),
    (b) => b.flushIntervalMs,
    'fsync when the oldest unflushed record is this old.',
    { min: 0, logField: 'flushIntervalMs' },
  ),
  topicOnly(
    'follower.replication.throttled.replicas',
    'list',
    '',
    'Replicas whose replication is throttled on the follower side.',
    {
      check: checkThrottledReplicas,
      ignored: true,
      note: ONE_NODE,
    },
  ),
  def(
    'index.interval.bytes',
    'int',
    ['log.index.interval.bytes'],
    (b) => b.indexIntervalBytes,
    'Bytes of log between offset index entries.',
    { min: 0, logField: 'indexIntervalBytes' },
  ),
  topicOnly(
    'leader.replication.throttled.replicas',
    'list',
    '',
    'Replicas whose replication is throttled on the leader side.',
    {
      check: checkThrottledReplicas,
      ignored: true,
      note: ONE_NODE,
    },
  ),
  brokerDefault(
    'local.retention.bytes',
    'long',
    'log.local.retention.bytes',
    'Tiered storage: local retention size; -2 = retention.bytes.',
    { min: -2, ignored: true, note: 'Brook has no remote tier.' },
  ),
  brokerDefault(
    'local.retention.ms',
    'long',
    'log.local.retention.ms',
    'Tiered storage: local retention time; -2 = retention.ms.',
    { min: -2, ignored: true, note: 'Brook has no remote tier.' },
  ),
  def(
    'max.compaction.lag.ms',
    'long',
    ['log.cleaner.max.compaction.lag.ms'],
    (b) => b.maxCompactionLagMs,
    'Longest a record may stay uncompacted.',
    {
      min: 1,
      ignored: true,
      note: 'the cleaner compacts by min.cleanable.dirty.ratio and min.compaction.lag.ms only.',
    },
  ),
  def(
    'max.message.bytes',
    'int',
    ['message.max.bytes'],
    (b) => b.messageMaxBytes,
    'Largest record batch accepted.',
    { min: 0, logField: 'maxMessageBytes' },
  ),
  def(
    'message.downconversion.enable',
    'boolean',
    ['log.message.downconversion.enable'],
    (b) => brokerText(b, 'log.message.downconversion.enable') === 'true',
    'Deprecated: down-convert for old consumers.',
    {
      ignored: true,
      note: 'Brook serves batches as stored.',
    },
  ),
  brokerDefault(
    'message.format.version',
    'string',
    'log.message.format.version',
    'Deprecated: the message format to write.',
    {
      check: checkMessageFormatVersion,
      ignored: true,
      note: 'always v2, as Kafka does with inter.broker.protocol.version 3.0 or later.',
    },
  ),
  def(
    'message.timestamp.after.max.ms',
    'long',
    ['log.message.timestamp.after.max.ms'],
    (b) => b.messageTimestampAfterMaxMs,
    'Reject (INVALID_TIMESTAMP) a CreateTime record whose timestamp is further than this in the future.',
    { min: 0, logField: 'messageTimestampAfterMaxMs' },
  ),
  def(
    'message.timestamp.before.max.ms',
    'long',
    ['log.message.timestamp.before.max.ms'],
    (b) => b.messageTimestampBeforeMaxMs,
    'Reject (INVALID_TIMESTAMP) a CreateTime record whose timestamp is further than this in the past.',
    { min: 0, logField: 'messageTimestampBeforeMaxMs' },
  ),
  brokerDefault(
    'message.timestamp.difference.max.ms',
    'long',
    'log.message.timestamp.difference.max.ms',
    'Deprecated: the before/after limit used when message.timestamp.before.max.ms or after.max.ms is left at its default.',
    { min: 0 },
  ),
  def(
    'message.timestamp.type',
    'enum',
    ['log.message.timestamp.type'],
    (b) => b.messageTimestampType,
    'CreateTime or LogAppendTime.',
    { values: ['CreateTime', 'LogAppendTime'], logField: 'messageTimestampType' },
  ),
  def(
    'min.cleanable.dirty.ratio',
    'double',
    ['log.cleaner.min.cleanable.ratio'],
    (b) => b.minCleanableDirtyRatio,
    'Compact once this fraction of the log is dirty.',
    { min: 0, max: 1, logField: 'minCleanableDirtyRatio' },
  ),
  def(
    'min.compaction.lag.ms',
    'long',
    ['log.cleaner.min.compaction.lag.ms'],
    (b) => b.minCompactionLagMs,
    'Shortest a record stays uncompacted.',
    { min: 0, logField: 'minCompactionLagMs' },
  ),
  def(
    'min.insync.replicas',
    'int',
    ['min.insync.replicas'],
    (b) => b.minInsyncReplicas,
    'Replicas that must acknowledge an acks=all produce.',
    {
      min: 1,
      ignored: true,
      note: "enforced in cluster mode only: a single node's one replica always acknowledges (Kafka would answer NOT_ENOUGH_REPLICAS above 1).",
    },
  ),
  def('preallocate', 'boolean', ['log.preallocate'], (b) => b.preallocate, 'Preallocate segment files.', {
    ignored: true,
    note: 'segment files grow as they are written.',
  }),
  topicOnly(
    'remote.log.copy.disable',
    'boolean',
    'false',
    'Tiered storage: stop copying segments to the remote tier.',
    { ignored: true, note: 'Brook has no remote tier.' },
  ),
  topicOnly(
    'remote.log.delete.on.disable',
    'boolean',
    'false',
    'Tiered storage: delete remote data when tiering is disabled.',
    { ignored: true, note: 'Brook has no remote tier.' },
  ),
  topicOnly('remote.storage.enable', 'boolean', 'false', 'Tiered storage for this topic.', {
    note: 'only false: Brook has no remote tier, so true gets INVALID_CONFIG (as Kafka without tiered storage).',
    check: (v) => (v === true ? 'tiered storage is not available in Brook, so it must be false' : null),
  }),
  def(
    'retention.bytes',
    'long',
    ['log.retention.bytes'],
    (b) => b.retentionBytes,
    'Partition size above which old segments are deleted; -1 = no limit.',
    { logField: 'retentionBytes' },
  ),
  def(
    'retention.ms',
    'long',
    brokerSynonymChain('log.retention.ms'),
    (b) => b.retentionMs,
    'Delete segments older than this; -1 = keep forever.',
    { min: -1, logField: 'retentionMs' },
  ),
  def('segment.bytes', 'int', ['log.segment.bytes'], (b) => b.segmentBytes, 'Segment size before rolling.', {
    min: 14,
    logField: 'segmentBytes',
  }),
  def(
    'segment.index.bytes',
    'int',
    ['log.index.size.max.bytes'],
    (b) => b.segmentIndexBytes,
    'Largest index file.',
    {
      min: 4,
      ignored: true,
      note: 'Brook sizes index files by segment.bytes / index.interval.bytes.',
    },
  ),
  def(
    'segment.jitter.ms',
    'long',
    brokerSynonymChain('log.roll.jitter.ms'),
    (b) => b.rollJitterMs,
    'Random jitter subtracted from segment.ms.',
    { min: 0, ignored: true, note: 'segments roll at exactly segment.ms.' },
  ),
  def(
    'segment.ms',
    'long',
    brokerSynonymChain('log.roll.ms'),
    (b) => b.rollMs,
    'Roll a segment after this long.',
    { min: 1, logField: 'segmentMs' },
  ),
  def(
    'unclean.leader.election.enable',
    'boolean',
    ['unclean.leader.election.enable'],
    (b) => b.uncleanLeaderElectionEnable,
    'Allow an out-of-sync leader.',
    { ignored: true, note: ONE_NODE },
  ),
];

const DEFS = new Map<string, TopicConfigDef>(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

/** The broker key whose value is the default of a topic key (the most specific synonym), e.g. retention.ms → log.retention.ms. */
export const TOPIC_TO_BROKER_KEY: ReadonlyMap<string, string> = new Map(
  TOPIC_CONFIG_DEFS.filter((d) => d.brokerKeys.length > 0).map((d) => [d.name, d.brokerKeys[0]!]),
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

/**
 * The settings a partition log runs with: the topic's overrides, parsed and validated here (the one topic
 * config parser), over the broker-wide log defaults. Throws ConfigError for an invalid override.
 */
export function topicLogConfig(defaults: LogConfig, overrides: Readonly<Record<string, string>>): LogConfig {
  const out: LogConfig = { ...defaults };
  const fields = out as unknown as Record<LogField, unknown>;
  for (const [key, text] of Object.entries(overrides)) {
    const d = DEFS.get(key);
    if (d?.logField === undefined) {
      if (d !== undefined) parseConfigValue(d, text);
      continue;
    }
    const value = parseConfigValue(d, text);
    fields[d.logField] =
      d.logField === 'cleanupPolicy'
        ? cleanupPolicyOf(value as CleanupPolicy[])
        : d.logField === 'retentionMs' && (value as number) < 0
          ? -1 // As in Kafka, any negative retention means "keep forever".
          : value;
  }
  // KIP-937: a before/after limit left at "no limit" falls back to the deprecated difference.max.ms.
  const difference = overrides['message.timestamp.difference.max.ms'];
  if (difference !== undefined) {
    const limit = parseConfigValue(DEFS.get('message.timestamp.difference.max.ms')!, difference) as number;
    if (out.messageTimestampBeforeMaxMs === Number.MAX_SAFE_INTEGER) out.messageTimestampBeforeMaxMs = limit;
    if (out.messageTimestampAfterMaxMs === Number.MAX_SAFE_INTEGER) out.messageTimestampAfterMaxMs = limit;
  }
  return out;
}

/** cleanup.policy as the log takes it: 'delete', 'compact' or both. */
export function cleanupPolicyOf(policy: readonly CleanupPolicy[]): LogConfig['cleanupPolicy'] {
  if (!policy.includes('compact')) return 'delete';
  return policy.includes('delete') ? 'compact,delete' : 'compact';
}

export interface TopicConfigEntry {
  name: string;
  value: string;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  source: ConfigSource;
  /** The topic override, then the broker-level synonyms in Kafka's order (config-synonyms.ts). */
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
    const override = overrides[d.name];
    const synonyms: ConfigSynonym[] =
      d.brokerKeys.length > 0 ? brokerSynonyms(broker, d.brokerKeys[0]!, false) : [];
    if (override !== undefined) {
      synonyms.unshift({ name: d.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
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
