// Legacy message sets (magic 0 and 1, Kafka < 0.11), converted to one v2 batch on the way in: produce
// validation of old clients, and the Brook client when a fetch returns them. Layout per entry:
//
//   Message =>
//     offset: int64, messageSize: int32, crc: int32 (CRC-32 IEEE, magic to end),
//     magic: int8, attributes: int8, [timestamp: int64 (v1 only)], key: bytes, value: bytes
//
// A compressed message's value is itself a message set (one level deep).

import crc from '@node-rs/crc32';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  BATCH_OFFSET_MAGIC,
  CompressionType,
} from './batch-header.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, decompress, decompressLegacyLz4 } from './compression.js';
import {
  CorruptRecordError,
  INT32_MAX,
  MIN_ENTRY_BYTES,
  NO_TIMESTAMP,
  type RecordInput,
  completeSizeAt,
  encodeBatch,
  magicAt,
  readInt64,
} from './records.js';

interface LegacyRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ConvertLegacyOptions {
  /** Compression of the v2 batch; defaults to the codec of the first compressed wrapper, else none. */
  compression?: CompressionType;
  maxDecompressedBytes?: number;
}

/** True when the entry at `pos` is a magic v0/v1 message rather than a v2 batch. */
export function isLegacyMessageSet(buf: Buffer, pos = 0): boolean {
  return buf.length >= pos + BATCH_OFFSET_MAGIC + 1 && magicAt(buf, pos) < 2;
}

/**
 * Converts a v0/v1 message set into one v2 batch, so the broker can accept Produce requests from old
 * clients (sarama with an old Version, kafka-python talking to what it thinks is an old broker).
 * Compressed wrapper messages are unpacked; v1 inner offsets are relative to the wrapper (whose offset is
 * that of the last inner message). Offsets are kept when strictly increasing, else renumbered from the
 * first: producers' offsets are placeholders the broker replaces anyway. v0 messages have no timestamp and
 * get -1 (NO_TIMESTAMP), as Kafka's own up-conversion does.
 */
export async function convertLegacyMessageSet(buf: Buffer, opts: ConvertLegacyOptions = {}): Promise<Buffer> {
  const state = {
    compression: opts.compression,
    maxBytes: opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
  };
  const out: LegacyRecord[] = [];
  await readMessageSet(buf, false, out, state);
  if (out.length === 0) throw new CorruptRecordError('empty message set');
  let increasing = true;
  for (let i = 1; i < out.length && increasing; i++) increasing = out[i].offset > out[i - 1].offset;
  const baseOffset = Math.max(out[0].offset, 0);
  increasing &&= out[0].offset >= 0 && out[out.length - 1].offset - baseOffset <= INT32_MAX;
  const records: RecordInput[] = new Array<RecordInput>(out.length);
  for (let i = 0; i < out.length; i++) {
    const m = out[i];
    records[i] = {
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      offset: increasing ? m.offset : baseOffset + i,
    };
  }
  return encodeBatch({ baseOffset, records, compression: state.compression ?? CompressionType.None });
}

async function readMessageSet(
  buf: Buffer,
  inner: boolean,
  out: LegacyRecord[],
  state: { compression: CompressionType | undefined; maxBytes: number },
): Promise<void> {
  let pos = 0;
  while (pos < buf.length) {
    const size = completeSizeAt(buf, pos);
    if (size < MIN_ENTRY_BYTES) throw new CorruptRecordError(`truncated or invalid legacy message at ${pos}`);
    const end = pos + size;
    const offset = readInt64(buf, pos);
    const magic = buf.readInt8(pos + BATCH_OFFSET_MAGIC);
    if (magic !== 0 && magic !== 1) {
      throw new CorruptRecordError(`legacy message at ${pos} has magic ${magic}`);
    }
    // Legacy messages use CRC-32 (IEEE), from the magic byte to the end of the value.
    if (crc.crc32(buf.subarray(pos + BATCH_OFFSET_MAGIC, end)) >>> 0 !== buf.readUInt32BE(pos + 12)) {
      throw new CorruptRecordError(`CRC mismatch in legacy message at ${pos}`);
    }
    const attributes = buf[pos + 17];
    let p = pos + 18;
    let timestamp = NO_TIMESTAMP;
    if (magic === 1) {
      if (p + 8 > end) throw new CorruptRecordError(`truncated legacy message at ${pos}`);
      timestamp = readInt64(buf, p);
      p += 8;
    }
    const key = legacyBytes(buf, p, end);
    p += 4 + (key === null ? 0 : key.length);
    const value = legacyBytes(buf, p, end);
    p += 4 + (value === null ? 0 : value.length);
    if (p !== end) throw new CorruptRecordError(`legacy message at ${pos} has ${end - p} trailing bytes`);

    const compression = (attributes & ATTR_COMPRESSION_MASK) as CompressionType;
    if (compression === CompressionType.None) {
      out.push({ offset, timestamp, key, value });
    } else {
      if (inner) throw new CorruptRecordError('nested compressed legacy message');
      if (value === null) throw new CorruptRecordError(`compressed legacy message at ${pos} has no value`);
      state.compression ??= compression;
      const data =
        compression === CompressionType.Lz4 && magic === 0
          ? await decompressLegacyLz4(value, state.maxBytes)
          : await decompress(compression, value, state.maxBytes);
      const first = out.length;
      await readMessageSet(data, true, out, state);
      const lastRelative = out.length > first ? out[out.length - 1].offset : 0;
      const logAppend = magic === 1 && (attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
      for (let i = first; i < out.length; i++) {
        if (magic === 1) out[i].offset = offset - lastRelative + out[i].offset;
        if (logAppend) out[i].timestamp = timestamp;
      }
    }
    pos = end;
  }
}

function legacyBytes(buf: Buffer, pos: number, end: number): Buffer | null {
  if (pos + 4 > end) throw new CorruptRecordError(`truncated legacy message field at ${pos}`);
  const length = buf.readInt32BE(pos);
  if (length < 0) return null;
  if (pos + 4 + length > end)
    throw new CorruptRecordError(`legacy message field at ${pos} overruns the message`);
  return buf.subarray(pos + 4, pos + 4 + length);
}
