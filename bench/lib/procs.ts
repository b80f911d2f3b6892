// Child-process bookkeeping and /proc based resource measurement for the benchmark.
// Every child we start is recorded by PID and killed (by PID, never by name) at exit,
// on error and on SIGINT/SIGTERM.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const children = new Set<ChildProcess>();
const cleanups: Array<() => void> = [];

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Everything written to stdout so far. */
  out(): string;
  /** Everything written to stderr so far. */
  err(): string;
  /** Resolves with the exit code (or signal name) when the process exits. */
  exited: Promise<number | string>;
  isRunning(): boolean;
}

export function startChild(cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (proc.pid === undefined) throw new Error(`failed to start ${cmd}`);
  children.add(proc);
  let out = '';
  let err = '';
  const cap = 4 * 1024 * 1024; // keep memory bounded for chatty children
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    if (out.length < cap) out += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (err.length < cap) err += d;
  });
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      running = false;
      children.delete(proc);
      resolve(code ?? signal ?? -1);
    });
    proc.on('error', (e) => {
      running = false;
      children.delete(proc);
      err += String(e);
      resolve(-1);
    });
  });
  return { proc, pid: proc.pid, out: () => out, err: () => err, exited, isRunning: () => running };
}

/** Runs a command to completion (bounded by timeoutMs: SIGINT, then SIGKILL). */
export async function runChild(
  cmd: string,
  args: string[],
  timeoutMs: number,
  opts: SpawnOptions = {},
): Promise<{ code: number | string; out: string; err: string; timedOut: boolean; child: Child }> {
  const child = startChild(cmd, args, opts);
  let timedOut = false;
  const t1 = setTimeout(() => {
    timedOut = true;
    signal(child, 'SIGINT');
  }, timeoutMs);
  const t2 = setTimeout(() => signal(child, 'SIGKILL'), timeoutMs + 5000);
  const code = await child.exited;
  clearTimeout(t1);
  clearTimeout(t2);
  return { code, out: child.out(), err: child.err(), timedOut, child };
}

export function signal(child: Child, sig: NodeJS.Signals): void {
  if (!child.isRunning()) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    /* already gone */
  }
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (!child.isRunning()) return;
  signal(child, 'SIGTERM');
  const t = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(t);
}

export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

export function killAll(): void {
  for (const c of children) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
  while (cleanups.length) {
    try {
      cleanups.pop()?.();
    } catch {
      /* best effort */
    }
  }
}

let installed = false;
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, killing children\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    killAll();
    process.exit(1);
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function waitForOutput(child: Child, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      const m = (child.out() + '\n' + child.err()).match(re);
      if (m) return resolve(m);
      if (!child.isRunning())
        return reject(new Error(`process exited before ${re}:\n${tail(child.out())}\n${tail(child.err())}`));
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`timeout waiting for ${re}:\n${tail(child.out())}\n${tail(child.err())}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

export function tail(s: string, n = 20): string {
  return s.split('\n').slice(-n).join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- /proc measurement -------------------------------------------------------------------------

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64/arm64

/** user+sys CPU seconds of a process (all threads), or NaN if unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm)"; comm may contain spaces, so split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function statusKb(pid: number, key: string): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = s.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export interface PhaseUsage {
  wallS: number;
  cpuS: number;
  /** CPU as % of one core over the phase. */
  cpuPct: number;
  peakRssMb: number;
}

/**
 * Measures one process over a phase: CPU from /proc/<pid>/stat deltas, peak RSS from VmHWM
 * (reset at phase start through /proc/<pid>/clear_refs when permitted) and from VmRSS sampling.
 */
export class ProcMonitor {
  private t0 = 0;
  private cpu0 = 0;
  private maxRssKb = 0;
  private lastCpu = NaN;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {}

  start(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5'); // reset VmHWM to current RSS
    } catch {
      /* not permitted: fall back to sampling */
    }
    this.t0 = performance.now();
    this.cpu0 = cpuSeconds(this.pid);
    this.maxRssKb = statusKb(this.pid, 'VmRSS') || 0;
    this.lastCpu = this.cpu0;
    this.timer = setInterval(() => {
      const r = statusKb(this.pid, 'VmRSS');
      if (r > this.maxRssKb) this.maxRssKb = r;
      const c = cpuSeconds(this.pid);
      if (!Number.isNaN(c)) this.lastCpu = c; // a process that exits keeps its last sample
    }, 50);
    this.timer.unref();
  }

  stop(): PhaseUsage {
    if (this.timer) clearInterval(this.timer);
    const wallS = (performance.now() - this.t0) / 1000;
    const now = cpuSeconds(this.pid);
    const cpuS = (Number.isNaN(now) ? this.lastCpu : now) - this.cpu0;
    const hwm = statusKb(this.pid, 'VmHWM');
    const rss = statusKb(this.pid, 'VmRSS');
    const peak = Math.max(this.maxRssKb, Number.isNaN(hwm) ? 0 : hwm, Number.isNaN(rss) ? 0 : rss);
    return { wallS, cpuS, cpuPct: (cpuS / wallS) * 100, peakRssMb: peak / 1024 };
  }
}

function hostBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
    const idle = v[3] + v[4]; // idle + iowait
    return (total - idle) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Whole-host CPU use over a phase, to show contention from other processes on a shared box. */
export class HostMonitor {
  private t0 = 0;
  private busy0 = 0;
  start(): void {
    this.t0 = performance.now();
    this.busy0 = hostBusySeconds();
  }
  /** % of one core used by all processes on the host during the phase. */
  stop(): number {
    const wall = (performance.now() - this.t0) / 1000;
    return ((hostBusySeconds() - this.busy0) / wall) * 100;
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/**
 * On a shared machine, waits (bounded by maxWaitS) until the host's CPU use over one second is at
 * most thresholdPct of one core. Returns the last measured host CPU %.
 */
export async function waitForQuiet(
  maxWaitS: number,
  thresholdPct: number,
  log: (s: string) => void,
): Promise<number> {
  const started = performance.now();
  let logged = false;
  for (;;) {
    const m = new HostMonitor();
    m.start();
    await sleep(1000);
    const pct = m.stop();
    if (pct <= thresholdPct || (performance.now() - started) / 1000 >= maxWaitS) {
      if (logged) log(`host CPU now ${pct.toFixed(0)}%, continuing`);
      return pct;
    }
    if (!logged) {
      log(
        `host busy (${pct.toFixed(0)}% CPU from other processes), waiting up to ${maxWaitS}s for it to calm down`,
      );
      logged = true;
    }
  }
}
