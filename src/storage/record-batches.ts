// Validation and in-place rewriting of v2 record batches as a client sent them. The batch is
// never re-encoded: baseOffset and partitionLeaderEpoch sit outside the CRC, so assigning offsets
// keeps the client's CRC valid; only LogAppendTime changes CRC-covered bytes.
//
// What a produced batch must pass before it is stored, as Kafka's UnifiedLog and LogValidator check:
// - framing: length, magic 2, CRC-32C, max.message.bytes             → CORRUPT_MESSAGE / MESSAGE_TOO_LARGE
// - header (clients): recordsCount == lastOffsetDelta + 1 > 0, no control batches, a producer id
//   comes with a sequence number                                       → INVALID_RECORD
// - records: every record parses inside the batch (lengths, key, value, headers), offset deltas are
//   0, 1, 2, ..., nothing left over                                    → INVALID_RECORD
// - compacted topics: every record has a key                          → INVALID_RECORD with per-record
//   errors (KIP-467), so clients fail only the keyless records
// - clients, CreateTime topics with message.timestamp.before/after.max.ms: every record's timestamp
//   lies in [now - before, now + after]; no client batch is marked LogAppendTime → INVALID_TIMESTAMP
//   with per-record errors
// Each check rides on the one pass that walks the records (scanRecords), for compressed batches after
// inflating them off the event loop (validateCompressedRecords): no record is decoded twice.
// Compressed batches are decompressed to check their records (as Kafka does), bounded by
// maxDecompressedBytesFor(max.message.bytes) while inflating.

import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSET_ATTRIBUTES,
  BATCH_OFFSET_BASE_OFFSET,
  BATCH_OFFSET_BASE_TIMESTAMP,
  BATCH_OFFSET_LAST_OFFSET_DELTA,
  BATCH_OFFSET_LEADER_EPOCH,
  BATCH_OFFSET_LENGTH,
  BATCH_OFFSET_MAGIC,
  BATCH_OFFSET_PRODUCER_EPOCH,
  BATCH_OFFSET_PRODUCER_ID,
  BATCH_OFFSET_BASE_SEQUENCE,
  BATCH_OFFSET_RECORDS_COUNT,
  CompressionType,
  batchSizeAt,
} from '../protocol/batch-header.js';
import { CompressionError, compressionName, decompress } from '../protocol/compression.js';
import { readInt64, scanRecords, verifyBatchCrc, type TimestampWindow } from '../protocol/records.js';
import { StorageError } from './errors.js';
import type { LogConfig } from './log-config.js';

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
  if (verifyCrc && !verifyBatchCrc(buf, pos)) return 'crc';
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
  /** Compressed batches, whose records validateRecords() leaves to validateCompressedRecords(). */
  compressedBatches: number;
}

/** One refused record of a produced batch (ProduceResponse v8+ RecordErrors, KIP-467). */
export interface RecordError {
  /** Index of the record inside its batch. */
  batchIndex: number;
  message: string | null;
}

/** INVALID_RECORD or INVALID_TIMESTAMP because of particular records: the produce answer lists them. */
export class RecordValidationError extends StorageError {
  constructor(
    code: 'INVALID_RECORD' | 'INVALID_TIMESTAMP',
    message: string,
    readonly recordErrors: RecordError[],
  ) {
    super(code, message);
  }
}

export interface ValidateOptions {
  /** cleanup.policy includes compact: every record needs a key. */
  compacted: boolean;
  /** 'client' adds Kafka's checks of client batches (LogValidator.validateBatch). */
  origin: 'client' | 'internal';
  /** For messages, as Kafka names it: "topic-partition". */
  topicPartition: string;
  /**
   * Client appends to a CreateTime topic with timestamp limits: timestampWindow(). One window per
   * request; validateRecords and validateCompressedRecords reuse it batch after batch.
   */
  timestamps?: TimestampWindow | null;
}

const INTERNAL_APPEND: ValidateOptions = { compacted: false, origin: 'internal', topicPartition: '' };

