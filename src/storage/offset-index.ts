// Sparse offset index of one segment, Kafka's format: entries of (relative offset int32,
// position int32), one per indexIntervalBytes of log. Kept in memory as the same bytes that go
// to the .index file, so persisting is one write and loading is one read.

import { invariant } from './errors.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INITIAL_CAPACITY_ENTRIES = 64;

export class OffsetIndex {
  private entries: Buffer;
  private count = 0;

  constructor(
    readonly baseOffset: number,
    /** Upper bound on entries: a segment cannot hold more than segmentBytes / interval of them. */
    private readonly maxEntries: number,
  ) {
    this.entries = Buffer.alloc(Math.min(INITIAL_CAPACITY_ENTRIES, maxEntries) * OFFSET_INDEX_ENTRY_BYTES);
  }

  get entryCount(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** The batch starting at `offset` begins at byte `position` of the segment. */
  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    invariant(rel >= 0 && rel <= 0x7fffffff, `index offset ${offset} outside segment ${this.baseOffset}`);
    if (this.count > 0) {
      invariant(rel > this.relOffsetAt(this.count - 1), `index offsets must grow (${offset})`);
      invariant(position > this.positionAt(this.count - 1), `index positions must grow (${position})`);
    }
    if (this.isFull) return; // bounded: lookups just scan a little further
    this.ensureCapacity(this.count + 1);
    const at = this.count * OFFSET_INDEX_ENTRY_BYTES;
    this.entries.writeInt32BE(rel, at);
    this.entries.writeInt32BE(position, at + 4);
    this.count++;
  }

  /** Position of the last indexed batch whose base offset is <= `offset`, or 0. */
  lookup(offset: number): { offset: number; position: number } {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relOffsetAt(mid) <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.relOffsetAt(found), position: this.positionAt(found) };
  }

  lastEntry(): { offset: number; position: number } | null {
    if (this.count === 0) return null;
    return {
      offset: this.baseOffset + this.relOffsetAt(this.count - 1),
      position: this.positionAt(this.count - 1),
    };
  }

  /** Drops entries for batches at or after `offset` (truncation). */
  truncateTo(offset: number): void {
    while (this.count > 0 && this.baseOffset + this.relOffsetAt(this.count - 1) >= offset) this.count--;
  }

  toBuffer(): Buffer {
    return this.entries.subarray(0, this.count * OFFSET_INDEX_ENTRY_BYTES);
  }

  /** Appends this index's entries at or after file position `position` to `into` (index repair). */
  copyEntriesFrom(position: number, into: OffsetIndex): void {
    for (let i = 0; i < this.count; i++) {
      if (this.positionAt(i) >= position)
        into.append(this.baseOffset + this.relOffsetAt(i), this.positionAt(i));
    }
  }

  /**
   * Loads a persisted index; returns null when it is not a sane index for a file of `fileBytes`
   * holding offsets below `nextOffset` (Kafka's OffsetIndex.sanityCheck, and then some): whole
   * entries, offsets and positions strictly growing, every entry inside the segment.
   */
  static fromBuffer(
    baseOffset: number,
    maxEntries: number,
    buf: Buffer,
    fileBytes: number,
    nextOffset = Number.MAX_SAFE_INTEGER,
  ): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const n = buf.length / OFFSET_INDEX_ENTRY_BYTES;
    const index = new OffsetIndex(baseOffset, Math.max(maxEntries, n));
    index.entries = Buffer.from(buf);
    index.count = n;
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = index.relOffsetAt(i);
      const pos = index.positionAt(i);
      if (rel <= prevRel || pos <= prevPos || pos >= fileBytes || baseOffset + rel >= nextOffset) return null;
      prevRel = rel;
      prevPos = pos;
    }
    return index;
  }

  private relOffsetAt(i: number): number {
    return this.entries.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
  }

  private positionAt(i: number): number {
    return this.entries.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
  }

  private ensureCapacity(entries: number): void {
    const needBytes = entries * OFFSET_INDEX_ENTRY_BYTES;
    if (needBytes <= this.entries.length) return;
    const grown = Buffer.alloc(Math.min(Math.max(needBytes, this.entries.length * 2), this.maxEntries * 8));
    this.entries.copy(grown, 0, 0, this.count * OFFSET_INDEX_ENTRY_BYTES);
    this.entries = grown;
  }
}
