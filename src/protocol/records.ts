// Record batch codec, magic v2 (Kafka >= 0.11). Legacy v0/v1 message sets: legacy-records.ts.
// Layout: Kafka's implementation notes §5.3 and src/protocol/batch-header.ts.
//
//   Record =>
//     length: varint            (bytes after this field)
//     attributes: int8          (unused, 0)
//     timestampDelta: varlong   (from baseTimestamp)
//     offsetDelta: varint       (from baseOffset)
//     keyLength: varint, key    (-1 = null)
//     valueLength: varint, value (-1 = null)
//     headersCount: varint, [headerKeyLength: varint, headerKey, headerValueLength: varint, value]
//
// Every varint is zigzag-encoded (protobuf sint32/sint64), including lengths and counts.
//
// Used by tests, the Brook client, the log cleaner and legacy-records.ts. The broker hot
// path never re-encodes a batch a client sent: it only touches header fields in place (batch-header.ts,
// `restampLogAppendTime`).
//
// Decoded keys, values and header values are zero-copy views into the decoded buffer (the caller's buffer
// for uncompressed batches): copy them if that buffer is reused.

import crc from '@node-rs/crc32';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSET_ATTRIBUTES,
  BATCH_OFFSET_BASE_OFFSET,
  BATCH_OFFSET_BASE_SEQUENCE,
  BATCH_OFFSET_BASE_TIMESTAMP,
  BATCH_OFFSET_CRC,
  BATCH_OFFSET_LAST_OFFSET_DELTA,
  BATCH_OFFSET_LEADER_EPOCH,
  BATCH_OFFSET_LENGTH,
  BATCH_OFFSET_MAGIC,
  BATCH_OFFSET_MAX_TIMESTAMP,
  BATCH_OFFSET_PRODUCER_EPOCH,
  BATCH_OFFSET_PRODUCER_ID,
  BATCH_OFFSET_RECORDS_COUNT,
  CompressionType,
} from './batch-header.js';
import {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compress,
  compressSync,
  decompress,
  decompressSync,
} from './compression.js';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  /** Absolute offset (baseOffset + offsetDelta). */
  offset: number;
  /** Milliseconds; for LogAppendTime batches, the batch's maxTimestamp (as Kafka's consumers do). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BatchInfo {
  baseOffset: number;
  lastOffset: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  /** Whole batch, header included. */
  sizeBytes: number;
}

export interface RecordHeaderInput {
  key: string;
  value: Buffer | string | null;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: readonly RecordHeaderInput[];
  /** Milliseconds; defaults to the time the batch is encoded. */
  timestamp?: number;
  /** Absolute offset, for re-encoding with gaps (log cleaner); defaults to baseOffset + index. */
  offset?: number;
}

export interface EncodeBatchOptions {
  baseOffset?: number;
  records: readonly RecordInput[];
  compression?: CompressionType;
  producerId?: bigint | number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /** Control batch (transaction markers); written by the broker only. */
  control?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: TimestampType;
  /** Overrides the last offset delta, e.g. for a cleaned batch whose last records were removed. */
  lastOffsetDelta?: number;
  /** Log cleaner: baseTimestamp becomes the delete horizon and the hasDeleteHorizonMs bit is set. */
  deleteHorizonMs?: number;
}

export interface DecodeOptions {
  /** Check the CRC-32C before decoding (default true). */
  verifyCrc?: boolean;
  maxDecompressedBytes?: number;
}

/** A batch or message that cannot be parsed; maps to Kafka's CORRUPT_MESSAGE. */
export class CorruptRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptRecordError';
  }
}

export const NO_TIMESTAMP = -1;
const TWO_POW_32 = 4294967296;
/** Smallest legacy v0 message entry: offset, size, crc, magic, attributes, key len, value len. */
export const MIN_ENTRY_BYTES = BATCH_LOG_OVERHEAD + 14;

// ---- shared header helpers ----------------------------------------------------------------------

/** CRC-32C (Castagnoli) of buf[start, end). */
export function crc32cOf(buf: Buffer, start: number, end: number): number {
  return crc.crc32c(buf.subarray(start, end)) >>> 0;
}

