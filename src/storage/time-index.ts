// Sparse time index of one segment, Kafka's format: entries of (timestamp int64, relative
// offset int32). An entry (T, O) means "the batch at O holds the largest timestamp seen so far,
// T". Entries are only added when T grows, so both columns are monotonic and binary-searchable.

import { invariant } from './errors.js';

export const TIME_INDEX_ENTRY_BYTES = 12;
const INITIAL_CAPACITY_ENTRIES = 64;

export class TimeIndex {
  private entries: Buffer;
  private count = 0;

  constructor(
    readonly baseOffset: number,
    private readonly maxEntries: number,
  ) {
    this.entries = Buffer.alloc(Math.min(INITIAL_CAPACITY_ENTRIES, maxEntries) * TIME_INDEX_ENTRY_BYTES);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Adds (timestampMs, offset) when the timestamp is newer than the last entry; `force` ignores the bound. */
  maybeAppend(timestampMs: number, offset: number, force = false): void {
    if (timestampMs < 0) return; // batches without timestamps (-1) are not searchable by time
    const last = this.lastEntry();
    if (last !== null && timestampMs <= last.timestampMs) return;
    if (last !== null) invariant(offset >= last.offset, `time index offsets must grow (${offset})`);
    if (this.count >= this.maxEntries && !force) return;
    if (this.count >= this.maxEntries) this.count--; // keep the final (largest) entry when full
    this.ensureCapacity(this.count + 1);
    const at = this.count * TIME_INDEX_ENTRY_BYTES;
    this.entries.writeBigInt64BE(BigInt(timestampMs), at);
    this.entries.writeInt32BE(offset - this.baseOffset, at + 8);
    this.count++;
  }

  /** The last entry whose timestamp is strictly below `timestampMs`: every batch up to it is older. */
  lookupBelow(timestampMs: number): { timestampMs: number; offset: number } | null {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampAt(mid) < timestampMs) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : { timestampMs: this.timestampAt(found), offset: this.offsetAt(found) };
  }

  lastEntry(): { timestampMs: number; offset: number } | null {
    if (this.count === 0) return null;
    return { timestampMs: this.timestampAt(this.count - 1), offset: this.offsetAt(this.count - 1) };
  }

  truncateTo(offset: number): void {
    while (this.count > 0 && this.offsetAt(this.count - 1) >= offset) this.count--;
  }

  toBuffer(): Buffer {
    return this.entries.subarray(0, this.count * TIME_INDEX_ENTRY_BYTES);
  }

  static fromBuffer(
    baseOffset: number,
    maxEntries: number,
    buf: Buffer,
    nextOffset: number,
  ): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const n = buf.length / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(baseOffset, Math.max(maxEntries, n));
    index.entries = Buffer.from(buf);
    index.count = n;
    let prevTs = -1;
    let prevOffset = baseOffset - 1;
    for (let i = 0; i < n; i++) {
      const ts = index.timestampAt(i);
      const off = index.offsetAt(i);
      if (ts <= prevTs || off < prevOffset || off >= nextOffset) return null;
      prevTs = ts;
      prevOffset = off;
    }
    return index;
  }

  /**
   * Reads only the last entry of a persisted time index (the segment's largest timestamp), or null
   * when `buf` is not a sane final entry for offsets [baseOffset, nextOffset): retention acts on
   * this timestamp, so a garbage one must never be believed.
   */
  static lastEntryOf(
    buf: Buffer,
    baseOffset: number,
    nextOffset: number,
  ): { timestampMs: number; offset: number } | null {
    if (buf.length < TIME_INDEX_ENTRY_BYTES || buf.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const at = buf.length - TIME_INDEX_ENTRY_BYTES;
    const timestampMs = Number(buf.readBigInt64BE(at));
    const offset = baseOffset + buf.readInt32BE(at + 8);
    if (timestampMs < 0 || offset < baseOffset || offset >= nextOffset) return null;
    return { timestampMs, offset };
  }

  private timestampAt(i: number): number {
    return Number(this.entries.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES));
  }

  private offsetAt(i: number): number {
    return this.baseOffset + this.entries.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
  }

  private ensureCapacity(entries: number): void {
    const needBytes = entries * TIME_INDEX_ENTRY_BYTES;
    if (needBytes <= this.entries.length) return;
    const grown = Buffer.alloc(Math.max(needBytes, this.entries.length * 2));
    this.entries.copy(grown, 0, 0, this.count * TIME_INDEX_ENTRY_BYTES);
    this.entries = grown;
  }
}
