// Owns every partition log under one data directory, after Kafka's LogManager: loads the
// `<topic>-<partition>` directories at startup (in parallel), creates and deletes logs, and runs
// retention, time-based flushes and the log cleaner (compaction) in the background. A `.clean-shutdown` marker written by
// close() tells the next start that indexes can be trusted and no recovery scan is needed.

import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorySyncer } from '../cluster/dir-sync.js';
import { removeIfExists, writeFileAtomic } from './checkpoint-file.js';
import { StorageError } from './errors.js';
import { mkdirDurable } from './fsync-dir.js';
import { LogCleaner } from './log-cleaner.js';
import type { LogConfig } from './log-config.js';
import { silentLogger, type StorageLogger } from './log-loader.js';
import { segmentFiles } from './open-file-cache.js';
import { UnifiedLog } from './unified-log.js';

export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/** Kafka's legal topic names; also keeps a topic from escaping the data directory. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** How often logs with a finite flush.ms are checked (Kafka's log.flush.scheduler.interval.ms). */
export const FLUSH_CHECK_INTERVAL_MS = 1000;
/** Recovery points are checkpointed this often (log.flush.offset.checkpoint.interval.ms). */
export const RECOVERY_CHECKPOINT_INTERVAL_MS = 60_000;
/**
 * Bounds how many logs are opened (at startup) or closed (at shutdown) at once: each holds a few files open
 * meanwhile (checkpoints, indexes being written), and all of them at once ran a large broker out of descriptors.
 */
const LOAD_CONCURRENCY = 64;

export interface LogManagerOptions {
  /** log.cleaner.enable (default true): run the LogCleaner for compacted topics. */
  cleanerEnable?: boolean;
  /** log.cleaner.backoff.ms (default 15 s): pause between cleaner passes. */
  cleanerBackoffMs?: number;
  /** log.cleaner.dedupe.buffer.size: bytes of the cleaner's key map. */
  cleanerDedupeBufferBytes?: number;
  /** log.open.files.max: segment files open at once, process-wide (see open-file-cache.ts); default unchanged. */
  openFilesMax?: number;
}

