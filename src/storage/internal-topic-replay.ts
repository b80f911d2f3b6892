// Reading an internal topic's partition back (__consumer_offsets, __transaction_state) the way a
// coordinator loads it at startup or on becoming its leader: every batch from the log start to the log end,
// in order. A corrupt or undecodable batch is skipped with a warning (the state in it is lost, everything
// around it is kept), so one damaged batch never stops a coordinator from loading.
import type { Logger } from '../logger.js';
import {
  decodeBatchSync,
  iterateBatches,
  readBatchInfo,
  type BatchInfo,
  type Record,
} from '../protocol/records.js';
import { CorruptBatchError } from './errors.js';
import type { UnifiedLog } from './unified-log.js';

/** How much one read of the log returns (at least one whole batch). */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;

export interface ReplayVisitor {
  /** A control batch (a transaction marker), undecoded. */
  control?(buf: Buffer, pos: number, info: BatchInfo): void;
  /** A record of a data batch that has a key, in log order. */
  record(record: Record, info: BatchInfo): void;
}

/** Replays `log` (partition `partition` of `topic`) from its start to its current end through `visitor`. */
export async function replayInternalPartition(
  log: UnifiedLog,
  topic: string,
  partition: number,
  logger: Logger,
  visitor: ReplayVisitor,
): Promise<void> {
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    let read;
    try {
      read = await log.read(offset, REPLAY_READ_BYTES, { minOneBatch: true, maxOffset: end });
    } catch (err) {
      if (!(err instanceof CorruptBatchError)) throw err;
      logger.warn(`Skipping a corrupt ${topic} batch; what it held is lost`, {
        partition,
        offset: err.batchBaseOffset,
        resumeAt: err.resumeOffset,
      });
      offset = err.resumeOffset;
      continue;
    }
    if (read.records.length === 0) break;
    let next = offset;
    for (const { pos } of iterateBatches(read.records)) {
      const info = readBatchInfo(read.records, pos);
      next = info.lastOffset + 1;
      if (info.isControl) {
        visitor.control?.(read.records, pos, info);
        continue;
      }
      let records;
      try {
        ({ records } = decodeBatchSync(read.records, pos));
      } catch (err) {
        logger.warn(`Skipping an undecodable ${topic} batch`, {
          partition,
          offset: info.baseOffset,
          err: String(err),
        });
        continue;
      }
      // A read starts at the batch holding `offset`: records before it were visited by the previous read.
      for (const r of records) if (r.offset >= offset && r.key !== null) visitor.record(r, info);
    }
    if (next <= offset) break; // no progress: a truncated tail; what was read is all there is
    offset = next;
  }
}
