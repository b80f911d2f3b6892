// Per-partition log settings, named after Kafka's topic configs (segment.bytes -> segmentBytes).
// The broker resolves broker defaults + topic overrides with topicLogConfig() (src/config/topic-config.ts),
// which parses and validates the topic keys; storage only takes the typed result.

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
  /** message.timestamp.before.max.ms: a CreateTime record older than this gets INVALID_TIMESTAMP. */
  messageTimestampBeforeMaxMs: number;
  /** message.timestamp.after.max.ms: a CreateTime record further ahead than this gets INVALID_TIMESTAMP. */
  messageTimestampAfterMaxMs: number;
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
  messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
  retentionCheckIntervalMs: 300_000,
});