/** Runs `task` over `items`, at most `concurrency` at a time; settles like Promise.allSettled. */
async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await task(items[i]!);
        results[i] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Suffixes of partition directories that are no longer logs (Kafka's names). */
const DELETE_SUFFIX = '-delete';
const STRAY_SUFFIX = '-stray';

/**
 * `<topic>-<partition>.<uuid without dashes><suffix>`, as Kafka names a directory it renamed
 * away; the topic is shortened when needed so the name fits in 255 bytes.
 */
export function renamedDirName(topic: string, partition: number, suffix: string): string {
  const tail = `-${partition}.${randomUUID().replace(/-/g, '')}${suffix}`;
  return topic.slice(0, 255 - tail.length) + tail;
}

export class LogManager {
  private readonly logs = new Map<string, UnifiedLog>();
  private readonly creating = new Map<string, Promise<UnifiedLog>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private retentionRun: Promise<void> | null = null;
  private flushRun: Promise<void> | null = null;
  private closed = false;
  /** Background removals of `*-delete` directories; close() waits for them. */
  private readonly removals = new Set<Promise<void>>();
  /** New and renamed partition directories share fsyncs of the data directory. */
  private readonly dataDirSync: DirectorySyncer;
  /** Null with log.cleaner.enable=false. */
  readonly cleaner: LogCleaner | null;

  private constructor(
    readonly dataDir: string,
    readonly defaults: LogConfig,
    private readonly logger: StorageLogger,
    /** False when the previous run crashed: its logs were recovered by scanning. */
    readonly hadCleanShutdown: boolean,
    options: LogManagerOptions,
  ) {
    this.dataDirSync = new DirectorySyncer(dataDir);
    this.cleaner =
      options.cleanerEnable === false
        ? null
        : new LogCleaner(() => this.allLogs(), {
            backoffMs: options.cleanerBackoffMs,
            dedupeBufferBytes: options.cleanerDedupeBufferBytes,
            logger,
          });
  }

  static async open(
    dataDir: string,
    defaults: LogConfig,
    logger: StorageLogger = silentLogger,
    options: LogManagerOptions = {},
  ): Promise<LogManager> {
    await mkdirDurable(dataDir);
    if (options.openFilesMax !== undefined) segmentFiles.setCapacity(options.openFilesMax);
    const marker = join(dataDir, CLEAN_SHUTDOWN_FILE);
    const hadCleanShutdown = await stat(marker).then(
      () => true,
      () => false,
    );
    const manager = new LogManager(dataDir, defaults, logger, hadCleanShutdown, options);
    const startMs = Date.now();
    await manager.loadLogs();
    // Topics deleted before a crash or stop: their renamed directories are removed in the background.
    for (const e of await readdir(dataDir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name.endsWith(DELETE_SUFFIX))
        manager.removeInBackground(join(dataDir, e.name));
    }
    // Removed (durably: a marker resurrected by power loss would skip recovery) only after loading
    // and before any write: from here on a crash must trigger recovery.
    await removeIfExists(marker);
    // Worth a line only when there was something to load (an empty data dir is the common first start).
    if (manager.logs.size > 0) {
      logger.info('logs loaded', { count: manager.logs.size, hadCleanShutdown, ms: Date.now() - startMs });
    }
    manager.startBackgroundTasks();
    return manager;
  }

  private async loadLogs(): Promise<void> {
    const entries = await readdir(this.dataDir, { withFileTypes: true });
    const dirs = entries.filter((e) => e.isDirectory() && UnifiedLog.parseDirName(e.name) !== null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < dirs.length) {
        const name = dirs[next++]!.name;
        const { topic, partition } = UnifiedLog.parseDirName(name)!;
        const log = await UnifiedLog.open(join(this.dataDir, name), topic, partition, this.defaults, {
          hadCleanShutdown: this.hadCleanShutdown,
          logger: this.logger,
        });
        this.logs.set(key(topic, partition), log);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, dirs.length) }, worker));
  }

  private startBackgroundTasks(): void {
    const every = (ms: number, task: () => void): void => {
      const t = setInterval(task, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.defaults.retentionCheckIntervalMs, () => void this.runRetention());
    every(FLUSH_CHECK_INTERVAL_MS, () => void this.runFlushChecks());
    every(RECOVERY_CHECKPOINT_INTERVAL_MS, () => {
      for (const log of this.logs.values()) log.checkpointRecoveryPoint().catch(() => undefined);
    });
    this.cleaner?.start();
  }

  /** One cleaner pass now (tests, tools); resolves at once when the cleaner is disabled. */
  runCleaner(nowMs?: number): Promise<void> {
    return this.cleaner?.runOnce(nowMs) ?? Promise.resolve();
  }

  /** One retention pass over all logs; a pass never overlaps the previous one. */
  runRetention(nowMs = Date.now()): Promise<void> {
    // Cleared in .finally(), which runs after the assignment: clearing inside the pass itself ran
    // first when there was nothing to await (no logs yet) and left a settled promise that
    // blocked every later pass, so a broker started empty never ran retention.
    this.retentionRun ??= this.retainAll(nowMs).finally(() => {
      this.retentionRun = null;
    });
    return this.retentionRun;
  }

  private async retainAll(nowMs: number): Promise<void> {
    for (const log of this.logs.values()) {
      try {
        await log.deleteOldSegments(nowMs);
      } catch (err) {
        this.logger.error('retention failed', {
          topic: log.topic,
          partition: log.partition,
          error: String(err),
        });
      }
    }
  }

  private runFlushChecks(): Promise<void> {
    this.flushRun ??= (async () => {
      try {
        const nowMs = Date.now();
        await Promise.all(
          [...this.logs.values()]
            .filter((l) => l.config.flushIntervalMs < Number.MAX_SAFE_INTEGER)
            .map((l) => l.flushIfDue(nowMs).catch(() => undefined)),
        );
      } finally {
        this.flushRun = null;
      }
    })();
    return this.flushRun;
  }

  getLog(topic: string, partition: number): UnifiedLog | undefined {
    return this.logs.get(key(topic, partition));
  }

  allLogs(): UnifiedLog[] {
    return [...this.logs.values()];
  }

  /** Creates (or returns the existing) log; concurrent calls for one partition share one creation. */
  async createLog(topic: string, partition: number, config: Partial<LogConfig> = {}): Promise<UnifiedLog> {
    if (this.closed) throw new StorageError('KAFKA_STORAGE_ERROR', 'log manager is closed');
    if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
      throw new StorageError('INVALID_RECORD', `illegal topic name ${JSON.stringify(topic)}`);
    }
    if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
      throw new StorageError('INVALID_RECORD', `illegal partition ${partition}`);
    }
    const k = key(topic, partition);
    const existing = this.logs.get(k);
    if (existing !== undefined) {
      existing.updateConfig({ ...this.defaults, ...config });
      return existing;
    }
    let pending = this.creating.get(k);
    if (pending === undefined) {
      pending = (async () => {
        // A create of 10,000 partitions at once opened a directory, a segment and checkpoints for each
        // concurrently and ran out of descriptors: creations take turns, LOAD_CONCURRENCY at a time.
        await this.creationSlot();
        try {
          return await this.createLogNow(k, topic, partition, config);
        } finally {
          this.releaseCreationSlot();
        }
      })().finally(() => this.creating.delete(k));
      this.creating.set(k, pending);
    }
    return pending;
  }

  private creationsRunning = 0;
  private readonly creationWaiters: (() => void)[] = [];

  private async creationSlot(): Promise<void> {
    while (this.creationsRunning >= LOAD_CONCURRENCY) {
      await new Promise<void>((resolve) => this.creationWaiters.push(resolve));
    }
    this.creationsRunning++;
  }

  private releaseCreationSlot(): void {
    this.creationsRunning--;
    this.creationWaiters.shift()?.();
  }

  private async createLogNow(
    k: string,
    topic: string,
    partition: number,
    config: Partial<LogConfig>,
  ): Promise<UnifiedLog> {
    const dir = join(this.dataDir, UnifiedLog.dirName(topic, partition));
    // The new directory's entry in the data dir is fsynced before any write in it can be acknowledged.
    await this.mkdirPartitionDir(dir);
    // A directory left over from an earlier run is verified, not trusted; an empty one costs nothing.
    const log = await UnifiedLog.open(
      dir,
      topic,
      partition,
      { ...this.defaults, ...config },
      {
        hadCleanShutdown: false,
        logger: this.logger,
      },
    );
    this.logs.set(k, log);
    return log;
  }

  /**
   * Deletes a partition's log the way Kafka does, so that a crash at any point leaves a broker that
   * starts: the directory is renamed to `<topic>-<partition>.<uuid>-delete` (durably), the log is
   * closed, and the renamed directory is removed in the background (or at the next start). Also
   * removes a directory left by a creation that failed before its log was open.
   */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const target = await this.renameAway(topic, partition, DELETE_SUFFIX);
    if (target === null) return;
    // Removed even if the fsync fails: a rename lost with power brings the directory back under
    // its old name, where a pending topic deletion (or the stray check) finds it again.
    try {
      await this.dataDirSync.sync();
    } finally {
      this.removeInBackground(target);
    }
  }

  /**
   * Keeps the data of a partition the metadata does not know, out of the way of a topic created
   * later with the same name: closes the log and renames the directory to
   * `<topic>-<partition>.<uuid>-stray` (as Kafka does with stray logs). Returns the new path.
   */
  async detachLog(topic: string, partition: number): Promise<string | null> {
    const target = await this.renameAway(topic, partition, STRAY_SUFFIX);
    if (target !== null) await this.dataDirSync.sync();
    return target;
  }

  /**
   * Creates a partition directory and makes its entry durable. The fsync of the data directory is
   * shared with concurrent creations (one CreateTopics request creates up to LOAD_CONCURRENCY
   * directories at a time): one fsync covers every mkdir made before it started.
   */
  private async mkdirPartitionDir(dir: string): Promise<void> {
    try {
      await mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return; // nothing new (as mkdirDurable): a leftover is verified by the load
      if (code === 'ENOENT') return mkdirDurable(dir); // the data dir itself is gone: recreate the path
      throw err;
    }
    await this.dataDirSync.sync();
  }

  /** fsyncs the data directory, shared with concurrent callers (after creating partition directories). */
  syncDataDir(): Promise<void> {
    return this.dataDirSync.sync();
  }

  /**
   * Takes the log out of the manager, renames its directory with `suffix` and closes it; the
   * caller fsyncs the data directory. Returns the new path, or null when there was no directory.
   */
  private async renameAway(topic: string, partition: number, suffix: string): Promise<string | null> {
    const k = key(topic, partition);
    await this.creating.get(k)?.catch(() => undefined);
    const log = this.logs.get(k);
    if (log !== undefined) {
      this.logs.delete(k);
      await this.cleaner?.abortLog(log);
      // Kept data is closed cleanly first (its checkpoints are written into the directory); a
      // crash before the rename leaves it where the next start finds it again.
      if (suffix === STRAY_SUFFIX) await log.close();
    }
    const target = join(this.dataDir, renamedDirName(topic, partition, suffix));
    let renamed = false;
    try {
      await rename(join(this.dataDir, UnifiedLog.dirName(topic, partition)), target);
      renamed = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Not renamed: the data stays where it is, and the log's descriptors are freed.
        if (log !== undefined && suffix === DELETE_SUFFIX) await log.close().catch(() => undefined);
        throw err;
      }
    }
    // A deleted log is closed after the rename (its open files survive it), so a crash at any
    // point leaves either the whole directory or the renamed one; log.delete() finds nothing left
    // at the old path.
    if (log !== undefined && suffix === DELETE_SUFFIX) {
      await log.delete().catch((err: unknown) => {
        this.logger.warn('Closing a deleted log failed', { topic, partition, error: String(err) });
      });
    }
    return renamed ? target : null;
  }

  private removeInBackground(dir: string): void {
    const removal = rm(dir, { recursive: true, force: true })
      .catch((err: unknown) => {
        this.logger.warn('Removing a deleted log directory failed; retried at the next start', {
          dir,
          error: String(err),
        });
      })
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.logs.values()].map((l) => l.flush()));
  }

  /**
   * Stops background work and closes every log cleanly. The clean-shutdown marker is written only
   * if every log closed without error, so a failed log is recovered on the next start.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.cleaner?.stop();
    await Promise.allSettled([this.retentionRun, this.flushRun, ...this.creating.values(), ...this.removals]);
    const results = await forEachBounded([...this.logs.values()], LOAD_CONCURRENCY, (l) => l.close());
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      this.logger.error('unclean shutdown: logs failed to close', {
        count: failed.length,
        first: String((failed[0] as PromiseRejectedResult).reason),
      });
      return;
    }
    await writeFileAtomic(join(this.dataDir, CLEAN_SHUTDOWN_FILE), '');
  }
}
