// Idempotent-producer state of one partition, after Kafka's ProducerStateManager: per producer id
// the current epoch and the metadata of its last 5 batches, enough to recognise a retried batch
// (duplicate) or a lost one (sequence gap). Persisted as <20-digit offset>.snapshot files; state
// after the newest snapshot is rebuilt by scanning batch headers.
// Transactions: a transactional producer's first batch opens its ongoing transaction (its first
// offset bounds the partition's last stable offset) and the COMMIT/ABORT control batch (marker)
// closes it; an aborted one is reported to the caller for the aborted-transaction index. Ongoing
// transactions are part of the snapshot, so a restart mid-transaction keeps the LSO where it was.

import { crc32c } from '@node-rs/crc32';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BATCH_HEADER_BYTES, batchSizeAt, lastOffsetAt, maxTimestampAt } from '../protocol/batch-header.js';
import { readOptional, writeFileAtomic } from './checkpoint-file.js';
import { StorageError } from './errors.js';
import { baseOffsetAt } from '../protocol/batch-header.js';
import { offsetFileName } from './log-segment.js';
import {
  baseSequenceAt,
  isControlBatchAt,
  isTransactionalBatchAt,
  lastOffsetDeltaAt,
  producerEpochAt,
  producerIdAt,
} from './record-batches.js';

/** Kafka keeps this many batches per producer to answer retries (max.in.flight.requests = 5). */
export const PRODUCER_BATCH_CACHE_SIZE = 5;
/** producer.id.expiration.ms default. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/**
 * v1: no transactions; v2 adds each producer's ongoing transaction's first offset; v3 the coordinator
 * epoch of its last marker.
 */
const SNAPSHOT_VERSION = 3;
const SNAPSHOT_SUFFIX = '.snapshot';
const INT32_MAX = 0x7fffffff;

export interface ProducerBatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestampMs: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCH_CACHE_SIZE. */
  batches: ProducerBatchMetadata[];
  lastTimestampMs: number;
  /** First offset of the producer's ongoing transaction in this partition, -1 when none. */
  currentTxnFirstOffset: number;
  /**
   * The coordinator epoch of the last marker written for this producer, -1 when none: a marker from
   * an older coordinator (one that lost its __transaction_state partition) is refused (Kafka's
   * TRANSACTION_COORDINATOR_FENCED).
   */
  coordinatorEpoch: number;
}

/** A transaction closed by a marker in this partition. */
export interface CompletedTxn {
  producerId: number;
  firstOffset: number;
  /** The marker's offset. */
  lastOffset: number;
  aborted: boolean;
}

/** Control record key (Kafka's EndTransactionMarker): version int16, type int16 (0 abort, 1 commit). */
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

/** Sequence after `lastSeq + delta`, wrapping at Int32.MAX like the producer does. */
export function addSequence(seq: number, delta: number): number {
  return seq > INT32_MAX - delta ? seq + delta - INT32_MAX - 1 : seq + delta;
}

