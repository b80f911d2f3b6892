// Per-partition log settings, named after Kafka's topic configs (segment.bytes -> segmentBytes).
// The broker resolves broker defaults + topic overrides with topicConfigToLogConfig().

import { InvalidConfigError } from './errors.js';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  /** segment.bytes: roll the active segment before it would grow past this. */
  segmentBytes: number;
  /** segment.ms: roll the active segment once its first batch is this old. */
  segmentMs: number;
  /** retention.ms: delete segments whose newest timestamp is older than this; -1 = keep forever. */
  retentionMs: number;
  /** retention.bytes: delete oldest segments while the log is bigger than this; -1 = no limit. */
  retentionBytes: number;
  /** flush.messages: fsync after this many messages (Kafka default Long.MAX = never by count). */
  flushIntervalMessages: number;
  /** flush.ms: fsync when the last flush is older than this (default never). */
  flushIntervalMs: number;
  /** index.interval.bytes: one sparse offset index entry per this many log bytes. */
  indexIntervalBytes: number;
  /** max.message.bytes: largest record batch accepted. */
  maxMessageBytes: number;
  /** cleanup.policy: 'delete' runs retention, 'compact' the LogCleaner, 'compact,delete' both. */
  cleanupPolicy: CleanupPolicy;
  /** log.flush.before.ack (Brook): ack a produce only after its bytes are fsynced (group commit). */
  flushBeforeAck: boolean;
  /** message.timestamp.type. */
  messageTimestampType: TimestampType;
  /** delete.retention.ms: a tombstone outlives the first cleaning of its batch by this long. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: segments holding records younger than this are not compacted. */
  minCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: compact once dirty bytes / cleanable bytes reach this. */
  minCleanableDirtyRatio: number;
  /** How often LogManager runs retention (log.retention.check.interval.ms). */
  retentionCheckIntervalMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const defaultLogConfig: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  flushIntervalMessages: Number.MAX_SAFE_INTEGER,
  flushIntervalMs: Number.MAX_SAFE_INTEGER,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1048588,
  cleanupPolicy: 'delete',
  flushBeforeAck: false,
  messageTimestampType: 'CreateTime',
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
  retentionCheckIntervalMs: 300_000,
});

/** Smallest segment we accept; Kafka's lower bound for segment.bytes is 14 (one empty batch). */
const MIN_SEGMENT_BYTES = 14;
/** Segment positions are stored as int32 in the offset index, so a segment must stay below 2 GiB. */
const MAX_SEGMENT_BYTES = 0x7fffffff;

type Field = keyof LogConfig;

interface KeySpec {
  field: Field;
  parse: (key: string, value: string) => LogConfig[Field];
}

function parseLong(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (key: string, value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidConfigError(key, value, 'not an integer');
    const n = Number(value.trim());
    // Kafka accepts Long.MAX_VALUE for "never"; clamp what JS cannot represent to the same meaning.
    const clamped = n > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : n;
    if (clamped < min || clamped > max) {
      throw new InvalidConfigError(key, value, `must be in [${min}, ${max}]`);
    }
    return clamped;
  };
}

function parseDouble(min: number, max: number) {
  return (key: string, value: string): number => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidConfigError(key, value, 'not a number');
    if (n < min || n > max) throw new InvalidConfigError(key, value, `must be in [${min}, ${max}]`);
    return n;
  };
}

function parseEnum<T extends string>(allowed: readonly T[]) {
  return (key: string, value: string): T => {
    const normalized = value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .sort()
      .join(',');
    const found = allowed.find((a) => a === normalized);
    if (found === undefined)
      throw new InvalidConfigError(key, value, `must be one of ${allowed.join(' | ')}`);
    return found;
  };
}

function parseBool(key: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidConfigError(key, value, 'must be true or false');
}

/** Kafka topic config key -> LogConfig field. */
export const topicConfigKeys: Readonly<Record<string, KeySpec>> = Object.freeze({
  'segment.bytes': { field: 'segmentBytes', parse: parseLong(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES) },
  'segment.ms': { field: 'segmentMs', parse: parseLong(1) },
  'retention.ms': { field: 'retentionMs', parse: parseLong(-1) },
  'retention.bytes': { field: 'retentionBytes', parse: parseLong(-1) },
  'flush.messages': { field: 'flushIntervalMessages', parse: parseLong(1) },
  'flush.ms': { field: 'flushIntervalMs', parse: parseLong(0) },
  'index.interval.bytes': { field: 'indexIntervalBytes', parse: parseLong(0, MAX_SEGMENT_BYTES) },
  'max.message.bytes': { field: 'maxMessageBytes', parse: parseLong(0, MAX_SEGMENT_BYTES) },
  'cleanup.policy': {
    field: 'cleanupPolicy',
    parse: parseEnum<CleanupPolicy>(['delete', 'compact', 'compact,delete']),
  },
  'message.timestamp.type': {
    field: 'messageTimestampType',
    parse: parseEnum<TimestampType>(['CreateTime', 'LogAppendTime']),
  },
  'delete.retention.ms': { field: 'deleteRetentionMs', parse: parseLong(0) },
  'min.compaction.lag.ms': { field: 'minCompactionLagMs', parse: parseLong(0) },
  'min.cleanable.dirty.ratio': { field: 'minCleanableDirtyRatio', parse: parseDouble(0, 1) },
  'log.flush.before.ack': { field: 'flushBeforeAck', parse: parseBool },
});

/**
 * Applies Kafka topic config overrides on top of `base`. Unknown keys are ignored (they belong to
 * other layers, e.g. compression.type); known keys with invalid values throw InvalidConfigError.
 */
export function topicConfigToLogConfig(map: Record<string, string>, base: LogConfig): LogConfig {
  const out: LogConfig = { ...base };
  for (const [key, value] of Object.entries(map)) {
    const spec = topicConfigKeys[key];
    if (spec === undefined) continue;
    (out as unknown as Record<Field, LogConfig[Field]>)[spec.field] = spec.parse(key, value);
  }
  return out;
}
