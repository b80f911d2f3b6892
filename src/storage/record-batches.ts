// Validation and in-place rewriting of v2 record batches as a client sent them. The batch is
// never re-encoded: baseOffset and partitionLeaderEpoch sit outside the CRC, so assigning offsets
// keeps the client's CRC valid; only LogAppendTime changes CRC-covered bytes.

import { crc32c } from '@node-rs/crc32';
import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSET_ATTRIBUTES,
  BATCH_OFFSET_BASE_OFFSET,
  BATCH_OFFSET_CRC,
  BATCH_OFFSET_LAST_OFFSET_DELTA,
  BATCH_OFFSET_LEADER_EPOCH,
  BATCH_OFFSET_LENGTH,
  BATCH_OFFSET_MAGIC,
  BATCH_OFFSET_MAX_TIMESTAMP,
  BATCH_OFFSET_PRODUCER_EPOCH,
  BATCH_OFFSET_PRODUCER_ID,
  BATCH_OFFSET_BASE_SEQUENCE,
  BATCH_OFFSET_RECORDS_COUNT,
} from '../protocol/batch-header.js';
import { CorruptRecordError, decodeBatchSync } from '../protocol/records.js';
import { StorageError } from './errors.js';

/** A batch can never be shorter than its header. */
export const MIN_BATCH_BYTES = BATCH_HEADER_BYTES;

export type BatchProblem = 'short' | 'length' | 'magic' | 'crc' | 'offsets' | null;

/**
 * Checks the batch at `pos` of `buf` without throwing; `available` is how many bytes of the
 * batch region exist (the rest of the buffer or file). Used by both produce and recovery.
 */
export function checkBatch(buf: Buffer, pos: number, available: number, verifyCrc: boolean): BatchProblem {
  if (available < BATCH_LOG_OVERHEAD) return 'short';
  const batchLength = buf.readInt32BE(pos + BATCH_OFFSET_LENGTH);
  const size = batchLength + BATCH_LOG_OVERHEAD;
  if (batchLength < MIN_BATCH_BYTES - BATCH_LOG_OVERHEAD || size > available) return 'length';
  if (buf.readInt8(pos + BATCH_OFFSET_MAGIC) !== 2) return 'magic';
  if (buf.readInt32BE(pos + BATCH_OFFSET_LAST_OFFSET_DELTA) < 0) return 'offsets';
  if (verifyCrc) {
    const expected = buf.readUInt32BE(pos + BATCH_OFFSET_CRC);
    if (crc32c(buf.subarray(pos + BATCH_OFFSET_ATTRIBUTES, pos + size)) !== expected) return 'crc';
  }
  return null;
}

/** Per-call summary of a produce payload, gathered in one pass over the headers. */
export interface RecordsSummary {
  batchCount: number;
  /** Sum of lastOffsetDelta + 1 over batches: how many offsets the payload consumes. */
  offsetCount: number;
  recordCount: number;
  /** True when any batch carries a producerId (idempotent or transactional producer). */
  hasProducerBatches: boolean;
}

/**
 * Validates every batch of a produce payload (magic, length, CRC, size limit). Throws
 * StorageError CORRUPT_MESSAGE / MESSAGE_TOO_LARGE / INVALID_RECORD; never mutates `records`.
 */
export function validateRecords(records: Buffer, maxMessageBytes: number): RecordsSummary {
  if (records.length === 0) throw new StorageError('INVALID_RECORD', 'empty record set');
  let pos = 0;
  let batchCount = 0;
  let offsetCount = 0;
  let recordCount = 0;
  let hasProducerBatches = false;
  while (pos < records.length) {
    const available = records.length - pos;
    if (available >= BATCH_LOG_OVERHEAD) {
      // Size is checked before the CRC so an oversized batch reports the precise error.
      const size = records.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
      if (size > maxMessageBytes && size <= available) {
        throw new StorageError(
          'MESSAGE_TOO_LARGE',
          `batch of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`,
        );
      }
    }
    const problem = checkBatch(records, pos, available, true);
    if (problem !== null) {
      throw new StorageError('CORRUPT_MESSAGE', `invalid record batch at byte ${pos}: ${problem}`);
    }
    const size = records.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
    const count = records.readInt32BE(pos + BATCH_OFFSET_RECORDS_COUNT);
    const attributes = records.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES);
    if (count <= 0 && (attributes & ATTR_CONTROL) === 0) {
      throw new StorageError('INVALID_RECORD', 'record batch must contain at least one record');
    }
    batchCount++;
    offsetCount += records.readInt32BE(pos + BATCH_OFFSET_LAST_OFFSET_DELTA) + 1;
    recordCount += count;
    if (records.readBigInt64BE(pos + BATCH_OFFSET_PRODUCER_ID) >= 0n) hasProducerBatches = true;
    pos += size;
  }
  return { batchCount, offsetCount, recordCount, hasProducerBatches };
}

/** Rewrites the header fields outside the CRC: baseOffset and partitionLeaderEpoch. */
export function stampBatch(buf: Buffer, pos: number, baseOffset: number, leaderEpoch: number): void {
  buf.writeBigInt64BE(BigInt(baseOffset), pos + BATCH_OFFSET_BASE_OFFSET);
  buf.writeInt32BE(leaderEpoch, pos + BATCH_OFFSET_LEADER_EPOCH);
}

/** LogAppendTime: the broker's clock replaces maxTimestamp, so the CRC must be recomputed. */
export function stampLogAppendTime(buf: Buffer, pos: number, nowMs: number): void {
  const size = buf.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
  const attributes = buf.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES);
  buf.writeInt16BE(attributes | ATTR_TIMESTAMP_TYPE_LOG_APPEND, pos + BATCH_OFFSET_ATTRIBUTES);
  buf.writeBigInt64BE(BigInt(nowMs), pos + BATCH_OFFSET_MAX_TIMESTAMP);
  buf.writeUInt32BE(crc32c(buf.subarray(pos + BATCH_OFFSET_ATTRIBUTES, pos + size)), pos + BATCH_OFFSET_CRC);
}

export function producerIdAt(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos + BATCH_OFFSET_PRODUCER_ID));
}

export function producerEpochAt(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + BATCH_OFFSET_PRODUCER_EPOCH);
}

export function baseSequenceAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_OFFSET_BASE_SEQUENCE);
}

export function lastOffsetDeltaAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_OFFSET_LAST_OFFSET_DELTA);
}

export function isControlBatchAt(buf: Buffer, pos: number): boolean {
  return (buf.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES) & ATTR_CONTROL) !== 0;
}

export function leaderEpochAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_OFFSET_LEADER_EPOCH);
}

/**
 * Compacted topics need a key on every record (Kafka rejects keyless records with INVALID_RECORD).
 * This decodes (and decompresses) the records, so it runs only for compacted topics, after
 * validateRecords() checked the CRCs.
 */
export function assertRecordsHaveKeys(records: Buffer): void {
  for (
    let p = 0;
    p < records.length;
    p += records.readInt32BE(p + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD
  ) {
    if (isControlBatchAt(records, p)) continue;
    let decoded;
    try {
      decoded = decodeBatchSync(records, p, { verifyCrc: false });
    } catch (err) {
      if (err instanceof CorruptRecordError) throw new StorageError('CORRUPT_MESSAGE', err.message);
      throw err;
    }
    for (const r of decoded.records) {
      if (r.key === null) {
        throw new StorageError('INVALID_RECORD', 'compacted topic cannot accept a message without key');
      }
    }
  }
}
