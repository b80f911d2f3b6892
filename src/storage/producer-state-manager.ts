// Idempotent-producer state of one partition, after Kafka's ProducerStateManager: per producer id
// the current epoch and the metadata of its last 5 batches, enough to recognise a retried batch
// (duplicate) or a lost one (sequence gap). Persisted as <20-digit offset>.snapshot files; state
// after the newest snapshot is rebuilt by scanning batch headers.

import { crc32c } from '@node-rs/crc32';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { lastOffsetAt, maxTimestampAt } from '../protocol/batch-header.js';
import { readOptional, writeFileAtomic } from './checkpoint-file.js';
import { StorageError } from './errors.js';
import { baseOffsetAt } from '../protocol/batch-header.js';
import { offsetFileName } from './log-segment.js';
import {
  baseSequenceAt,
  isControlBatchAt,
  lastOffsetDeltaAt,
  producerEpochAt,
  producerIdAt,
} from './record-batches.js';

/** Kafka keeps this many batches per producer to answer retries (max.in.flight.requests = 5). */
export const PRODUCER_BATCH_CACHE_SIZE = 5;
/** producer.id.expiration.ms default. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
const SNAPSHOT_VERSION = 1;
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
}

/** Sequence after `lastSeq + delta`, wrapping at Int32.MAX like the producer does. */
export function addSequence(seq: number, delta: number): number {
  return seq > INT32_MAX - delta ? seq + delta - INT32_MAX - 1 : seq + delta;
}

/** Tentative per-producer position while validating a multi-batch append. */
export type PendingProducerState = Map<number, { epoch: number; lastSeq: number }>;

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();

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

  /** Records a batch that now has its offsets (append, or replay during recovery). */
  update(buf: Buffer, at: number): void {
    if (producerIdAt(buf, at) < 0 || isControlBatchAt(buf, at)) return;
    const producerId = producerIdAt(buf, at);
    const epoch = producerEpochAt(buf, at);
    const firstSeq = baseSequenceAt(buf, at);
    const timestampMs = maxTimestampAt(buf, at);
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = { producerId, epoch, batches: [], lastTimestampMs: timestampMs };
      this.producers.set(producerId, entry);
    } else if (entry.epoch !== epoch) {
      entry.epoch = epoch;
      entry.batches.length = 0;
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
  }

  /** Bounds the map: producers silent for producer.id.expiration.ms are forgotten, as in Kafka. */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      if (nowMs - entry.lastTimestampMs > this.producerIdExpirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Drops cached batches at or after `offset` (log truncation); callers then replay from a snapshot. */
  clear(): void {
    this.producers.clear();
  }

  /** Serialises the state now (synchronously) and writes it as the snapshot for `offset`. */
  takeSnapshot(offset: number): Promise<void> {
    return writeFileAtomic(join(this.dir, offsetFileName(offset, SNAPSHOT_SUFFIX)), this.encode());
  }

  /**
   * Loads the newest readable snapshot at or below `maxOffset`; returns its offset, or null when
   * there is none (state is then empty and the caller replays from the log start).
   */
  async loadLatestSnapshot(maxOffset: number): Promise<number | null> {
    this.producers.clear();
    const offsets = (await this.snapshotOffsets()).filter((o) => o <= maxOffset).sort((a, b) => b - a);
    for (const offset of offsets) {
      const buf = await readOptional(join(this.dir, offsetFileName(offset, SNAPSHOT_SUFFIX)));
      if (buf !== null && this.decode(buf)) return offset;
      this.producers.clear();
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
  // (producerId int64, epoch int16, lastTimestamp int64, n int8, n x (firstSeq int32, lastSeq int32,
  //  firstOffset int64, lastOffset int64, timestamp int64)).
  private encode(): Buffer {
    let size = 10;
    for (const e of this.producers.values()) size += 19 + e.batches.length * 32;
    const buf = Buffer.alloc(size);
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    buf.writeInt32BE(this.producers.size, 6);
    let p = 10;
    for (const e of this.producers.values()) {
      buf.writeBigInt64BE(BigInt(e.producerId), p);
      buf.writeInt16BE(e.epoch, p + 8);
      buf.writeBigInt64BE(BigInt(e.lastTimestampMs), p + 10);
      buf.writeInt8(e.batches.length, p + 18);
      p += 19;
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
    if (buf.length < 10 || buf.readInt16BE(0) !== SNAPSHOT_VERSION) return false;
    if (crc32c(buf.subarray(6)) !== buf.readUInt32BE(2)) return false;
    const count = buf.readInt32BE(6);
    let p = 10;
    for (let i = 0; i < count; i++) {
      if (p + 19 > buf.length) return false;
      const n = buf.readInt8(p + 18);
      if (n < 0 || n > PRODUCER_BATCH_CACHE_SIZE || p + 19 + n * 32 > buf.length) return false;
      const entry: ProducerEntry = {
        producerId: Number(buf.readBigInt64BE(p)),
        epoch: buf.readInt16BE(p + 8),
        lastTimestampMs: Number(buf.readBigInt64BE(p + 10)),
        batches: [],
      };
      p += 19;
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
