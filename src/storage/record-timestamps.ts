// Produce-time timestamp checks, after Kafka's LogValidator.validateTimestamp (KIP-937, Kafka 3.6+): on a
// CreateTime topic every record's timestamp must lie within [now - message.timestamp.before.max.ms,
// now + message.timestamp.after.max.ms], and no producer may send a batch marked LogAppendTime.
// Violations answer INVALID_TIMESTAMP for the whole partition, as Kafka does.
import {
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  BATCH_OFFSET_ATTRIBUTES,
  batchSizeAt,
  maxTimestampAt,
} from '../protocol/batch-header.js';
import { CorruptRecordError, decodeBatchSync, NO_TIMESTAMP } from '../protocol/records.js';
import { StorageError } from './errors.js';
import type { LogConfig } from './log-config.js';

/** Long.MAX_VALUE as configs hold it: no limit. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * Throws StorageError INVALID_TIMESTAMP when a batch of a CreateTime topic is marked LogAppendTime or holds a
 * record outside the configured window. Records are decoded only when a limit is set (the default is none),
 * so topics without limits pay one header read per batch.
 */
export function checkRecordTimestamps(
  records: Buffer,
  config: Pick<LogConfig, 'messageTimestampBeforeMaxMs' | 'messageTimestampAfterMaxMs'>,
  nowMs: number,
): void {
  const before = config.messageTimestampBeforeMaxMs;
  const after = config.messageTimestampAfterMaxMs;
  const limited = before < NO_LIMIT || after < NO_LIMIT;
  for (let p = 0; p < records.length; p += batchSizeAt(records, p)) {
    if ((records.readInt16BE(p + BATCH_OFFSET_ATTRIBUTES) & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0) {
      throw new StorageError(
        'INVALID_TIMESTAMP',
        'Invalid timestamp type in message: producer should not set timestamp type to LogAppendTime.',
      );
    }
    if (!limited) continue;
    // The header's max timestamp settles the future side without decoding.
    if (after < NO_LIMIT && maxTimestampAt(records, p) - nowMs > after) {
      throw outOfRange(maxTimestampAt(records, p), null, nowMs, before, after);
    }
    let decoded;
    try {
      decoded = decodeBatchSync(records, p, { verifyCrc: false });
    } catch (err) {
      if (err instanceof CorruptRecordError) throw new StorageError('CORRUPT_MESSAGE', err.message);
      throw err;
    }
    for (const r of decoded.records) {
      if (r.timestamp === NO_TIMESTAMP) continue;
      const diff = nowMs - r.timestamp;
      if (diff > before || -diff > after) throw outOfRange(r.timestamp, r.offset, nowMs, before, after);
    }
  }
}

function outOfRange(
  timestamp: number,
  offset: number | null,
  nowMs: number,
  before: number,
  after: number,
): StorageError {
  const low = before < NO_LIMIT ? nowMs - before : '-inf';
  const high = after < NO_LIMIT ? nowMs + after : '+inf';
  const which = offset === null ? 'of a message' : `of message with offset ${offset}`;
  return new StorageError(
    'INVALID_TIMESTAMP',
    `Timestamp ${timestamp} ${which} is out of range. The timestamp should be within [${low}, ${high}]`,
  );
}
