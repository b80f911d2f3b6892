// Builds librdkafka's own rdkafka_performance tool (from the example source shipped in
// librdkafka-dev) and drives it. The client is C, so it is not the bottleneck.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  HostMonitor,
  ProcMonitor,
  runChild,
  startChild,
  sleep,
  stopChild,
  tail,
  type PhaseUsage,
} from './procs.js';

const EXAMPLE_DIRS = ['/usr/share/doc/librdkafka-dev/examples', '/usr/share/doc/librdkafka1/examples'];

function findExampleSource(): string {
  for (const d of EXAMPLE_DIRS) {
    for (const f of ['rdkafka_performance.c', 'rdkafka_performance.c.gz']) {
      const p = join(d, f);
      if (existsSync(p)) return p;
    }
  }
  throw new Error('rdkafka_performance.c not found (install librdkafka-dev)');
}

/**
 * The stock -r rate limiter busy-polls between messages (burning a core, which on a 2-core box
 * competes with the broker) and schedules relative to "now" (so the achieved rate drifts below
 * the target). Replace it with an absolute schedule + clock_nanosleep. Nothing else is changed.
 */
function patchRateLimiter(src: string): { src: string; patched: boolean } {
  const re =
    /rd_ts_t next = rd_clock\(\) \+ \(rd_ts_t\)rate_sleep;\s*do \{[\s\S]*?\} while \(next > rd_clock\(\)\);/;
  if (!re.test(src)) return { src, patched: false };
  const replacement =
    '/* brook bench patch: absolute schedule, sleep instead of spin */\n' +
    '                                static rd_ts_t brook_next = 0;\n' +
    '                                if (!brook_next) brook_next = rd_clock();\n' +
    '                                brook_next += (rd_ts_t)rate_sleep;\n' +
    '                                rd_kafka_poll(rk, 0);\n' +
    '                                brook_sleep_until(brook_next);';
  return { src: src.replace(re, replacement), patched: true };
}

/** Builds (once, cached by source hash) and returns the path of rdkafka_performance. */
export async function buildRdkafkaPerformance(benchDir: string): Promise<string> {
  const srcPath = findExampleSource();
  let src = srcPath.endsWith('.gz')
    ? gunzipSync(readFileSync(srcPath)).toString('utf8')
    : readFileSync(srcPath, 'utf8');
  const shim = readFileSync(join(benchDir, 'rdkafka', 'rd.h'), 'utf8');
  const patched = patchRateLimiter(src);
  src = patched.src;
  if (!patched.patched)
    process.stderr.write('bench: warning: could not patch rdkafka_performance rate limiter\n');
  const hash = createHash('sha256').update(src).update(shim).digest('hex').slice(0, 12);
  const buildDir = join(benchDir, '.build');
  const bin = join(buildDir, `rdkafka_performance-${hash}`);
  if (existsSync(bin)) return bin;
  // Layout mirrors the librdkafka tree: examples/rdkafka_performance.c includes "../src/rd.h",
  // "rd.h" and "rdtime.h"; src/ holds our shim for those internal headers.
  const work = join(buildDir, `src-${hash}`);
  mkdirSync(join(work, 'src'), { recursive: true });
  mkdirSync(join(work, 'examples'), { recursive: true });
  writeFileSync(join(work, 'examples', 'rdkafka_performance.c'), src);
  writeFileSync(join(work, 'src', 'rd.h'), shim);
  writeFileSync(join(work, 'src', 'rdtime.h'), '/* see rd.h */\n');
  const args = [
    '-O2',
    '-w',
    '-I',
    join(work, 'src'),
    '-I',
    '/usr/include/librdkafka',
    join(work, 'examples', 'rdkafka_performance.c'),
    '-o',
    bin,
    '-lrdkafka',
    '-lpthread',
    '-lz',
  ];
  process.stderr.write(`bench: building ${bin}\n`);
  const r = await runChild('cc', args, 120_000, { cwd: work });
  if (r.code !== 0 || !existsSync(bin)) throw new Error(`cc failed (${r.code}):\n${r.err}`);
  return bin;
}