/** Tentative per-producer position while validating a multi-batch append. */
export type PendingProducerState = Map<number, { epoch: number; lastSeq: number }>;

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Producers with an ongoing transaction here → its first offset (few at a time). */
  private readonly ongoing = new Map<number, number>();

  constructor(
    readonly dir: string,
    private readonly producerIdExpirationMs = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ) {}

  get producerCount(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** The first offset of the oldest ongoing transaction (Kafka's firstUnstableOffset), or -1. */
  firstUnstableOffset(): number {
    let first = -1;
    for (const offset of this.ongoing.values()) if (first < 0 || offset < first) first = offset;
    return first;
  }

  /** Ongoing transactions as producer id → first offset (DescribeProducers, tests). */
  ongoingTransactions(): ReadonlyMap<number, number> {
    return this.ongoing;
  }

  /**
   * Checks the producer batch at `at` of `buf` before offsets are assigned. Returns the original
   * metadata when it is a retry of a cached batch, null when it may be appended; throws
   * INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER otherwise. `pending` carries the
   * effect of earlier batches of the same append.
   */
  check(buf: Buffer, at: number, pending: PendingProducerState | null): ProducerBatchMetadata | null {
    const producerId = producerIdAt(buf, at);
    const epoch = producerEpochAt(buf, at);
    const firstSeq = baseSequenceAt(buf, at);
    const lastSeq = addSequence(firstSeq, lastOffsetDeltaAt(buf, at));
    const entry = this.producers.get(producerId);
    const tentative = pending?.get(producerId);
    const currentEpoch = tentative?.epoch ?? entry?.epoch;
    const currentLastSeq = tentative?.lastSeq ?? entry?.batches.at(-1)?.lastSeq;
    pending?.set(producerId, { epoch, lastSeq });
    if (currentEpoch === undefined) return null; // unknown producer: accepted at any sequence (Kafka >= 2.5)
    if (epoch < currentEpoch) {
      throw new StorageError(
        'INVALID_PRODUCER_EPOCH',
        `producer ${producerId} epoch ${epoch} is older than current epoch ${currentEpoch}`,
      );
    }
    if (epoch > currentEpoch) {
      if (firstSeq !== 0) {
        throw new StorageError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${producerId} new epoch ${epoch} must start at sequence 0, got ${firstSeq}`,
        );
      }
      return null;
    }
    if (tentative === undefined && entry !== undefined) {
      for (const b of entry.batches) if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return b;
    }
    if (currentLastSeq !== undefined && firstSeq !== addSequence(currentLastSeq, 1)) {
      throw new StorageError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${producerId} epoch ${epoch}: expected sequence ${addSequence(currentLastSeq, 1)}, got ${firstSeq}`,
      );
    }
    return null;
  }

  /**
   * Records a batch that now has its offsets (append, or replay during recovery). Returns the
   * transaction a marker closed, null for any other batch.
   */
  update(buf: Buffer, at: number): CompletedTxn | null {
    if (producerIdAt(buf, at) < 0) return null;
    const producerId = producerIdAt(buf, at);
    const epoch = producerEpochAt(buf, at);
    const timestampMs = maxTimestampAt(buf, at);
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = {
        producerId,
        epoch,
        batches: [],
        lastTimestampMs: timestampMs,
        currentTxnFirstOffset: -1,
        coordinatorEpoch: -1,
      };
      this.producers.set(producerId, entry);
    } else if (entry.epoch !== epoch) {
      // A marker written for a fenced or timed-out producer carries the bumped epoch: batches of
      // the older epoch are refused from then on (INVALID_PRODUCER_EPOCH).
      entry.epoch = epoch;
      entry.batches.length = 0;
    }
    if (isControlBatchAt(buf, at)) return this.completeTxn(entry, buf, at, timestampMs);
    const firstSeq = baseSequenceAt(buf, at);
    if (entry.currentTxnFirstOffset < 0 && isTransactionalBatchAt(buf, at)) {
      entry.currentTxnFirstOffset = baseOffsetAt(buf, at);
      this.ongoing.set(producerId, entry.currentTxnFirstOffset);
    }
    entry.batches.push({
      firstSeq,
      lastSeq: addSequence(firstSeq, lastOffsetDeltaAt(buf, at)),
      firstOffset: baseOffsetAt(buf, at),
      lastOffset: lastOffsetAt(buf, at),
      timestampMs,
    });
    if (entry.batches.length > PRODUCER_BATCH_CACHE_SIZE) entry.batches.shift();
    if (timestampMs > entry.lastTimestampMs) entry.lastTimestampMs = timestampMs;
    return null;
  }

  private completeTxn(
    entry: ProducerEntry,
    buf: Buffer,
    at: number,
    timestampMs: number,
  ): CompletedTxn | null {
    if (timestampMs > entry.lastTimestampMs) entry.lastTimestampMs = timestampMs;
    const [type, coordinatorEpoch] = markerFieldsAt(buf, at);
    if (coordinatorEpoch > entry.coordinatorEpoch) entry.coordinatorEpoch = coordinatorEpoch;
    const firstOffset = entry.currentTxnFirstOffset;
    if (firstOffset < 0 || (type !== CONTROL_TYPE_ABORT && type !== CONTROL_TYPE_COMMIT)) return null;
    entry.currentTxnFirstOffset = -1;
    this.ongoing.delete(entry.producerId);
    return {
      producerId: entry.producerId,
      firstOffset,
      lastOffset: baseOffsetAt(buf, at),
      aborted: type === CONTROL_TYPE_ABORT,
    };
  }

  /** Bounds the map: producers silent for producer.id.expiration.ms are forgotten, as in Kafka. */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      // A producer with an open transaction is kept: its first offset holds the LSO (as Kafka).
      if (entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestampMs > this.producerIdExpirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Drops cached batches at or after `offset` (log truncation); callers then replay from a snapshot. */
  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
  }

  /** Serialises the state now (synchronously) and writes it as the snapshot for `offset`. */
  takeSnapshot(offset: number, after?: Promise<unknown>): Promise<void> {
    const data = this.encode();
    const path = join(this.dir, offsetFileName(offset, SNAPSHOT_SUFFIX));
    // `after`: writes the snapshot trusts to be on disk first (the aborted-transaction index).
    return after === undefined ? writeFileAtomic(path, data) : after.then(() => writeFileAtomic(path, data));
  }

  /**
   * Loads the newest readable snapshot at or below `maxOffset`; returns its offset, or null when
   * there is none (state is then empty and the caller replays from the log start).
   */
  async loadLatestSnapshot(maxOffset: number): Promise<number | null> {
    this.clear();
    const offsets = (await this.snapshotOffsets()).filter((o) => o <= maxOffset).sort((a, b) => b - a);
    for (const offset of offsets) {
      const buf = await readOptional(join(this.dir, offsetFileName(offset, SNAPSHOT_SUFFIX)));
      if (buf !== null && this.decode(buf)) return offset;
      this.clear();
    }
    return null;
  }

  /** Deletes snapshots below `offset` except the newest of them, and any above `maxOffset`. */
  async cleanSnapshots(keepFromOffset: number, maxOffset = Number.MAX_SAFE_INTEGER): Promise<void> {
    const offsets = (await this.snapshotOffsets()).sort((a, b) => a - b);
    const below = offsets.filter((o) => o < keepFromOffset);
    const doomed = [...below.slice(0, -1), ...offsets.filter((o) => o > maxOffset)];
    await Promise.all(
      doomed.map((o) => unlink(join(this.dir, offsetFileName(o, SNAPSHOT_SUFFIX))).catch(() => {})),
    );
  }

  private async snapshotOffsets(): Promise<number[]> {
    const names = await readdir(this.dir);
    return names
      .filter((n) => n.endsWith(SNAPSHOT_SUFFIX) && /^\d{20}\.snapshot$/.test(n))
      .map((n) => Number(n.slice(0, 20)));
  }

  // Layout: version int16 | crc uint32 (CRC-32C of what follows) | count int32 | count x
  // (producerId int64, epoch int16, lastTimestamp int64, currentTxnFirstOffset int64 (v2+),
  //  coordinatorEpoch int32 (v3+), n int8,
  //  n x (firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64, timestamp int64)).
  private encode(): Buffer {
    let size = 10;
    for (const e of this.producers.values()) size += 31 + e.batches.length * 32;
    const buf = Buffer.alloc(size);
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    buf.writeInt32BE(this.producers.size, 6);
    let p = 10;
    for (const e of this.producers.values()) {
      buf.writeBigInt64BE(BigInt(e.producerId), p);
      buf.writeInt16BE(e.epoch, p + 8);
      buf.writeBigInt64BE(BigInt(e.lastTimestampMs), p + 10);
      buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), p + 18);
      buf.writeInt32BE(e.coordinatorEpoch, p + 26);
      buf.writeInt8(e.batches.length, p + 30);
      p += 31;
      for (const b of e.batches) {
        buf.writeInt32BE(b.firstSeq, p);
        buf.writeInt32BE(b.lastSeq, p + 4);
        buf.writeBigInt64BE(BigInt(b.firstOffset), p + 8);
        buf.writeBigInt64BE(BigInt(b.lastOffset), p + 16);
        buf.writeBigInt64BE(BigInt(b.timestampMs), p + 24);
        p += 32;
      }
    }
    buf.writeUInt32BE(crc32c(buf.subarray(6)), 2);
    return buf;
  }

  private decode(buf: Buffer): boolean {
    if (buf.length < 10) return false;
    const version = buf.readInt16BE(0);
    if (version < 1 || version > SNAPSHOT_VERSION) return false;
    if (crc32c(buf.subarray(6)) !== buf.readUInt32BE(2)) return false;
    const head = version === 1 ? 19 : version === 2 ? 27 : 31;
    const count = buf.readInt32BE(6);
    let p = 10;
    for (let i = 0; i < count; i++) {
      if (p + head > buf.length) return false;
      const n = buf.readInt8(p + head - 1);
      if (n < 0 || n > PRODUCER_BATCH_CACHE_SIZE || p + head + n * 32 > buf.length) return false;
      const entry: ProducerEntry = {
        producerId: Number(buf.readBigInt64BE(p)),
        epoch: buf.readInt16BE(p + 8),
        lastTimestampMs: Number(buf.readBigInt64BE(p + 10)),
        batches: [],
        currentTxnFirstOffset: version === 1 ? -1 : Number(buf.readBigInt64BE(p + 18)),
        coordinatorEpoch: version < 3 ? -1 : buf.readInt32BE(p + 26),
      };
      if (entry.currentTxnFirstOffset >= 0) this.ongoing.set(entry.producerId, entry.currentTxnFirstOffset);
      p += head;
      for (let j = 0; j < n; j++, p += 32) {
        entry.batches.push({
          firstSeq: buf.readInt32BE(p),
          lastSeq: buf.readInt32BE(p + 4),
          firstOffset: Number(buf.readBigInt64BE(p + 8)),
          lastOffset: Number(buf.readBigInt64BE(p + 16)),
          timestampMs: Number(buf.readBigInt64BE(p + 24)),
        });
      }
      this.producers.set(entry.producerId, entry);
    }
    return p === buf.length;
  }
}

/**
 * The control record of the marker batch at `at`: [type (0 abort, 1 commit), coordinator epoch], -1
 * for what cannot be read.
 */
export function markerFieldsAt(buf: Buffer, at: number): [number, number] {
  // Record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint, keyLength
  // varint, key (version int16, type int16), valueLength varint, value (version int16, coordinator
  // epoch int32). Control batches are never compressed.
  let p = at + BATCH_HEADER_BYTES;
  const end = at + batchSizeAt(buf, at);
  const skipVarint = (): number => {
    let shift = 0;
    let raw = 0;
    while (p < end) {
      const b = buf[p++]!;
      raw += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      shift += 7;
      if (shift > 63) return -1;
    }
    return -1;
  };
  skipVarint(); // length
  p += 1; // attributes
  skipVarint(); // timestamp delta
  skipVarint(); // offset delta
  const keyLength = skipVarint();
  if (keyLength < 4 || p + keyLength > end) return [-1, -1];
  const type = buf.readInt16BE(p + 2);
  p += keyLength;
  const valueLength = skipVarint();
  if (valueLength < 6 || p + 6 > end) return [type, -1];
  return [type, buf.readInt32BE(p + 2)];
}