/**
 * Magic byte of the batch or legacy message at `pos`. Both formats put it at byte 16:
 *   v2 batch:        baseOffset int64 @0, batchLength int32 @8, partitionLeaderEpoch int32 @12, magic @16
 *   v0/v1 message:   offset int64 @0,     messageSize int32 @8, crc int32 @12,                  magic @16
 * and both frame entries as [int64, int32 size of the rest], so `iterateBatches` walks either format.
 */
export function magicAt(buf: Buffer, pos: number): number {
  return buf.readInt8(pos + BATCH_OFFSET_MAGIC);
}

/** Total size of the batch at `pos` if it lies entirely within `buf`, else -1 (partial or bad). */
export function completeSizeAt(buf: Buffer, pos: number): number {
  if (pos + BATCH_LOG_OVERHEAD > buf.length) return -1;
  const size = buf.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
  return pos + size <= buf.length ? size : -1;
}

/**
 * Complete batches (or legacy message entries) of `buf`, in order. Stops quietly at a partial trailing
 * batch, which Fetch responses may end with when the batch crosses max bytes.
 */
export function* iterateBatches(buf: Buffer, start = 0): Generator<{ pos: number; size: number }> {
  let pos = start;
  while (pos + BATCH_LOG_OVERHEAD <= buf.length) {
    const size = buf.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
    if (size < MIN_ENTRY_BYTES) throw new CorruptRecordError(`batch at ${pos} declares ${size} bytes`);
    if (pos + size > buf.length) return;
    yield { pos, size };
    pos += size;
  }
}

export function readBatchInfo(buf: Buffer, pos: number): BatchInfo {
  if (pos + BATCH_HEADER_BYTES > buf.length) throw new CorruptRecordError(`truncated batch header at ${pos}`);
  const magic = magicAt(buf, pos);
  if (magic !== 2) throw new CorruptRecordError(`expected magic 2 at ${pos}, found ${magic}`);
  const sizeBytes = buf.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
  if (sizeBytes < BATCH_HEADER_BYTES)
    throw new CorruptRecordError(`batch at ${pos} declares ${sizeBytes} bytes`);
  const attributes = buf.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES);
  const baseOffset = readInt64(buf, pos + BATCH_OFFSET_BASE_OFFSET);
  return {
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(pos + BATCH_OFFSET_LAST_OFFSET_DELTA),
    partitionLeaderEpoch: buf.readInt32BE(pos + BATCH_OFFSET_LEADER_EPOCH),
    magic,
    crc: buf.readUInt32BE(pos + BATCH_OFFSET_CRC),
    attributes,
    compression: (attributes & ATTR_COMPRESSION_MASK) as CompressionType,
    timestampType: attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    baseTimestamp: readInt64(buf, pos + BATCH_OFFSET_BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, pos + BATCH_OFFSET_MAX_TIMESTAMP),
    producerId: buf.readBigInt64BE(pos + BATCH_OFFSET_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + BATCH_OFFSET_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + BATCH_OFFSET_BASE_SEQUENCE),
    recordsCount: buf.readInt32BE(pos + BATCH_OFFSET_RECORDS_COUNT),
    sizeBytes,
  };
}

/** True when the stored CRC matches; false also for a batch that does not fit in `buf`. */
export function verifyBatchCrc(buf: Buffer, pos: number): boolean {
  const size = completeSizeAt(buf, pos);
  if (size < BATCH_HEADER_BYTES) return false;
  return (
    crc32cOf(buf, pos + BATCH_OFFSET_ATTRIBUTES, pos + size) === buf.readUInt32BE(pos + BATCH_OFFSET_CRC)
  );
}

/**
 * For topics with message.timestamp.type=LogAppendTime: sets the timestamp-type bit and maxTimestamp and
 * recomputes the CRC, in place. Records keep their deltas; readers use maxTimestamp for every record.
 */