/** Long.MAX_VALUE as configs hold it: no limit. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The window a client's CreateTime records must fall in at `nowMs` (Kafka's LogValidator.validateTimestamp,
 * KIP-937), or null when nothing is checked: on LogAppendTime topics the broker stamps its own time, and
 * topics without limits (the default) accept any timestamp. The deprecated
 * message.timestamp.difference.max.ms arrives here as the fallback of both limits (topic-config.ts).
 */
export function timestampWindow(
  config: Pick<
    LogConfig,
    'messageTimestampType' | 'messageTimestampBeforeMaxMs' | 'messageTimestampAfterMaxMs'
  >,
  nowMs: number,
): TimestampWindow | null {
  const before = config.messageTimestampBeforeMaxMs;
  const after = config.messageTimestampAfterMaxMs;
  if (config.messageTimestampType !== 'CreateTime' || (before >= NO_LIMIT && after >= NO_LIMIT)) return null;
  return {
    baseTimestamp: 0,
    low: before < NO_LIMIT ? nowMs - before : -Infinity,
    high: after < NO_LIMIT ? nowMs + after : Infinity,
    outOfRange: [],
  };
}

/**
 * Validates every batch of a produce payload: framing, CRC, size limit, header consistency and the
 * records of uncompressed batches (compressed ones: validateCompressedRecords, which must inflate
 * them). Throws StorageError CORRUPT_MESSAGE / MESSAGE_TOO_LARGE / INVALID_RECORD (a
 * RecordValidationError when particular records are refused); never mutates `records`.
 */
export function validateRecords(
  records: Buffer,
  maxMessageBytes: number,
  opts: ValidateOptions = INTERNAL_APPEND,
): RecordsSummary {
  if (records.length === 0) throw new StorageError('INVALID_RECORD', 'empty record set');
  let pos = 0;
  let batchCount = 0;
  let offsetCount = 0;
  let recordCount = 0;
  let hasProducerBatches = false;
  let compressedBatches = 0;
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
    const lastOffsetDelta = records.readInt32BE(pos + BATCH_OFFSET_LAST_OFFSET_DELTA);
    const hasProducerId = records.readBigInt64BE(pos + BATCH_OFFSET_PRODUCER_ID) >= 0n;
    if (opts.origin === 'client') {
      checkClientBatch(records, pos, count, lastOffsetDelta, attributes, hasProducerId, opts);
    } else if (count <= 0 && (attributes & ATTR_CONTROL) === 0) {
      throw new StorageError('INVALID_RECORD', 'record batch must contain at least one record');
    }
    if ((attributes & ATTR_COMPRESSION_MASK) === CompressionType.None) {
      checkRecords(records, pos + BATCH_HEADER_BYTES, pos + size, records, pos, opts);
    } else {
      compressedBatches++;
    }
    batchCount++;
    offsetCount += lastOffsetDelta + 1;
    recordCount += count;
    if (hasProducerId) hasProducerBatches = true;
    pos += size;
  }
  return { batchCount, offsetCount, recordCount, hasProducerBatches, compressedBatches };
}

/** Kafka's LogValidator.validateBatch for AppendOrigin.CLIENT (magic 2). */
function checkClientBatch(
  buf: Buffer,
  pos: number,
  count: number,
  lastOffsetDelta: number,
  attributes: number,
  hasProducerId: boolean,
  opts: ValidateOptions,
): void {
  const where = `in topic partition ${opts.topicPartition}`;
  if (count <= 0)
    throw new StorageError('INVALID_RECORD', `Invalid reported count for record batch: ${count} ${where}`);
  if (count !== lastOffsetDelta + 1) {
    throw new StorageError(
      'INVALID_RECORD',
      `Inconsistent batch offset range [0, ${lastOffsetDelta}] and count of records ${count} ${where}`,
    );
  }
  if (attributes & ATTR_CONTROL) {
    throw new StorageError('INVALID_RECORD', `Clients are not allowed to write control records ${where}`);
  }
  const baseSequence = buf.readInt32BE(pos + BATCH_OFFSET_BASE_SEQUENCE);
  if (hasProducerId && baseSequence < 0) {
    throw new StorageError(
      'INVALID_RECORD',
      `Invalid sequence number ${baseSequence} in record batch with producerId ` +
        `${buf.readBigInt64BE(pos + BATCH_OFFSET_PRODUCER_ID)} ${where}`,
    );
  }
}

