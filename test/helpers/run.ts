// Running outside programs from tests: bounded in time, stopped by PID (never by name), output captured.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from './external.js';

/** What a finished command left behind. `code` is null when it died of a signal (e.g. killed on timeout). */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Options for runCommand: extra env (merged over process.env), stdin text, working dir, time limit. */
export interface RunOptions {
  env?: Record<string, string>;
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs `cmd args` to completion (SIGKILL by PID after timeoutMs, default 60 s) and captures its output. */
export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.on('error', () => {}); // the program may exit without reading all its input
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Runs a Python script with Debian's /usr/bin/python3 (from a temp file, so tracebacks have line numbers).
 * Pass large parameters as `input` (stdin), not env: one env string is limited to 128 KiB (spawn E2BIG).
 */
export async function runPython(
  script: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  input?: string,
): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'brook-py-'));
  try {
    const file = join(dir, 'script.py');
    writeFileSync(file, script);
    return await runCommand(PYTHON, ['-u', file], {
      env: { PYTHONUNBUFFERED: '1', ...env },
      timeoutMs,
      input,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a Python script that prints one JSON document as its last stdout line and returns it parsed; a non-zero
 * exit throws with the script's output. Large parameters go in `input` (stdin), e.g. `json.load(sys.stdin)`.
 */
export async function runPythonJson<T>(
  script: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  input?: string,
): Promise<T> {
  const r = await runPython(script, env, timeoutMs, input);
  const lines = r.stdout.trim().split('\n');
  if (r.code !== 0 || lines.length === 0) {
    throw new Error(
      `python exited with ${r.code ?? r.signal}${r.timedOut ? ` (killed after ${timeoutMs} ms)` : ''}\n` +
        `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr.slice(-8000)}`,
    );
  }
  return JSON.parse(lines[lines.length - 1]!) as T;
}

// Python lines that read a script's parameters (one JSON object on stdin) into P, the bootstrap address into BS,
// and convert bytes from and to the hex of WireMessage (test/helpers/messages.ts).
const PY_PARAMS_PRELUDE = String.raw`
import json, os, sys, time
P = json.load(sys.stdin)
BS = P['bootstrap']
def unhex(s):
    return None if s is None else bytes.fromhex(s)
def tohex(b):
    return None if b is None else b.hex()
`;

/**
 * Runs a Python client script that finds its parameters in P (`params` as JSON on stdin; `params.bootstrap` also in
 * BS) and has unhex()/tohex() for WireMessage bytes; returns the JSON document it prints last (see runPythonJson).
 */
export function runPythonWithParams<T>(
  script: string,
  params: { bootstrap: string; [name: string]: unknown },
  timeoutMs: number,
): Promise<T> {
  return runPythonJson<T>(PY_PARAMS_PRELUDE + script, {}, timeoutMs, JSON.stringify(params));
}

/** A program left running in the background: its stdout read line by line, stopped by its PID. */
export interface LongRunning {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every complete stdout line so far. */
  readonly lines: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first stdout line (past or future) matching predicate; rejects on timeout or exit. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Sends a signal to the process by PID (default SIGTERM); a no-op once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited, with its exit code or signal. */
  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `cmd args` in the background (stdin closed); stop it with kill() and await waitExit(). */
export function spawnLongRunning(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): LongRunning {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const pid = child.pid;
  const lines: string[] = [];
  let partial = '';
  let stderrText = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());

  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    notify();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderrText += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      if (partial) lines.push(partial);
      partial = '';
      exit = { code, signal };
      notify();
      resolve(exit);
    });
  });

  return {
    pid,
    child,
    lines,
    stderr: () => stderrText,
    waitForLine(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            if (predicate(lines[seen]!)) {
              done();
              resolve(lines[seen]!);
              return;
            }
          }
          if (exit) {
            done();
            reject(
              new Error(
                `${cmd} exited (${exit.code ?? exit.signal}) before the expected line\n` +
                  `--- stdout ---\n${lines.join('\n')}\n--- stderr ---\n${stderrText.slice(-8000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for a line from ${cmd}\n` +
                `--- stdout ---\n${lines.join('\n')}\n--- stderr ---\n${stderrText.slice(-8000)}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exit) return;
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
    waitExit: () => exited,
  };
}