export interface ProduceOpts {
  bin: string;
  brokers: string;
  topic: string;
  size: number;
  count: number;
  acks: string; // '1' | '-1' | 'all'
  partitions: number;
  timeoutMs: number;
  extra?: string[];
}

export interface ThroughputResult {
  msgs: number;
  bytes: number;
  msgsPerSec: number;
  mbPerSec: number;
  wallS: number;
  timedOut: boolean;
  failed: number;
  ok: boolean;
  note: string;
  broker?: PhaseUsage;
  client?: PhaseUsage;
  /** CPU used by every process on the host during the phase, % of one core. */
  hostPct?: number;
}

const PRODUCE_RE =
  /% (\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset (-?\d+), (\d+) failed\) in (\d+)ms: (\d+) msgs\/s and ([\d.]+) MB\/s/g;
const CONSUME_RE = /% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs\/s \(([\d.]+) MB\/s\)/g;

function lastMatch(re: RegExp, s: string): RegExpExecArray | null {
  let last: RegExpExecArray | null = null;
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) last = m;
  return last;
}

/** Runs a phase with broker (and client) CPU/RSS measured. */
async function measured<T>(
  brokerPid: number | undefined,
  fn: (onClientStart: (pid: number) => void) => Promise<T>,
): Promise<{ value: T; broker?: PhaseUsage; client?: PhaseUsage; hostPct: number }> {
  const bm = brokerPid ? new ProcMonitor(brokerPid) : undefined;
  const hm = new HostMonitor();
  hm.start();
  let cm: ProcMonitor | undefined;
  bm?.start();
  const value = await fn((pid) => {
    cm = new ProcMonitor(pid);
    cm.start();
  });
  const broker = bm?.stop();
  const client = cm?.stop();
  return { value, broker, client, hostPct: hm.stop() };
}

/**
 * Runs one rdkafka_performance process under measured(); SIGINT after timeoutMs (it still prints its summary).
 */
function runMeasured(bin: string, args: string[], timeoutMs: number, brokerPid: number | undefined) {
  return measured(brokerPid, async (onStart) => {
    const t0 = performance.now();
    const child = startChild(bin, args);
    onStart(child.pid);
    let timedOut = false;
    const t1 = setTimeout(() => {
      timedOut = true;
      process.kill(child.pid, 'SIGINT');
    }, timeoutMs);
    const code = await child.exited;
    clearTimeout(t1);
    return { code, out: child.out(), err: child.err(), timedOut, wallS: (performance.now() - t0) / 1000 };
  });
}

/** A ThroughputResult: `counts` from the run's summary, the wall time and usage from what runMeasured measured. */
function throughputResult(
  m: Awaited<ReturnType<typeof runMeasured>>,
  counts: Pick<ThroughputResult, 'msgs' | 'bytes' | 'msgsPerSec' | 'mbPerSec' | 'failed' | 'ok' | 'note'>,
): ThroughputResult {
  return {
    msgs: counts.msgs,
    bytes: counts.bytes,
    msgsPerSec: counts.msgsPerSec,
    mbPerSec: counts.mbPerSec,
    wallS: m.value.wallS,
    timedOut: m.value.timedOut,
    failed: counts.failed,
    ok: counts.ok,
    note: counts.note,
    broker: m.broker,
    client: m.client,
    hostPct: m.hostPct,
  };
}

/** What a run without a summary line reports: nothing measured, not ok. */
const NO_SUMMARY = { msgs: 0, bytes: 0, msgsPerSec: 0, mbPerSec: 0, failed: 0, ok: false };

/** The note for the error lines a run printed: how many, and the first one. */
function errorLinesNote(errLines: string[]): string {
  return `${errLines.length} error lines, e.g. "${errLines[0].trim().slice(0, 140)}"`;
}

