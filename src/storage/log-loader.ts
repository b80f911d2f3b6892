// Opens a partition directory, after Kafka's LogLoader. After a clean shutdown the persisted
// indexes are trusted and only the active segment's tail (≈ one index interval) is scanned, so
// startup time does not grow with log size. After a crash, every segment from the one holding the
// recovery point on is validated batch by batch and cut at the first torn or corrupt batch.

import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { baseOffsetAt } from '../protocol/batch-header.js';
import { decodeOffsetCheckpoint, readOptional } from './checkpoint-file.js';
import { invariant } from './errors.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import type { LogConfig } from './log-config.js';
import { completeInterruptedSwaps, LogSegment } from './log-segment.js';
import { ProducerStateManager } from './producer-state-manager.js';
import { leaderEpochAt } from './record-batches.js';

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
  /** Bytes cut off torn/corrupt tails during recovery (0 after a clean shutdown). */
  truncatedBytes: number;
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
  let logStartOffset = decodeOffsetCheckpoint(lsoBuf) ?? bases[0] ?? 0;
  const recoveryPoint = decodeOffsetCheckpoint(rpBuf) ?? 0;
  const settings = { segmentBytes: config.segmentBytes, indexIntervalBytes: config.indexIntervalBytes };

  let segments = await Promise.all(bases.map((b) => LogSegment.openExisting(dir, b, settings)));
  let truncatedBytes = 0;
  if (segments.length > 0) {
    const last = segments.length - 1;
    // After a crash, start at the segment that holds the recovery point: everything before it
    // was fsynced (segments are sealed with an fsync on roll) and is trusted.
    let firstToRecover = last + 1;
    if (!hadCleanShutdown) {
      firstToRecover = segments.findIndex(
        (_s, i) => i === last || segments[i + 1]!.baseOffset > recoveryPoint,
      );
    }
    const trustedTail = hadCleanShutdown ? last : firstToRecover;
    await Promise.all(
      segments.slice(0, trustedTail).map((seg, i) => seg.setSealedInfo(segments[i + 1]!.baseOffset)),
    );
    if (hadCleanShutdown) await segments[last]!.loadTail();
    for (let i = firstToRecover; i <= last; i++) {
      const seg = segments[i]!;
      const cut = await seg.recover();
      truncatedBytes += cut;
      const next = segments[i + 1];
      if (cut > 0 || (next !== undefined && seg.nextOffset > next.baseOffset)) {
        if (cut > 0) logger.warn('truncated corrupt log tail', { dir, segment: seg.baseOffset, bytes: cut });
        // Kafka drops every segment after a corrupt one: their offsets no longer follow on.
        for (const doomed of segments.slice(i + 1)) await doomed.delete();
        segments = segments.slice(0, i + 1);
        await seg.flush();
        break;
      }
      // A recovered segment that is not the active one gets its rebuilt indexes on disk.
      if (i < segments.length - 1) await seg.seal();
    }
  }
  if (segments.length === 0) segments = [await createEmpty(dir, logStartOffset, settings)];

  let active = segments[segments.length - 1]!;
  let nextOffset = active.isEmpty ? active.baseOffset : active.nextOffset;
  if (logStartOffset > nextOffset) {
    // DeleteRecords moved the start past the end (then a crash): start afresh at the start offset.
    for (const s of segments) await s.delete();
    segments = [await createEmpty(dir, logStartOffset, settings)];
    active = segments[0]!;
    nextOffset = logStartOffset;
  }
  logStartOffset = Math.max(logStartOffset, segments[0]!.baseOffset);
  invariant(nextOffset >= logStartOffset, `log end ${nextOffset} below start ${logStartOffset} in ${dir}`);

  const epochCache = await LeaderEpochCache.load(dir);
  let epochsChanged = epochCache.truncateFromEnd(nextOffset);
  epochsChanged = epochCache.truncateFromStart(logStartOffset) || epochsChanged;

  const producerState = new ProducerStateManager(dir);
  const snapshotOffset = await producerState.loadLatestSnapshot(nextOffset);
  const replayFrom = Math.max(snapshotOffset ?? segments[0]!.baseOffset, segments[0]!.baseOffset);
  for (const seg of segments) {
    if (replayFrom >= nextOffset) break;
    if (seg.nextOffset <= replayFrom && seg !== active) continue;
    await seg.forEachBatch(replayFrom, (buf, at) => {
      if (baseOffsetAt(buf, at) < replayFrom) return;
      producerState.update(buf, at);
      // The epoch checkpoint is written asynchronously and may trail the log after a crash.
      if (epochCache.assign(leaderEpochAt(buf, at), baseOffsetAt(buf, at))) epochsChanged = true;
    });
  }
  if (epochsChanged) await epochCache.persist();
  return {
    segments,
    nextOffset,
    logStartOffset,
    recoveryPoint: nextOffset,
    producerState,
    epochCache,
    truncatedBytes,
  };
}

async function createEmpty(
  dir: string,
  baseOffset: number,
  settings: { segmentBytes: number; indexIntervalBytes: number },
): Promise<LogSegment> {
  const seg = LogSegment.create(dir, baseOffset, settings, Date.now());
  await seg.flush();
  return seg;
}
