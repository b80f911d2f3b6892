// A bounded set of open segment files (log.open.files.max). Kafka keeps every segment's file open and asks
// operators for a huge ulimit; Brook opens a segment's `.log` when a read or write needs it and closes the least
// recently used idle ones beyond the bound, so the number of open files does not grow with the number of
// segments or partitions. The bound is soft: a file in use (a read, a write, an fsync) is never closed under the
// operation, so when more files than the bound are busy at once they all stay open until their users finish.
//
//   const cache = new OpenFileCache(1000);
//   const file = cache.file('/data/t-0/00000000000000000000.log', 'w+');
//   await file.use((fh) => fh.read(buf, 0, n, pos));   // opens (or reopens, 'r+') on demand
//   await file.close();                                // for good: the segment is closed or deleted

import { open, readFile, type FileHandle } from 'node:fs/promises';

export class OpenFileCache {
  /** Open (or opening) files, least recently used first: a Map keeps insertion order. */
  private readonly lru = new Map<CachedFile, true>();
  /** Acquires waiting for a slot: every open file is in use. */
  private waiters: (() => void)[] = [];

  constructor(private capacityValue: number) {
    this.setCapacity(capacityValue);
  }

  get capacity(): number {
    return this.capacityValue;
  }

  /** Files open or being opened right now. */
  get openCount(): number {
    return this.lru.size;
  }

  setCapacity(capacity: number): void {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity must be >= 1`);
    this.capacityValue = capacity;
    this.trim();
  }

  /** A handle to `path`, opened with `createFlags` the first time (e.g. 'w+' for a new file), 'r+' after. */
  file(path: string, createFlags: 'w+' | 'r+' = 'r+'): CachedFile {
    return new CachedFile(this, path, createFlags);
  }

  /** @internal `file` is being used, so it becomes the most recent. */
  touch(file: CachedFile): void {
    this.lru.delete(file);
    this.lru.set(file, true);
  }

  /** @internal `file` holds no handle any more: its slot goes to a waiter, if any. */
  forget(file: CachedFile): void {
    if (this.lru.delete(file)) this.waiters.shift()?.();
  }

  /** @internal True when one more file may open now, after closing the least recently used idle one if needed. */
  makeRoom(): boolean {
    if (this.lru.size < this.capacityValue) return true;
    for (const file of this.lru.keys()) {
      if (file.closeIfIdle()) return this.lru.size < this.capacityValue;
    }
    return false;
  }

  /** @internal Resolves when a slot may be free (a file went idle or closed); the caller checks again. */
  waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** @internal `file` has no users left: close it at once if someone waits for a slot or the bound is exceeded. */
  idle(file: CachedFile): void {
    if (this.waiters.length > 0) file.closeIfIdle();
    else this.trim();
  }

  /** Closes idle files, oldest first, until the bound holds (or only busy files are left). */
  trim(): void {
    if (this.lru.size <= this.capacityValue) return;
    for (const file of this.lru.keys()) {
      if (this.lru.size <= this.capacityValue) break;
      file.closeIfIdle();
    }
  }
}

export class CachedFile {
  private fh: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;
  /** Operations between acquire() and release(); the handle is never closed while this is above 0. */
  private users = 0;
  /** Closes of evicted handles still running; close() waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private closedForGood = false;

  constructor(
    private readonly cache: OpenFileCache,
    /** Where the file is reopened from; the owner updates it when it renames the file (with a handle held). */
    public path: string,
    private flags: 'w+' | 'r+',
  ) {}

  get isOpen(): boolean {
    return this.fh !== null;
  }

  /** Runs `fn` with an open handle; the handle stays open until `fn` settles. */
  async use<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    const fh = await this.acquire();
    try {
      return await fn(fh);
    } finally {
      this.release();
    }
  }

  /**
   * An open handle that stays open until release() is called once for it. When the bound is reached and every
   * open file is in use, waits until one is released: an operation holds at most a file or two and never waits
   * on another operation while holding one, so the wait ends.
   */
  async acquire(): Promise<FileHandle> {
    this.users++;
    try {
      for (;;) {
        if (this.closedForGood) throw new Error(`file ${this.path} is closed`);
        if (this.fh !== null) {
          this.cache.touch(this);
          return this.fh;
        }
        if (this.opening !== null) return await this.opening;
        if (this.cache.makeRoom()) {
          this.cache.touch(this);
          this.opening = this.openNow();
          return await this.opening;
        }
        await this.cache.waitForRoom();
      }
    } catch (err) {
      this.release();
      throw err;
    }
  }

  release(): void {
    this.users--;
    if (this.users === 0) this.cache.idle(this);
  }

  private async openNow(): Promise<FileHandle> {
    try {
      const fh = await open(this.path, this.flags);
      // A new file is created (and truncated) once; later reopens must keep what was written.
      this.flags = 'r+';
      this.fh = fh;
      return fh;
    } catch (err) {
      this.cache.forget(this);
      throw err;
    } finally {
      this.opening = null;
    }
  }

  /** @internal The cache evicts this file: closes the handle unless an operation is using it. */
  closeIfIdle(): boolean {
    if (this.users > 0 || this.fh === null) return false;
    const fh = this.fh;
    this.fh = null;
    const done = fh.close().catch(() => undefined);
    this.closing.add(done);
    void done.then(() => this.closing.delete(done));
    this.cache.forget(this);
    return true;
  }

  /** Closes the handle for good; the caller has made sure no operation still uses it. */
  async close(): Promise<void> {
    this.closedForGood = true;
    const fh = this.fh ?? (await this.opening?.catch(() => null)) ?? null;
    this.fh = null;
    this.cache.forget(this);
    await Promise.all([fh?.close(), ...this.closing]);
  }
}

/**
 * The process's open-file limits (`Max open files` in /proc/self/limits, soft and hard); null where that file does
 * not exist (not Linux) or says "unlimited". Node has no getrlimit, and this is read once at startup.
 */
export async function readOpenFileLimit(): Promise<{ soft: number; hard: number } | null> {
  try {
    const text = await readFile('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+)\s+(\d+|unlimited)/m.exec(text);
    if (m === null) return null;
    const soft = Number(m[1]);
    return { soft, hard: m[2] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[2]) };
  } catch {
    return null;
  }
}

/**
 * log.open.files.max's default (0 = auto): half the soft limit, leaving the rest for sockets, index and
 * checkpoint files and the process itself; at least 16, and 1000 when the limit cannot be read.
 */
export function defaultOpenFilesMax(softLimit: number | null): number {
  if (softLimit === null) return 1000;
  return Math.max(16, Math.floor(softLimit / 2));
}

/**
 * The segment files of every log in this process. One cache per process, not per broker: the limit it protects
 * (RLIMIT_NOFILE) is the process's. LogManager.open sets its capacity from log.open.files.max.
 */
export const segmentFiles = new OpenFileCache(1000);
