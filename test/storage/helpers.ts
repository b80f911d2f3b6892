// Builds valid v2 record batches for storage tests without depending on the full codec.

import { crc32c } from '@node-rs/crc32';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestampDelta?: number;
}

export interface BatchOptions {
  baseOffset?: number;
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  attributes?: number;
  partitionLeaderEpoch?: number;
}

function zigzagVarint(n: number): Buffer {
  let v = BigInt(n);
  v = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const bytes: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}

function encodeRecord(r: TestRecord, offsetDelta: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]),
    zigzagVarint(r.timestampDelta ?? 0),
    zigzagVarint(offsetDelta),
    r.key == null ? zigzagVarint(-1) : Buffer.concat([zigzagVarint(r.key.length), r.key]),
    r.value === null ? zigzagVarint(-1) : Buffer.concat([zigzagVarint(r.value.length), r.value]),
    zigzagVarint(0),
  ]);
  return Buffer.concat([zigzagVarint(body.length), body]);
}

export function buildBatch(records: TestRecord[], opts: BatchOptions = {}): Buffer {
  const baseTimestamp = opts.baseTimestamp ?? 1_700_000_000_000;
  const body = Buffer.concat(records.map((r, i) => encodeRecord(r, i)));
  const header = Buffer.alloc(61);
  const maxDelta = Math.max(...records.map((r) => r.timestampDelta ?? 0));
  header.writeBigInt64BE(BigInt(opts.baseOffset ?? 0), 0);
  header.writeInt32BE(61 - 12 + body.length, 8);
  header.writeInt32BE(opts.partitionLeaderEpoch ?? -1, 12);
  header.writeInt8(2, 16);
  header.writeInt16BE(opts.attributes ?? 0, 21);
  header.writeInt32BE(records.length - 1, 23);
  header.writeBigInt64BE(BigInt(baseTimestamp), 27);
  header.writeBigInt64BE(BigInt(baseTimestamp + maxDelta), 35);
  header.writeBigInt64BE(BigInt(opts.producerId ?? -1), 43);
  header.writeInt16BE(opts.producerEpoch ?? -1, 51);
  header.writeInt32BE(opts.baseSequence ?? -1, 53);
  header.writeInt32BE(records.length, 57);
  const batch = Buffer.concat([header, body]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** A batch of `count` records whose values are `size` bytes each, tagged with `tag` for checks. */
export function valueBatch(count: number, size: number, tag: string, opts: BatchOptions = {}): Buffer {
  return buildBatch(
    Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`${tag}:${i}:`.padEnd(size, 'x')) })),
    opts,
  );
}

/** Walks concatenated batches: [{ baseOffset, lastOffset, size, maxTimestamp }]. */
export function listBatches(
  buf: Buffer,
): Array<{ baseOffset: number; lastOffset: number; size: number; maxTimestamp: number }> {
  const out = [];
  for (let p = 0; p + 12 <= buf.length;) {
    const size = buf.readInt32BE(p + 8) + 12;
    const baseOffset = Number(buf.readBigInt64BE(p));
    out.push({
      baseOffset,
      lastOffset: baseOffset + buf.readInt32BE(p + 23),
      size,
      maxTimestamp: Number(buf.readBigInt64BE(p + 35)),
    });
    p += size;
  }
  return out;
}

export function crcValid(buf: Buffer, pos = 0): boolean {
  const size = buf.readInt32BE(pos + 8) + 12;
  return crc32c(buf.subarray(pos + 21, pos + size)) === buf.readUInt32BE(pos + 17);
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'brook-storage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function testConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...defaultLogConfig, ...overrides };
}

/** Damages one byte of a file in place (XOR with `mask`), as bit rot would. */
export async function flipByte(path: string, position: number, mask = 0xff): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, position);
    b[0] = b[0]! ^ mask;
    await fh.write(b, 0, 1, position);
  } finally {
    await fh.close();
  }
}