/**
 * The records section data[start, end), uncompressed, of the batch whose header is at batch[pos]. The
 * header is the client's, not yet stamped: offsets in messages are the client's, as in Kafka's.
 */
function checkRecords(
  data: Buffer,
  start: number,
  end: number,
  batch: Buffer,
  pos: number,
  opts: ValidateOptions,
): void {
  const attributes = batch.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES);
  const count = batch.readInt32BE(pos + BATCH_OFFSET_RECORDS_COUNT);
  const keyless = opts.compacted && (attributes & ATTR_CONTROL) === 0 ? [] : null;
  // Kafka refuses a producer's LogAppendTime batch on a LogAppendTime topic; Brook on any topic (on a
  // CreateTime one Kafka range-checks the batch's maxTimestamp, then stores the batch as CreateTime).
  const appendTime = opts.origin === 'client' && (attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const window = appendTime ? null : (opts.timestamps ?? null);
  if (window !== null) {
    window.baseTimestamp = readInt64(batch, pos + BATCH_OFFSET_BASE_TIMESTAMP);
    window.outOfRange.length = 0;
  }
  const problem = scanRecords(data, start, end, count, keyless, window);
  if (problem !== null) {
    throw new StorageError('INVALID_RECORD', `Found invalid record structure: ${problem}`);
  }
  // The scan bounded `count` by the bytes present: only now may it size a list of errors.
  if (appendTime || (window !== null && window.outOfRange.length > 0)) {
    throw timestampError(batch, pos, count, keyless, window, opts.topicPartition);
  }
  if (keyless !== null && keyless.length > 0) throw keylessError(keyless, opts.topicPartition);
}

function keylessMessage(topicPartition: string): string {
  return `Compacted topic cannot accept message without key in topic partition ${topicPartition}.`;
}

