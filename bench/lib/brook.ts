// Starts Brook as a child process (so its CPU/RSS can be read from /proc and the load generator
// does not share its event loop). Prefers the built JS (dist/) when it is up to date, else tsx.
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startChild, stopChild, waitForOutput, type Child } from './procs.js';

export interface BrookHandle {
  child: Child;
  pid: number;
  port: number;
  bootstrap: string;
  dataDir: string;
  runner: string;
  stop(): Promise<void>;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function brookAvailable(root: string): { ok: boolean; reason: string } {
  const cli = join(root, 'src', 'cli', 'main.ts');
  const index = join(root, 'src', 'index.ts');
  if (!existsSync(cli)) return { ok: false, reason: 'src/cli/main.ts does not exist yet' };
  if (!existsSync(index)) return { ok: false, reason: 'src/index.ts does not exist yet' };
  return { ok: true, reason: '' };
}

/** Chooses `node dist/src/cli/main.js` if it exists and is newer than every src/**\/*.ts, else tsx. */
export function brookCommand(
  root: string,
  forceTsx: boolean,
): { cmd: string; args: string[]; runner: string } {
  const dist = join(root, 'dist', 'src', 'cli', 'main.js');
  if (!forceTsx && existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(root, 'src')) - 1) {
    return { cmd: process.execPath, args: [dist], runner: 'dist' };
  }
  return {
    cmd: process.execPath,
    args: ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')],
    runner: 'tsx',
  };
}

export async function startBrook(opts: {
  root: string;
  tmpRoot: string;
  config?: Record<string, string>;
  forceTsx?: boolean;
  nodeFlags?: string[];
  label: string;
  /** Reuse this data dir (a restart) instead of a fresh one. */
  dataDir?: string;
}): Promise<BrookHandle> {
  const port = await freePort();
  const dataDir = opts.dataDir ?? mkdtempSync(join(opts.tmpRoot, `brook-${opts.label}-`));
  const { cmd, args, runner } = brookCommand(opts.root, opts.forceTsx ?? false);
  const sets = Object.entries(opts.config ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const full = [
    ...(opts.nodeFlags ?? []),
    ...args,
    'broker',
    'start',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--data-dir',
    dataDir,
    ...sets,
  ];
  const child = startChild(cmd, full, { cwd: opts.root, env: { ...process.env, NODE_ENV: 'production' } });
  await waitForOutput(child, /started/i, 60_000);
  return {
    child,
    pid: child.pid,
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    runner,
    stop: () => stopChild(child, 15_000),
  };
}
