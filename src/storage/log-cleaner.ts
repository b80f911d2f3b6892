// Log compaction for cleanup.policy=compact (and compact,delete), after Kafka's LogCleaner.
//
// - One background pass every `backoffMs` (log.cleaner.backoff.ms); passes never overlap. A log is
//   cleaned when dirty bytes (after its cleaner checkpoint) / cleanable bytes >= min.cleanable.dirty.ratio,
//   or when a tombstone's delete horizon has passed. Cleanable = sealed segments below the high
//   watermark and older than min.compaction.lag.ms; the active segment is never cleaned.
// - A pass builds an offset map key -> latest offset over the dirty segments (bounded by
//   log.cleaner.dedupe.buffer.size: a larger dirty section is finished over several passes), then rewrites every
//   cleanable segment up to the end of the map: a record survives when no later offset has its key.
// - Tombstones (null value) use Kafka's v2 delete horizon (KIP-534): the first cleaning that keeps a
//   tombstone rewrites its batch with the hasDeleteHorizonMs attribute and baseTimestamp =
//   now + delete.retention.ms; a later cleaning after that time drops the tombstone.
// - Rewritten batches keep their base offset and lastOffsetDelta (so offsets never change and gaps
//   appear), producer id/epoch/base sequence, leader epoch, timestamp type and compression codec.
//   A batch emptied by cleaning is dropped, unless it is its producer's latest batch: then it stays
//   as an empty batch so producer state (sequence numbers) survives a rebuild from the log, as Kafka does.
// - Transactions (cleaned-txn-metadata.ts, Kafka's CleanedTransactionMetadata): records of aborted
//   transactions (the .txnindex) are removed and never count as a key's latest value, so an aborted
//   write cannot compact away the committed value before it; cleaning stops at the last stable
//   offset, so an undecided transaction is never cleaned (Kafka's firstUncleanableOffset). A marker
//   (control batch) stays while its transaction has a batch in the log; the first cleaning that
//   finds none gives it a delete horizon like a tombstone's, and a cleaning after that removes it.
//   The cleaned segments' .txnindex keeps only the aborted transactions whose marker stayed with data.
// - Each segment is rewritten 1:1 (no merging: base offsets and the log start offset never move; a
//   segment whose records all went stays as an empty file) and swapped with the `.cleaned`/`.swap`
//   protocol in log-segment.ts; unchanged segments are not rewritten at all.
// - The checkpoint `cleaner-offset-checkpoint` in the partition directory holds the first dirty
//   offset and the earliest pending delete horizon: "0\n<firstDirtyOffset>\n<horizonMs or -1>\n".
// - Everything is fs.promises; the loop yields to the event loop (setImmediate) every few batches.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { join } from 'node:path';
import { ATTR_DELETE_HORIZON, CompressionType } from '../protocol/batch-header.js';
import {
  decodeBatch,
  encodeBatch,
  iterateBatches,
  readBatchInfo,
  type BatchInfo,
  type Record as KafkaRecord,
} from '../protocol/records.js';
import { readOptional, writeFileAtomic } from './checkpoint-file.js';
import { CleanedTransactionMetadata } from './cleaned-txn-metadata.js';
import { silentLogger, type StorageLogger } from './log-loader.js';
import { LogSegment } from './log-segment.js';
import { markerFieldsAt } from './producer-state-manager.js';
import type { UnifiedLog } from './unified-log.js';

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';
/** log.cleaner.backoff.ms default. */
export const DEFAULT_CLEANER_BACKOFF_MS = 15_000;
/** Bytes of the offset map (Kafka's log.cleaner.dedupe.buffer.size default, 128 MiB). */
export const DEFAULT_DEDUPE_BUFFER_BYTES = 134_217_728;
/**
 * What one key costs in the map besides its own bytes (a Map entry, a string header, the offset). Kafka's map
 * stores a 16-byte hash and an 8-byte offset per key in the buffer; Brook keys by the key itself, so the bound
 * counts the key bytes too.
 */
export const OFFSET_MAP_ENTRY_OVERHEAD_BYTES = 64;
/** Segments are read in chunks of whole batches of about this size. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Decoding and encoding are synchronous per batch: give the event loop a turn this often. */
const BATCHES_PER_YIELD = 16;

export interface LogCleanerOptions {
  backoffMs?: number;
  /** log.cleaner.dedupe.buffer.size: bytes the offset map may take in one pass. */
  dedupeBufferBytes?: number;
  logger?: StorageLogger;
}

