// The most recently appended batches of a partition, kept in memory so that consumers reading at the
// end of the log (the common case: a consumer keeping up with producers) are answered without a
// disk read. Kafka leans on the OS page cache for this; a read through Node's file API still costs a
// thread-pool round trip per fetch, which dominates at small message rates.
//
// Entries are whole batches in offset order, contiguous up to the log end. Reads follow the same
// rules as LogSegment.read: whole batches, the first one containing the fetch offset, nothing at or
// past maxOffset, at most maxBytes unless minOneBatch. A fetch below the first cached batch misses
// and goes to disk.

interface CachedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Buffer;
}

/** Default bound per partition. */
export const TAIL_CACHE_BYTES = 4 * 1024 * 1024;

export class TailCache {
  private batches: CachedBatch[] = [];
  private head = 0;
  private sizeBytes = 0;

  constructor(private readonly maxBytes = TAIL_CACHE_BYTES) {}

  /**
   * Remembers one appended batch. A batch that is a small view into a much larger buffer (the
   * request's socket chunk) is copied, so the cache never pins memory it does not count.
   */
  add(bytes: Buffer, baseOffset: number, lastOffset: number): void {
    if (bytes.length > this.maxBytes) {
      this.clear();
      return;
    }
    const last = this.batches[this.batches.length - 1];
    if (last !== undefined && baseOffset <= last.lastOffset) {
      this.clear(); // not contiguous (cannot happen for appends; be safe rather than wrong)
    }
    const owned = bytes.buffer.byteLength > 2 * bytes.length ? Buffer.from(bytes) : bytes;
    this.batches.push({ baseOffset, lastOffset, bytes: owned });
    this.sizeBytes += owned.length;
    while (this.sizeBytes > this.maxBytes && this.head < this.batches.length) {
      this.sizeBytes -= this.batches[this.head]!.bytes.length;
      this.batches[this.head++] = undefined as unknown as CachedBatch;
    }
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }

  /** Batches for a fetch, or null when `fetchOffset` is older than what the cache holds. */
  read(fetchOffset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): Buffer | null {
    if (this.head >= this.batches.length || fetchOffset < this.batches[this.head]!.baseOffset) return null;
    // Consumers read near the end: search from the newest batch backwards.
    let i = this.batches.length - 1;
    while (i > this.head && this.batches[i - 1]!.lastOffset >= fetchOffset) i--;
    const parts: Buffer[] = [];
    let total = 0;
    for (; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.lastOffset < fetchOffset) continue;
      if (b.lastOffset >= maxOffset) break;
      if (total + b.bytes.length > maxBytes && !(minOneBatch && parts.length === 0)) break;
      parts.push(b.bytes);
      total += b.bytes.length;
    }
    if (parts.length === 1) return parts[0]!;
    return Buffer.concat(parts, total);
  }

  clear(): void {
    this.batches = [];
    this.head = 0;
    this.sizeBytes = 0;
  }
}