export function restampLogAppendTime(buf: Buffer, pos: number, timestampMs: number): void {
  const size = completeSizeAt(buf, pos);
  if (size < BATCH_HEADER_BYTES || magicAt(buf, pos) !== 2) {
    throw new CorruptRecordError(`no complete v2 batch at ${pos}`);
  }
  const attributes = buf.readInt16BE(pos + BATCH_OFFSET_ATTRIBUTES) | ATTR_TIMESTAMP_TYPE_LOG_APPEND;
  buf.writeInt16BE(attributes, pos + BATCH_OFFSET_ATTRIBUTES);
  writeInt64(buf, timestampMs, pos + BATCH_OFFSET_MAX_TIMESTAMP);
  buf.writeUInt32BE(crc32cOf(buf, pos + BATCH_OFFSET_ATTRIBUTES, pos + size), pos + BATCH_OFFSET_CRC);
}

// ---- encoding -----------------------------------------------------------------------------------

export async function encodeBatch(opts: EncodeBatchOptions): Promise<Buffer> {
  const raw = encodeUncompressed(opts);
  const compression = opts.compression ?? CompressionType.None;
  if (compression === CompressionType.None) return sealBatch(raw);
  return sealBatch(withRecords(raw, await compress(compression, raw.subarray(BATCH_HEADER_BYTES))));
}

export function encodeBatchSync(opts: EncodeBatchOptions): Buffer {
  const raw = encodeUncompressed(opts);
  const compression = opts.compression ?? CompressionType.None;
  if (compression === CompressionType.None) return sealBatch(raw);
  return sealBatch(withRecords(raw, compressSync(compression, raw.subarray(BATCH_HEADER_BYTES))));
}

function withRecords(raw: Buffer, records: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + records.length);
  raw.copy(out, 0, 0, BATCH_HEADER_BYTES);
  records.copy(out, BATCH_HEADER_BYTES);
  return out;
}

/** Writes batchLength and CRC, the two fields that depend on the final (maybe compressed) bytes. */
function sealBatch(buf: Buffer): Buffer {
  buf.writeInt32BE(buf.length - BATCH_LOG_OVERHEAD, BATCH_OFFSET_LENGTH);
  buf.writeUInt32BE(crc32cOf(buf, BATCH_OFFSET_ATTRIBUTES, buf.length), BATCH_OFFSET_CRC);
  return buf;
}

