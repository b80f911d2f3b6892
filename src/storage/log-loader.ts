// Opens a partition directory, after Kafka's LogLoader. After a clean shutdown the persisted
// indexes are trusted and only the active segment's tail (≈ one index interval) is scanned, so
// startup time does not grow with log size. After a crash, every segment from the one holding the
// recovery point on is validated batch by batch and cut at the first torn or corrupt batch.
// The clean-shutdown marker is a hint, not a proof: when what it promises does not hold (a torn
// tail, a wrong index), that partition is recovered as after a crash. Checkpoints that make no
// sense (beyond the log end, unreadable) are ignored with a warning, never acted on.

import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { baseOffsetAt } from '../protocol/batch-header.js';
import { decodeOffsetCheckpoint, readOptional } from './checkpoint-file.js';
import { invariant, StorageError } from './errors.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import type { LogConfig } from './log-config.js';
import { completeInterruptedSwaps, LogSegment } from './log-segment.js';
import { ProducerStateManager } from './producer-state-manager.js';
import { leaderEpochAt } from './record-batches.js';
import { AbortedTxnIndex } from './txn-index.js';

export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset';
export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';

export interface StorageLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: StorageLogger = { info() {}, warn() {}, error() {} };

export interface LoadedLog {
  segments: LogSegment[];
  nextOffset: number;
  logStartOffset: number;
  recoveryPoint: number;
  producerState: ProducerStateManager;
  epochCache: LeaderEpochCache;
  txnIndex: AbortedTxnIndex;
  /** Bytes cut off torn/corrupt tails during recovery (0 after a clean shutdown). */
  truncatedBytes: number;
  /** Base offsets of damaged batches found by recovery and kept (reads answer CORRUPT_MESSAGE). */
  corruptBatchOffsets: number[];
}

