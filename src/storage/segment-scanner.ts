// Walks the batch headers of a segment file through one reusable block buffer, so scanning a
// segment (fetch positioning, recovery, index rebuild) costs one read per block, not per batch.

import type { FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import {
  BATCH_HEADER_BYTES,
  BATCH_OFFSET_ATTRIBUTES,
  BATCH_OFFSET_CRC,
  BATCH_OFFSET_LAST_OFFSET_DELTA,
  BATCH_OFFSET_MAGIC,
  baseOffsetAt,
  batchSizeAt,
} from '../protocol/batch-header.js';
import { verifyBatchCrc } from '../protocol/records.js';

export const DEFAULT_SCAN_BLOCK_BYTES = 64 * 1024;

/** Reads exactly `length` bytes unless the file ends first; returns the bytes read. */
export async function readFully(
  fh: FileHandle,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

export class SegmentScanner {
  /** Bytes of the current window, valid in buf[0, windowBytes). */
  buf: Buffer;
  private windowStart = 0;
  private windowBytes = 0;

  constructor(
    private readonly fh: FileHandle,
    /** Exclusive end of the region we may read (committed size, or file size in recovery). */
    readonly end: number,
    blockBytes = DEFAULT_SCAN_BLOCK_BYTES,
  ) {
    this.buf = Buffer.allocUnsafe(blockBytes);
  }

  /**
   * Makes file bytes [pos, pos + want) available in `buf` (clamped to `end`) and returns the
   * index in `buf` where `pos` sits; `availableAt(pos)` says how many bytes are there.
   */
  async load(pos: number, want: number): Promise<number> {
    const need = Math.max(0, Math.min(want, this.end - pos));
    if (pos >= this.windowStart && pos + need <= this.windowStart + this.windowBytes) {
      return pos - this.windowStart;
    }
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    const len = Math.min(this.buf.length, this.end - pos);
    this.windowStart = pos;
    this.windowBytes = len > 0 ? await readFully(this.fh, this.buf, 0, len, pos) : 0;
    return 0;
  }

  /** Bytes of the window from `pos` on (0 when `pos` is outside it). */
  availableAt(pos: number): number {
    if (pos < this.windowStart) return 0;
    return Math.max(0, this.windowStart + this.windowBytes - pos);
  }

  /** CRC-32C of the batch at `pos`, streamed block by block so a large batch needs no large buffer. */
  async crcMatches(pos: number, size: number): Promise<boolean> {
    let at = await this.load(pos, BATCH_OFFSET_ATTRIBUTES);
    if (this.availableAt(pos) < BATCH_OFFSET_ATTRIBUTES) return false;
    const expected = this.buf.readUInt32BE(at + BATCH_OFFSET_CRC);
    let crc = 0;
    let p = pos + BATCH_OFFSET_ATTRIBUTES;
    const stop = pos + size;
    while (p < stop) {
      at = await this.load(p, Math.min(stop - p, this.buf.length));
      const n = Math.min(this.availableAt(p), stop - p);
      if (n <= 0) return false;
      crc = crc32c(this.buf.subarray(at, at + n), crc);
      p += n;
    }
    return crc === expected;
  }
}

/**
 * True when the header at `buf[at]` (file position `pos`) can be stepped over: magic 2, a length
 * that covers at least a header and ends by `end`, offsets that do not run backwards. A scan that
 * trusted a damaged length could jump anywhere, or loop forever on a length of zero.
 */
export function isWalkableHeader(buf: Buffer, at: number, pos: number, end: number): boolean {
  const size = batchSizeAt(buf, at);
  return (
    size >= BATCH_HEADER_BYTES &&
    pos + size <= end &&
    buf.readInt8(at + BATCH_OFFSET_MAGIC) === 2 &&
    buf.readInt32BE(at + BATCH_OFFSET_LAST_OFFSET_DELTA) >= 0 &&
    baseOffsetAt(buf, at) >= 0
  );
}

/**
 * Position of the first batch in `buf[0, end)` (whole batches) that fails its CRC or is not a v2
 * batch, or -1. Reads check what they serve so that bit rot on disk surfaces as CORRUPT_MESSAGE
 * instead of a batch every client drops and asks for again, forever.
 */
export function firstCorruptBatch(buf: Buffer, end: number): number {
  for (let p = 0; p < end; p += batchSizeAt(buf, p)) {
    if (!isWalkableHeader(buf, p, p, end)) return p;
    if (!verifyBatchCrc(buf, p)) return p;
  }
  return -1;
}
