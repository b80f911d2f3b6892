// One partition's log, after Kafka's UnifiedLog. Appends decide offsets and file positions
// synchronously on the event loop (so ordering needs no lock) and then write asynchronously at
// an explicit position; several writes may be in flight and the log end offset advances only
// over the contiguous prefix of completed writes, so a reader never sees a hole.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { baseOffsetAt, batchSizeAt, lastOffsetAt } from '../protocol/batch-header.js';
import { encodeOffsetCheckpoint, SerialWriter } from './checkpoint-file.js';
import { CorruptBatchError, invariant, StorageError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import type { LogConfig, TimestampType } from './log-config.js';
import {
  loadLog,
  LOG_START_OFFSET_CHECKPOINT,
  RECOVERY_POINT_CHECKPOINT,
  silentLogger,
  type StorageLogger,
} from './log-loader.js';
import { TailCache } from './tail-cache.js';
import type { AbortedTxn, AbortedTxnIndex } from './txn-index.js';
import { LogSegment, type TimestampAndOffset } from './log-segment.js';
import { PendingWrites, type PendingWrite } from './pending-writes.js';
import type {
  PendingProducerState,
  ProducerBatchMetadata,
  ProducerStateManager,
} from './producer-state-manager.js';
import { restampLogAppendTime } from '../protocol/records.js';
import {
  isControlBatchAt,
  leaderEpochAt,
  producerIdAt,
  stampBatch,
  validateRecords,
  type RecordsSummary,
} from './record-batches.js';

export interface AppendOptions {
  leaderEpoch: number;
  /** true on the leader; false when appending batches that already carry offsets (replication). */
  assignOffsets: boolean;
  timestampType?: TimestampType;
  nowMs?: number;
  /**
   * The summary of validateProducedRecords(), which already checked these bytes for a client
   * (records of compressed batches included). Without it append checks what needs no inflating.
   */
  validated?: RecordsSummary;
  /**
   * Written by a coordinator (transaction markers, transactional offset commits): no sequence
   * checks, as Kafka's AppendOrigin.Coordinator; producer state is still updated.
   */
  fromCoordinator?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped into the batches, or -1 for CreateTime. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** true when the batch was a retry of one already in the log; offsets are the original ones. */
  duplicate: boolean;
  /** Resolves when the bytes are written and visible (and fsynced with flushBeforeAck). */
  durable: Promise<void>;
}

export interface ReadOptions {
  minOneBatch: boolean;
  /** Exclusive upper bound, e.g. the high watermark for consumers. */
  maxOffset?: number;
}

export interface ReadResult {
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface OpenLogOptions {
  hadCleanShutdown: boolean;
  logger?: StorageLogger;
}

export type AppendListener = (logEndOffset: number, highWatermark: number) => void;

/**
 * Bound on writes in flight per partition. Far above what the request pipeline lets through;
 * hitting it means a stuck disk, and failing the produce beats unbounded memory.
 */
export const MAX_PENDING_WRITES = 100_000;
const INT32_MAX = 0x7fffffff;
const EMPTY = Buffer.alloc(0);
/** Damaged batches remembered per log so each is logged once; the count goes on past this. */
const MAX_REMEMBERED_CORRUPT_BATCHES = 1024;

export class UnifiedLog {
  private nextOffset: number;
  private logEndOffsetValue: number;
  private highWatermarkValue: number;
  private logStartOffsetValue: number;
  private readonly pendingWrites = new PendingWrites();
  private readonly dirty = new Set<LogSegment>();
  private readonly groupCommit: GroupCommit;
  private readonly listeners = new Set<AppendListener>();
  private readonly tailCache = new TailCache();
  private readonly background = new Set<Promise<unknown>>();
  private readonly lsoWriter: SerialWriter;
  private readonly recoveryPointWriter: SerialWriter;
  private rollChain: Promise<void> = Promise.resolve();
  private unflushedMessages = 0;
  private lastFlushMs = Date.now();
  private failure: StorageError | null = null;
  private readonly corruptBatches = new Set<number>();
  private corruptBatchTotal = 0;
  private state: 'open' | 'truncating' | 'closing' | 'closed' = 'open';
  /** Replication moves the high watermark (ReplicaManager); otherwise writes move it to the log end. */
  private highWatermarkManaged = false;

  private constructor(
    readonly dir: string,
    readonly topic: string,
    readonly partition: number,
    private configValue: LogConfig,
    private readonly segments: LogSegment[],
    loaded: {
      nextOffset: number;
      logStartOffset: number;
      recoveryPoint: number;
      corruptBatchOffsets: number[];
    },
    readonly producerState: ProducerStateManager,
    private readonly epochCache: LeaderEpochCache,
    private readonly txnIndex: AbortedTxnIndex,
    private readonly logger: StorageLogger,
  ) {
    this.nextOffset = this.logEndOffsetValue = this.highWatermarkValue = loaded.nextOffset;
    for (const offset of loaded.corruptBatchOffsets) this.noteCorruptBatch(offset);
    this.logStartOffsetValue = loaded.logStartOffset;
    this.lsoWriter = new SerialWriter(join(dir, LOG_START_OFFSET_CHECKPOINT));
    this.recoveryPointWriter = new SerialWriter(join(dir, RECOVERY_POINT_CHECKPOINT));
    this.groupCommit = new GroupCommit(
      loaded.recoveryPoint,
      () => this.logEndOffsetValue,
      () => this.fsyncDirty(),
      (flushed) => this.onFlushed(flushed),
      (err) => this.fail(err, 'fsync'),
    );
  }

  static async open(
    dir: string,
    topic: string,
    partition: number,
    config: LogConfig,
    options: OpenLogOptions,
  ): Promise<UnifiedLog> {
    const logger = options.logger ?? silentLogger;
    const loaded = await loadLog(dir, config, options.hadCleanShutdown, logger);
    return new UnifiedLog(
      dir,
      topic,
      partition,
      config,
      loaded.segments,
      loaded,
      loaded.producerState,
      loaded.epochCache,
      loaded.txnIndex,
      logger,
    );
  }

  get config(): LogConfig {
    return this.configValue;
  }
  get logStartOffset(): number {
    return this.logStartOffsetValue;
  }
  /** Offset after the last completed write (the next offset a consumer can wait for). */
  get logEndOffset(): number {
    return this.logEndOffsetValue;
  }
  get highWatermark(): number {
    return this.highWatermarkValue;
  }
  /**
   * The last stable offset: below it every transaction is decided (committed or aborted), so
   * read_committed consumers read up to it. The high watermark, or the first offset of the oldest
   * ongoing transaction when that is lower.
   */
  get lastStableOffset(): number {
    const firstUnstable = this.producerState.firstUnstableOffset();
    return firstUnstable >= 0 && firstUnstable < this.highWatermarkValue
      ? firstUnstable
      : this.highWatermarkValue;
  }
  /** Aborted transactions overlapping [fetchOffset, upperBound): read_committed Fetch. */
  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTxn[] {
    return this.txnIndex.collect(fetchOffset, upperBound);
  }
  /** For replication: the leader moves the high watermark as followers catch up. */
  set highWatermark(offset: number) {
    invariant(
      offset >= this.logStartOffsetValue && offset <= this.logEndOffsetValue,
      `high watermark ${offset}`,
    );
    this.highWatermarkValue = offset;
    this.emitAppend();
  }
  /**
   * Hands the high watermark to replication from now on: writes no longer move it, the partition's
   * leader (min log end offset over the ISR) or follower (the leader's, capped by our log end) does.
   * Starts at `initial` (the replication-offset-checkpoint), clamped into the log.
   */
  manageHighWatermark(initial: number): void {
    this.highWatermarkManaged = true;
    this.highWatermarkValue = Math.max(this.logStartOffsetValue, Math.min(initial, this.logEndOffsetValue));
  }

  /** Everything below this offset is fsynced. */
  get recoveryPoint(): number {
    return this.groupCommit.flushedOffset;
  }
  /** fsync rounds run by this log (group commits, interval flushes, explicit flushes). */
  get flushCount(): number {
    return this.groupCommit.flushCount;
  }
  get size(): number {
    let total = 0;
    for (const s of this.segments) total += s.sizeBytes;
    return total;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /**
   * Damaged batches found in this log (by recovery or by reads): each is answered as
   * CORRUPT_MESSAGE. Nonzero means the partition needs attention (a later metric exposes it).
   */
  get corruptBatchCount(): number {
    return this.corruptBatchTotal;
  }

  /** Remembers a damaged batch; true the first time it is seen (the caller logs it then). */
  private noteCorruptBatch(baseOffset: number): boolean {
    if (this.corruptBatches.has(baseOffset)) return false;
    if (this.corruptBatches.size < MAX_REMEMBERED_CORRUPT_BATCHES) this.corruptBatches.add(baseOffset);
    this.corruptBatchTotal++;
    return true;
  }

  /** Base offsets of the segments, oldest first (inspection and tests). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** True once a write or fsync failed: the partition is offline until the broker restarts. */
  get offline(): boolean {
    return this.failure !== null;
  }

  /** False once the log is closing, closed, truncating or failed: background work should stop. */
  get isOpen(): boolean {
    return this.state === 'open' && this.failure === null;
  }

  updateConfig(config: LogConfig): void {
    this.configValue = config;
  }

  /**
   * Appends one or more v2 batches. `records` is stamped in place (offsets, leader epoch, maybe
   * LogAppendTime) and must not be reused by the caller until `durable` settles.
   */
  append(records: Buffer, opts: AppendOptions): AppendResult {
    this.ensureWritable();
    const config = this.configValue;
    const summary =
      opts.validated ??
      validateRecords(records, config.maxMessageBytes, {
        compacted: config.cleanupPolicy !== 'delete',
        origin: 'internal',
        topicPartition: `${this.topic}-${this.partition}`,
      });
    if (records.length > config.segmentBytes) {
      throw new StorageError(
        'MESSAGE_TOO_LARGE',
        `record set of ${records.length} bytes exceeds segment.bytes`,
      );
    }
    if (this.pendingWrites.size >= MAX_PENDING_WRITES) {
      throw new StorageError(
        'KAFKA_STORAGE_ERROR',
        `too many writes in flight on ${this.topic}-${this.partition}`,
      );
    }
    const nowMs = opts.nowMs ?? Date.now();
    // A follower stores what its leader accepted: the sequence checks ran there, and the producer
    // state below is rebuilt from the batches so a new leader keeps deduplicating.
    if (summary.hasProducerBatches && opts.assignOffsets && opts.fromCoordinator !== true) {
      const duplicate = this.checkProducers(records, summary.batchCount);
      if (duplicate !== null) return this.duplicateResult(duplicate);
    }
    const firstOffset = opts.assignOffsets ? this.nextOffset : baseOffsetAt(records, 0);
    invariant(firstOffset >= this.nextOffset, `append at ${firstOffset} below log end ${this.nextOffset}`);
    this.maybeRoll(records.length, firstOffset, firstOffset + summary.offsetCount - 1, nowMs);

    const logAppendTime =
      opts.assignOffsets && (opts.timestampType ?? config.messageTimestampType) === 'LogAppendTime';
    let offset = firstOffset;
    for (let p = 0; p < records.length; p += batchSizeAt(records, p)) {
      if (opts.assignOffsets) {
        stampBatch(records, p, offset, opts.leaderEpoch);
        if (logAppendTime) restampLogAppendTime(records, p, nowMs);
      } else {
        invariant(baseOffsetAt(records, p) >= offset, 'replicated batch offsets must grow');
      }
      offset = lastOffsetAt(records, p) + 1;
      const size = batchSizeAt(records, p);
      this.tailCache.add(records.subarray(p, p + size), baseOffsetAt(records, p), offset - 1);
      if (producerIdAt(records, p) >= 0) {
        const completed = this.producerState.update(records, p);
        if (completed?.aborted === true) this.indexAbortedTxn(completed);
      }
      if (this.epochCache.assign(leaderEpochAt(records, p), baseOffsetAt(records, p))) {
        this.track(this.epochCache.persist(), 'leader-epoch-checkpoint');
      }
    }
    const lastOffset = offset - 1;
    const segment = this.segments[this.segments.length - 1]!;
    const position = segment.reserve(records, nowMs);
    this.nextOffset = offset;
    const write = this.pendingWrites.enqueue(segment, position + records.length, offset, summary.recordCount);
    segment.write(records, position).then(
      () => this.completeWrite(write),
      (err: Error) => this.fail(err, 'write'),
    );
    return {
      baseOffset: firstOffset,
      lastOffset,
      logAppendTimeMs: logAppendTime ? nowMs : -1,
      logStartOffset: this.logStartOffsetValue,
      duplicate: false,
      durable: write.promise,
    };
  }

  /** An ABORT marker goes into the active segment's .txnindex (Kafka's TransactionIndex). */
  private indexAbortedTxn(txn: { producerId: number; firstOffset: number; lastOffset: number }): void {
    const firstUnstable = this.producerState.firstUnstableOffset();
    const segment = this.segments[this.segments.length - 1]!.baseOffset;
    this.track(
      this.txnIndex.add(segment, {
        producerId: txn.producerId,
        firstOffset: txn.firstOffset,
        lastOffset: txn.lastOffset,
        lastStableOffset: firstUnstable >= 0 ? firstUnstable : txn.lastOffset + 1,
      }),
      'txn index',
    );
  }

  private checkProducers(records: Buffer, batchCount: number): ProducerBatchMetadata | null {
    const pending: PendingProducerState | null = batchCount > 1 ? new Map() : null;
    for (let p = 0; p < records.length; p += batchSizeAt(records, p)) {
      if (producerIdAt(records, p) < 0 || isControlBatchAt(records, p)) continue;
      const duplicate = this.producerState.check(records, p, pending);
      if (duplicate !== null) return duplicate;
    }
    return null;
  }

  private duplicateResult(original: ProducerBatchMetadata): AppendResult {
    return {
      baseOffset: original.firstOffset,
      lastOffset: original.lastOffset,
      logAppendTimeMs: -1,
      logStartOffset: this.logStartOffsetValue,
      duplicate: true,
      durable: this.whenDurable(original.lastOffset + 1),
    };
  }

  /** Resolves once offsets below `offset` are written (and fsynced with flushBeforeAck). */
  private whenDurable(offset: number): Promise<void> {
    if (offset > this.logEndOffsetValue) {
      const inFlight = this.pendingWrites.promiseFor(offset);
      if (inFlight !== null) return inFlight;
    }
    return this.configValue.flushBeforeAck ? this.groupCommit.waitFor(offset) : Promise.resolve();
  }

  private maybeRoll(incomingBytes: number, firstOffset: number, lastOffset: number, nowMs: number): void {
    const active = this.segments[this.segments.length - 1]!;
    if (active.isEmpty) {
      invariant(lastOffset - active.baseOffset <= INT32_MAX, 'offset delta overflows an empty segment');
      return;
    }
    const { segmentBytes, segmentMs } = this.configValue;
    const roll =
      active.sizeBytes + incomingBytes > segmentBytes ||
      nowMs - active.rollingBaseMs > segmentMs ||
      lastOffset - active.baseOffset > INT32_MAX ||
      active.isIndexFull;
    if (roll) this.roll(firstOffset, nowMs);
  }

  /** Starts a new active segment at `baseOffset`; sealing the old one happens in the background. */
  private roll(baseOffset: number, nowMs: number): void {
    const old = this.segments[this.segments.length - 1]!;
    const settings = {
      segmentBytes: this.configValue.segmentBytes,
      indexIntervalBytes: this.configValue.indexIntervalBytes,
    };
    this.segments.push(LogSegment.create(this.dir, baseOffset, settings, nowMs));
    // The snapshot is taken now, synchronously, so it describes exactly the offsets below baseOffset.
    // After the .txnindex writes issued so far: a restart trusts the index below the snapshot.
    const snapshot = this.producerState.takeSnapshot(baseOffset, this.txnIndex.drain());
    snapshot.catch(() => undefined); // observed by the chain below; this only prevents an early unhandled rejection
    // Rolls seal in order, so the recovery point only moves past segments that are all fsynced.
    this.rollChain = this.rollChain.then(async () => {
      await snapshot;
      await old.seal();
      this.dirty.delete(old);
      if (baseOffset > this.groupCommit.flushedOffset && this.logEndOffsetValue >= baseOffset) {
        this.groupCommit.flushedOffset = baseOffset;
      }
      await this.recoveryPointWriter.write(encodeOffsetCheckpoint(this.groupCommit.flushedOffset));
    });
    this.track(this.rollChain, 'segment roll');
  }

  private completeWrite(write: PendingWrite): void {
    if (this.failure !== null) return;
    if (!this.pendingWrites.complete(write, this.makeVisible)) return;
    if (!this.configValue.flushBeforeAck && !this.highWatermarkManaged)
      this.highWatermarkValue = this.logEndOffsetValue;
    this.maybeIntervalFlush();
    this.emitAppend();
  }

  /** A bound field, not a method: completeWrite passes it without allocating a closure per write. */
  private readonly makeVisible = (w: PendingWrite): void => {
    invariant(w.nextOffset > this.logEndOffsetValue, 'log end offset must grow');
    w.segment.readableBytes = w.endPosition;
    this.logEndOffsetValue = w.nextOffset;
    this.unflushedMessages += w.messages;
    this.dirty.add(w.segment);
    if (this.configValue.flushBeforeAck) this.groupCommit.waitFor(w.nextOffset).then(w.resolve, w.reject);
    else w.resolve();
  };

  private maybeIntervalFlush(): void {
    const { flushIntervalMessages, flushIntervalMs } = this.configValue;
    if (this.unflushedMessages >= flushIntervalMessages || Date.now() - this.lastFlushMs >= flushIntervalMs) {
      this.track(this.groupCommit.waitFor(this.logEndOffsetValue), 'interval flush');
    }
  }

  private async fsyncDirty(): Promise<void> {
    const segments = [...this.dirty];
    this.dirty.clear();
    this.unflushedMessages = 0;
    this.lastFlushMs = Date.now();
    await Promise.all(segments.map((s) => s.flush()));
  }

  private onFlushed(flushedOffset: number): void {
    if (
      this.configValue.flushBeforeAck &&
      !this.highWatermarkManaged &&
      flushedOffset > this.highWatermarkValue
    ) {
      this.highWatermarkValue = Math.min(flushedOffset, this.logEndOffsetValue);
      this.emitAppend();
    }
  }

  /** A failed write or fsync takes the partition offline, like Kafka marking the log dir failed. */
  private fail(err: Error, what: string): void {
    if (this.failure !== null) return;
    this.failure = new StorageError('KAFKA_STORAGE_ERROR', `${what} failed on ${this.dir}: ${err.message}`, {
      cause: err,
    });
    this.logger.error('log offline', { dir: this.dir, what, error: err.message });
    this.pendingWrites.failAll(this.failure);
    this.groupCommit.failAll(this.failure);
  }

  private ensureWritable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.state !== 'open') {
      throw new StorageError('KAFKA_STORAGE_ERROR', `log ${this.topic}-${this.partition} is ${this.state}`);
    }
  }

  private track(p: Promise<unknown>, what: string): void {
    this.background.add(p);
    p.then(
      () => this.background.delete(p),
      (err: Error) => {
        this.background.delete(p);
        this.fail(err, what);
      },
    );
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitAppend(): void {
    for (const l of this.listeners) {
      try {
        l(this.logEndOffsetValue, this.highWatermarkValue);
      } catch (err) {
        this.logger.error('append listener threw', { error: (err as Error).message });
      }
    }
  }

  /**
   * Whole batches from the one containing `fetchOffset`, up to `maxBytes` (one batch at least with
   * minOneBatch), never past the last completed write nor `maxOffset`. Data comes from a single
   * segment per call, as in Kafka; the client fetches again for more.
   */
  async read(fetchOffset: number, maxBytes: number, opts: ReadOptions): Promise<ReadResult> {
    if (this.state === 'closed') throw new StorageError('KAFKA_STORAGE_ERROR', 'log is closed');
    const logEndOffset = this.logEndOffsetValue;
    if (fetchOffset < this.logStartOffsetValue || fetchOffset > logEndOffset) {
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${fetchOffset} outside [${this.logStartOffsetValue}, ${logEndOffset}] of ${this.topic}-${this.partition}`,
      );
    }
    const maxOffset = Math.min(opts.maxOffset ?? logEndOffset, logEndOffset);
    let records: Buffer = EMPTY;
    const cached =
      fetchOffset < maxOffset
        ? this.tailCache.read(fetchOffset, maxBytes, maxOffset, opts.minOneBatch)
        : null;
    if (cached !== null) records = cached;
    let segment: LogSegment | undefined =
      cached === null ? this.segments[this.segmentIndexFor(fetchOffset)] : undefined;
    while (fetchOffset < maxOffset && segment !== undefined && segment.baseOffset < maxOffset) {
      const data = await this.readSegment(segment, fetchOffset, maxBytes, maxOffset, opts.minOneBatch);
      if (data !== null) {
        records = data;
        break;
      }
      // Nothing at or after fetchOffset here (it sits at this segment's end): try the next one.
      segment = this.segments[this.segmentIndexFor(segment.baseOffset) + 1];
    }
    return {
      records,
      highWatermark: this.highWatermarkValue,
      logStartOffset: this.logStartOffsetValue,
      logEndOffset: this.logEndOffsetValue,
    };
  }

  /** One segment's read, with what it found wrong on disk logged once and counted. */
  private async readSegment(
    segment: LogSegment,
    fetchOffset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
  ): Promise<Buffer | null> {
    const repairs = segment.indexRepairs;
    try {
      return await segment.read(fetchOffset, maxBytes, maxOffset, minOneBatch);
    } catch (err) {
      if (err instanceof CorruptBatchError && this.noteCorruptBatch(err.batchBaseOffset)) {
        this.logger.error('corrupt batch on disk: fetches of it answer CORRUPT_MESSAGE', {
          topic: this.topic,
          partition: this.partition,
          offset: err.batchBaseOffset,
          resumeOffset: err.resumeOffset,
          error: err.message,
        });
      }
      throw err;
    } finally {
      if (segment.indexRepairs !== repairs) {
        this.logger.warn('offset index did not match its segment: rebuilt from the log', {
          topic: this.topic,
          partition: this.partition,
          segment: segment.baseOffset,
        });
      }
    }
  }

  /** Index of the segment holding `offset`: the last one whose base offset is <= it. */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * ListOffsets by timestamp: the first record at or after the log start whose timestamp reaches
   * `timestampMs`, searched in the first segment whose largest timestamp reaches it.
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampAndOffset | null> {
    for (const segment of this.segments.slice()) {
      if (segment.largestTimestampMs < timestampMs) continue;
      const found = await segment.findByTimestamp(timestampMs, this.logStartOffsetValue);
      if (found === null || found.offset >= this.logEndOffsetValue) continue;
      return found;
    }
    return null;
  }

  /**
   * ListOffsets MAX_TIMESTAMP (-3): the first record with the log's largest timestamp, in the
   * first segment holding it (Kafka's maxBy keeps the first of equal segments).
   */
  async latestTimestamp(): Promise<TimestampAndOffset | null> {
    let best: LogSegment | null = null;
    for (const s of this.segments) {
      if (s.maxTimestampMs >= 0 && (best === null || s.maxTimestampMs > best.maxTimestampMs)) best = s;
    }
    if (best === null) return null;
    const found = await best.findMaxTimestamp();
    if (found === null || found.offset >= this.logEndOffsetValue || found.offset < this.logStartOffsetValue)
      return null;
    return found;
  }

  /** The leader epoch of the batch holding `offset` (Kafka's epochForOffset), or -1. */
  epochForOffset(offset: number): number {
    let epoch = -1;
    for (const e of this.epochCache.all()) {
      if (e.startOffset > offset) break;
      epoch = e.epoch;
    }
    return epoch;
  }

  /** OffsetForLeaderEpoch. */
  endOffsetForEpoch(leaderEpoch: number): { leaderEpoch: number; endOffset: number } {
    return this.epochCache.endOffsetFor(leaderEpoch, this.logEndOffsetValue);
  }

  get latestEpoch(): number {
    return this.epochCache.latestEpoch;
  }

  /**
   * A new leader records its epoch as starting at the log end (Kafka's LeaderEpochFileCache.assign
   * on becoming leader), so OffsetForLeaderEpoch answers it before any batch of the epoch exists.
   */
  async assignLeaderEpoch(epoch: number): Promise<void> {
    if (this.epochCache.assign(epoch, this.nextOffset)) await this.epochCache.persist();
  }

  /** DeleteRecords: moves the log start offset (persisted) and drops whole segments below it. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.ensureWritable();
    if (offset < 0 || offset > this.highWatermarkValue) {
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `cannot delete before ${offset}: high watermark is ${this.highWatermarkValue}`,
      );
    }
    if (offset <= this.logStartOffsetValue) return this.logStartOffsetValue;
    this.logStartOffsetValue = offset;
    if (this.epochCache.truncateFromStart(offset))
      this.track(this.epochCache.persist(), 'leader-epoch-checkpoint');
    await this.lsoWriter.write(encodeOffsetCheckpoint(offset));
    await this.settleRolls();
    await this.deleteSegments(this.countSegmentsBelowStart());
    return this.logStartOffsetValue;
  }

  private countSegmentsBelowStart(): number {
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n + 1]!.baseOffset <= this.logStartOffsetValue) n++;
    return n;
  }

  /**
   * Retention (Kafka's deleteOldSegments): segments wholly below the log start offset, segments
   * whose newest timestamp is older than retention.ms, and oldest segments while the log exceeds
   * retention.bytes. The active segment is never deleted. Returns how many segments went.
   */
  async deleteOldSegments(nowMs = Date.now()): Promise<number> {
    await this.settleRolls();
    if (this.state !== 'open' || this.failure !== null) return 0;
    const { retentionMs, retentionBytes, cleanupPolicy } = this.configValue;
    const deletable = this.segments.length - 1;
    let count = this.countSegmentsBelowStart();
    if (cleanupPolicy.includes('delete')) {
      if (retentionMs >= 0) {
        let n = 0;
        while (n < deletable && this.segments[n]!.largestTimestampMs < nowMs - retentionMs) n++;
        count = Math.max(count, n);
      }
      if (retentionBytes >= 0) {
        let excess = this.size - retentionBytes;
        let n = 0;
        while (n < deletable && excess - this.segments[n]!.sizeBytes >= 0)
          excess -= this.segments[n++]!.sizeBytes;
        count = Math.max(count, n);
      }
    }
    this.producerState.removeExpiredProducers(nowMs);
    await this.deleteSegments(count);
    return count;
  }

  /**
   * Log cleaner: the oldest segments it may rewrite (sealed, fully written, below the high
   * watermark, and past min.compaction.lag.ms by their largest timestamp) and the offset where they
   * end, i.e. the base offset of the first segment it may not touch. The active segment never is.
   */
  async cleanableSegments(nowMs: number): Promise<{ segments: LogSegment[]; endOffset: number }> {
    await this.settleRolls();
    const segments: LogSegment[] = [];
    if (!this.isOpen) return { segments, endOffset: this.segments[0]!.baseOffset };
    const lagMs = this.configValue.minCompactionLagMs;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i]!;
      // Below the last stable offset: an undecided transaction is never compacted.
      if (this.segments[i + 1]!.baseOffset > this.lastStableOffset || s.readableBytes !== s.sizeBytes) break;
      if (lagMs > 0 && s.largestTimestampMs > nowMs - lagMs) break;
      segments.push(s);
    }
    return { segments, endOffset: this.segments[segments.length]!.baseOffset };
  }

  /**
   * Log cleaner: puts `cleaned` (same base offset) in place of `old`. Returns false, changing
   * nothing, when `old` left the log meanwhile (retention, truncation) or the log is closing.
   * The list changes synchronously, so later reads see the cleaned data; reads already running on
   * `old` hold a reference and its file is closed only when they finish (the rename over its name
   * leaves their open handle on the old data).
   */
  async replaceSegment(old: LogSegment, cleaned: LogSegment): Promise<boolean> {
    const i = this.segments.indexOf(old);
    if (!this.isOpen || i < 0 || i === this.segments.length - 1) return false;
    invariant(cleaned.baseOffset === old.baseOffset, 'a cleaned segment keeps its base offset');
    const unpin = cleaned.pin(); // a retention delete of `cleaned` waits for the renames
    this.tailCache.clear(); // it may hold records the cleaner just removed
    this.segments[i] = cleaned;
    this.dirty.delete(old);
    try {
      // Before the rename: a read of `old` that starts later must still open the old data, not the cleaned file.
      await old.holdFileOpen();
      await cleaned.commitCleaned();
    } catch (err) {
      // Memory and disk disagree now: take the partition offline, recovery sorts the files out.
      this.fail(err as Error, 'segment swap');
      throw this.failure!;
    } finally {
      unpin();
    }
    await old.close();
    return true;
  }

  /**
   * Log cleaner: removes aborted transactions (as abortedTransactions() returned them) from the
   * .txnindex once the cleaning that found no data left for them has swapped its segments in.
   */
  async removeAbortedTxns(txns: readonly AbortedTxn[]): Promise<void> {
    if (!this.isOpen || txns.length === 0) return;
    await this.txnIndex.remove(txns);
  }

  /** Waits until every rolled segment is sealed, so deletion never races a seal's fsync. */
  private async settleRolls(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.rollChain;
      await chain.catch(() => undefined);
    } while (chain !== this.rollChain);
  }

  /** Callers run settleRolls() first and call this without awaiting in between. */
  private async deleteSegments(count: number): Promise<void> {
    if (count <= 0) return;
    invariant(count < this.segments.length, 'the active segment is never deleted');
    // Unlinked from the list synchronously: reads started later never see them; reads already
    // running hold a reference and the files are closed only when they finish.
    const doomed = this.segments.splice(0, count);
    const newStart = this.segments[0]!.baseOffset;
    for (const s of doomed) this.dirty.delete(s);
    // Their aborted transactions go with them, as Kafka's TransactionIndex does.
    this.track(this.txnIndex.dropSegments(doomed.map((s) => s.baseOffset)), 'txn index');
    if (newStart > this.logStartOffsetValue) {
      this.logStartOffsetValue = newStart;
      if (this.epochCache.truncateFromStart(newStart))
        this.track(this.epochCache.persist(), 'leader-epoch-checkpoint');
      await this.lsoWriter.write(encodeOffsetCheckpoint(newStart));
    }
    this.logger.info('deleted segments', { dir: this.dir, count, logStartOffset: this.logStartOffsetValue });
    await Promise.all(doomed.map((s) => s.delete()));
    await this.producerState.cleanSnapshots(this.segments[0]!.baseOffset);
  }

  /** Resolves when every append issued so far has completed its write. */
  private async drainWrites(): Promise<void> {
    await this.pendingWrites.drain();
    await this.settleRolls();
  }

  /**
   * Replication: drops everything at and after `offset` (cut at a batch boundary). Appends are
   * refused while it runs; a follower only truncates while it is not appending.
   */
  async truncateTo(offset: number): Promise<void> {
    this.ensureWritable();
    if (offset >= this.nextOffset) return;
    invariant(
      offset >= this.logStartOffsetValue,
      `truncate to ${offset} below log start ${this.logStartOffsetValue}`,
    );
    this.state = 'truncating';
    this.tailCache.clear();
    try {
      await this.drainWrites();
      const keep = Math.max(
        1,
        this.segmentIndexFor(offset) +
          (this.segments[this.segmentIndexFor(offset)]!.baseOffset === offset ? 0 : 1),
      );
      const doomed = this.segments.splice(keep);
      for (const s of doomed) this.dirty.delete(s);
      await Promise.all(doomed.map((s) => s.delete()));
      await this.txnIndex.truncateFrom(offset);
      const active = this.segments[this.segments.length - 1]!;
      await active.truncateTo(offset);
      this.nextOffset = this.logEndOffsetValue = active.isEmpty ? active.baseOffset : active.nextOffset;
      this.highWatermarkValue = Math.min(this.highWatermarkValue, this.logEndOffsetValue);
      if (this.groupCommit.flushedOffset > this.logEndOffsetValue)
        this.groupCommit.flushedOffset = this.logEndOffsetValue;
      if (this.epochCache.truncateFromEnd(this.logEndOffsetValue)) await this.epochCache.persist();
      await this.rebuildProducerState();
      await this.recoveryPointWriter.write(encodeOffsetCheckpoint(this.groupCommit.flushedOffset));
    } finally {
      if (this.state === 'truncating') this.state = 'open';
    }
  }

  /**
   * Replication (Kafka's truncateFullyAndStartAt): a follower whose log end is below its leader's
   * log start (retention removed what it misses) drops everything and restarts empty at `offset`.
   */
  async truncateFullyAndStartAt(offset: number): Promise<void> {
    this.ensureWritable();
    this.state = 'truncating';
    this.tailCache.clear();
    try {
      await this.drainWrites();
      const doomed = this.segments.splice(0);
      for (const s of doomed) this.dirty.delete(s);
      await Promise.all(doomed.map((s) => s.delete()));
      await this.txnIndex.clear();
      const settings = {
        segmentBytes: this.configValue.segmentBytes,
        indexIntervalBytes: this.configValue.indexIntervalBytes,
      };
      this.segments.push(LogSegment.create(this.dir, offset, settings, Date.now()));
      this.nextOffset = this.logEndOffsetValue = this.highWatermarkValue = offset;
      this.logStartOffsetValue = offset;
      this.groupCommit.flushedOffset = offset;
      if (this.epochCache.truncateFromEnd(0)) await this.epochCache.persist();
      this.producerState.clear();
      await this.producerState.cleanSnapshots(0, -1);
      await this.lsoWriter.write(encodeOffsetCheckpoint(offset));
      await this.recoveryPointWriter.write(encodeOffsetCheckpoint(offset));
    } finally {
      if (this.state === 'truncating') this.state = 'open';
    }
  }

  private async rebuildProducerState(): Promise<void> {
    const end = this.logEndOffsetValue;
    await this.producerState.cleanSnapshots(0, end);
    const from = Math.max(
      (await this.producerState.loadLatestSnapshot(end)) ?? 0,
      this.segments[0]!.baseOffset,
    );
    await this.txnIndex.truncateFrom(from);
    const indexWrites: Promise<void>[] = [];
    for (const seg of this.segments.slice(this.segmentIndexFor(from))) {
      await seg.forEachBatch(from, (buf, at) => {
        if (baseOffsetAt(buf, at) < from || baseOffsetAt(buf, at) >= end) return;
        const completed = this.producerState.update(buf, at);
        if (completed?.aborted === true) {
          const firstUnstable = this.producerState.firstUnstableOffset();
          indexWrites.push(
            this.txnIndex.add(seg.baseOffset, {
              ...completed,
              lastStableOffset: firstUnstable >= 0 ? firstUnstable : completed.lastOffset + 1,
            }),
          );
        }
      });
    }
    await Promise.all(indexWrites);
  }

  /** fsyncs everything appended so far (Kafka's flush()). */
  async flush(): Promise<void> {
    this.ensureWritable();
    await this.drainWrites();
    if (this.failure !== null) throw this.failure;
    this.dirty.add(this.segments[this.segments.length - 1]!);
    await this.groupCommit.waitFor(this.nextOffset);
    await this.recoveryPointWriter.write(encodeOffsetCheckpoint(this.groupCommit.flushedOffset));
  }

  /** Persists the recovery point so a crash only rescans what came after it (LogManager calls this). */
  async checkpointRecoveryPoint(): Promise<void> {
    if (this.state !== 'open' || this.failure !== null) return;
    await this.recoveryPointWriter.write(encodeOffsetCheckpoint(this.groupCommit.flushedOffset));
  }

  /** Flushes when flush.ms has passed since the last flush (LogManager's periodic check). */
  async flushIfDue(nowMs = Date.now()): Promise<void> {
    if (this.state !== 'open' || this.failure !== null) return;
    if (
      nowMs - this.lastFlushMs >= this.configValue.flushIntervalMs &&
      this.logEndOffsetValue > this.recoveryPoint
    ) {
      await this.groupCommit.waitFor(this.logEndOffsetValue);
    }
  }

  /**
   * Clean close: waits for in-flight writes, fsyncs, seals the active segment's indexes and
   * writes the producer snapshot and recovery point, so the next start needs no recovery scan.
   * Throws if the log had failed (the caller must then not mark the shutdown clean).
   */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    try {
      await this.drainWrites();
      await Promise.allSettled([...this.background]);
      if (this.failure === null) {
        const active = this.segments[this.segments.length - 1]!;
        this.dirty.add(active);
        await this.groupCommit.waitFor(this.logEndOffsetValue);
        await active.seal();
        await this.txnIndex.drain();
        await this.producerState.takeSnapshot(this.logEndOffsetValue);
        await this.producerState.cleanSnapshots(this.segments[0]!.baseOffset);
        await Promise.all([
          this.recoveryPointWriter.write(encodeOffsetCheckpoint(this.logEndOffsetValue)),
          this.lsoWriter.drain(),
          this.epochCache.drain(),
        ]);
      }
    } finally {
      await Promise.allSettled(this.segments.map((s) => s.close()));
      this.state = 'closed';
      this.listeners.clear();
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Closes without sealing and removes the partition directory. */
  async delete(): Promise<void> {
    this.state = 'closing';
    await this.drainWrites();
    await Promise.allSettled([...this.background]);
    await Promise.allSettled(this.segments.map((s) => s.close()));
    this.state = 'closed';
    this.listeners.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** `<topic>-<partition>` directory name, as in Kafka. */
  static dirName(topic: string, partition: number): string {
    return `${topic}-${partition}`;
  }

  static parseDirName(name: string): { topic: string; partition: number } | null {
    const m = /^(.+)-(\d{1,10})$/.exec(name);
    if (m === null) return null;
    const partition = Number(m[2]);
    return partition <= INT32_MAX ? { topic: m[1]!, partition } : null;
  }
}