export async function loadLog(
  dir: string,
  config: LogConfig,
  hadCleanShutdown: boolean,
  logger: StorageLogger,
): Promise<LoadedLog> {
  let names = await readdir(dir);
  // Leftovers of interrupted atomic writes; the real file is either old or new, never these.
  await Promise.all(names.filter((n) => n.endsWith('.tmp')).map((n) => unlink(join(dir, n)).catch(() => {})));
  // A cleaner swap cut short by a crash is finished (committed) or discarded before segments load.
  const swapped = await completeInterruptedSwaps(dir, names);
  if (swapped > 0) {
    logger.warn('completed interrupted cleaner swaps', { dir, segments: swapped });
    names = await readdir(dir);
  }
  const bases = names
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
  const [lsoBuf, rpBuf] = await Promise.all([
    readOptional(join(dir, LOG_START_OFFSET_CHECKPOINT)),
    readOptional(join(dir, RECOVERY_POINT_CHECKPOINT)),
  ]);
  const checkpointedStart = readCheckpoint(lsoBuf, LOG_START_OFFSET_CHECKPOINT, dir, logger);
  let logStartOffset = checkpointedStart ?? bases[0] ?? 0;
  const recoveryPoint = readCheckpoint(rpBuf, RECOVERY_POINT_CHECKPOINT, dir, logger) ?? 0;
  const settings = { segmentBytes: config.segmentBytes, indexIntervalBytes: config.indexIntervalBytes };

  let segments = await Promise.all(bases.map((b) => LogSegment.openExisting(dir, b, settings)));
  let truncatedBytes = 0;
  const corruptBatchOffsets: number[] = [];
  let recover = !hadCleanShutdown;
  if (segments.length > 0 && !recover) {
    const last = segments.length - 1;
    try {
      // One segment at a time: each reads its .timeindex, and a log may have thousands of segments.
      for (let i = 0; i < last; i++) await segments[i]!.setSealedInfo(segments[i + 1]!.baseOffset);
      await segments[last]!.loadTail();
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      logger.warn('clean-shutdown marker does not hold for this partition: recovering it', {
        dir,
        error: err.message,
      });
      recover = true;
    }
  }
  if (segments.length > 0 && recover) {
    const last = segments.length - 1;
    // After a crash, start at the segment that holds the recovery point: everything before it
    // was fsynced (segments are sealed with an fsync on roll) and is trusted.
    const firstToRecover = segments.findIndex(
      (_s, i) => i === last || segments[i + 1]!.baseOffset > recoveryPoint,
    );
    for (let i = 0; i < firstToRecover; i++) await segments[i]!.setSealedInfo(segments[i + 1]!.baseOffset);
    for (let i = firstToRecover; i <= last; i++) {
      const seg = segments[i]!;
      const cut = await seg.recover(segments[i + 1]?.baseOffset);
      for (const offset of seg.corruptBatchOffsets) {
        corruptBatchOffsets.push(offset);
        logger.error('corrupt batch kept in the log: reads of it answer CORRUPT_MESSAGE', {
          dir,
          segment: seg.baseOffset,
          offset,
        });
      }
      truncatedBytes += cut;
      const next = segments[i + 1];
      if (cut > 0) {
        logger.warn('truncated corrupt log tail', { dir, segment: seg.baseOffset, bytes: cut });
        await seg.flush();
      }
      if (next !== undefined && cut > 0 && seg.nextOffset < next.baseOffset) {
        // Kafka drops every segment after a corrupt one. Their batches were written (and
        // acknowledged) after it, and each is recovered in turn: keep them, and the offsets cut
        // off here become a gap that reads step over, as after compaction.
        logger.warn('offsets missing after a truncated segment', {
          dir,
          from: seg.nextOffset,
          to: next.baseOffset,
        });
      }
      if (next !== undefined && seg.nextOffset > next.baseOffset) {
        // Offsets that run backwards cannot be served: the later segments go, as in Kafka.
        for (const doomed of segments.slice(i + 1)) await doomed.delete();
        segments = segments.slice(0, i + 1);
        break;
      }
      // A recovered segment that is not the active one gets its rebuilt indexes on disk.
      if (i < segments.length - 1) await seg.seal();
    }
  }
  if (segments.length === 0) segments = [await createEmpty(dir, logStartOffset, settings)];

  const active = segments[segments.length - 1]!;
  const nextOffset = active.isEmpty ? active.baseOffset : active.nextOffset;
  if (logStartOffset > nextOffset) {
    // Kafka would start the log afresh there, deleting every segment. A checkpoint is a small
    // file that can be damaged or stale; the segments are the data: keep them.
    logger.warn(`${LOG_START_OFFSET_CHECKPOINT} checkpoint beyond the log end: ignored`, {
      dir,
      checkpoint: logStartOffset,
      logEndOffset: nextOffset,
    });
    logStartOffset = segments[0]!.baseOffset;
  }
  if (recover && recoveryPoint > nextOffset) {
    logger.warn(`${RECOVERY_POINT_CHECKPOINT} beyond the log end: ignored`, {
      dir,
      checkpoint: recoveryPoint,
      logEndOffset: nextOffset,
    });
  }
  logStartOffset = Math.max(logStartOffset, segments[0]!.baseOffset);
  invariant(nextOffset >= logStartOffset, `log end ${nextOffset} below start ${logStartOffset} in ${dir}`);

  const epochCache = await LeaderEpochCache.load(dir);
  let epochsChanged = epochCache.truncateFromEnd(nextOffset);
  epochsChanged = epochCache.truncateFromStart(logStartOffset) || epochsChanged;

  const producerState = new ProducerStateManager(dir);
  const snapshotOffset = await producerState.loadLatestSnapshot(nextOffset);
  const replayFrom = Math.max(snapshotOffset ?? segments[0]!.baseOffset, segments[0]!.baseOffset);
  // The .txnindex files are trusted below the replay point; the replay re-adds what comes after.
  const txnIndex = await AbortedTxnIndex.load(
    dir,
    segments.map((s) => s.baseOffset),
  );
  await txnIndex.truncateFrom(replayFrom);
  const indexWrites: Promise<void>[] = [];
  for (const seg of segments) {
    if (replayFrom >= nextOffset) break;
    if (seg.nextOffset <= replayFrom && seg !== active) continue;
    await seg.forEachBatch(replayFrom, (buf, at) => {
      if (baseOffsetAt(buf, at) < replayFrom) return;
      const completed = producerState.update(buf, at);
      if (completed?.aborted === true) {
        const lso = producerState.firstUnstableOffset();
        indexWrites.push(
          txnIndex.add(seg.baseOffset, {
            ...completed,
            lastStableOffset: lso >= 0 ? lso : completed.lastOffset + 1,
          }),
        );
      }
      // The epoch checkpoint is written asynchronously and may trail the log after a crash.
      if (epochCache.assign(leaderEpochAt(buf, at), baseOffsetAt(buf, at))) epochsChanged = true;
    });
  }
  if (epochsChanged) await epochCache.persist();
  await Promise.all(indexWrites);
  return {
    txnIndex,
    segments,
    nextOffset,
    logStartOffset,
    recoveryPoint: nextOffset,
    producerState,
    epochCache,
    truncatedBytes,
    corruptBatchOffsets,
  };
}

/** A checkpoint's offset; a file that exists but does not hold a sane one is reported and ignored. */
function readCheckpoint(buf: Buffer | null, name: string, dir: string, logger: StorageLogger): number | null {
  if (buf === null) return null;
  const offset = decodeOffsetCheckpoint(buf);
  if (offset === null) logger.warn(`unreadable ${name} checkpoint: ignored`, { dir, bytes: buf.length });
  return offset;
}

/**
 * The first segment of a log without any (a new partition). Created but not fsynced: it holds no
 * data, and when a power loss drops the empty file the next load creates it again at the same
 * offset; its directory entry is fsynced by the first flush of data into it (LogSegment.flush),
 * before that data is acknowledged as durable. Creating 10,000 partitions paid an fdatasync and a
 * directory fsync each here.
 */
async function createEmpty(
  dir: string,
  baseOffset: number,
  settings: { segmentBytes: number; indexIntervalBytes: number },
): Promise<LogSegment> {
  const seg = LogSegment.create(dir, baseOffset, settings, Date.now());
  await seg.createFile();
  return seg;
}
