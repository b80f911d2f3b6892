// Brook benchmark: `npm run bench [-- --quick] [--peers] [--messages N] [--only produce|consume|latency|fsync|groups|startup|topics|cluster|txn]
//   [--partitions N] [--profile] [--tsx] [--no-brook]`
// See bench/README.md for what each figure means.
import { benchCluster } from './cluster.js';
import { benchGroupConsume, benchRebalance } from './groups.js';
import { benchTopics, fdLimit } from './topics.js';
import { benchTxn, TXN_RECORDS_PER_COMMIT } from './txn.js';
import { cpus, totalmem, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brookAvailable, startBrook, type BrookHandle } from './lib/brook.js';
import { installExitHandlers, loadAverage, onCleanup, runChild, waitForQuiet } from './lib/procs.js';
import {
  buildRdkafkaPerformance,
  rdConsume,
  rdLatency,
  rdProduce,
  type ThroughputResult,
} from './lib/rdkafka.js';
import { benchRedis } from './lib/redis.js';
import { benchNats } from './lib/nats.js';
import { percentile, renderTable, type Row } from './lib/table.js';
import { renderProfile, summarizeProfile } from './lib/profile.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    peers: { type: 'boolean', default: false },
    messages: { type: 'string' },
    only: { type: 'string' },
    partitions: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    'wait-idle': { type: 'string' },
    'no-brook': { type: 'boolean', default: false },
    'latency-seconds': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    'usage: npm run bench -- [--quick] [--peers] [--messages N] [--only produce|consume|latency|fsync|groups|startup|topics|cluster|txn]\n' +
      '                        [--partitions N] [--latency-seconds S] [--profile] [--build] [--tsx] [--no-brook]\n' +
      '                        [--wait-idle SECONDS]\n',
  );
  process.exit(0);
}

const ONLY = ['produce', 'consume', 'latency', 'fsync', 'groups', 'startup', 'topics', 'cluster', 'txn'];
if (flags.only && !ONLY.includes(flags.only)) {
  process.stderr.write(`--only must be one of ${ONLY.join('|')}\n`);
  process.exit(2);
}
const want = (phase: string): boolean => !flags.only || flags.only === phase;

const quick = flags.quick;
const N = flags.messages ? Number(flags.messages) : quick ? 200_000 : 2_000_000;
if (!Number.isInteger(N) || N <= 0) throw new Error('--messages must be a positive integer');
const N1k = Math.max(1, Math.floor(N / 2));
/** The txn group writes fewer records: a commit every 100 records makes 5,000 round trips at 500,000. */
const txnN = flags.messages ? N : quick ? 100_000 : 500_000;
const partitions = Math.max(1, Number(flags.partitions));
const latencySeconds = flags['latency-seconds'] ? Number(flags['latency-seconds']) : quick ? 4 : 30;
const LATENCY_RATE = 10_000;
const timeoutMs = quick ? 25_000 : 180_000;
const waitIdleS = flags['wait-idle'] !== undefined ? Number(flags['wait-idle']) : quick ? 0 : 60;
/** Before each measured phase: wait (bounded) for other processes on a shared host to go quiet. */
const quiet = async (): Promise<void> => {
  if (waitIdleS > 0) await waitForQuiet(waitIdleS, 25, log);
};