export async function rdProduce(o: ProduceOpts, brokerPid?: number): Promise<ThroughputResult> {
  const args = [
    '-P',
    '-t',
    o.topic,
    '-b',
    o.brokers,
    '-s',
    String(o.size),
    '-c',
    String(o.count),
    '-a',
    o.acks,
    '-i',
    '1000',
    '-X',
    'linger.ms=5',
    '-X',
    'batch.num.messages=10000',
    '-X',
    'batch.size=1000000',
    '-X',
    'queue.buffering.max.messages=2000000',
    '-X',
    'queue.buffering.max.kbytes=1048576',
    '-X',
    'socket.send.buffer.bytes=4194304',
    ...(o.partitions <= 1 ? ['-p', '0'] : []),
    ...(o.extra ?? []),
  ];
  const m = await runMeasured(o.bin, args, o.timeoutMs, brokerPid);
  const r = m.value;
  const pm = lastMatch(PRODUCE_RE, r.out);
  if (!pm) {
    return throughputResult(m, {
      ...NO_SUMMARY,
      note: `no summary (exit ${r.code}): ${tail(r.out + r.err, 6).replace(/\n/g, ' | ')}`,
    });
  }
  const delivered = Number(pm[3]);
  const failed = Number(pm[5]);
  const errLines = (r.out + r.err)
    .split('\n')
    .filter((l) => /error|fail/i.test(l) && !/^%\s*\d+ messages/.test(l));
  const notes: string[] = [];
  if (r.timedOut) notes.push(`timed out after ${o.timeoutMs / 1000}s`);
  if (failed) notes.push(`${failed} delivery failures`);
  if (errLines.length) notes.push(errorLinesNote(errLines));
  return throughputResult(m, {
    msgs: delivered,
    bytes: delivered * o.size,
    msgsPerSec: Number(pm[7]),
    mbPerSec: Number(pm[8]),
    failed,
    ok: delivered > 0 && failed === 0 && delivered >= o.count,
    note: notes.join('; '),
  });
}

export interface ConsumeOpts {
  bin: string;
  brokers: string;
  topic: string;
  count: number;
  partitions: number;
  timeoutMs: number;
  size: number;
  /** More rdkafka_performance arguments, e.g. ['-X', 'isolation.level=read_committed']. */
  extra?: string[];
}

function partitionArgs(n: number): string[] {
  const a: string[] = [];
  for (let p = 0; p < Math.max(1, n); p++) a.push('-p', String(p));
  return a;
}

export async function rdConsume(o: ConsumeOpts, brokerPid?: number): Promise<ThroughputResult> {
  const args = [
    '-C',
    '-t',
    o.topic,
    '-b',
    o.brokers,
    '-o',
    'beginning',
    '-c',
    String(o.count),
    '-i',
    '1000',
    '-X',
    'fetch.message.max.bytes=4194304',
    '-X',
    'socket.receive.buffer.bytes=4194304',
    ...partitionArgs(o.partitions),
    ...(o.extra ?? []),
  ];
  const m = await runMeasured(o.bin, args, o.timeoutMs, brokerPid);
  const r = m.value;
  const cm = lastMatch(CONSUME_RE, r.out);
  const notes: string[] = [];
  if (r.timedOut) notes.push(`timed out after ${o.timeoutMs / 1000}s`);
  const errLines = (r.out + r.err).split('\n').filter((l) => /error|fail/i.test(l));
  if (errLines.length) notes.push(errorLinesNote(errLines));
  if (!cm) {
    notes.push(`no summary (exit ${r.code}): ${tail(r.out + r.err, 6).replace(/\n/g, ' | ')}`);
    return throughputResult(m, { ...NO_SUMMARY, note: notes.join('; ') });
  }
  const msgs = Number(cm[1]);
  if (msgs < o.count) notes.push(`only ${msgs}/${o.count} consumed`);
  return throughputResult(m, {
    msgs,
    bytes: Number(cm[2]),
    msgsPerSec: Number(cm[4]),
    mbPerSec: Number(cm[5]),
    failed: 0,
    ok: msgs >= o.count,
    note: notes.join('; '),
  });
}

