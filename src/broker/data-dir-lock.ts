// The data directory's `.lock` (Kafka takes the same file with a FileLock): one broker per data
// directory. Without it a second `brook broker start` on a live broker's directory opened its logs,
// wrote the clean-shutdown marker when it gave up, and a later crash of the first broker skipped
// recovery. The lock is taken before anything else in the directory is read or written.
//
// Node has no flock(), so the lock is a file created with O_EXCL holding the owner's pid, its start
// time (/proc/<pid>/stat) and the boot id. It is stale, and taken over, only when that process no
// longer runs: a broker killed with SIGKILL never blocks the next start, and a pid reused by
// another program (same pid, different start time or boot) is not mistaken for the owner.
import { readFileSync } from 'node:fs';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StartupError } from './startup-error.js';

export const LOCK_FILE = '.lock';

interface LockOwner {
  pid: number;
  /** /proc/<pid>/stat starttime (clock ticks since boot), '' where /proc is missing. */
  startTime: string;
  bootId: string;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Field 22 of /proc/<pid>/stat, counted after the parenthesised command name (which may hold spaces). */
function processStartTime(pid: number): string {
  const stat = readProc(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '';
}

function currentOwner(): LockOwner {
  return {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    bootId: readProc('/proc/sys/kernel/random/boot_id').trim(),
  };
}

function encode(o: LockOwner): string {
  return `pid=${o.pid}\nstart.time=${o.startTime}\nboot.id=${o.bootId}\n`;
}

function decode(text: string): LockOwner | null {
  const fields = new Map(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  const pid = Number(fields.get('pid'));
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return { pid, startTime: fields.get('start.time') ?? '', bootId: fields.get('boot.id') ?? '' };
}

/** Whether the process that wrote the lock still runs (not merely some process with its pid). */
function isAlive(owner: LockOwner): boolean {
  const me = currentOwner();
  if (owner.bootId !== '' && me.bootId !== '' && owner.bootId !== me.bootId) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists but belongs to another user; it still holds the directory.
  }
  if (owner.startTime === '') return true; // no /proc: the pid is all we know
  return processStartTime(owner.pid) === owner.startTime;
}

export class DataDirLock {
  private released = false;
  private constructor(private readonly path: string) {}

  /**
   * Takes `<dataDir>/.lock` or throws a StartupError saying which process holds it. The directory
   * must exist. Bounded: a stale lock is taken over at most a few times before giving up.
   */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const path = join(dataDir, LOCK_FILE);
    const me = encode(currentOwner());
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await createWithContent(path, me)) return new DataDirLock(path);
      const text = await readFile(path, 'utf8').catch(() => null);
      if (text === null) continue; // its owner just released it
      const owner = decode(text);
      if (owner !== null && isAlive(owner)) throw locked(dataDir, owner.pid);
      await takeOverStale(path, text);
    }
    throw locked(dataDir, null);
  }

  /** Removes the lock; called last on shutdown (and when a start fails after taking it). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await unlink(this.path).catch(() => undefined);
  }
}

/**
 * Creates `path` holding `content`, or returns false when it exists. The content is written to a
 * private file first and hard-linked into place (link fails when the name exists, like O_EXCL), so a
 * lock is never seen empty, even when its writer was killed halfway.
 */
async function createWithContent(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Moves the stale lock aside atomically and deletes it; if what was moved turns out not to be the
 * stale lock (another starter replaced it meanwhile), it is put back, and the caller retries.
 */
async function takeOverStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  if (moved !== null && moved !== staleText) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function locked(dataDir: string, pid: number | null): StartupError {
  const holder = pid === null ? 'another Brook broker' : `another Brook broker (pid ${pid})`;
  return new StartupError(
    `Data directory ${dataDir} is in use by ${holder}: stop it or choose another --data-dir (log.dirs).`,
  );
}
