// One segment of a partition log: <base>.log holding raw v2 batches, plus its sparse
// <base>.index (OffsetIndex) and <base>.timeindex (TimeIndex). Index entries are built in memory
// as batches are appended and written to disk when the segment is sealed (roll, clean close);
// a crash loses them, and recovery rebuilds them from the .log.

import { open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  baseOffsetAt,
  batchSizeAt,
  lastOffsetAt,
  maxTimestampAt,
} from '../protocol/batch-header.js';
import { fsyncDir } from './fsync-dir.js';
import { CorruptBatchError, invariant, StorageError } from './errors.js';
import { OffsetIndex } from './offset-index.js';
import { segmentFiles, type CachedFile } from './open-file-cache.js';
import { decodeBatch } from '../protocol/records.js';
import { checkBatch } from './record-batches.js';
import { firstCorruptBatch, isWalkableHeader, readFully, SegmentScanner } from './segment-scanner.js';
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from './time-index.js';

export function offsetFileName(offset: number, suffix: string): string {
  return `${String(offset).padStart(20, '0')}${suffix}`;
}

/**
 * Log cleaner swap protocol (after Kafka's): a cleaned segment is written as `<base>.log.cleaned`
 * (+ `.index.cleaned`, `.timeindex.cleaned`) and fsynced; renaming the log to `<base>.log.swap`
 * commits it; the `.swap` files are then renamed over the originals. On load, `.cleaned` files are
 * discarded and a `.log.swap` is finished (see completeInterruptedSwaps).
 */
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
const SEGMENT_FILE_EXTENSIONS = ['.index', '.timeindex', '.log'] as const;

export interface SegmentSettings {
  segmentBytes: number;
  indexIntervalBytes: number;
}

/** Called for every batch header met during a scan; `at` indexes the header inside `buf`. */
export type BatchVisitor = (buf: Buffer, at: number) => void;

/** A record found by timestamp (ListOffsets), with the leader epoch of its batch. */
export interface TimestampAndOffset {
  offset: number;
  timestampMs: number;
  leaderEpoch: number;
}

/** Blocks of 1 MiB keep recovery and rebuild scans to few syscalls. */
const RECOVERY_BLOCK_BYTES = 1024 * 1024;