/** Kafka's message and per-record errors (LogValidator.validateKey, processRecordErrors). */
function keylessError(indexes: number[], topicPartition: string): RecordValidationError {
  const message = keylessMessage(topicPartition);
  const errors = indexes.map((batchIndex) => ({ batchIndex, message }));
  const shown = errors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`)
    .join(', ');
  return new RecordValidationError(
    'INVALID_RECORD',
    `One or more records have been rejected due to ${errors.length} record errors in total, and only ` +
      `showing the first three errors at most: [${shown}]`,
    errors,
  );
}

/**
 * INVALID_TIMESTAMP for the batch at batch[pos], as Kafka's LogValidator.validateRecord words it: one error
 * per refused record, a keyless record of a compacted topic keeping its key error (Kafka checks the key
 * first). `window` null: the batch is marked LogAppendTime, so every record is refused for that.
 */
function timestampError(
  batch: Buffer,
  pos: number,
  count: number,
  keyless: number[] | null,
  window: TimestampWindow | null,
  topicPartition: string,
): RecordValidationError {
  const baseOffset = readInt64(batch, pos + BATCH_OFFSET_BASE_OFFSET);
  const keyMessage = keylessMessage(topicPartition);
  const errors: RecordError[] = [];
  for (const batchIndex of keyless ?? []) errors.push({ batchIndex, message: keyMessage });
  if (window === null) {
    const keyError = new Set(keyless);
    for (let i = 0; i < count; i++) {
      if (keyError.has(i)) continue;
      errors.push({
        batchIndex: i,
        message:
          `Invalid timestamp type in message with offset ${baseOffset + i}. ` +
          'Producer should not set timestamp type to LogAppendTime.',
      });
    }
  } else {
    const pairs = window.outOfRange;
    for (let k = 0; k < pairs.length; k += 2) {
      const i = pairs[k]!;
      errors.push({
        batchIndex: i,
        message:
          `Timestamp ${pairs[k + 1]} of message with offset ${baseOffset + i} is out of range. ` +
          `The timestamp should be within [${window.low}, ${window.high}]`,
      });
    }
  }
  errors.sort((a, b) => a.batchIndex - b.batchIndex);
  const first = errors.find((e) => e.message !== keyMessage) ?? errors[0]!;
  return new RecordValidationError(
    'INVALID_TIMESTAMP',
    // Kafka's sentence, then the first timestamp error and how many records were refused in all.
    `One or more records have been rejected due to invalid timestamp: ${first.message}` +
      (errors.length > 1 ? ` (${errors.length} record errors in total)` : ''),
    errors,
  );
}

/** At most this many compressed batches are inflated for validation at once: memory ≤ that × limit. */
const MAX_CONCURRENT_INFLATIONS = 2;
let inflations = 0;
const inflationWaiters: (() => void)[] = [];

/**
 * Inflates each compressed batch of `records` (already framed and CRC-checked by validateRecords)
 * and checks its records as validateRecords does for uncompressed ones. Inflating stops at
 * `maxDecompressedBytes` (MESSAGE_TOO_LARGE); data that does not decode is CORRUPT_MESSAGE.
 */
export async function validateCompressedRecords(
  records: Buffer,
  maxDecompressedBytes: number,
  opts: ValidateOptions,
): Promise<void> {
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    const attributes = records.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES);
    const compression = (attributes & ATTR_COMPRESSION_MASK) as CompressionType;
    if (compression === CompressionType.None) continue;
    const section = records.subarray(pos + BATCH_HEADER_BYTES, pos + batchSizeAt(records, pos));
    if (inflations >= MAX_CONCURRENT_INFLATIONS) await new Promise<void>((r) => inflationWaiters.push(r));
    else inflations++;
    let data: Buffer;
    try {
      data = await decompress(compression, section, maxDecompressedBytes);
    } catch (err) {
      if (!(err instanceof CompressionError)) throw err;
      if (err.tooLarge) {
        throw new StorageError(
          'MESSAGE_TOO_LARGE',
          `${compressionName(compression)} batch at byte ${pos} inflates beyond ${maxDecompressedBytes} bytes`,
        );
      }
      throw new StorageError('CORRUPT_MESSAGE', `record batch at byte ${pos}: ${err.message}`);
    } finally {
      // Hand the slot straight to a waiter, so the count never passes the bound.
      const next = inflationWaiters.shift();
      if (next !== undefined) next();
      else inflations--;
    }
    // `records` is stamped only after this check settles (ReplicaManager.appendInOrder).
    checkRecords(data, 0, data.length, records, pos, opts);
  }
}

/** Kafka does not bound decompression; Brook refuses a batch whose records inflate beyond this. */
export function maxDecompressedBytesFor(maxMessageBytes: number): number {
  return Math.min(256 * 1024 * 1024, Math.max(16 * 1024 * 1024, 64 * maxMessageBytes));
}

/** Rewrites the header fields outside the CRC: baseOffset and partitionLeaderEpoch. */
export function stampBatch(buf: Buffer, pos: number, baseOffset: number, leaderEpoch: number): void {
  buf.writeBigInt64BE(BigInt(baseOffset), pos + BATCH_OFFSET_BASE_OFFSET);
  buf.writeInt32BE(leaderEpoch, pos + BATCH_OFFSET_LEADER_EPOCH);
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

export function isTransactionalBatchAt(buf: Buffer, pos: number): boolean {
  return (buf.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES) & ATTR_TRANSACTIONAL) !== 0;
}

export function leaderEpochAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_OFFSET_LEADER_EPOCH);
}
