// Small metadata files beside the segments (log-start-offset, recovery-point-offset-checkpoint,
// leader-epoch-checkpoint, producer snapshots). Written tmp + fsync + rename + directory fsync so a
// crash or power loss leaves either the old or the new file, never a torn one, and a completed write
// stays written.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from './fsync-dir.js';

/** Checkpoints are tiny; anything bigger is not ours and is treated as corrupt. */
export const MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024;

export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Returns the file's contents or null when it does not exist. */
export async function readOptional(path: string): Promise<Buffer | null> {
  try {
    const buf = await readFile(path);
    return buf.length > MAX_CHECKPOINT_BYTES ? null : buf;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Removes the file durably: the unlink is fsynced in the directory when there was something to remove. */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Single-offset text checkpoint: "<version>\n<offset>\n" (log-start-offset, recovery point). */
export function encodeOffsetCheckpoint(offset: number): string {
  return `0\n${offset}\n`;
}

export function decodeOffsetCheckpoint(buf: Buffer | null): number | null {
  if (buf === null) return null;
  const lines = buf.toString('utf8').split('\n');
  if (lines[0] !== '0' || lines.length < 2 || !/^\d+$/.test(lines[1] ?? '')) return null;
  const n = Number(lines[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/** Runs writes to one file one after another so an older value never lands after a newer one. */
export class SerialWriter {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly path: string) {}

  write(data: Buffer | string): Promise<void> {
    const next = this.tail.then(() => writeFileAtomic(this.path, data));
    // Keep the chain alive after a failure; the caller still sees the rejection.
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every write queued so far has finished. */
  drain(): Promise<void> {
    return this.tail;
  }
}