const log = (s: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

installExitHandlers();
const tmpRoot = mkdtempSync(join(tmpdir(), 'brook-bench-'));
onCleanup(() => rmSync(tmpRoot, { recursive: true, force: true }));

const rows: Row[] = [];
const runners = new Set<string>();
const profileReports: string[] = [];

function tpRow(system: string, test: string, size: number, r: ThroughputResult): Row {
  const notes: string[] = [];
  if (r.note) notes.push(r.note);
  if (r.client) notes.push(`client CPU ${r.client.cpuPct.toFixed(0)}%`);
  if (r.hostPct !== undefined && r.broker && r.client) {
    const other = r.hostPct - r.broker.cpuPct - r.client.cpuPct;
    notes.push(`other processes on the host ${Math.max(0, other).toFixed(0)}%`);
  }
  return {
    system,
    test,
    size,
    msgsPerSec: r.msgs ? r.msgsPerSec : undefined,
    mbPerSec: r.msgs ? r.mbPerSec : undefined,
    cpuPct: r.broker?.cpuPct,
    peakRssMb: r.broker?.peakRssMb,
    note: `${test} ${size} B: ${r.msgs.toLocaleString('en-US')} msgs in ${r.wallS.toFixed(1)} s wall${notes.length ? '; ' + notes.join('; ') : ''}`,
  };
}

async function withBrook(
  label: string,
  config: Record<string, string>,
  fn: (b: BrookHandle) => Promise<void>,
): Promise<void> {
  const profDir = join(benchDir, '.tmp', `prof-${label}-${Date.now()}`);
  const nodeFlags = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const cfg = { ...config };
  if (partitions > 1) {
    cfg['num.partitions'] = String(partitions);
    cfg['auto.create.topics.enable'] = 'true';
  }
  log(
    `starting Brook (${label}) ${Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  const b = await startBrook({ root, tmpRoot, config: cfg, forceTsx: flags.tsx, nodeFlags, label });
  log(`Brook pid ${b.pid} on ${b.bootstrap} (runner: ${b.runner})`);
  runners.add(b.runner === 'dist' ? 'node dist/src/cli/main.js' : 'node --import tsx src/cli/main.ts');
  try {
    await warmUp(b);
    await fn(b);
  } finally {
    await b.stop();
    rmSync(b.dataDir, { recursive: true, force: true });
  }
  if (flags.profile) {
    const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files.length === 0) {
      log(`no .cpuprofile written for ${label} (broker must exit cleanly on SIGTERM for --cpu-prof)`);
    } else {
      const f = join(
        profDir,
        files.sort((a, c) => statSync(join(profDir, c)).size - statSync(join(profDir, a)).size)[0],
      );
      profileReports.push(renderProfile(summarizeProfile(f), `Brook CPU profile: ${label} (${f})`));
    }
  }
}

let rdBin = '';
let loadAtStart = '';

/** Unmeasured warm-up so the first measured phase does not pay for JIT compilation. */
async function warmUp(b: BrookHandle): Promise<void> {
  const count = Math.min(500_000, Math.max(20_000, Math.floor(N / 4)));
  log(`warm-up: produce + consume ${count} x 100 B (not reported)`);
  const common = { bin: rdBin, brokers: b.bootstrap, partitions, timeoutMs };
  const p = await rdProduce({ ...common, topic: 'bench-warmup', size: 100, count, acks: '1' });
  if (p.msgs > 0) await rdConsume({ ...common, topic: 'bench-warmup', count: p.msgs, size: 100 });
  else log(`warm-up produce failed: ${p.note}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  loadAtStart = loadAverage();
  log(`load average: ${loadAtStart}`);
  if (flags.only !== 'topics' || flags.peers) rdBin = await buildRdkafkaPerformance(benchDir);
  if (flags.build) {
    log('npm run build (tsc -p tsconfig.build.json)');
    const r = await runChild('npm', ['run', 'build'], 300_000, { cwd: root });
    if (r.code !== 0)
      log(`npm run build exited ${r.code} (type errors?); dist/ is used only if it is newer than src/`);
  }
  log(`rdkafka_performance: ${rdBin}`);
  const avail = brookAvailable(root);
  const runBrook = !flags['no-brook'];
  if (runBrook && !avail.ok) {
    rows.push({ system: 'Brook', test: 'skipped', size: 0, note: `skipped: ${avail.reason}` });
  }
  const acksAll = '-1';
  if (runBrook && avail.ok) {
    const SYS = 'Brook';
    if (want('produce') || want('consume') || want('latency')) {
      await withBrook('default', {}, async (b) => {
        const brokers = b.bootstrap;
        const common = { bin: rdBin, brokers, partitions, timeoutMs };
        for (const size of [100, 1024]) {
          const count = size === 100 ? N : N1k;
          const topic = `bench-p${size}`;
          if (want('produce') || want('consume')) {
            await quiet();
            log(`produce ${count} x ${size} B acks=1 -> ${topic}`);
            const p = await rdProduce({ ...common, topic, size, count, acks: '1' }, b.pid);
            if (want('produce')) rows.push(tpRow(SYS, 'produce acks=1', size, p));
            if (want('consume')) {
              if (p.msgs === 0) {
                rows.push({
                  system: SYS,
                  test: 'consume',
                  size,
                  note: `consume ${size} B: skipped, nothing was produced (${p.note})`,
                });
              } else {
                await quiet();
                log(`consume ${p.msgs} x ${size} B from beginning`);
                const c = await rdConsume({ ...common, topic, count: p.msgs, size }, b.pid);
                rows.push(tpRow(SYS, 'consume', size, c));
              }
            }
          }
          if (want('produce')) {
            const topicAll = `bench-pall${size}`;
            await quiet();
            log(`produce ${count} x ${size} B acks=all -> ${topicAll}`);
            const p = await rdProduce({ ...common, topic: topicAll, size, count, acks: acksAll }, b.pid);
            rows.push(tpRow(SYS, 'produce acks=all', size, p));
          }
        }
        if (want('latency')) {
          await quiet();
          log(`latency: ${LATENCY_RATE} msgs/s for ${latencySeconds} s, 100 B, acks=all, linger.ms=0`);
          const l = await rdLatency(
            {
              bin: rdBin,
              brokers,
              topic: 'bench-latency',
              size: 100,
              rate: LATENCY_RATE,
              seconds: latencySeconds,
              acks: acksAll,
              tmpDir: tmpRoot,
            },
            b.pid,
          );
          // drop the first second (connection setup, first fetch) from the percentiles
          const warm = Math.min(LATENCY_RATE, Math.floor(l.e2eUs.length / 10));
          const e2e = l.e2eUs.slice(warm).sort((x, y) => x - y);
          const ack = l.ackUs.slice(warm).sort((x, y) => x - y);
          const base = `${l.produced.toLocaleString('en-US')} msgs at ${Math.round(l.achievedRate).toLocaleString('en-US')} msgs/s achieved, first ${warm} samples dropped as warm-up${l.hostPct !== undefined && l.broker ? `; host CPU ${l.hostPct.toFixed(0)}% (broker ${l.broker.cpuPct.toFixed(0)}%)` : ''}`;
          rows.push({
            system: SYS,
            test: `latency e2e @${LATENCY_RATE / 1000}k/s`,
            size: 100,
            msgsPerSec: l.achievedRate,
            mbPerSec: (l.achievedRate * 100) / 1e6,
            p50Ms: percentile(e2e, 50) / 1000,
            p99Ms: percentile(e2e, 99) / 1000,
            p999Ms: percentile(e2e, 99.9) / 1000,
            cpuPct: l.broker?.cpuPct,
            peakRssMb: l.broker?.peakRssMb,
            note: `produce->consume: ${e2e.length} samples, max ${((e2e[e2e.length - 1] ?? NaN) / 1000).toFixed(2)} ms; ${base}${l.note ? '; ' + l.note : ''}`,
          });
          rows.push({
            system: SYS,
            test: `latency ack @${LATENCY_RATE / 1000}k/s`,
            size: 100,
            p50Ms: percentile(ack, 50) / 1000,
            p99Ms: percentile(ack, 99) / 1000,
            p999Ms: percentile(ack, 99.9) / 1000,
            note: `produce->ack (delivery report, acks=all): ${ack.length} samples, max ${((ack[ack.length - 1] ?? NaN) / 1000).toFixed(2)} ms`,
          });
        }
      });
    }
    if (want('groups')) {
      await withBrook('groups', { 'group.initial.rebalance.delay.ms': '0' }, async (b) => {
        await quiet();
        log('groups: rebalance of a 10-member group, 20 leave + join cycles');
        const r = await benchRebalance(b.bootstrap);
        rows.push({
          system: SYS,
          test: 'group rebalance (10 members)',
          size: 0,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          note: `rebalance: ${r.samples} samples (a member leaves / joins until every member has synced the new generation); members heartbeat every ${r.heartbeatMs} ms, which bounds how soon they notice`,
        });
        await quiet();
        const groupMessages = quick ? 100_000 : 300_000;
        log(`groups: consume ${groupMessages} x 100 B, 6 partitions, 3-member group vs 1 member`);
        const g = await benchGroupConsume(b.bootstrap, 'bench-group6', groupMessages, timeoutMs);
        rows.push({
          system: SYS,
          test: `group consume (${g.members} members)`,
          size: 100,
          msgsPerSec: g.msgsPerSec,
          mbPerSec: (g.msgsPerSec * 100) / 1e6,
          note: `group consume: ${g.tool}, 6 partitions; one member alone: ${Math.round(g.singleMsgsPerSec).toLocaleString('en-US')} msgs/s`,
        });
      });
    }
    if (want('startup')) {
      // Startup on a big log: clean restart (indexes trusted, no scan) and restart after kill -9
      // (recovery scans from the last recovery point and truncates a torn tail).
      const bytes = quick ? 100 * 1024 * 1024 : 1024 * 1024 * 1024;
      const first = await startBrook({ root, tmpRoot, label: 'startup', forceTsx: flags.tsx });
      let dataDir = first.dataDir;
      try {
        log(`startup: producing ${(bytes / 2 ** 20).toFixed(0)} MiB of 1 KB messages`);
        const common = { bin: rdBin, brokers: first.bootstrap, partitions, timeoutMs };
        await rdProduce(
          { ...common, topic: 'bench-startup', size: 1024, count: bytes / 1024, acks: '1' },
          first.pid,
        );
      } finally {
        await first.stop();
      }
      for (const how of ['clean shutdown', 'kill -9'] as const) {
        await quiet();
        const t0 = Date.now();
        const b = await startBrook({ root, tmpRoot, label: 'startup', forceTsx: flags.tsx, dataDir });
        const readyMs = Date.now() - t0;
        dataDir = b.dataDir;
        if (how === 'clean shutdown') b.child.proc.kill('SIGKILL');
        else await b.stop();
        await b.child.exited;
        rows.push({
          system: SYS,
          test: `startup, ${(bytes / 2 ** 30).toFixed(1)} GiB log, after ${how === 'clean shutdown' ? 'clean stop' : 'kill -9'}`,
          size: 0,
          p50Ms: readyMs,
          note: `startup after ${how}: ${readyMs} ms from process start to the ready line (includes Node start-up), ${(bytes / 2 ** 20).toFixed(0)} MiB in the log`,
        });
      }
    }
    if (want('topics')) {
      // Single-partition topics in batched CreateTopics requests (1,000 per request, as admin
      // clients batch them): does a create cost O(change) or O(cluster), and do open files stay
      // bounded by log.open.files.max rather than growing with the number of partitions?
      const totals = quick ? [100, 1_000] : [1_000, 10_000];
      const perRequest = 1_000;
      // log.open.files.max well below the topic count, so the figure shows that open files follow
      // the setting, not the number of partitions (the default is half of ulimit -n).
      const openMax = quick ? 200 : 1_000;
      const b = await startBrook({
        root,
        tmpRoot,
        label: 'topics',
        forceTsx: flags.tsx,
        config: { 'log.open.files.max': String(openMax) },
      });
      runners.add(b.runner === 'dist' ? 'node dist/src/cli/main.js' : 'node --import tsx src/cli/main.ts');
      try {
        await quiet();
        const limit = fdLimit(b.pid);
        log(
          `topics: create ${totals.join(' then ')} topics, ${perRequest} per request (broker fd limit ${limit})`,
        );
        const steps = await benchTopics(b.bootstrap, b.pid, totals, perRequest, log);
        let cumulative = 0;
        for (const s of steps) {
          cumulative += s.seconds;
          rows.push({
            system: SYS,
            test: `create topics, ${s.created.toLocaleString('en-US')} -> ${s.total.toLocaleString('en-US')}`,
            size: 0,
            msgsPerSec: s.created / s.seconds,
            peakRssMb: s.rssMb,
            note: `create topics: ${s.created.toLocaleString('en-US')} single-partition topics in ${s.seconds.toFixed(2)} s (${s.requests} CreateTopics requests of up to ${perRequest}), ${s.total.toLocaleString('en-US')} in all after ${cumulative.toFixed(2)} s; msgs/s column = topics/s; after the step: RSS ${s.rssMb.toFixed(0)} MiB, ${s.fds} open fds (log.open.files.max=${openMax}, process limit ${limit})`,
          });
        }
      } finally {
        const t0 = Date.now();
        await b.stop();
        log(`topics: broker stopped (SIGTERM) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        rmSync(b.dataDir, { recursive: true, force: true });
      }
    }
    if (want('cluster')) {
      try {
        rows.push(
          ...(await benchCluster({
            root,
            tmpRoot,
            rdBin,
            forceTsx: flags.tsx,
            n100: N,
            n1k: N1k,
            latencySeconds,
            latencyRate: LATENCY_RATE,
            timeoutMs,
            log,
            beforePhase: quiet,
          })),
        );
        runners.add('brook cluster start --brokers 3 (3 broker processes + ZooKeeper)');
      } catch (e) {
        rows.push({
          system: 'Brook 3 brokers',
          test: 'failed',
          size: 0,
          note: `cluster failed: ${String(e)}`,
        });
      }
    }
    if (want('txn')) {
      await withBrook('txn', {}, async (b) => {
        log(
          `txn: ${txnN} x 100 B / ${Math.floor(txnN / 2)} x 1 KB per run, ${TXN_RECORDS_PER_COMMIT.join(' and ')} records per commit`,
        );
        rows.push(
          ...(await benchTxn({
            benchDir,
            rdBin,
            brokers: b.bootstrap,
            brokerPid: b.pid,
            n100: txnN,
            n1k: Math.floor(txnN / 2),
            timeoutMs,
            log,
            beforePhase: quiet,
          })),
        );
      });
    }
    if (want('fsync')) {
      await withBrook('fsync', { 'log.flush.before.ack': 'true' }, async (b) => {
        const common = { bin: rdBin, brokers: b.bootstrap, partitions, timeoutMs };
        for (const size of [100, 1024]) {
          const count = size === 100 ? N : N1k;
          await quiet();
          log(`fsync mode: produce ${count} x ${size} B acks=all`);
          const p = await rdProduce(
            { ...common, topic: `bench-fsync${size}`, size, count, acks: acksAll },
            b.pid,
          );
          rows.push(tpRow(SYS, 'produce fsync acks=all', size, p));
        }
      });
    }
  }

  if (flags.peers) {
    const sizes = [
      { size: 100, count: N },
      { size: 1024, count: N1k },
    ];
    log('peer: Redis Streams');
    try {
      rows.push(...(await benchRedis({ tmpRoot, sizes, timeoutMs, log, beforePhase: quiet })));
    } catch (e) {
      rows.push({ system: 'Redis Streams', test: 'failed', size: 0, note: `failed: ${String(e)}` });
    }
    log('peer: NATS JetStream');
    try {
      rows.push(...(await benchNats({ tmpRoot, sizes, timeoutMs, log, beforePhase: quiet })));
    } catch (e) {
      rows.push({ system: 'NATS JetStream', test: 'failed', size: 0, note: `failed: ${String(e)}` });
    }
  }

  const table = renderTable(rows);
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    commit = '(no commit)';
  }
  const header = [
    `# Brook benchmark results`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- mode: ${quick ? 'quick' : 'full'}, messages: ${(flags.only === 'txn' ? txnN : N).toLocaleString('en-US')} (100 B) / ${(flags.only === 'txn' ? Math.floor(txnN / 2) : N1k).toLocaleString('en-US')} (1 KB), partitions: ${partitions}${flags.only ? `, only: ${flags.only}` : ''}`,
    `- machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, git ${commit}`,
    `- broker: ${runners.size ? [...runners].join(', ') : '(not run)'}, one child process, fresh data dir in ${tmpdir()}`,
    `- client: librdkafka ${flags.only === 'txn' ? 'bench/rdkafka/txn_perf.c (produce) and rdkafka_performance (consume)' : 'rdkafka_performance'} (C), broker and client on the same host over 127.0.0.1`,
    `- load average at start: ${loadAtStart}, at end: ${loadAverage()} (other work on the host skews results; see "other processes" in the notes)`,
    `- total bench time: ${((Date.now() - started) / 1000).toFixed(0)} s`,
    '',
  ].join('\n');
  const md =
    header + '\n' + table + '\n' + (profileReports.length ? '\n' + profileReports.join('\n\n') + '\n' : '');
  const resDir = join(benchDir, 'results');
  mkdirSync(resDir, { recursive: true });
  // --only cluster / txn keep latest.md (the single-broker figures they are compared with).
  const resFile = flags.only === 'cluster' ? 'cluster.md' : flags.only === 'txn' ? 'txn.md' : 'latest.md';
  writeFileSync(join(resDir, resFile), md);
  if (profileReports.length) writeFileSync(join(resDir, 'profile.md'), profileReports.join('\n\n') + '\n');
  process.stdout.write('\n' + table + '\n');
  if (profileReports.length) process.stdout.write('\n' + profileReports.join('\n\n') + '\n');
  log(`wrote ${join(resDir, resFile)}`);
}

main()
  .then(() => process.exit(0))
  .catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
