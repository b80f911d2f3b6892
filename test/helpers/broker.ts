// Brokers for tests: in-process (Broker.start on port 0) or as a child process through the real CLI.
// Every broker listens on 127.0.0.1 only, on a free port, with its own temp data dir that is removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker } from '../../src/index.js';
import { spawnLongRunning, type LongRunning } from './run.js';
import { BROOK_CLI } from './cli.js';

/** The repository root (where package.json and src/ are). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Options for an in-process test broker: Kafka config keys (e.g. 'num.partitions') and an optional data dir. */
export interface TestBrokerOptions {
  config?: Record<string, string>;
  /** Use this data dir (kept afterwards) instead of a fresh temp dir (removed on stop). */
  dataDir?: string;
}

/** A running in-process broker plus its data dir; stop() stops it and removes a temp data dir. */
export interface TestBroker {
  broker: Broker;
  bootstrapServers: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Makes an empty temp directory under os.tmpdir() (caller removes it, e.g. with removeDir). */
export function makeTempDir(prefix = 'brook-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a directory tree, ignoring a missing one. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Starts an in-process broker on 127.0.0.1, port 0, with a fresh temp data dir unless one is given. */
export async function startTestBroker(
  config?: Record<string, string>,
  dataDir?: string,
): Promise<TestBroker> {
  const ownDir = dataDir === undefined;
  const dir = dataDir ?? makeTempDir('brook-data-');
  let broker: Broker;
  try {
    broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir: dir, config });
  } catch (e) {
    if (ownDir) removeDir(dir);
    throw e;
  }
  return {
    broker,
    bootstrapServers: broker.bootstrapServers,
    port: broker.port,
    dataDir: dir,
    async stop() {
      try {
        await broker.stop();
      } finally {
        if (ownDir) removeDir(dir);
      }
    },
  };
}

/** Runs fn with a fresh in-process broker and always stops it (and removes its temp data dir) afterwards. */
export async function withBroker<T>(opts: TestBrokerOptions, fn: (b: TestBroker) => Promise<T>): Promise<T> {
  const b = await startTestBroker(opts.config, opts.dataDir);
  try {
    return await fn(b);
  } finally {
    await b.stop();
  }
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read the port, close). Racy by nature; use it at once. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port from listen(0)'));
        return;
      }
      srv.close(() => resolvePort(addr.port));
    });
  });
}

/** Options for a broker child process: data dir (kept; caller owns it), port (default: a free one), config. */
export interface BrokerProcessOptions {
  dataDir: string;
  port?: number;
  config?: Record<string, string>;
  /** How long to wait for the `started` line (default 60 s). */
  readyTimeoutMs?: number;
  /** Run under `ulimit -n fileLimit` (through bash, which then execs node: the PID is the broker's). */
  fileLimit?: number;
  /** Extra environment for the broker process (merged over this process's). */
  env?: Record<string, string>;
}

/** A broker running as a child process through the CLI; kill() signals it by PID, waitExit() awaits its exit. */
export interface BrokerProcess {
  pid: number;
  port: number;
  bootstrapServers: string;
  proc: LongRunning;
  kill(signal?: NodeJS.Signals): void;
  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `brook broker start` (the compiled dist/src/cli/main.js) on 127.0.0.1 and resolves once it printed its ready line
 * (one containing `started`). The caller must kill() it and await waitExit(), e.g. in a finally block.
 */
export async function spawnBrokerProcess(opts: BrokerProcessOptions): Promise<BrokerProcess> {
  const port = opts.port ?? (await freePort());
  const args = [
    BROOK_CLI,
    'broker',
    'start',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--data-dir',
    opts.dataDir,
  ];
  for (const [k, v] of Object.entries(opts.config ?? {})) args.push('--set', `${k}=${v}`);
  const proc =
    opts.fileLimit === undefined
      ? spawnLongRunning(process.execPath, args, { cwd: REPO_ROOT, env: opts.env })
      : spawnLongRunning(
          'bash',
          ['-c', `ulimit -n ${opts.fileLimit} && exec "$0" "$@"`, process.execPath, ...args],
          { cwd: REPO_ROOT, env: opts.env },
        );
  try {
    await proc.waitForLine((l) => l.includes('started'), opts.readyTimeoutMs ?? 60_000);
  } catch (e) {
    proc.kill('SIGKILL');
    await proc.waitExit();
    throw e;
  }
  return {
    pid: proc.pid,
    port,
    bootstrapServers: `127.0.0.1:${port}`,
    proc,
    kill: (signal?: NodeJS.Signals) => proc.kill(signal),
    waitExit: () => proc.waitExit(),
  };
}

/** A topic name that is unique within this process (Kafka-legal characters only). */
export function uniqueTopic(prefix = 'topic'): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${uniqueCounter}`;
}
let uniqueCounter = 0;