function byteLength(data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return -1;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

function writeBytes(buf: Buffer, pos: number, data: Buffer | string): number {
  return pos + (typeof data === 'string' ? buf.write(data, pos, 'utf8') : data.copy(buf, pos));
}

/**
 * The whole batch, uncompressed, with every header field but batchLength and CRC. Two passes: sizes first
 * (so the buffer is allocated once, exactly), then bytes.
 */
function encodeUncompressed(opts: EncodeBatchOptions): Buffer {
  const records = opts.records;
  const n = records.length;
  const baseOffset = opts.baseOffset ?? 0;
  assertSafeInteger(baseOffset, 'baseOffset');
  const now = Date.now();
  const firstTimestamp = n > 0 ? (records[0].timestamp ?? now) : NO_TIMESTAMP;
  const baseTimestamp = opts.deleteHorizonMs ?? firstTimestamp;
  let maxTimestamp = n > 0 ? firstTimestamp : NO_TIMESTAMP;
  const bodySizes = new Int32Array(n);
  let total = BATCH_HEADER_BYTES;
  let prevDelta = -1;

  for (let i = 0; i < n; i++) {
    const r = records[i];
    const timestamp = r.timestamp ?? now;
    assertSafeInteger(timestamp, 'timestamp');
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = r.offset === undefined ? i : r.offset - baseOffset;
    if (!(offsetDelta > prevDelta && offsetDelta <= 0x7fffffff)) {
      throw new RangeError(`record ${i}: offset delta ${offsetDelta} does not follow ${prevDelta}`);
    }
    prevDelta = offsetDelta;
    const keyLen = byteLength(r.key);
    const valueLen = byteLength(r.value);
    let body =
      1 +
      sizeOfVarlong(timestamp - baseTimestamp) +
      sizeOfVarint(offsetDelta) +
      sizeOfVarint(keyLen) +
      Math.max(keyLen, 0) +
      sizeOfVarint(valueLen) +
      Math.max(valueLen, 0);
    const headers = r.headers;
    const headerCount = headers === undefined ? 0 : headers.length;
    body += sizeOfVarint(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const header = (headers as readonly RecordHeaderInput[])[h];
      const hk = byteLength(header.key);
      const hv = byteLength(header.value);
      body += sizeOfVarint(hk) + hk + sizeOfVarint(hv) + Math.max(hv, 0);
    }
    bodySizes[i] = body;
    total += sizeOfVarint(body) + body;
  }
  const lastOffsetDelta = opts.lastOffsetDelta ?? prevDelta;
  if (lastOffsetDelta < prevDelta || (n === 0 && opts.lastOffsetDelta === undefined)) {
    throw new RangeError(`lastOffsetDelta ${lastOffsetDelta} is invalid for ${n} records`);
  }

  const buf = Buffer.allocUnsafe(total);
  let pos = BATCH_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const r = records[i];
    pos = writeVarint(buf, pos, bodySizes[i]);
    buf[pos++] = 0; // record attributes
    pos = writeVarlong(buf, pos, (r.timestamp ?? now) - baseTimestamp);
    pos = writeVarint(buf, pos, r.offset === undefined ? i : r.offset - baseOffset);
    pos = writeNullableBytes(buf, pos, r.key);
    pos = writeNullableBytes(buf, pos, r.value);
    const headers = r.headers;
    const headerCount = headers === undefined ? 0 : headers.length;
    pos = writeVarint(buf, pos, headerCount);
    for (let h = 0; h < headerCount; h++) {
      const header = (headers as readonly RecordHeaderInput[])[h];
      pos = writeVarint(buf, pos, Buffer.byteLength(header.key, 'utf8'));
      pos = writeBytes(buf, pos, header.key);
      pos = writeNullableBytes(buf, pos, header.value);
    }
  }
  if (pos !== total) throw new Error(`record batch size mismatch: wrote ${pos}, planned ${total}`);

  let attributes = opts.compression ?? CompressionType.None;
  if (opts.timestampType === 'LogAppendTime') attributes |= ATTR_TIMESTAMP_TYPE_LOG_APPEND;
  if (opts.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (opts.control) attributes |= ATTR_CONTROL;
  if (opts.deleteHorizonMs !== undefined) attributes |= ATTR_DELETE_HORIZON;
  writeInt64(buf, baseOffset, BATCH_OFFSET_BASE_OFFSET);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, BATCH_OFFSET_LEADER_EPOCH);
  buf.writeInt8(2, BATCH_OFFSET_MAGIC);
  buf.writeInt16BE(attributes, BATCH_OFFSET_ATTRIBUTES);
  buf.writeInt32BE(lastOffsetDelta, BATCH_OFFSET_LAST_OFFSET_DELTA);
  writeInt64(buf, baseTimestamp, BATCH_OFFSET_BASE_TIMESTAMP);
  writeInt64(buf, maxTimestamp, BATCH_OFFSET_MAX_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(opts.producerId ?? -1), BATCH_OFFSET_PRODUCER_ID);
  buf.writeInt16BE(opts.producerEpoch ?? -1, BATCH_OFFSET_PRODUCER_EPOCH);
  buf.writeInt32BE(opts.baseSequence ?? -1, BATCH_OFFSET_BASE_SEQUENCE);
  buf.writeInt32BE(n, BATCH_OFFSET_RECORDS_COUNT);
  return buf;
}

function writeNullableBytes(buf: Buffer, pos: number, data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, byteLength(data));
  return writeBytes(buf, pos, data);
}

// ---- decoding -----------------------------------------------------------------------------------