export interface CleanerCheckpoint {
  firstDirtyOffset: number;
  /** Earliest delete horizon of a kept tombstone or transaction marker, -1 when none. */
  deleteHorizonMs: number;
}

/** What one cleaning of one log did (tests, logs). */
export interface CleanStats {
  segmentsRewritten: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
  firstDirtyOffset: number;
  endOffset: number;
}

class CleanAborted extends Error {}

/** A batch as it survives cleaning; horizonMs: its delete horizon if it has one pending, else Infinity. */
interface FilteredBatch {
  bytes: Buffer | null;
  removed: number;
  horizonMs: number;
}

export async function readCleanerCheckpoint(dir: string): Promise<CleanerCheckpoint | null> {
  const buf = await readOptional(join(dir, CLEANER_OFFSET_CHECKPOINT));
  if (buf === null) return null;
  const lines = buf.toString('utf8').split('\n');
  if (lines[0] !== '0' || !/^\d+$/.test(lines[1] ?? '') || !/^-?\d+$/.test(lines[2] ?? '')) return null;
  return { firstDirtyOffset: Number(lines[1]), deleteHorizonMs: Number(lines[2]) };
}

function encodeCleanerCheckpoint(c: CleanerCheckpoint): string {
  return `0\n${c.firstDirtyOffset}\n${c.deleteHorizonMs}\n`;
}

/** Keys as latin1 strings: one char per byte, so distinct keys never collide (unlike a hash). */
function keyOf(key: Buffer): string {
  return key.toString('latin1');
}

export class LogCleaner {
  private readonly backoffMs: number;
  private readonly dedupeBufferBytes: number;
  private readonly logger: StorageLogger;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private stopped = false;
  private current: { log: UnifiedLog; done: Promise<unknown> } | null = null;
  private readonly aborted = new WeakSet<UnifiedLog>();
  /** Logs whose cleaning failed (e.g. a corrupt batch): skipped until restart, like Kafka's uncleanable partitions. */
  private readonly uncleanable = new WeakSet<UnifiedLog>();
  private readonly checkpoints = new WeakMap<UnifiedLog, CleanerCheckpoint>();

