// `npm run bench -- --only cluster`: a 3-broker cluster on this machine, started the way a user does
// (`brook cluster start --brokers 3`, real ZooKeeper), one topic per test with replication factor 3
// and one partition, acks=all: rdkafka_performance throughput at 100 B and 1 KB, produce latency at a
// fixed 10,000 msgs/s, the three brokers' CPU (summed) and RSS (summed peaks), and failover time: from
// kill -9 of the partition's leader to the first successful acks=all write on that partition.
// Failover waits for the dead broker's ZooKeeper session to expire, so it is measured with Kafka's
// default zookeeper.session.timeout.ms (18 s) and again with a short one, each set explicitly.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Admin, Producer } from '../src/index.js';
import { zooKeeperMissing } from '../src/cluster/zookeeper/local-server.js';
import { brookCommand } from './lib/brook.js';
import { onCleanup, ProcMonitor, sleep, startChild, waitForOutput, type Child } from './lib/procs.js';
import { rdLatency, rdProduce } from './lib/rdkafka.js';
import { percentile, type Row } from './lib/table.js';

export interface ClusterBenchOptions {
  root: string;
  tmpRoot: string;
  rdBin: string;
  forceTsx: boolean;
  /** Message counts for 100 B and 1 KB. */
  n100: number;
  n1k: number;
  latencySeconds: number;
  latencyRate: number;
  timeoutMs: number;
  log: (s: string) => void;
  beforePhase: () => Promise<void>;
}

const SYS = 'Brook 3 brokers';
/** Kafka's default, set explicitly so the figure says what it was measured with. */
const DEFAULT_SESSION_MS = 18_000;
const SHORT_SESSION_MS = 3_000;