export class LogSegment {
  /** Bytes reserved by appends (some may still be in flight). */
  sizeBytes = 0;
  /** Bytes whose writes have completed, as a contiguous prefix: reads never go past this. */
  readableBytes = 0;
  /** Offset after the last batch reserved in this segment. */
  nextOffset: number;
  maxTimestampMs = -1;
  offsetOfMaxTimestamp: number;
  /** When the segment started, for segment.ms rolls: first batch timestamp or creation time. */
  rollingBaseMs = -1;
  private bytesSinceLastIndexEntry = 0;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private indexesLoading: Promise<void> | null = null;
  /** The `.log`, opened on demand and closed when idle by the process's bounded OpenFileCache. */
  private readonly file: CachedFile;
  private refs = 0;
  private readonly writeQueue: QueuedWrite[] = [];
  private writing = false;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  /** holdFileOpen() was called: the handle stays open until close(). */
  private fileHeld = false;
  /** nextOffset/maxTimestamp came from neighbours and the time index, not from a scan. */
  private sealedBounds = false;
  /**
   * The directory was fsynced since this segment's file appeared in it. Until then an fsync of the
   * file alone does not survive power loss (the file itself may vanish), so the first flush or seal
   * also fsyncs the directory (Kafka's LocalLog.flush does the same for new segments). False for
   * opened segments too: after a crash their entry may still sit only in the page cache.
   */
  private dirEntryDurable = false;
  /** Times a persisted offset index proved wrong and was rebuilt from the .log (the owner logs it). */
  indexRepairs = 0;
  private indexRepair: Promise<void> | null = null;
  /** Base offsets of CRC-damaged batches that recover() kept because valid batches follow them. */
  corruptBatchOffsets: number[] = [];

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly settings: SegmentSettings,
    fileName: string,
    createFlags: 'w+' | 'r+',
  ) {
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
    this.file = segmentFiles.file(join(dir, fileName), createFlags);
  }

  get logPath(): string {
    return join(this.dir, offsetFileName(this.baseOffset, '.log'));
  }
  get indexPath(): string {
    return join(this.dir, offsetFileName(this.baseOffset, '.index'));
  }
  get timeIndexPath(): string {
    return join(this.dir, offsetFileName(this.baseOffset, '.timeindex'));
  }

  private get maxIndexEntries(): number {
    return Math.floor(this.settings.segmentBytes / Math.max(1, this.settings.indexIntervalBytes)) + 1;
  }

  /** A new, empty segment. Synchronous so a roll decided during an append needs no await. */
  static create(dir: string, baseOffset: number, settings: SegmentSettings, nowMs: number): LogSegment {
    const seg = new LogSegment(dir, baseOffset, settings, offsetFileName(baseOffset, '.log'), 'w+');
    seg.offsetIndex = new OffsetIndex(baseOffset, seg.maxIndexEntries);
    seg.timeIndex = new TimeIndex(baseOffset, seg.maxIndexEntries);
    seg.indexesLoading = Promise.resolve();
    seg.rollingBaseMs = nowMs;
    return seg;
  }

  /**
   * Log cleaner: an empty segment replacing the one at `baseOffset`, written to `<base>.log.cleaned`
   * until commitCleaned() renames it into place. Nobody else sees it until UnifiedLog swaps it in.
   */
  static createCleaned(
    dir: string,
    baseOffset: number,
    settings: SegmentSettings,
    rollingBaseMs: number,
  ): LogSegment {
    const seg = new LogSegment(
      dir,
      baseOffset,
      settings,
      offsetFileName(baseOffset, '.log') + CLEANED_SUFFIX,
      'w+',
    );
    seg.offsetIndex = new OffsetIndex(baseOffset, seg.maxIndexEntries);
    seg.timeIndex = new TimeIndex(baseOffset, seg.maxIndexEntries);
    seg.indexesLoading = Promise.resolve();
    seg.rollingBaseMs = rollingBaseMs;
    return seg;
  }

  /**
   * An existing segment file; the caller then runs recover(), loadTail() or setSealedInfo(). Only a stat:
   * the file is opened when first read, so loading a log holds no descriptor per segment.
   */
  static async openExisting(dir: string, baseOffset: number, settings: SegmentSettings): Promise<LogSegment> {
    const name = offsetFileName(baseOffset, '.log');
    const { size } = await stat(join(dir, name));
    const seg = new LogSegment(dir, baseOffset, settings, name, 'r+');
    seg.sizeBytes = seg.readableBytes = size;
    return seg;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  get isIndexFull(): boolean {
    return this.offsetIndex?.isFull ?? false;
  }

  /**
   * Reserves file space for `records` (already stamped with offsets) and indexes each batch.
   * Synchronous: the caller issues write() with the returned position afterwards.
   */
  reserve(records: Buffer, nowMs: number): number {
    invariant(!this.closed, `append to closed segment ${this.baseOffset}`);
    invariant(this.offsetIndex !== null && this.timeIndex !== null, 'append before indexes loaded');
    const position = this.sizeBytes;
    if (this.isEmpty) this.rollingBaseMs = nowMs;
    for (let p = 0; p < records.length; p += batchSizeAt(records, p)) {
      this.indexBatch(records, p, position + p, this.offsetIndex, this.timeIndex);
    }
    this.sizeBytes += records.length;
    invariant(this.sizeBytes <= 0x7fffffff, `segment ${this.baseOffset} exceeds 2 GiB`);
    return position;
  }

  private indexBatch(buf: Buffer, at: number, filePos: number, oi: OffsetIndex, ti: TimeIndex): void {
    const base = baseOffsetAt(buf, at);
    invariant(base >= this.nextOffset, `offsets must grow: ${base} < ${this.nextOffset}`);
    const maxTs = maxTimestampAt(buf, at);
    if (maxTs > this.maxTimestampMs) {
      this.maxTimestampMs = maxTs;
      this.offsetOfMaxTimestamp = base;
    }
    if (this.bytesSinceLastIndexEntry > this.settings.indexIntervalBytes) {
      oi.append(base, filePos);
      ti.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batchSizeAt(buf, at);
    this.nextOffset = lastOffsetAt(buf, at) + 1;
  }

  /**
   * Writes `buf` at `position`. Appends arrive faster than the disk completes them, so while one write
   * is in flight the next ones queue up and go to the file together in one writev: fewer system calls
   * and thread-pool hops, and the file grows in order. Positions were reserved in append order, so the
   * queue is one contiguous run.
   */
  write(buf: Buffer, position: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.writeQueue.push({ buf, position, resolve, reject });
      if (!this.writing) void this.drainWrites();
    });
  }

  private async drainWrites(): Promise<void> {
    this.writing = true;
    this.refs++;
    let fh: FileHandle | null = null;
    try {
      fh = await this.file.acquire();
      while (this.writeQueue.length > 0) {
        const run = this.takeContiguousRun();
        try {
          await writevFully(
            fh,
            run.map((w) => w.buf),
            run[0]!.position,
          );
        } catch (err) {
          for (const w of run) w.reject(err as Error);
          continue;
        }
        for (const w of run) w.resolve();
      }
    } catch (err) {
      for (const w of this.writeQueue.splice(0)) w.reject(err as Error);
    } finally {
      if (fh !== null) this.file.release();
      this.writing = false;
      this.release();
    }
  }

  private takeContiguousRun(): QueuedWrite[] {
    const queue = this.writeQueue;
    let end = queue[0]!.position;
    let n = 0;
    while (n < queue.length && n < MAX_WRITEV_BUFFERS && queue[n]!.position === end) {
      end += queue[n]!.buf.length;
      n++;
    }
    return queue.splice(0, n);
  }

  /**
   * Creates the segment's file on disk (empty), without fsync: a new partition shows its first
   * segment at once, as Kafka's does. Its directory entry is made durable by the first flush().
   */
  async createFile(): Promise<void> {
    if (this.closed) return;
    this.refs++;
    try {
      await this.file.use(async () => undefined);
    } finally {
      this.release();
    }
  }

  async flush(): Promise<void> {
    if (this.closed) return;
    this.refs++;
    try {
      await this.file.use((fh) => fh.datasync());
      if (!this.dirEntryDurable) {
        await fsyncDir(this.dir);
        this.dirEntryDurable = true;
      }
    } finally {
      this.release();
    }
  }

  /**
   * Whole batches starting with the one that contains `fetchOffset`, at most `maxBytes` (but one
   * batch anyway when `minOneBatch`), stopping before any batch reaching `maxOffset`.
   * Returns null when this segment holds no batch at or after `fetchOffset`.
   */
  async read(
    fetchOffset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
  ): Promise<Buffer | null> {
    if (this.closed) return null; // deleted by retention after the caller looked it up
    const fh = await this.retainFile();
    try {
      await this.ensureIndexes();
      const limit = this.readableBytes;
      const scanner = new SegmentScanner(fh, limit);
      let pos = await this.positionFor(fetchOffset, scanner);
      while (pos < limit) {
        const at = await scanner.load(pos, BATCH_HEADER_BYTES);
        if (scanner.availableAt(pos) < BATCH_HEADER_BYTES) break;
        if (!isWalkableHeader(scanner.buf, at, pos, limit)) {
          throw this.corruptBatch(fetchOffset, this.nextOffset, `unreadable batch header at ${pos}`);
        }
        if (lastOffsetAt(scanner.buf, at) >= fetchOffset) break;
        pos += batchSizeAt(scanner.buf, at);
      }
      if (pos >= limit) return null;
      const want = Math.min(Math.max(maxBytes, 0), limit - pos);
      let out = Buffer.allocUnsafe(want);
      const got = await readFully(fh, out, 0, want, pos);
      let end = 0;
      while (end + BATCH_LOG_OVERHEAD <= got) {
        const size = batchSizeAt(out, end);
        // A damaged length ends the run; the next fetch starts at it and answers CORRUPT_MESSAGE.
        if (size < BATCH_HEADER_BYTES || end + size > got || lastOffsetAt(out, end) >= maxOffset) break;
        end += size;
      }
      if (end === 0 && minOneBatch) {
        const at = await scanner.load(pos, BATCH_HEADER_BYTES);
        if (lastOffsetAt(scanner.buf, at) >= maxOffset) return Buffer.alloc(0);
        const size = batchSizeAt(scanner.buf, at);
        invariant(pos + size <= limit, `batch at ${pos} of segment ${this.baseOffset} crosses readable end`);
        out = Buffer.allocUnsafe(size);
        end = await readFully(fh, out, 0, size, pos);
      }
      // Serve the batches before a damaged one; the damaged one itself is an error, not silence.
      const bad = firstCorruptBatch(out, end);
      if (bad === 0) {
        const base = baseOffsetAt(out, 0);
        throw this.corruptBatch(base, await this.offsetAfter(scanner, pos, base), `CRC mismatch at ${pos}`);
      }
      return out.subarray(0, bad > 0 ? bad : end);
    } finally {
      this.releaseFile();
    }
  }

  /**
   * Where to start scanning for `offset`: the index's position, checked to be the start of the
   * batch the index says it is (one header, in the block the scan reads next anyway). A wrong
   * entry (a shifted or stale .index) gets the index rebuilt from the .log instead of a scan that
   * starts mid-batch and finds nothing, forever.
   */
  private async positionFor(offset: number, scanner: SegmentScanner): Promise<number> {
    const entry = this.offsetIndex!.lookup(offset);
    if (entry.position === 0) return 0;
    const at = await scanner.load(entry.position, BATCH_HEADER_BYTES);
    if (
      scanner.availableAt(entry.position) >= BATCH_HEADER_BYTES &&
      baseOffsetAt(scanner.buf, at) === entry.offset &&
      isWalkableHeader(scanner.buf, at, entry.position, scanner.end)
    ) {
      return entry.position;
    }
    await this.repairOffsetIndex();
    return this.offsetIndex!.lookup(offset).position;
  }

  /**
   * Rebuilds the offset index from the .log while appends may go on: the scan covers the bytes
   * readable now, and entries appended meanwhile (built from the appends, so right) are carried
   * over. Only the offset index: time index entries hold offsets, not positions.
   */
  private repairOffsetIndex(): Promise<void> {
    this.indexRepair ??= this.file
      .use(async (fh) => {
        this.indexRepairs++;
        const end = this.readableBytes;
        const fresh = new OffsetIndex(this.baseOffset, this.maxIndexEntries);
        const scanner = new SegmentScanner(fh, end, RECOVERY_BLOCK_BYTES);
        let sinceEntry = 0;
        for (let pos = 0; pos < end;) {
          const at = await scanner.load(pos, BATCH_HEADER_BYTES);
          if (scanner.availableAt(pos) < BATCH_HEADER_BYTES || !isWalkableHeader(scanner.buf, at, pos, end))
            break;
          if (sinceEntry > this.settings.indexIntervalBytes) {
            fresh.append(baseOffsetAt(scanner.buf, at), pos);
            sinceEntry = 0;
          }
          sinceEntry += batchSizeAt(scanner.buf, at);
          pos += batchSizeAt(scanner.buf, at);
        }
        this.offsetIndex!.copyEntriesFrom(end, fresh);
        this.offsetIndex = fresh;
        // A sealed segment is not sealed again: put the repaired index on disk now (best effort).
        if (this.sealedBounds) await writeWhole(this.indexPath, fresh.toBuffer()).catch(() => undefined);
      })
      .finally(() => (this.indexRepair = null));
    return this.indexRepair;
  }

  private corruptBatch(batchBaseOffset: number, resumeOffset: number, what: string): CorruptBatchError {
    return new CorruptBatchError(
      batchBaseOffset,
      resumeOffset,
      `corrupt batch at offset ${batchBaseOffset} in segment ${this.logPath}: ${what}`,
    );
  }

  /** The first offset after the damaged batch at `pos`: the next batch's base when it looks sound. */
  private async offsetAfter(scanner: SegmentScanner, pos: number, base: number): Promise<number> {
    const at = await scanner.load(pos, BATCH_HEADER_BYTES);
    const next = pos + batchSizeAt(scanner.buf, at);
    if (isWalkableHeader(scanner.buf, at, pos, scanner.end) && next < scanner.end) {
      const nat = await scanner.load(next, BATCH_HEADER_BYTES);
      if (
        scanner.availableAt(next) >= BATCH_HEADER_BYTES &&
        isWalkableHeader(scanner.buf, nat, next, scanner.end) &&
        baseOffsetAt(scanner.buf, nat) > base
      ) {
        return baseOffsetAt(scanner.buf, nat);
      }
    }
    return Math.max(this.nextOffset, base + 1);
  }

  /**
   * ListOffsets by timestamp, as Kafka's LogSegment.findOffsetByTimestamp: the first batch whose
   * maxTimestamp reaches `timestampMs` (time index, then a header scan), then inside it the first
   * record at or after `startOffset` whose own timestamp reaches it. A batch's max timestamp only
   * says some record reaches the target, so the batch is decoded (decompressed if need be).
   */
  async findByTimestamp(timestampMs: number, startOffset: number): Promise<TimestampAndOffset | null> {
    return this.withBatches(
      (time) => time.lookupBelow(timestampMs)?.offset ?? null,
      (buf, at) => maxTimestampAt(buf, at) >= timestampMs && lastOffsetAt(buf, at) >= startOffset,
      (r) => r.timestamp >= timestampMs && r.offset >= startOffset,
    );
  }

  /**
   * ListOffsets MAX_TIMESTAMP (-3), as Kafka 3.8+: the first record carrying the segment's largest
   * timestamp (for LogAppendTime batches every record does, so the batch's first).
   */
  async findMaxTimestamp(): Promise<TimestampAndOffset | null> {
    const maxTs = this.maxTimestampMs;
    if (maxTs < 0) return null;
    return this.withBatches(
      () => this.offsetOfMaxTimestamp,
      (buf, at) => maxTimestampAt(buf, at) === maxTs,
      (r) => r.timestamp === maxTs,
    );
  }

  /**
   * Scans batch headers from the batch holding `startOffset` (null: the first), decodes the first
   * batch `batchMatches` accepts and returns its first record `recordMatches` accepts, with the
   * batch's leader epoch; when no record of that batch qualifies the scan goes on.
   */
  private async withBatches(
    startOffset: (time: TimeIndex) => number | null,
    batchMatches: (buf: Buffer, at: number) => boolean,
    recordMatches: (r: { offset: number; timestamp: number }) => boolean,
  ): Promise<TimestampAndOffset | null> {
    if (this.closed) return null;
    const fh = await this.retainFile();
    try {
      await this.ensureIndexes();
      const scanner = new SegmentScanner(fh, this.readableBytes);
      const from = startOffset(this.timeIndex!);
      let pos = from === null ? 0 : await this.positionFor(from, scanner);
      while (pos < this.readableBytes) {
        let at = await scanner.load(pos, BATCH_HEADER_BYTES);
        if (scanner.availableAt(pos) < BATCH_HEADER_BYTES) break;
        if (!isWalkableHeader(scanner.buf, at, pos, this.readableBytes)) break;
        const size = batchSizeAt(scanner.buf, at);
        if (batchMatches(scanner.buf, at)) {
          at = await scanner.load(pos, size);
          if (scanner.availableAt(pos) < size) break;
          // Sealed segments are not CRC-checked at a clean start: damage fails here, not as garbage.
          const { info, records } = await decodeBatch(scanner.buf, at, { verifyCrc: true });
          const record = records.find(recordMatches);
          if (record !== undefined) {
            return {
              offset: record.offset,
              timestampMs: record.timestamp,
              leaderEpoch: info.partitionLeaderEpoch,
            };
          }
        }
        pos += size;
      }
      return null;
    } finally {
      this.releaseFile();
    }
  }

  /**
   * An open `.log` plus a reference that makes close()/delete() wait; releaseFile() gives both back. Taken
   * before anything else: a cleaner swap renames a new file over this one's name, and a read already under
   * way must keep reading the old data.
   */
  private async retainFile(): Promise<FileHandle> {
    this.refs++;
    try {
      return await this.file.acquire();
    } catch (err) {
      this.release();
      throw err;
    }
  }

  private releaseFile(): void {
    this.file.release();
    this.release();
  }

  /** Runs `fn` between retainFile() and releaseFile(). */
  private async withFile<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    const fh = await this.retainFile();
    try {
      return await fn(fh);
    } finally {
      this.releaseFile();
    }
  }

  /** Visits every batch header whose last offset is >= `fromOffset` (producer state / epoch rebuild). */
  async forEachBatch(fromOffset: number, visit: BatchVisitor): Promise<void> {
    if (this.closed) return;
    const fh = await this.retainFile();
    try {
      await this.ensureIndexes();
      const scanner = new SegmentScanner(fh, this.readableBytes, RECOVERY_BLOCK_BYTES);
      let pos = await this.positionFor(fromOffset, scanner);
      while (pos < this.readableBytes) {
        const at = await scanner.load(pos, BATCH_HEADER_BYTES);
        if (scanner.availableAt(pos) < BATCH_HEADER_BYTES) break;
        if (!isWalkableHeader(scanner.buf, at, pos, this.readableBytes)) break;
        if (lastOffsetAt(scanner.buf, at) >= fromOffset) visit(scanner.buf, at);
        pos += batchSizeAt(scanner.buf, at);
      }
    } finally {
      this.releaseFile();
    }
  }

  /**
   * Validates every batch (length inside the file, magic 2, CRC, offsets growing), truncates the
   * file at the first bad one and rebuilds the indexes. Returns how many bytes were cut off.
   * A batch whose header is sound but whose CRC fails is not a torn write when a valid batch
   * follows it (here, or as `followingBaseOffset`, the next segment's base): it is kept, listed in
   * corruptBatchOffsets and answered as CORRUPT_MESSAGE, so one flipped bit does not delete every
   * later batch of the log.
   */
  recover(followingBaseOffset?: number): Promise<number> {
    return this.withFile((fh) => this.recoverWith(fh, followingBaseOffset));
  }

  private async recoverWith(fh: FileHandle, followingBaseOffset?: number): Promise<number> {
    const fileBytes = this.sizeBytes;
    const oi = new OffsetIndex(this.baseOffset, this.maxIndexEntries);
    const ti = new TimeIndex(this.baseOffset, this.maxIndexEntries);
    this.resetIndexState();
    const scanner = new SegmentScanner(fh, fileBytes, RECOVERY_BLOCK_BYTES);
    let pos = 0;
    while (pos < fileBytes) {
      const at = await scanner.load(pos, BATCH_HEADER_BYTES);
      const available = fileBytes - pos;
      if (scanner.availableAt(pos) < Math.min(available, BATCH_HEADER_BYTES)) break;
      if (checkBatch(scanner.buf, at, available, false) !== null) break;
      if (baseOffsetAt(scanner.buf, at) < this.nextOffset) break;
      const size = batchSizeAt(scanner.buf, at);
      // The CRC scan may move the window, so take what we need from the header first.
      const header = Buffer.from(scanner.buf.subarray(at, at + BATCH_HEADER_BYTES));
      if (!(await scanner.crcMatches(pos, size))) {
        const after = lastOffsetAt(header, 0) + 1;
        if (!(await this.validBatchFollows(scanner, pos + size, fileBytes, after, followingBaseOffset)))
          break;
        this.corruptBatchOffsets.push(baseOffsetAt(header, 0));
      }
      this.indexBatch(header, 0, pos, oi, ti);
      pos += size;
    }
    const truncated = fileBytes - pos;
    if (truncated > 0) await fh.truncate(pos);
    this.sizeBytes = this.readableBytes = pos;
    this.installIndexes(oi, ti);
    return truncated;
  }

  /** Whether a sound batch (or the next segment, at the file's end) starts at `pos` at or after `minBase`. */
  private async validBatchFollows(
    scanner: SegmentScanner,
    pos: number,
    fileBytes: number,
    minBase: number,
    followingBaseOffset: number | undefined,
  ): Promise<boolean> {
    if (pos >= fileBytes) return followingBaseOffset !== undefined && followingBaseOffset >= minBase;
    const at = await scanner.load(pos, BATCH_HEADER_BYTES);
    if (scanner.availableAt(pos) < BATCH_HEADER_BYTES) return false;
    if (checkBatch(scanner.buf, at, fileBytes - pos, false) !== null) return false;
    if (baseOffsetAt(scanner.buf, at) < minBase) return false;
    return scanner.crcMatches(pos, batchSizeAt(scanner.buf, at));
  }

  /**
   * Clean-start path for the active segment: trust the persisted indexes and scan only from the
   * last index entry to the end of the file (≈ indexIntervalBytes) to find the next offset.
   */
  loadTail(): Promise<void> {
    return this.withFile((fh) => this.loadTailWith(fh));
  }

  private async loadTailWith(fh: FileHandle): Promise<void> {
    // The next offset is what we are looking for; it must not bound index validation.
    this.nextOffset = Number.MAX_SAFE_INTEGER;
    await this.ensureIndexes();
    const lastTime = this.timeIndex!.lastEntry();
    if (lastTime !== null && lastTime.timestampMs > this.maxTimestampMs) {
      this.maxTimestampMs = lastTime.timestampMs;
      this.offsetOfMaxTimestamp = lastTime.offset;
    }
    const scanner = new SegmentScanner(fh, this.sizeBytes);
    // The clean-shutdown marker is a hint: the last index entry is checked (and the index rebuilt
    // when it is wrong), every batch walked must be sound, and a failed check (invariant) sends the
    // loader to recover this partition instead.
    const claimed = this.offsetIndex!.lastEntry();
    if (claimed !== null) await this.positionFor(claimed.offset, scanner);
    const last = this.offsetIndex!.lastEntry();
    let pos = last?.position ?? 0;
    this.nextOffset = last?.offset ?? this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
    while (pos < this.sizeBytes) {
      const at = await scanner.load(pos, BATCH_HEADER_BYTES);
      if (scanner.availableAt(pos) < BATCH_HEADER_BYTES) break;
      invariant(
        isWalkableHeader(scanner.buf, at, pos, this.sizeBytes) &&
          baseOffsetAt(scanner.buf, at) >= this.nextOffset,
        `segment ${this.baseOffset} has an unreadable batch at ${pos}`,
      );
      const ts = maxTimestampAt(scanner.buf, at);
      if (ts > this.maxTimestampMs) {
        this.maxTimestampMs = ts;
        this.offsetOfMaxTimestamp = baseOffsetAt(scanner.buf, at);
      }
      this.bytesSinceLastIndexEntry += batchSizeAt(scanner.buf, at);
      this.nextOffset = lastOffsetAt(scanner.buf, at) + 1;
      pos += batchSizeAt(scanner.buf, at);
    }
    invariant(pos === this.sizeBytes, `segment ${this.baseOffset} tail does not end on a batch boundary`);
    if (this.sizeBytes > 0) {
      const at = await scanner.load(0, BATCH_HEADER_BYTES);
      const firstTs = maxTimestampAt(scanner.buf, at);
      this.rollingBaseMs = firstTs >= 0 ? firstTs : Date.now();
    }
  }

  /** Clean-start path for a sealed segment: bounds come from its neighbours, no scan at all. */
  async setSealedInfo(nextOffset: number): Promise<void> {
    this.nextOffset = nextOffset;
    this.sealedBounds = true;
    const last = await readLastTimeIndexEntry(this.timeIndexPath, this.baseOffset, nextOffset);
    if (last !== null) {
      this.maxTimestampMs = last.timestampMs;
      this.offsetOfMaxTimestamp = last.offset;
      return;
    }
    // Missing or not sane (retention acts on it): load the indexes, rebuilt from the .log if need be.
    await this.ensureIndexes();
    if (this.maxTimestampMs < 0) {
      // Kafka falls back to the file's mtime when a segment has no timestamps.
      this.maxTimestampMs = Math.floor((await stat(this.logPath)).mtimeMs);
    }
  }

  /** Largest timestamp for time retention; segments without timestamps use when they started. */
  get largestTimestampMs(): number {
    return this.maxTimestampMs >= 0 ? this.maxTimestampMs : this.rollingBaseMs;
  }

  /** Loads the persisted indexes once; rebuilds them from the .log when missing or insane. */
  ensureIndexes(): Promise<void> {
    this.indexesLoading ??= this.loadIndexes();
    return this.indexesLoading;
  }

  private async loadIndexes(): Promise<void> {
    const [ibuf, tbuf] = await Promise.all([readOrNull(this.indexPath), readOrNull(this.timeIndexPath)]);
    const oi =
      ibuf &&
      OffsetIndex.fromBuffer(this.baseOffset, this.maxIndexEntries, ibuf, this.sizeBytes, this.nextOffset);
    const ti = tbuf && TimeIndex.fromBuffer(this.baseOffset, this.maxIndexEntries, tbuf, this.nextOffset);
    if (oi && ti) {
      this.installIndexes(oi, ti);
      return;
    }
    // Files that exist but are not sane are damage worth a log line; missing ones are just a crash.
    if (ibuf !== null || tbuf !== null) this.indexRepairs++;
    await this.rebuildIndexes();
  }

  private rebuildIndexes(): Promise<void> {
    return this.file.use((fh) => this.rebuildIndexesWith(fh));
  }

  private async rebuildIndexesWith(fh: FileHandle): Promise<void> {
    const keepNext = this.nextOffset;
    const keepMaxTs = this.maxTimestampMs;
    const keepMaxTsOffset = this.offsetOfMaxTimestamp;
    const oi = new OffsetIndex(this.baseOffset, this.maxIndexEntries);
    const ti = new TimeIndex(this.baseOffset, this.maxIndexEntries);
    this.resetIndexState();
    const scanner = new SegmentScanner(fh, this.sizeBytes, RECOVERY_BLOCK_BYTES);
    for (let pos = 0; pos < this.sizeBytes;) {
      const at = await scanner.load(pos, BATCH_HEADER_BYTES);
      if (scanner.availableAt(pos) < BATCH_HEADER_BYTES) break;
      // A damaged header ends the index here (reads past it answer CORRUPT_MESSAGE), instead of
      // a jump by a garbage length or a broken invariant that would fail every start.
      if (!isWalkableHeader(scanner.buf, at, pos, this.sizeBytes)) break;
      if (baseOffsetAt(scanner.buf, at) < this.nextOffset) break;
      this.indexBatch(scanner.buf, at, pos, oi, ti);
      pos += batchSizeAt(scanner.buf, at);
    }
    ti.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp, true);
    this.installIndexes(oi, ti);
    if (!this.sealedBounds) return;
    // A sealed segment's bounds were set from its neighbours; keep the wider ones.
    this.nextOffset = Math.max(keepNext, this.nextOffset);
    if (keepMaxTs > this.maxTimestampMs) {
      this.maxTimestampMs = keepMaxTs;
      this.offsetOfMaxTimestamp = keepMaxTsOffset;
    }
  }

  private resetIndexState(): void {
    this.nextOffset = this.baseOffset;
    this.maxTimestampMs = -1;
    this.offsetOfMaxTimestamp = this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
  }

  private installIndexes(oi: OffsetIndex, ti: TimeIndex): void {
    this.offsetIndex = oi;
    this.timeIndex = ti;
    this.indexesLoading = Promise.resolve();
  }

  /** Seals the segment: final time index entry, index files written, data fsynced. */
  async seal(): Promise<void> {
    await this.whenIdle();
    // Deleted meanwhile (retention/truncation), or never loaded so the files are unchanged.
    if (this.closed || this.offsetIndex === null || this.timeIndex === null) return;
    this.refs++; // close()/delete() wait for the seal to finish
    try {
      this.timeIndex.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp, true);
      // One file after the other: a shutdown seals every partition's active segment, and three files open
      // per segment at once is what ran a large broker out of descriptors.
      await writeWhole(this.indexPath, this.offsetIndex.toBuffer());
      await writeWhole(this.timeIndexPath, this.timeIndex.toBuffer());
      await this.file.use((fh) => fh.datasync());
      // The index files may be new, and the recovery point moves past this segment once sealed.
      await fsyncDir(this.dir);
      this.dirEntryDurable = true;
    } finally {
      this.release();
    }
  }

  /** Log cleaner: appends batches (offsets already set, growing) to a segment from createCleaned(). */
  async appendCleaned(records: Buffer): Promise<void> {
    const position = this.reserve(records, this.rollingBaseMs);
    await this.write(records, position);
    this.readableBytes = this.sizeBytes;
  }

  /**
   * Log cleaner: writes the `.cleaned` indexes and fsyncs everything. The segment keeps the offset
   * range of the one it replaces (`nextOffset`), and the file's mtime is set to the source's
   * largest timestamp, as Kafka keeps lastModified, so time retention does not restart.
   */
  async sealCleaned(nextOffset: number, sourceLargestTimestampMs: number): Promise<void> {
    invariant(this.offsetIndex !== null && this.timeIndex !== null, 'cleaned segment without indexes');
    this.nextOffset = Math.max(this.nextOffset, nextOffset);
    this.sealedBounds = true;
    this.timeIndex.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp, true);
    const mtime = sourceLargestTimestampMs >= 0 ? sourceLargestTimestampMs / 1000 : Date.now() / 1000;
    await writeWhole(this.indexPath + CLEANED_SUFFIX, this.offsetIndex.toBuffer());
    await writeWhole(this.timeIndexPath + CLEANED_SUFFIX, this.timeIndex.toBuffer());
    await this.file.use(async (fh) => {
      await fh.datasync();
      await fh.utimes(mtime, mtime);
    });
  }

  /**
   * Log cleaner: renames the `.cleaned` files into place (the swap protocol above). The caller has
   * already swapped this segment into the log in memory and pins it, so no delete races the renames.
   */
  async commitCleaned(): Promise<void> {
    const path = (ext: string): string => join(this.dir, offsetFileName(this.baseOffset, ext));
    // Held open across the renames, so no read reopens the file by a name that is changing under it.
    await this.file.use(async () => {
      // The log goes last: its .swap name is the commit point, so it must follow complete indexes.
      for (const ext of SEGMENT_FILE_EXTENSIONS)
        await rename(path(ext) + CLEANED_SUFFIX, path(ext) + SWAP_SUFFIX);
      await fsyncDir(this.dir);
      for (const ext of SEGMENT_FILE_EXTENSIONS) await rename(path(ext) + SWAP_SUFFIX, path(ext));
      this.file.path = this.logPath;
      await fsyncDir(this.dir);
    });
    this.dirEntryDurable = true;
  }

  /** Log cleaner: closes a segment from createCleaned() that will not be used and removes its files. */
  async discardCleaned(): Promise<void> {
    await this.close();
    await Promise.all(
      SEGMENT_FILE_EXTENSIONS.map((ext) =>
        unlink(join(this.dir, offsetFileName(this.baseOffset, ext) + CLEANED_SUFFIX)).catch(() => undefined),
      ),
    );
  }

  /** Keeps close()/delete() waiting until the returned release is called (a reader-like reference). */
  pin(): () => void {
    this.refs++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  /** Cuts the segment so that it ends before the first batch whose last offset is >= `offset`. */
  async truncateTo(offset: number): Promise<void> {
    await this.whenIdle();
    await this.ensureIndexes();
    await this.withFile((fh) => this.truncateWith(fh, offset));
    await this.rebuildIndexes();
  }

  private async truncateWith(fh: FileHandle, offset: number): Promise<void> {
    const scanner = new SegmentScanner(fh, this.sizeBytes);
    let pos = await this.positionFor(offset, scanner);
    while (pos < this.sizeBytes) {
      const at = await scanner.load(pos, BATCH_HEADER_BYTES);
      if (scanner.availableAt(pos) < BATCH_HEADER_BYTES || lastOffsetAt(scanner.buf, at) >= offset) break;
      if (!isWalkableHeader(scanner.buf, at, pos, this.sizeBytes)) break;
      pos += batchSizeAt(scanner.buf, at);
    }
    await fh.truncate(pos);
    this.sizeBytes = this.readableBytes = pos;
    this.sealedBounds = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.whenIdle();
    this.closed = true;
    await this.file.close();
  }

  /**
   * Log cleaner: keeps this segment's current file open until close(), so reads that start after a cleaned
   * file is renamed over its name still see the data they looked up (the open handle keeps the old inode).
   */
  async holdFileOpen(): Promise<void> {
    if (this.fileHeld || this.closed) return;
    this.fileHeld = true;
    await this.file.acquire();
  }

  /** Closes once in-flight reads/writes finish, then removes all files of the segment. */
  async delete(): Promise<void> {
    await this.close();
    await Promise.all(
      [this.logPath, this.indexPath, this.timeIndexPath].map((p) =>
        unlink(p).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT')
            throw new StorageError('KAFKA_STORAGE_ERROR', `delete ${p}`, { cause: err });
        }),
      ),
    );
  }

  private release(): void {
    this.refs--;
    if (this.refs === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private whenIdle(): Promise<void> {
    if (this.refs === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/**
 * Log loading: finishes or discards an interrupted cleaner swap. A `<base>.log.swap` means the
 * swap was committed: it replaces `<base>.log`, and the indexes of that base (old, new or half
 * renamed) are removed so they are rebuilt from the log. Every `.cleaned` file, and `.swap` index
 * files without a committed log, are leftovers of an uncommitted clean and are deleted.
 * Returns how many swaps were completed.
 */
export async function completeInterruptedSwaps(dir: string, names: readonly string[]): Promise<number> {
  const committed = names.filter((n) => /^\d{20}\.log\.swap$/.test(n)).map((n) => n.slice(0, 20));
  const committedSet = new Set(committed);
  const leftovers = names.filter((n) => {
    const m = /^(\d{20})\.(?:log|index|timeindex)\.(cleaned|swap)$/.exec(n);
    return m !== null && (m[2] === 'cleaned' || !committedSet.has(m[1]!));
  });
  await Promise.all(leftovers.map((n) => unlinkIfExists(join(dir, n))));
  for (const base of committed) {
    for (const ext of ['.index', '.timeindex']) {
      await unlinkIfExists(join(dir, `${base}${ext}${SWAP_SUFFIX}`));
      await unlinkIfExists(join(dir, `${base}${ext}`));
    }
    await rename(join(dir, `${base}.log${SWAP_SUFFIX}`), join(dir, `${base}.log`));
  }
  if (committed.length > 0 || leftovers.length > 0) await fsyncDir(dir);
  return committed.length;
}

async function unlinkIfExists(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT')
      throw new StorageError('KAFKA_STORAGE_ERROR', `delete ${path}`, { cause: err });
  });
}

/** Only the last 12 bytes: a clean start must not read whole index files of sealed segments. */
async function readLastTimeIndexEntry(
  path: string,
  baseOffset: number,
  nextOffset: number,
): Promise<{ timestampMs: number; offset: number } | null> {
  let fh: FileHandle | null = null;
  try {
    fh = await open(path, 'r');
    const { size } = await fh.stat();
    if (size < TIME_INDEX_ENTRY_BYTES || size % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const buf = Buffer.alloc(TIME_INDEX_ENTRY_BYTES);
    if ((await readFully(fh, buf, 0, buf.length, size - buf.length)) !== buf.length) return null;
    return TimeIndex.lastEntryOf(buf, baseOffset, nextOffset);
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

async function writeWhole(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

interface QueuedWrite {
  buf: Buffer;
  position: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Linux's IOV_MAX: the most buffers one writev takes. */
const MAX_WRITEV_BUFFERS = 1024;

/** writev that finishes partial writes. */
async function writevFully(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let bufs = buffers;
  let pos = position;
  for (;;) {
    const total = bufs.reduce((n, b) => n + b.length, 0);
    if (total === 0) return;
    const { bytesWritten } = await fh.writev(bufs, pos);
    invariant(bytesWritten > 0, 'zero-byte write');
    if (bytesWritten === total) return;
    pos += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of bufs) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    bufs = rest;
  }
}
