// Directory fsync: a new file, a rename or an unlink changes the *directory*, and that change reaches
// the disk only when the directory itself is fsynced. Without it a power loss can drop a new segment
// file, a new partition directory or a renamed checkpoint even though the file's own bytes were
// fsynced. Every caller that creates, renames or removes a file whose presence matters calls this
// before treating the change as durable (Kafka's Utils.flushDir).
//
// A failure is an error, never ignored: the caller must not acknowledge what it cannot make durable.
// Windows cannot open a directory for fsync (Kafka skips it there too); its metadata journaling is
// what callers rely on on that platform.
import { mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { StorageError } from './errors.js';

const SUPPORTED = process.platform !== 'win32';

/** fsyncs `dir`, making creates, renames and unlinks inside it durable. Throws KAFKA_STORAGE_ERROR on failure. */
export async function fsyncDir(dir: string): Promise<void> {
  if (!SUPPORTED) return;
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    throw new StorageError(
      'KAFKA_STORAGE_ERROR',
      `fsync of directory ${dir} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  } finally {
    await fh?.close();
  }
}

/** fsyncs the directory holding `path` (a file or directory just created, renamed or removed there). */
export function fsyncParentDir(path: string): Promise<void> {
  return fsyncDir(dirname(resolve(path)));
}

/**
 * `mkdir -p` whose result survives power loss: every directory it creates is made durable by
 * fsyncing its parent (the new partition directory's entry lives in the data directory).
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const target = resolve(dir);
  const firstCreated = await mkdir(target, { recursive: true });
  if (firstCreated === undefined) return; // nothing new
  // Parents first: a child's entry is only reachable once its parent's entry is durable.
  const created: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    created.push(p);
    if (p === resolve(firstCreated) || dirname(p) === p) break;
  }
  for (const p of created.reverse()) await fsyncDir(dirname(p));
}