export interface LatencyOpts {
  bin: string;
  brokers: string;
  topic: string;
  size: number;
  rate: number;
  seconds: number;
  acks: string;
  tmpDir: string;
}

export interface LatencyResult {
  e2eUs: number[];
  ackUs: number[];
  produced: number;
  achievedRate: number;
  note: string;
  broker?: PhaseUsage;
  hostPct?: number;
  ok: boolean;
}

function readSamples(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map(Number)
    .filter((n) => Number.isFinite(n));
}

/**
 * Produce-to-consume latency with two rdkafka_performance processes in -l mode: the producer
 * stamps the wall-clock send time into each payload ("LATENCY:<us>") at a fixed rate (-r), the
 * consumer writes now-minus-stamp per message to a file (-A). The producer's -A file holds the
 * produce->ack (delivery report) latency.
 */
export async function rdLatency(o: LatencyOpts, brokerPid?: number): Promise<LatencyResult> {
  const count = Math.round(o.rate * o.seconds);
  const e2eFile = join(o.tmpDir, `lat-e2e-${o.topic}.txt`);
  const ackFile = join(o.tmpDir, `lat-ack-${o.topic}.txt`);
  // The topic must exist before the consumer subscribes: produce one warm-up message (ignored by
  // the consumer because it is not a LATENCY payload).
  await runChild(
    o.bin,
    ['-P', '-t', o.topic, '-b', o.brokers, '-s', String(o.size), '-c', '1', '-a', o.acks, '-p', '0'],
    30_000,
  );
  const consumer = startChild(o.bin, [
    '-C',
    '-l',
    '-A',
    e2eFile,
    '-t',
    o.topic,
    '-b',
    o.brokers,
    '-p',
    '0',
    '-o',
    'end',
    '-c',
    String(count),
    '-i',
    '1000',
  ]);
  try {
    // wait until the consumer has fetched once (it prints stats every second once started)
    // give the consumer time to connect, look up the partition and reach the end offset
    await sleep(2500);
    if (!consumer.isRunning())
      throw new Error(`latency consumer exited: ${tail(consumer.out() + consumer.err())}`);
    const bm = brokerPid ? new ProcMonitor(brokerPid) : undefined;
    bm?.start();
    const hm = new HostMonitor();
    hm.start();
    const t0 = performance.now();
    const prod = await runChild(
      o.bin,
      [
        '-P',
        '-l',
        '-A',
        ackFile,
        '-t',
        o.topic,
        '-b',
        o.brokers,
        '-p',
        '0',
        '-s',
        String(o.size),
        '-c',
        String(count),
        '-r',
        String(o.rate),
        '-a',
        o.acks,
        '-i',
        '1000',
        '-X',
        'linger.ms=0',
      ],
      o.seconds * 1000 + 30_000,
    );
    const sendS = (performance.now() - t0) / 1000;
    // let the consumer drain (bounded)
    const drained = await Promise.race([consumer.exited.then(() => true), sleep(10_000).then(() => false)]);
    const broker = bm?.stop();
    const hostPct = hm.stop();
    if (!drained) await stopChild(consumer, 3000);
    const pm = lastMatch(PRODUCE_RE, prod.out);
    const produced = pm ? Number(pm[3]) : 0;
    const e2eUs = readSamples(e2eFile);
    const ackUs = readSamples(ackFile);
    const notes: string[] = [];
    if (!drained) notes.push(`consumer saw ${e2eUs.length}/${count}`);
    if (prod.timedOut) notes.push('producer timed out');
    return {
      e2eUs,
      ackUs,
      produced,
      achievedRate: produced / sendS,
      note: notes.join('; '),
      broker,
      hostPct,
      ok: e2eUs.length > 0 && drained,
    };
  } finally {
    await stopChild(consumer, 3000);
  }
}
