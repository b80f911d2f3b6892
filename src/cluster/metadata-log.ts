// The append-only metadata log file: one CRC-checked record per change (metadata-records.ts),
// appended with group commit: changes that arrive while an fsync runs are written together and
// share the next one, so a burst of 10,000 topic creations costs a few hundred fsyncs, not 10,000.
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '../storage/fsync-dir.js';
import { encodeRecord, type MetadataRecord } from './metadata-records.js';

/** Bounds one group-commit write (records are small: this is thousands of changes). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface PendingAppend {
  bytes: Buffer;
  /** Runs once the record is durable, before the caller's promise resolves. */
  onDurable: () => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class MetadataLog {
  private readonly queue: PendingAppend[] = [];
  private draining: Promise<void> | null = null;
  /** Set when the file may hold bytes the store never acknowledged and could not cut off. */
  private failure: Error | null = null;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    /** Bytes of whole records in the file: the next append goes here. */
    private position: number,
    /** Called between batches, when no write is in flight (e.g. to take a snapshot). */
    private readonly afterBatch: (log: MetadataLog) => Promise<void>,
  ) {}

  /** Opens an existing log whose first `validBytes` are whole records (anything after is cut off). */
  static async open(
    path: string,
    validBytes: number,
    afterBatch: (log: MetadataLog) => Promise<void>,
  ): Promise<MetadataLog> {
    const fh = await open(path, 'r+');
    try {
      const { size } = await fh.stat();
      if (size > validBytes) {
        await fh.truncate(validBytes);
        await fh.sync();
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new MetadataLog(path, fh, validBytes, afterBatch);
  }

  /** Writes a new log holding only `header` (tmp, fsync, rename, fsync the directory) and opens it. */
  static async create(
    path: string,
    header: MetadataRecord,
    afterBatch: (log: MetadataLog) => Promise<void>,
  ): Promise<MetadataLog> {
    const bytes = encodeRecord(header);
    await writeDurably(path, [bytes]);
    return MetadataLog.open(path, bytes.length, afterBatch);
  }

  /** Bytes of records in the file, header included. */
  get sizeBytes(): number {
    return this.position;
  }

  /**
   * Appends one record; resolves once it is fsynced, after `onDurable` applied it. A failed write
   * rejects every record of its batch and leaves the file as it was before the batch.
   */
  append(record: MetadataRecord, onDurable: () => void): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes: encodeRecord(record), onDurable, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining !== null || this.queue.length === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      this.kick();
    });
  }

  /**
   * Replaces this log's file with a new one that holds only `header` (after a snapshot made the
   * old records redundant). Call only from afterBatch, when no write is in flight.
   */
  async replace(header: MetadataRecord): Promise<void> {
    const bytes = encodeRecord(header);
    await writeDurably(this.path, [bytes]);
    const fh = await open(this.path, 'r+');
    await this.fh.close().catch(() => undefined);
    this.fh = fh;
    this.position = bytes.length;
  }

  /** Waits for every queued append, then closes the file. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    await this.fh.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.queue.length && (count === 0 || bytes < MAX_BATCH_BYTES)) {
        bytes += this.queue[count]!.bytes.length;
        count++;
      }
      const batch = this.queue.splice(0, count);
      try {
        if (this.failure) throw this.failure;
        await this.write(
          Buffer.concat(
            batch.map((p) => p.bytes),
            bytes,
          ),
        );
      } catch (err) {
        for (const p of batch) p.reject(err as Error);
        continue;
      }
      for (const p of batch) {
        p.onDurable();
        p.resolve();
      }
      // afterBatch handles its own failures (a failed snapshot leaves the log as it was).
      await this.afterBatch(this).catch(() => undefined);
    }
  }

  private async write(data: Buffer): Promise<void> {
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, this.position + done);
        done += bytesWritten;
      }
      await this.fh.datasync();
      this.position += data.length;
    } catch (err) {
      // Cut off what this batch may have written, so a later record never follows a half one and
      // no record the callers were told failed can come back at the next start.
      try {
        await this.fh.truncate(this.position);
      } catch (truncateErr) {
        this.failure = new Error(
          `The metadata log ${this.path} could not be restored after a failed write (${String(truncateErr)}); restart the broker.`,
        );
      }
      throw err;
    }
  }
}

/** tmp + fsync + rename + fsync of the directory: the file at `path` is either the old one or all of `chunks`. */
export async function writeDurably(path: string, chunks: Buffer[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}