  constructor(
    private readonly logs: () => UnifiedLog[],
    options: LogCleanerOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? DEFAULT_CLEANER_BACKOFF_MS;
    this.dedupeBufferBytes = options.dedupeBufferBytes ?? DEFAULT_DEDUPE_BUFFER_BYTES;
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    if (this.stopped || this.timer !== null) return;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.runOnce().finally(() => {
          if (!this.stopped) tick();
        });
      }, this.backoffMs);
      this.timer.unref();
    };
    tick();
  }

  /** Stops the background loop and waits for a pass in progress (it aborts at its next batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.pass?.catch(() => undefined);
  }

  /** Before a log is deleted: stops cleaning it and waits until the cleaner has let go of it. */
  async abortLog(log: UnifiedLog): Promise<void> {
    this.aborted.add(log);
    if (this.current?.log === log) await this.current.done.catch(() => undefined);
  }

  /** One pass over every compacted log, dirtiest first. Concurrent calls share the running pass. */
  runOnce(nowMs?: number): Promise<void> {
    this.pass ??= this.runPass(nowMs).finally(() => {
      this.pass = null;
    });
    return this.pass;
  }

  private async runPass(nowMs?: number): Promise<void> {
    const candidates = this.logs().filter(
      (l) => l.config.cleanupPolicy !== 'delete' && l.isOpen && !this.uncleanable.has(l),
    );
    for (const log of candidates) {
      if (this.stopped) return;
      if (this.aborted.has(log) || !log.isOpen) continue;
      const done = this.cleanLog(log, nowMs ?? Date.now());
      this.current = { log, done };
      try {
        const stats = await done;
        if (stats !== null && stats.segmentsRewritten > 0) {
          this.logger.info('log cleaned', { topic: log.topic, partition: log.partition, ...stats });
        }
      } catch (err) {
        if (err instanceof CleanAborted) continue;
        this.uncleanable.add(log);
        this.logger.error('log cleaning failed; partition marked uncleanable', {
          topic: log.topic,
          partition: log.partition,
          error: String(err),
        });
      } finally {
        this.current = null;
      }
    }
  }

  private async checkpointOf(log: UnifiedLog): Promise<CleanerCheckpoint> {
    let c = this.checkpoints.get(log);
    if (c === undefined) {
      c = (await readCleanerCheckpoint(log.dir)) ?? { firstDirtyOffset: 0, deleteHorizonMs: -1 };
      this.checkpoints.set(log, c);
    }
    return c;
  }

  /**
   * Cleans `log` if it is due; returns null when it was not. Exposed for tests (the background pass
   * calls it too); throws CleanAborted when the log closes or the cleaner stops meanwhile.
   */
  async cleanLog(log: UnifiedLog, nowMs: number): Promise<CleanStats | null> {
    const config = log.config;
    if (config.cleanupPolicy === 'delete') return null;
    const { segments, endOffset } = await log.cleanableSegments(nowMs);
    if (segments.length === 0) return null;
    const checkpoint = await this.checkpointOf(log);
    const firstDirtyOffset = Math.min(
      Math.max(checkpoint.firstDirtyOffset, segments[0]!.baseOffset),
      endOffset,
    );
    const boundary = (i: number): number => segments[i + 1]?.baseOffset ?? endOffset;
    const firstDirtyIndex = segments.findIndex((_s, i) => boundary(i) > firstDirtyOffset);
    const dirty = firstDirtyIndex < 0 ? [] : segments.slice(firstDirtyIndex);
    const dirtyBytes = dirty.reduce((n, s) => n + s.sizeBytes, 0);
    const totalBytes = segments.reduce((n, s) => n + s.sizeBytes, 0);
    const horizonDue = checkpoint.deleteHorizonMs >= 0 && checkpoint.deleteHorizonMs <= nowMs;
    const ratio = totalBytes === 0 ? 0 : dirtyBytes / totalBytes;
    if (!horizonDue && (dirtyBytes === 0 || ratio < config.minCleanableDirtyRatio)) return null;

    const { map, mapEndOffset } = await this.buildOffsetMap(
      log,
      dirty,
      firstDirtyOffset,
      boundary,
      firstDirtyIndex,
    );
    const stats: CleanStats = {
      segmentsRewritten: 0,
      recordsRemoved: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      firstDirtyOffset,
      endOffset: mapEndOffset,
    };
    let nextHorizonMs = Number.POSITIVE_INFINITY;
    const abortedTxns = log.abortedTransactions(segments[0]!.baseOffset, mapEndOffset);
    const txns = new CleanedTransactionMetadata(abortedTxns);
    for (let i = 0; i < segments.length && segments[i]!.baseOffset < mapEndOffset; i++) {
      const horizon = await this.cleanSegment(log, segments[i]!, boundary(i), map, txns, nowMs, stats);
      nextHorizonMs = Math.min(nextHorizonMs, horizon);
    }
    // After the swaps, the aborted transactions whose marker this cleaning saw without data leave the
    // .txnindex (Kafka's cleaned TransactionIndex); those with a marker past the range were not seen.
    await log.removeAbortedTxns(
      abortedTxns.filter((t) => t.lastOffset < mapEndOffset && !txns.keptAbortMarkers.has(t.lastOffset)),
    );
    // Tombstones in dirty segments past the map were not looked at; they get a horizon when cleaned.
    const next: CleanerCheckpoint = {
      firstDirtyOffset: mapEndOffset,
      deleteHorizonMs: Number.isFinite(nextHorizonMs) ? nextHorizonMs : -1,
    };
    await writeFileAtomic(join(log.dir, CLEANER_OFFSET_CHECKPOINT), encodeCleanerCheckpoint(next));
    this.checkpoints.set(log, next);
    return stats;
  }

  /**
   * key -> latest offset over the dirty segments, within dedupeBufferBytes: as Kafka does, a segment is added
   * only when its worst case (every record a new key) still fits, so a pass cleans what fits and the next pass
   * continues from there. The first dirty segment always goes in, so every pass makes progress.
   */
  private async buildOffsetMap(
    log: UnifiedLog,
    dirty: LogSegment[],
    firstDirtyOffset: number,
    boundary: (i: number) => number,
    firstDirtyIndex: number,
  ): Promise<{ map: Map<string, number>; mapEndOffset: number }> {
    const map = new Map<string, number>();
    let mapBytes = 0;
    let mapEndOffset = firstDirtyOffset;
    for (let d = 0; d < dirty.length; d++) {
      const segment = dirty[d]!;
      const records = boundary(firstDirtyIndex + d) - segment.baseOffset;
      const worstCase = segment.sizeBytes + records * OFFSET_MAP_ENTRY_OVERHEAD_BYTES;
      if (d > 0 && mapBytes + worstCase > this.dedupeBufferBytes) break;
      await this.forEachBatch(log, segment, async (batch, info) => {
        if (info.isControl || isAbortedBatch(log, info)) return;
        for (const r of (await decodeBatch(batch, 0)).records) {
          if (r.key === null || r.offset < firstDirtyOffset) continue;
          const key = keyOf(r.key);
          if (!map.has(key)) mapBytes += key.length + OFFSET_MAP_ENTRY_OVERHEAD_BYTES;
          map.set(key, r.offset);
        }
      });
      mapEndOffset = boundary(firstDirtyIndex + d);
    }
    return { map, mapEndOffset };
  }

  /**
   * Rewrites one segment with what survives `map` and the delete horizons, and swaps it in when
   * anything changed. Returns the earliest delete horizon of the tombstones it kept (Infinity if none).
   */
  private async cleanSegment(
    log: UnifiedLog,
    segment: LogSegment,
    segmentEndOffset: number,
    map: Map<string, number>,
    txns: CleanedTransactionMetadata,
    nowMs: number,
    stats: CleanStats,
  ): Promise<number> {
    const settings = {
      segmentBytes: log.config.segmentBytes,
      indexIntervalBytes: log.config.indexIntervalBytes,
    };
    const cleaned = LogSegment.createCleaned(
      log.dir,
      segment.baseOffset,
      settings,
      segment.largestTimestampMs,
    );
    let changed = false;
    let removed = 0;
    let horizonMs = Number.POSITIVE_INFINITY;
    try {
      let out: Buffer[] = [];
      let outBytes = 0;
      await this.forEachBatch(log, segment, async (batch, info) => {
        const result = info.isControl
          ? await this.filterMarker(log, batch, info, txns, nowMs)
          : await this.filterBatch(log, batch, info, map, txns, nowMs);
        changed ||= result.bytes !== batch;
        removed += result.removed;
        horizonMs = Math.min(horizonMs, result.horizonMs);
        if (result.bytes === null) return;
        out.push(result.bytes);
        outBytes += result.bytes.length;
        if (outBytes >= READ_CHUNK_BYTES) {
          await cleaned.appendCleaned(Buffer.concat(out));
          out = [];
          outBytes = 0;
        }
      });
      if (!changed) {
        await cleaned.discardCleaned();
        return horizonMs;
      }
      if (out.length > 0) await cleaned.appendCleaned(Buffer.concat(out));
      await cleaned.sealCleaned(segmentEndOffset, segment.largestTimestampMs);
      this.checkAborted(log);
      const bytesBefore = segment.sizeBytes;
      if (!(await log.replaceSegment(segment, cleaned))) {
        await cleaned.discardCleaned();
        return horizonMs;
      }
      stats.segmentsRewritten++;
      stats.recordsRemoved += removed;
      stats.bytesBefore += bytesBefore;
      stats.bytesAfter += cleaned.sizeBytes;
      return horizonMs;
    } catch (err) {
      await cleaned.discardCleaned().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The batch as it survives cleaning: the same Buffer when unchanged, a re-encoded batch when
   * records went or a delete horizon is set, null when it goes entirely.
   */
  private async filterBatch(
    log: UnifiedLog,
    batch: Buffer,
    info: BatchInfo,
    map: Map<string, number>,
    txns: CleanedTransactionMetadata,
    nowMs: number,
  ): Promise<FilteredBatch> {
    const aborted = txns.onBatchRead(info);
    const oldHorizonMs = (info.attributes & ATTR_DELETE_HORIZON) !== 0 ? info.baseTimestamp : null;
    const { records } = await decodeBatch(batch, 0);
    const kept: KafkaRecord[] = [];
    let tombstones = 0;
    for (const r of records) {
      if (aborted) continue;
      if (r.key !== null) {
        const latest = map.get(keyOf(r.key));
        if (latest !== undefined && r.offset < latest) continue;
        if (r.value === null) {
          if (oldHorizonMs !== null && nowMs >= oldHorizonMs) continue;
          tombstones++;
        }
      }
      kept.push(r);
    }
    const horizonMs = tombstones === 0 ? null : (oldHorizonMs ?? nowMs + log.config.deleteRetentionMs);
    const removed = records.length - kept.length;
    const horizonOut = horizonMs ?? Number.POSITIVE_INFINITY;
    if (removed === 0 && horizonMs === oldHorizonMs) return { bytes: batch, removed, horizonMs: horizonOut };
    if (kept.length === 0 && !this.isLatestProducerBatch(log, info)) {
      return { bytes: null, removed, horizonMs: horizonOut };
    }
    const bytes = await encodeBatch({
      baseOffset: info.baseOffset,
      lastOffsetDelta: info.lastOffset - info.baseOffset,
      records: kept.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
        offset: r.offset,
      })),
      compression: kept.length === 0 ? CompressionType.None : info.compression,
      producerId: info.producerId,
      producerEpoch: info.producerEpoch,
      baseSequence: info.baseSequence,
      transactional: info.isTransactional,
      partitionLeaderEpoch: info.partitionLeaderEpoch,
      timestampType: info.timestampType,
      ...(horizonMs === null ? {} : { deleteHorizonMs: horizonMs }),
    });
    return { bytes, removed, horizonMs: horizonOut };
  }

  /**
   * A transaction marker as it survives cleaning: unchanged while its transaction has data in the
   * log; once it has none, re-encoded with a delete horizon (now + delete.retention.ms, KIP-534, as
   * Kafka does for markers), and removed by the first cleaning after that horizon.
   */
  private async filterMarker(
    log: UnifiedLog,
    batch: Buffer,
    info: BatchInfo,
    txns: CleanedTransactionMetadata,
    nowMs: number,
  ): Promise<FilteredBatch> {
    const type = info.recordsCount === 0 ? -1 : markerFieldsAt(batch, 0)[0];
    if (!txns.onControlBatchRead(info, type)) {
      return { bytes: batch, removed: 0, horizonMs: Number.POSITIVE_INFINITY };
    }
    if ((info.attributes & ATTR_DELETE_HORIZON) !== 0) {
      if (nowMs >= info.baseTimestamp) {
        return { bytes: null, removed: info.recordsCount, horizonMs: Number.POSITIVE_INFINITY };
      }
      return { bytes: batch, removed: 0, horizonMs: info.baseTimestamp };
    }
    const horizonMs = nowMs + log.config.deleteRetentionMs;
    const { records } = await decodeBatch(batch, 0);
    const bytes = await encodeBatch({
      baseOffset: info.baseOffset,
      lastOffsetDelta: info.lastOffset - info.baseOffset,
      records: records.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
        offset: r.offset,
      })),
      producerId: info.producerId,
      producerEpoch: info.producerEpoch,
      baseSequence: info.baseSequence,
      transactional: info.isTransactional,
      control: true,
      partitionLeaderEpoch: info.partitionLeaderEpoch,
      timestampType: info.timestampType,
      deleteHorizonMs: horizonMs,
    });
    return { bytes, removed: 0, horizonMs };
  }

  /** An emptied batch stays (empty) when it is the last one its producer wrote, to keep its sequence. */
  private isLatestProducerBatch(log: UnifiedLog, info: BatchInfo): boolean {
    if (info.producerId < 0n) return false;
    const entry = log.producerState.entry(Number(info.producerId));
    return entry?.batches.at(-1)?.lastOffset === info.lastOffset;
  }

  /** Calls `visit` for every batch of `segment` in order, reading whole batches in chunks. */
  private async forEachBatch(
    log: UnifiedLog,
    segment: LogSegment,
    visit: (batch: Buffer, info: BatchInfo) => Promise<void>,
  ): Promise<void> {
    let offset = segment.baseOffset;
    let sinceYield = 0;
    for (;;) {
      this.checkAborted(log);
      const chunk = await segment.read(offset, READ_CHUNK_BYTES, Number.MAX_SAFE_INTEGER, true);
      if (segment.isClosed) throw new CleanAborted('segment left the log');
      if (chunk === null || chunk.length === 0) return;
      for (const { pos, size } of iterateBatches(chunk)) {
        const batch = chunk.subarray(pos, pos + size);
        const info = readBatchInfo(batch, 0);
        await visit(batch, info);
        offset = info.lastOffset + 1;
        if (++sinceYield >= BATCHES_PER_YIELD) {
          sinceYield = 0;
          await yieldToEventLoop();
          this.checkAborted(log);
        }
      }
    }
  }

  private checkAborted(log: UnifiedLog): void {
    if (this.stopped || this.aborted.has(log) || !log.isOpen) throw new CleanAborted('cleaning aborted');
  }
}

/** Whether a transactional batch belongs to a transaction the .txnindex records as aborted. */
function isAbortedBatch(log: UnifiedLog, info: BatchInfo): boolean {
  if (!info.isTransactional || info.isControl) return false;
  const producerId = Number(info.producerId);
  return log
    .abortedTransactions(info.baseOffset, info.baseOffset + 1)
    .some((t) => t.producerId === producerId && t.firstOffset <= info.baseOffset);
}