export async function decodeBatch(
  buf: Buffer,
  pos: number,
  opts: DecodeOptions = {},
): Promise<{ info: BatchInfo; records: Record[] }> {
  const info = checkedInfo(buf, pos, opts);
  const section = buf.subarray(pos + BATCH_HEADER_BYTES, pos + info.sizeBytes);
  const maxBytes = opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  return { info, records: decodeRecords(info, await decompress(info.compression, section, maxBytes)) };
}

export function decodeBatchSync(
  buf: Buffer,
  pos: number,
  opts: DecodeOptions = {},
): { info: BatchInfo; records: Record[] } {
  const info = checkedInfo(buf, pos, opts);
  const section = buf.subarray(pos + BATCH_HEADER_BYTES, pos + info.sizeBytes);
  const maxBytes = opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  return { info, records: decodeRecords(info, decompressSync(info.compression, section, maxBytes)) };
}

function checkedInfo(buf: Buffer, pos: number, opts: DecodeOptions): BatchInfo {
  const info = readBatchInfo(buf, pos);
  if (pos + info.sizeBytes > buf.length) throw new CorruptRecordError(`partial batch at ${pos}`);
  if (opts.verifyCrc !== false && !verifyBatchCrc(buf, pos)) {
    throw new CorruptRecordError(`CRC mismatch in batch at offset ${info.baseOffset}`);
  }
  return info;
}

// Read cursor for the synchronous record parser: module state instead of a per-call object or closure.
let cur = 0;
let curEnd = 0;

function decodeRecords(info: BatchInfo, data: Buffer): Record[] {
  const count = info.recordsCount;
  // Each record takes at least 7 bytes: a bound that keeps a corrupt count from driving the loop.
  if (count < 0 || count * 7 > data.length) {
    throw new CorruptRecordError(`batch at offset ${info.baseOffset} declares ${count} records`);
  }
  const logAppend = info.timestampType === 'LogAppendTime';
  const records: Record[] = new Array<Record>(count);
  cur = 0;
  curEnd = data.length;
  for (let i = 0; i < count; i++) {
    const length = readVarint(data);
    const end = cur + length;
    if (length < 6 || end > curEnd) throw corrupt(info, `record ${i} length ${length}`);
    cur++; // attributes: unused
    const timestampDelta = readVarlong(data);
    const offsetDelta = readVarint(data);
    const key = readNullableBytes(data, info);
    const value = readNullableBytes(data, info);
    const headerCount = readVarint(data);
    if (headerCount < 0 || headerCount > end - cur)
      throw corrupt(info, `record ${i} header count ${headerCount}`);
    const headers: RecordHeader[] = new Array<RecordHeader>(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const keyLength = readVarint(data);
      if (keyLength < 0 || cur + keyLength > curEnd)
        throw corrupt(info, `record ${i} header key length ${keyLength}`);
      const headerKey = data.toString('utf8', cur, cur + keyLength);
      cur += keyLength;
      headers[h] = { key: headerKey, value: readNullableBytes(data, info) };
    }
    if (cur !== end)
      throw corrupt(info, `record ${i} declares ${length} bytes but holds ${cur - end + length}`);
    records[i] = {
      offset: info.baseOffset + offsetDelta,
      timestamp: logAppend ? info.maxTimestamp : info.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    };
  }
  if (cur !== curEnd) throw corrupt(info, `${curEnd - cur} bytes after the last record`);
  return records;
}

/**
 * A CreateTime timestamp window for scanRecords (message.timestamp.before/after.max.ms). One object serves
 * every batch of a request: the caller sets `baseTimestamp` per batch; the scan only pushes to `outOfRange`.
 */
export interface TimestampWindow {
  /** The batch's baseTimestamp: a record's timestamp is baseTimestamp + its timestampDelta. */
  baseTimestamp: number;
  /** Oldest accepted timestamp: now - message.timestamp.before.max.ms. */
  low: number;
  /** Newest accepted timestamp: now + message.timestamp.after.max.ms. */
  high: number;
  /** Receives (record index, timestamp) pairs, flat, for records outside [low, high]. */
  outOfRange: number[];
}

