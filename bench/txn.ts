// Transactions benchmark (`npm run bench -- --only txn`, issue 10): one librdkafka producer on one
// partition, idempotent vs transactional, at 100 B and 1 KB.
// - Producer: bench/rdkafka/txn_perf.c (rdkafka_performance has no transactional mode), built here with
//   cc like rdkafka_performance, with rdkafka_performance's batching (linger.ms=5, big batches).
//   Idempotent: enable.idempotence=true, everything produced then flushed. Transactional: begin, N
//   records, commit_transaction(), until all are committed, with N = TXN_RECORDS_PER_COMMIT (1000 and 100).
//   Throughput is records committed (or delivered) / time from the first produce to the last commit (flush).
// - Commit latency: time in commit_transaction() (flushes the transaction's last batches, EndTxn, markers).
// - Broker CPU (% of one core) and peak RSS over each phase, from /proc.
// - read_committed consume: rdkafka_performance -C with isolation.level=read_committed over the
//   topic written by the N=1000 transactions (data and markers), and over the idempotent topic.
// Issue 10's aim: transactional throughput >= 70% of idempotent.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rdConsume, type ThroughputResult } from './lib/rdkafka.js';
import { HostMonitor, ProcMonitor, runChild, startChild, type PhaseUsage } from './lib/procs.js';
import type { Row } from './lib/table.js';

/** Records per transaction of the transactional runs. */
export const TXN_RECORDS_PER_COMMIT = [1000, 100] as const;

export interface TxnBenchOptions {
  benchDir: string;
  /** rdkafka_performance, for the read_committed consumes. */
  rdBin: string;
  brokers: string;
  brokerPid: number;
  /** Records per run at 100 B and at 1 KB. */
  n100: number;
  n1k: number;
  timeoutMs: number;
  log: (s: string) => void;
  beforePhase: () => Promise<void>;
}

interface TxnPerfResult {
  msgs: number;
  failed: number;
  elapsedMs: number;
  commits: number;
  commitP50Us: number;
  commitP99Us: number;
  error: string;
}

/** Builds (once, cached by source hash) bench/rdkafka/txn_perf.c against the system librdkafka. */
export async function buildTxnPerf(benchDir: string): Promise<string> {
  const src = join(benchDir, 'rdkafka', 'txn_perf.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const buildDir = join(benchDir, '.build');
  const bin = join(buildDir, `txn_perf-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(buildDir, { recursive: true });
  const args = ['-O2', '-w', '-I', '/usr/include/librdkafka', src, '-o', bin, '-lrdkafka', '-lpthread'];
  process.stderr.write(`bench: building ${bin}\n`);
  const r = await runChild('cc', args, 120_000);
  if (r.code !== 0 || !existsSync(bin)) throw new Error(`cc failed (${r.code}):\n${r.err}`);
  return bin;
}

/** One txn_perf run with the broker's CPU and RSS measured. */
async function runTxnPerf(
  bin: string,
  o: TxnBenchOptions,
  topic: string,
  size: number,
  count: number,
  perTxn: number,
): Promise<{ r: TxnPerfResult | null; note: string; broker: PhaseUsage; hostPct: number }> {
  const bm = new ProcMonitor(o.brokerPid);
  const hm = new HostMonitor();
  bm.start();
  hm.start();
  const child = startChild(bin, [o.brokers, topic, String(size), String(count), String(perTxn)]);
  const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), o.timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  const broker = bm.stop();
  const hostPct = hm.stop();
  const line = child
    .out()
    .split('\n')
    .find((l) => l.startsWith('{'));
  if (line === undefined) {
    return { r: null, note: `no summary (exit ${code}): ${child.err().slice(0, 200)}`, broker, hostPct };
  }
  const r = JSON.parse(line) as TxnPerfResult;
  return { r, note: r.error ? `error: ${r.error}` : '', broker, hostPct };
}

export async function benchTxn(o: TxnBenchOptions): Promise<Row[]> {
  const bin = await buildTxnPerf(o.benchDir);
  const rows: Row[] = [];
  const SYS = 'Brook';
  for (const size of [100, 1024]) {
    const count = size === 100 ? o.n100 : o.n1k;
    let idempotentRate = 0;
    const topics: Record<string, string> = {};
    for (const perTxn of [0, ...TXN_RECORDS_PER_COMMIT]) {
      const mode = perTxn === 0 ? 'idempotent' : `transactional, ${perTxn}/commit`;
      const topic = `bench-txn${perTxn}-${size}`;
      topics[perTxn] = topic;
      await o.beforePhase();
      o.log(`txn: ${count} x ${size} B, ${mode} -> ${topic}`);
      const { r, note, broker, hostPct } = await runTxnPerf(bin, o, topic, size, count, perTxn);
      const rate = r !== null && r.elapsedMs > 0 ? (r.msgs / r.elapsedMs) * 1000 : undefined;
      if (perTxn === 0 && rate !== undefined) idempotentRate = rate;
      const ratio =
        perTxn > 0 && rate !== undefined && idempotentRate > 0
          ? `; ${((rate / idempotentRate) * 100).toFixed(0)}% of idempotent`
          : '';
      const commits =
        r !== null && r.commits > 0
          ? `; ${r.commits} commits, commit_transaction() p50 ${(r.commitP50Us / 1000).toFixed(1)} ms / p99 ${(r.commitP99Us / 1000).toFixed(1)} ms`
          : '';
      const other = Math.max(0, hostPct - broker.cpuPct);
      rows.push({
        system: SYS,
        test: `produce ${mode}`,
        size,
        msgsPerSec: rate,
        mbPerSec: rate === undefined ? undefined : (rate * size) / 1e6,
        p50Ms: r !== null && r.commits > 0 ? r.commitP50Us / 1000 : undefined,
        p99Ms: r !== null && r.commits > 0 ? r.commitP99Us / 1000 : undefined,
        cpuPct: broker.cpuPct,
        peakRssMb: broker.peakRssMb,
        note: `txn ${mode} ${size} B: ${(r?.msgs ?? 0).toLocaleString('en-US')} msgs in ${((r?.elapsedMs ?? 0) / 1000).toFixed(1)} s${ratio}${commits}; client and other processes on the host ${other.toFixed(0)}%${note ? '; ' + note : ''}`,
      });
    }
    for (const perTxn of [TXN_RECORDS_PER_COMMIT[0], 0]) {
      const what = perTxn === 0 ? 'idempotent' : `transactional (${perTxn}/commit)`;
      await o.beforePhase();
      o.log(`txn: read_committed consume ${count} x ${size} B of the ${what} topic`);
      const c: ThroughputResult = await rdConsume(
        {
          bin: o.rdBin,
          brokers: o.brokers,
          topic: topics[perTxn]!,
          count,
          partitions: 1,
          timeoutMs: o.timeoutMs,
          size,
          extra: ['-X', 'isolation.level=read_committed'],
        },
        o.brokerPid,
      );
      rows.push({
        system: SYS,
        test: `consume read_committed, ${what}`,
        size,
        msgsPerSec: c.msgs ? c.msgsPerSec : undefined,
        mbPerSec: c.msgs ? c.mbPerSec : undefined,
        cpuPct: c.broker?.cpuPct,
        peakRssMb: c.broker?.peakRssMb,
        note: `read_committed consume of the ${what} topic, ${size} B: ${c.msgs.toLocaleString('en-US')} msgs in ${c.wallS.toFixed(1)} s${c.client ? `; client CPU ${c.client.cpuPct.toFixed(0)}%` : ''}${c.note ? '; ' + c.note : ''}`,
      });
    }
  }
  return rows;
}
