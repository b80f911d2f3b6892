// The aborted-transaction index of one partition, after Kafka's TransactionIndex: one
// `<base offset>.txnindex` file per segment, holding the transactions whose ABORT marker is in that
// segment, in Kafka's on-disk format (34-byte entries: version int16 = 0, producerId int64,
// firstOffset int64, lastOffset int64, lastStableOffset int64). A read_committed Fetch returns the
// entries overlapping what it serves, so clients drop aborted records.
//
// All entries are also kept in memory, ordered by lastOffset (markers are appended in offset order):
// a partition sees few aborts, and Fetch must not read files for them. The files are what a restart
// trusts: the loader reads them, drops the entries at and after the producer-state replay point and
// lets the replay of the log add those back, so a crash never loses or duplicates an entry.
// Deleting a segment deletes its entries and file, as in Kafka.

import { appendFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readOptional, writeFileAtomic } from './checkpoint-file.js';
import { offsetFileName } from './log-segment.js';

export const TXN_INDEX_SUFFIX = '.txnindex';
const ENTRY_BYTES = 34;
const ENTRY_VERSION = 0;

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  lastStableOffset: number;
}

interface IndexedTxn extends AbortedTxn {
  /** Base offset of the segment whose .txnindex holds it. */
  segment: number;
}

export class AbortedTxnIndex {
  private entries: IndexedTxn[] = [];
  /** File writes run one after another, so appends and rewrites of a file never interleave. */
  private chain: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Reads the .txnindex of every segment; files of segments that are gone are deleted. */
  static async load(dir: string, segmentBases: readonly number[]): Promise<AbortedTxnIndex> {
    const index = new AbortedTxnIndex(dir);
    const bases = new Set(segmentBases);
    const names = (await readdir(dir)).filter((n) => /^\d{20}\.txnindex$/.test(n));
    const orphans = names.filter((n) => !bases.has(Number(n.slice(0, 20))));
    await Promise.all(orphans.map((n) => unlink(join(dir, n)).catch(() => {})));
    for (const base of segmentBases) {
      const buf = await readOptional(index.pathFor(base));
      if (buf === null) continue;
      // A torn last entry (crash mid-append) is ignored: the replay re-adds what it described.
      for (let p = 0; p + ENTRY_BYTES <= buf.length; p += ENTRY_BYTES) {
        if (buf.readInt16BE(p) !== ENTRY_VERSION) break;
        index.entries.push({
          segment: base,
          producerId: Number(buf.readBigInt64BE(p + 2)),
          firstOffset: Number(buf.readBigInt64BE(p + 10)),
          lastOffset: Number(buf.readBigInt64BE(p + 18)),
          lastStableOffset: Number(buf.readBigInt64BE(p + 26)),
        });
      }
    }
    index.entries.sort((a, b) => a.lastOffset - b.lastOffset);
    return index;
  }

  get size(): number {
    return this.entries.length;
  }

  private pathFor(base: number): string {
    return join(this.dir, offsetFileName(base, TXN_INDEX_SUFFIX));
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Records an aborted transaction whose marker went into segment `segment`; resolves when on disk. */
  add(segment: number, txn: AbortedTxn): Promise<void> {
    this.entries.push({ segment, ...txn });
    const buf = encodeEntry(txn);
    return this.enqueue(() => appendFile(this.pathFor(segment), buf));
  }

  /**
   * The aborted transactions a read_committed fetch of [fetchOffset, upperBound) must report: those
   * whose marker is at or after fetchOffset and whose first record is before upperBound.
   */
  collect(fetchOffset: number, upperBound: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    if (this.entries.length === 0) return out;
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.firstOffset < upperBound) out.push(e);
    }
    return out;
  }

  /** Drops entries whose marker is at or after `offset` (truncation, replay) and rewrites their files. */
  truncateFrom(offset: number): Promise<void> {
    const doomed = this.entries.filter((e) => e.lastOffset >= offset);
    if (doomed.length === 0) return Promise.resolve();
    this.entries = this.entries.filter((e) => e.lastOffset < offset);
    return this.rewrite(new Set(doomed.map((e) => e.segment)));
  }

  /**
   * Log cleaner: removes these entries (objects `collect` returned; entries added since, e.g. after
   * a truncation, are other objects and stay) and rewrites their files. Called once the cleaned
   * segments are in place: the transactions removed here have no data left in the log.
   */
  remove(txns: readonly AbortedTxn[]): Promise<void> {
    const doomed = new Set<AbortedTxn>(txns);
    const gone = this.entries.filter((e) => doomed.has(e));
    if (gone.length === 0) return Promise.resolve();
    this.entries = this.entries.filter((e) => !doomed.has(e));
    return this.rewrite(new Set(gone.map((e) => e.segment)));
  }

  /** Rewrites the files of `segments` from the entries in memory (deleted when none is left). */
  private rewrite(segments: ReadonlySet<number>): Promise<void> {
    const kept = this.entries;
    return this.enqueue(async () => {
      for (const segment of segments) {
        const remaining = kept.filter((e) => e.segment === segment);
        if (remaining.length === 0) await unlink(this.pathFor(segment)).catch(() => {});
        else await writeFileAtomic(this.pathFor(segment), Buffer.concat(remaining.map(encodeEntry)));
      }
    });
  }

  /** Segments deleted (retention, DeleteRecords): their entries and files go with them. */
  dropSegments(bases: readonly number[]): Promise<void> {
    const set = new Set(bases);
    this.entries = this.entries.filter((e) => !set.has(e.segment));
    return this.enqueue(async () => {
      await Promise.all(bases.map((b) => unlink(this.pathFor(b)).catch(() => {})));
    });
  }

  /** Everything gone (a follower restarting its log elsewhere). */
  clear(): Promise<void> {
    const segments = [...new Set(this.entries.map((e) => e.segment))];
    this.entries = [];
    return this.dropSegments(segments);
  }

  /** Resolves when every file write issued so far has finished. */
  drain(): Promise<void> {
    return this.chain;
  }
}

function encodeEntry(txn: AbortedTxn): Buffer {
  const buf = Buffer.alloc(ENTRY_BYTES);
  buf.writeInt16BE(ENTRY_VERSION, 0);
  buf.writeBigInt64BE(BigInt(txn.producerId), 2);
  buf.writeBigInt64BE(BigInt(txn.firstOffset), 10);
  buf.writeBigInt64BE(BigInt(txn.lastOffset), 18);
  buf.writeBigInt64BE(BigInt(txn.lastStableOffset), 26);
  return buf;
}