/**
 * Checks, without decoding, that `count` records fill data[start, end) exactly as Kafka's
 * DefaultRecord parser would read them: every length varint within bounds, each record's offset delta
 * equal to its index (so the batch consumes exactly lastOffsetDelta + 1 offsets), keys, values and
 * headers inside their record, no bytes left over. Returns what is wrong, or null. `keyless`, when
 * given, collects the indexes of records without a key (compacted topics refuse them per record);
 * `timestamps`, when given, collects the records whose timestamp lies outside its window (a keyless
 * record collected in `keyless` is not also checked, as Kafka reports one error per record), except
 * records without a timestamp (-1), as Kafka's LogValidator skips them.
 * One tight loop over varints and no allocation: it runs for every produced batch.
 */
export function scanRecords(
  data: Buffer,
  start: number,
  end: number,
  count: number,
  keyless: number[] | null,
  timestamps: TimestampWindow | null = null,
): string | null {
  let p = start;
  // Compared as deltas from baseTimestamp, small integers: absolute timestamps (~2^40) are doubles,
  // which V8 would box into a fresh heap number for every record.
  let lowDelta = 0;
  let highDelta = 0;
  let noTimestampDelta = 0;
  if (timestamps !== null) {
    lowDelta = timestamps.low - timestamps.baseTimestamp;
    highDelta = timestamps.high - timestamps.baseTimestamp;
    noTimestampDelta = NO_TIMESTAMP - timestamps.baseTimestamp;
  }
  for (let i = 0; i < count; i++) {
    let timestampDelta = 0;
    const length = varintAt(data, p);
    p = cur;
    const recordEnd = p + length;
    // attributes, timestamp delta, offset delta, key length, value length, header count: >= 6 bytes
    if (p < 0 || p > end || length < 6 || recordEnd > end) return `record ${i} declares ${length} bytes`;
    p++; // attributes: unused
    if (timestamps === null) {
      const from = p;
      while (data[p++]! >= 0x80) if (p >= recordEnd) return `record ${i} timestamp delta overruns it`;
      if (p - from > 10) return `record ${i} timestamp delta of ${p - from} bytes`;
    } else {
      timestampDelta = varlongAt(data, p);
      p = cur;
      if (p < 0 || p >= recordEnd) return `record ${i} timestamp delta overruns it`;
    }
    const offsetDelta = varintAt(data, p);
    p = cur;
    if (offsetDelta !== i || p < 0) return `record ${i} has offset delta ${offsetDelta}`;
    const keyLength = varintAt(data, p);
    p = cur;
    if (p < 0 || keyLength < -1 || p + keyLength > recordEnd) return `record ${i} key of ${keyLength} bytes`;
    if (keyLength >= 0) p += keyLength;
    if (keyLength < 0 && keyless !== null) keyless.push(i);
    else if (
      timestamps !== null &&
      (timestampDelta < lowDelta || timestampDelta > highDelta) &&
      timestampDelta !== noTimestampDelta
    ) {
      timestamps.outOfRange.push(i, timestamps.baseTimestamp + timestampDelta);
    }
    const valueLength = varintAt(data, p);
    p = cur;
    if (p < 0 || valueLength < -1 || p + valueLength > recordEnd) {
      return `record ${i} value of ${valueLength} bytes`;
    }
    if (valueLength > 0) p += valueLength;
    const headerCount = varintAt(data, p);
    p = cur;
    if (p < 0 || headerCount < 0 || headerCount > recordEnd - p)
      return `record ${i} header count ${headerCount}`;
    for (let h = 0; h < headerCount; h++) {
      const headerKeyLength = varintAt(data, p);
      p = cur;
      if (p < 0 || headerKeyLength < 0 || p + headerKeyLength > recordEnd) {
        return `record ${i} header key of ${headerKeyLength} bytes`;
      }
      p += headerKeyLength;
      const headerValueLength = varintAt(data, p);
      p = cur;
      if (p < 0 || headerValueLength < -1 || p + headerValueLength > recordEnd) {
        return `record ${i} header value of ${headerValueLength} bytes`;
      }
      if (headerValueLength > 0) p += headerValueLength;
    }
    if (p !== recordEnd) return `record ${i} declares ${length} bytes but holds ${length - recordEnd + p}`;
  }
  return p === end ? null : `${end - p} bytes after the last of ${count} records`;
}