interface LocalCluster {
  cli: Child;
  bootstrap: string;
  /** node id -> pid */
  brokerPids: Map<number, number>;
  brokerPorts: Map<number, number>;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Four consecutive free ports (three brokers and ZooKeeper). */
async function portRange(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(
      [0, 1, 2, 3].map(
        (k) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once('error', () => resolve(false));
            s.listen(base + k, '127.0.0.1', () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free range of 4 ports');
}

async function startCluster(o: ClusterBenchOptions, sessionMs: number): Promise<LocalCluster> {
  const dir = mkdtempSync(join(o.tmpRoot, 'brook-cluster-'));
  const base = await portRange();
  const { cmd, args } = brookCommand(o.root, o.forceTsx);
  const full = [
    ...args,
    'cluster',
    'start',
    '--brokers',
    '3',
    '--data-dir',
    dir,
    '--port',
    String(base),
    '--zookeeper-port',
    String(base + 3),
    '--set',
    `zookeeper.session.timeout.ms=${sessionMs}`,
    '--set',
    'replica.lag.time.max.ms=30000',
    '--set',
    'offsets.topic.num.partitions=3',
  ];
  o.log(`brook cluster start --brokers 3 (zookeeper.session.timeout.ms=${sessionMs})`);
  const cli = startChild(cmd, full, { cwd: o.root, env: { ...process.env, NODE_ENV: 'production' } });
  const pidsOf = (): number[] => [...cli.out().matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
  // The benchmark's exit handlers SIGKILL the CLI; its children live in their own process groups.
  onCleanup(() => {
    for (const pid of pidsOf()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  await waitForOutput(cli, /Cluster ready/, 180_000);
  const brokerPids = new Map<number, number>();
  const brokerPorts = new Map<number, number>();
  for (const m of cli.out().matchAll(/Broker (\d+) listening on [^:]+:(\d+) \(pid (\d+)/g)) {
    brokerPids.set(Number(m[1]), Number(m[3]));
    brokerPorts.set(Number(m[1]), Number(m[2]));
  }
  const bootstrap = [0, 1, 2].map((k) => `127.0.0.1:${base + k}`).join(',');
  return {
    cli,
    bootstrap,
    brokerPids,
    brokerPorts,
    async stop() {
      if (cli.isRunning()) process.kill(cli.pid, 'SIGINT');
      const t = setTimeout(() => cli.isRunning() && process.kill(cli.pid, 'SIGKILL'), 60_000);
      await cli.exited;
      clearTimeout(t);
      for (const pid of pidsOf()) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A 1-partition topic with replication factor 3, waited on until all three replicas are in sync. */
async function createRf3(bootstrap: string, topic: string): Promise<void> {
  const admin = await Admin.connect(bootstrap);
  try {
    await admin.createTopics([
      { name: topic, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
    ]);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [t] = await admin.describeTopics([topic]).catch(() => [undefined]);
      const p = t?.partitions[0];
      if (p && p.leader >= 0 && p.isr.length === 3) return;
      if (Date.now() > deadline) throw new Error(`${topic}: replicas not in sync within 60 s`);
      await sleep(200);
    }
  } finally {
    await admin.close();
  }
}

async function leaderOf(bootstrap: string, topic: string): Promise<number> {
  const admin = await Admin.connect(bootstrap);
  try {
    const [t] = await admin.describeTopics([topic]);
    return t!.partitions[0]!.leader;
  } finally {
    await admin.close();
  }
}

/** Sums the brokers' CPU and peak RSS over a phase. */
function monitorBrokers(c: LocalCluster): () => { cpuPct: number; peakRssMb: number } {
  const ms = [...c.brokerPids.values()].map((pid) => new ProcMonitor(pid));
  for (const m of ms) m.start();
  return () => {
    const u = ms.map((m) => m.stop());
    return {
      cpuPct: u.reduce((a, x) => a + x.cpuPct, 0),
      peakRssMb: u.reduce((a, x) => a + x.peakRssMb, 0),
    };
  };
}

/**
 * kill -9 of the partition's leader, then acks=all writes (one message each, through the surviving
 * brokers) until one succeeds. Returns ms from the kill to that success.
 */
async function failover(
  c: LocalCluster,
  topic: string,
  log: (s: string) => void,
): Promise<{ ms: number; note: string }> {
  const leader = await leaderOf(c.bootstrap, topic);
  const pid = c.brokerPids.get(leader)!;
  const survivors = [...c.brokerPorts]
    .filter(([id]) => id !== leader)
    .map(([, p]) => `127.0.0.1:${p}`)
    .join(',');
  // Writes succeed before the kill (the producer is connected and warm).
  const warm = await Producer.connect({ bootstrap: survivors, retries: 5, requestTimeoutMs: 10_000 });
  await warm.send({ topic, messages: [{ value: 'before', partition: 0 }], acks: -1 });
  await warm.close();
  log(`failover: kill -9 broker ${leader} (pid ${pid}), leader of ${topic}-0`);
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  let attempts = 0;
  let lastError = '';
  for (;;) {
    attempts++;
    let p: Producer | null = null;
    try {
      p = await Producer.connect({ bootstrap: survivors, retries: 0, requestTimeoutMs: 5_000 });
      await p.send({ topic, messages: [{ value: 'after', partition: 0 }], acks: -1, timeoutMs: 5_000 });
      const ms = performance.now() - t0;
      const newLeader = await leaderOf(survivors, topic);
      return {
        ms,
        note: `broker ${leader} killed; broker ${newLeader} leads; ${attempts} write attempts, last error before success: ${lastError || 'none'}`,
      };
    } catch (e) {
      lastError = String((e as Error).message ?? e).slice(0, 120);
      if (performance.now() - t0 > 120_000)
        throw new Error(`no successful write within 120 s: ${lastError}`, { cause: e });
      await sleep(20);
    } finally {
      await p?.close().catch(() => undefined);
    }
  }
}

export async function benchCluster(o: ClusterBenchOptions): Promise<Row[]> {
  const missing = zooKeeperMissing();
  if (missing) return [{ system: SYS, test: 'skipped', size: 0, note: `cluster: skipped, ${missing}` }];
  const rows: Row[] = [];
  const c = await startCluster(o, DEFAULT_SESSION_MS);
  try {
    for (const size of [100, 1024]) {
      const topic = `bench-rf3-${size}`;
      await createRf3(c.bootstrap, topic);
      await o.beforePhase();
      const count = size === 100 ? o.n100 : o.n1k;
      o.log(`cluster: produce ${count} x ${size} B acks=all, RF 3 -> ${topic}`);
      const done = monitorBrokers(c);
      const r = await rdProduce({
        bin: o.rdBin,
        brokers: c.bootstrap,
        topic,
        size,
        count,
        acks: '-1',
        partitions: 1,
        timeoutMs: o.timeoutMs,
      });
      const u = done();
      rows.push({
        system: SYS,
        test: 'produce acks=all RF 3',
        size,
        msgsPerSec: r.msgs ? r.msgsPerSec : undefined,
        mbPerSec: r.msgs ? r.mbPerSec : undefined,
        cpuPct: u.cpuPct,
        peakRssMb: u.peakRssMb,
        note: `cluster produce ${size} B: ${r.msgs.toLocaleString('en-US')} msgs in ${r.wallS.toFixed(1)} s wall; CPU and RSS summed over the 3 brokers${r.client ? `; client CPU ${r.client.cpuPct.toFixed(0)}%` : ''}${r.hostPct !== undefined ? `; host CPU ${r.hostPct.toFixed(0)}%` : ''}${r.note ? '; ' + r.note : ''}`,
      });
    }

    const latTopic = 'bench-rf3-latency';
    await createRf3(c.bootstrap, latTopic);
    await o.beforePhase();
    o.log(`cluster: latency ${o.latencyRate} msgs/s for ${o.latencySeconds} s, 100 B, acks=all, RF 3`);
    const done = monitorBrokers(c);
    const l = await rdLatency({
      bin: o.rdBin,
      brokers: c.bootstrap,
      topic: latTopic,
      size: 100,
      rate: o.latencyRate,
      seconds: o.latencySeconds,
      acks: '-1',
      tmpDir: o.tmpRoot,
    });
    const u = done();
    const warm = Math.min(o.latencyRate, Math.floor(l.ackUs.length / 10));
    const ack = l.ackUs.slice(warm).sort((x, y) => x - y);
    const e2e = l.e2eUs.slice(warm).sort((x, y) => x - y);
    rows.push({
      system: SYS,
      test: `latency ack @${o.latencyRate / 1000}k/s RF 3`,
      size: 100,
      msgsPerSec: l.achievedRate,
      mbPerSec: (l.achievedRate * 100) / 1e6,
      p50Ms: percentile(ack, 50) / 1000,
      p99Ms: percentile(ack, 99) / 1000,
      p999Ms: percentile(ack, 99.9) / 1000,
      cpuPct: u.cpuPct,
      peakRssMb: u.peakRssMb,
      note: `produce->ack (acks=all, RF 3): ${ack.length} samples, max ${((ack[ack.length - 1] ?? NaN) / 1000).toFixed(2)} ms, first ${warm} dropped; ${Math.round(l.achievedRate).toLocaleString('en-US')} msgs/s achieved${l.hostPct !== undefined ? `; host CPU ${l.hostPct.toFixed(0)}%` : ''}${l.note ? '; ' + l.note : ''}`,
    });
    rows.push({
      system: SYS,
      test: `latency e2e @${o.latencyRate / 1000}k/s RF 3`,
      size: 100,
      p50Ms: percentile(e2e, 50) / 1000,
      p99Ms: percentile(e2e, 99) / 1000,
      p999Ms: percentile(e2e, 99.9) / 1000,
      note: `produce->consume (consumer reads up to the high watermark): ${e2e.length} samples`,
    });

    const foTopic = 'bench-rf3-failover';
    await createRf3(c.bootstrap, foTopic);
    const f = await failover(c, foTopic, o.log);
    rows.push({
      system: SYS,
      test: `failover, session ${DEFAULT_SESSION_MS / 1000} s`,
      size: 0,
      p50Ms: f.ms,
      note: `kill -9 of the leader to the first successful acks=all write, zookeeper.session.timeout.ms=${DEFAULT_SESSION_MS} (Kafka's default): ${f.note}`,
    });
  } finally {
    await c.stop();
  }

  // Failover is bounded by the session timeout: once more with a short one.
  const s = await startCluster(o, SHORT_SESSION_MS);
  try {
    const foTopic = 'bench-rf3-failover';
    await createRf3(s.bootstrap, foTopic);
    const f = await failover(s, foTopic, o.log);
    rows.push({
      system: SYS,
      test: `failover, session ${SHORT_SESSION_MS / 1000} s`,
      size: 0,
      p50Ms: f.ms,
      note: `same, zookeeper.session.timeout.ms=${SHORT_SESSION_MS}: ${f.note}`,
    });
  } finally {
    await s.stop();
  }
  return rows;
}