/**
 * The zigzag varint at data[pos], unrolled (three times faster than a loop here); leaves the position
 * after it in `cur`, or -1 when it runs over 5 bytes. Reads past the end yield undefined, which ends
 * the varint: callers compare the new position against their bound.
 */
function varintAt(data: Buffer, pos: number): number {
  let b = data[pos++]!;
  let v = b & 0x7f;
  if (b >= 0x80) {
    b = data[pos++]!;
    v |= (b & 0x7f) << 7;
    if (b >= 0x80) {
      b = data[pos++]!;
      v |= (b & 0x7f) << 14;
      if (b >= 0x80) {
        b = data[pos++]!;
        v |= (b & 0x7f) << 21;
        if (b >= 0x80) {
          b = data[pos++]!;
          v |= (b & 0x7f) << 28;
          if (b >= 0x80) pos = -1;
        }
      }
    }
  }
  cur = pos;
  return (v >>> 1) ^ -(v & 1);
}

/**
 * The zigzag varlong at data[pos] (a record's timestampDelta), exact below 2^53; leaves the position after
 * it in `cur`, or -1 when it runs over 10 bytes. One byte, the common case (records of one millisecond),
 * takes the first branch. Reads past the end yield undefined and end it, as in varintAt.
 */
function varlongAt(data: Buffer, pos: number): number {
  let b = data[pos++]!;
  if (b < 0x80) {
    cur = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let v = b & 0x7f;
  let scale = 0x80;
  for (let n = 1; b >= 0x80; n++) {
    if (n === 10) {
      cur = -1;
      return 0;
    }
    b = data[pos++]!;
    v += (b & 0x7f) * scale;
    scale *= 0x80;
  }
  cur = pos;
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

function corrupt(info: BatchInfo, what: string): CorruptRecordError {
  return new CorruptRecordError(`batch at offset ${info.baseOffset}: ${what}`);
}

function readNullableBytes(data: Buffer, info: BatchInfo): Buffer | null {
  const length = readVarint(data);
  if (length < 0) return null;
  if (cur + length > curEnd) throw corrupt(info, `field of ${length} bytes overruns the batch`);
  const out = data.subarray(cur, cur + length);
  cur += length;
  return out;
}

// ---- varints and int64 --------------------------------------------------------------------------

/** Zigzag varint of a 32-bit signed value. */
function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function sizeOfVarint(value: number): number {
  const v = ((value << 1) ^ (value >> 31)) >>> 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;

/** Zigzag varlong; exact for |value| < 2^52, which covers every millisecond timestamp delta. */
function writeVarlong(buf: Buffer, pos: number, value: number): number {
  // Inside the int32 range, zigzag-64 and zigzag-32 produce the same bytes.
  if (value >= INT32_MIN && value <= INT32_MAX) return writeVarint(buf, pos, value);
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

function sizeOfVarlong(value: number): number {
  if (value >= INT32_MIN && value <= INT32_MAX) return sizeOfVarint(value);
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    size++;
  }
  return size;
}

function readVarint(buf: Buffer): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (cur >= curEnd) throw new CorruptRecordError('truncated varint');
    const b = buf[cur++];
    v |= (b & 0x7f) << shift;
    if (b < 0x80) return (v >>> 1) ^ -(v & 1);
  }
  throw new CorruptRecordError('varint longer than 5 bytes');
}

function readVarlong(buf: Buffer): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++, scale *= 0x80) {
    if (cur >= curEnd) throw new CorruptRecordError('truncated varlong');
    const b = buf[cur++];
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }
  throw new CorruptRecordError('varlong longer than 10 bytes');
}

/** int64 as a JS number (exact below 2^53): avoids BigInt on the per-batch path. */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

function writeInt64(buf: Buffer, value: number, pos: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

function assertSafeInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} ${value} is not a safe integer`);
}
