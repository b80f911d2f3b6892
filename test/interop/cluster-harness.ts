// Issue 8's acceptance tests share this: a real ZooKeeper, three real broker processes (the CLI, each on a fixed
// port and data dir so a restart comes back as the same broker), faults by PID (kill -9, SIGSTOP/SIGCONT), and a
// confluent-kafka (librdkafka) idempotent acks=all producer writing sequence numbers whose every acknowledged
// record is then checked exactly once and in order per partition.
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '../../src/client/index.js';
import { Cluster } from '../../src/client/cluster.js';
import {
  freePort,
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  type BrokerProcess,
} from '../helpers/broker.js';
import { PYTHON } from '../helpers/external.js';
import { runPythonWithParams, spawnLongRunning, type LongRunning } from '../helpers/run.js';
import { waitFor as pollFor } from '../helpers/wait.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';

/** Short enough to keep the tests quick, long enough for a loaded 2-core CI machine not to flap. */
export const SESSION_MS = 6000;

export function log(msg: string): void {
  process.stderr.write(`[acceptance ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** The shared poll loop, every 200 ms by default here (each check may ask a broker process). */
export function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  return pollFor(what, fn, timeoutMs, everyMs);
}

interface Node {
  id: number;
  port: number;
  dataDir: string;
  proc: BrokerProcess | null;
  stopped: boolean;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** ZooKeeper + N broker processes with fixed ports and data dirs. */
export class ProcessCluster {
  private constructor(
    readonly zk: ZooKeeper,
    private readonly nodes: Node[],
    private readonly config: Record<string, string>,
  ) {}

  static async start(n: number, extra: Record<string, string> = {}): Promise<ProcessCluster> {
    const zk = await startZooKeeper(1);
    const nodes: Node[] = [];
    for (let id = 1; id <= n; id++) {
      nodes.push({
        id,
        port: await freePort(),
        dataDir: makeTempDir(`brook-acc-${id}-`),
        proc: null,
        stopped: false,
      });
    }
    const config = {
      'zookeeper.connect': zk.connect,
      'zookeeper.session.timeout.ms': String(SESSION_MS),
      'offsets.topic.num.partitions': '3',
      'offsets.topic.replication.factor': String(Math.min(3, n)),
      'transaction.state.log.replication.factor': String(Math.min(3, n)),
      'transaction.state.log.min.isr': String(Math.min(2, n)),
      'replica.lag.time.max.ms': '10000',
      'replica.fetch.wait.max.ms': '100',
      'group.initial.rebalance.delay.ms': '0',
      'log.level': process.env.BROOK_ACC_LOG_LEVEL ?? 'info',
      ...extra,
    };
    const c = new ProcessCluster(zk, nodes, config);
    try {
      await Promise.all(nodes.map((x) => c.startNode(x)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  get ids(): number[] {
    return this.nodes.map((x) => x.id);
  }

  get bootstrap(): string {
    return this.nodes.map((x) => `127.0.0.1:${x.port}`).join(',');
  }

  node(id: number): Node {
    const x = this.nodes.find((y) => y.id === id);
    if (!x) throw new Error(`no broker ${id}`);
    return x;
  }

  portOf(id: number): number {
    return this.node(id).port;
  }

  isUp(id: number): boolean {
    const x = this.node(id);
    return x.proc !== null && !x.stopped;
  }

  private async startNode(x: Node): Promise<void> {
    x.proc = await spawnBrokerProcess({
      dataDir: x.dataDir,
      port: x.port,
      config: { ...this.config, 'node.id': String(x.id) },
      readyTimeoutMs: 90_000,
    });
    x.stopped = false;
  }

  /** BROOK_ACC_LOGS=<dir>: every broker process's output so far is appended to <dir>/broker-<id>.log. */
  private saveLog(x: Node): void {
    const dir = process.env.BROOK_ACC_LOGS;
    if (!dir || !x.proc) return;
    appendFileSync(
      join(dir, `broker-${x.id}.log`),
      x.proc.proc.lines.join('\n') + '\n' + x.proc.proc.stderr(),
    );
  }

  /** kill -9 by PID. */
  async kill9(id: number): Promise<void> {
    const x = this.node(id);
    if (!x.proc) return;
    if (x.stopped) x.proc.kill('SIGCONT');
    x.proc.kill('SIGKILL');
    await x.proc.waitExit();
    this.saveLog(x);
    x.proc = null;
    x.stopped = false;
  }

  /**
   * Starts the broker again on its port and data dir. Restarted within the session timeout of the killed
   * process, its old registration is still there and the broker refuses to start (as Kafka does); a supervisor
   * would start it again, and so does this, for up to the session timeout and some.
   */
  async restart(id: number): Promise<void> {
    const x = this.node(id);
    if (x.proc) await this.kill9(id);
    const deadline = Date.now() + SESSION_MS + 15_000;
    for (;;) {
      try {
        await this.startNode(x);
        return;
      } catch (e) {
        if (!/already registered in ZooKeeper/.test((e as Error).message) || Date.now() > deadline) throw e;
        await sleep(1000);
      }
    }
  }

  sigstop(id: number): void {
    const x = this.node(id);
    x.proc?.kill('SIGSTOP');
    x.stopped = true;
  }

  sigcont(id: number): void {
    const x = this.node(id);
    x.proc?.kill('SIGCONT');
    x.stopped = false;
  }

  /** The last lines a broker wrote (for failure messages). */
  tail(id: number, n = 40): string {
    const p = this.node(id).proc?.proc;
    if (!p) return '(not running)';
    return [...p.lines.slice(-n), p.stderr().slice(-3000)].join('\n');
  }

  /** Metadata for a topic as a running broker answers it (through Brook's own admin client). */
  async describe(topic: string, via?: number): Promise<PartitionInfo[]> {
    const candidates = via !== undefined ? [via] : this.ids.filter((i) => this.isUp(i));
    let last: unknown;
    for (const id of candidates) {
      const c = new Cluster({
        bootstrap: `127.0.0.1:${this.portOf(id)}`,
        connectTimeoutMs: 2000,
        requestTimeoutMs: 3000,
      });
      try {
        await c.connect();
        const t = await c.topic(topic, true);
        return t.partitions
          .map((p) => ({
            partition: p.partition,
            leader: p.leader,
            replicas: [...p.replicas],
            isr: [...p.isr].sort(),
          }))
          .sort((a, b) => a.partition - b.partition);
      } catch (e) {
        last = e;
      } finally {
        await c.close().catch(() => undefined);
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  async createTopic(topic: string, partitions: number, configs: Record<string, string>): Promise<void> {
    const id = this.ids.find((i) => this.isUp(i))!;
    const admin = await Admin.connect(`127.0.0.1:${this.portOf(id)}`);
    try {
      await admin.createTopics([{ name: topic, partitions, replicationFactor: 3, configs }]);
    } finally {
      await admin.close().catch(() => undefined);
    }
    await waitFor(
      `${topic}: every partition led, full ISR`,
      async () => {
        const d = await this.describe(topic).catch(() => null);
        return d !== null && d.length === partitions && d.every((p) => p.leader > 0 && p.isr.length === 3);
      },
      60_000,
    );
  }

  /** Waits until every partition of topic has a live leader and its full ISR back. */
  async waitFullIsr(topic: string, timeoutMs = 60_000): Promise<PartitionInfo[]> {
    let last: unknown = null;
    try {
      return await waitFor(
        `${topic}: full ISR everywhere`,
        async () => {
          const d = await this.describe(topic).catch((e: unknown) => e);
          last = d;
          return Array.isArray(d) &&
            (d as PartitionInfo[]).every((p) => p.leader > 0 && p.isr.length === p.replicas.length)
            ? (d as PartitionInfo[])
            : null;
        },
        timeoutMs,
        500,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; last metadata: ${last instanceof Error ? last.message : JSON.stringify(last)}\n${this.tails()}`,
        { cause: e },
      );
    }
  }

  /** Every broker's last log lines, for a failure message. */
  tails(n = 30): string {
    return this.ids.map((id) => `--- broker ${id} ---\n${this.tail(id, n)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const x of this.nodes) {
      if (x.proc) {
        x.proc.kill('SIGCONT');
        x.proc.kill('SIGKILL');
        await x.proc.waitExit();
        this.saveLog(x);
        x.proc = null;
      }
    }
    await this.zk.stop();
    if (process.env.BROOK_ACC_KEEP !== '1') for (const x of this.nodes) removeDir(x.dataDir);
    else log(`kept data dirs: ${this.nodes.map((x) => x.dataDir).join(' ')}`);
  }
}

// The producer: confluent-kafka (librdkafka) with acks=all and idempotence, writing sequence numbers round-robin
// over the partitions (explicit partition = seq % P, key and value carry the seq) at a bounded rate until SIGTERM,
// then flushing. One stdout line per delivery report: "A <seq> <partition> <offset>" or "E <seq> <error>", then
// "DONE <left-in-queue>".
const PRODUCER = String.raw`
import signal, sys, time, json
from confluent_kafka import Producer
P = json.loads(sys.argv[1])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
errors = []
def on_error(err):
    sys.stderr.write('ERROR_CB %s fatal=%s\n' % (err, err.fatal()))
    sys.stderr.flush()
p = Producer({'bootstrap.servers': P['bootstrap'], 'acks': 'all', 'enable.idempotence': True,
              'linger.ms': 5, 'message.timeout.ms': P.get('messageTimeoutMs', 120000),
              'request.timeout.ms': 15000, 'retry.backoff.ms': 100,
              'topic.metadata.refresh.interval.ms': 2000, 'error_cb': on_error,
              **({'debug': P['debug']} if P.get('debug') else {})})
out = sys.stdout
def report(err, msg):
    seq = int(msg.key())
    if err is None:
        # A message 'implicitly acked by subsequent batch success' (librdkafka's idempotence: a later batch
        # of the same producer was accepted, so this one was persisted) is reported without an offset.
        off = msg.offset()
        out.write('A %d %d %d\n' % (seq, msg.partition(), -1 if off is None or off < 0 else off))
    else:
        out.write('E %d %s\n' % (seq, str(err).replace('\n', ' ')))
rate = P.get('rate', 300)
parts = P['partitions']
seq = 0
start = time.time()
while not stop:
    target = int((time.time() - start) * rate)
    while seq < target and not stop:
        k = str(seq).encode()
        try:
            p.produce(P['topic'], key=k, value=b'v' + k, partition=seq % parts, on_delivery=report)
            seq += 1
        except BufferError:
            break
    p.poll(0.02)
    out.flush()
left = p.flush(P.get('flushS', 120))
out.write('DONE %d %d\n' % (left, seq))
out.flush()
`;

export interface ProducerRun {
  proc: LongRunning;
  acked(): number;
  /** SIGTERM, flush, and the final per-seq results. */
  finish(): Promise<ProducerResult>;
  /** SIGKILL (a test that already failed). */
  abort(): Promise<void>;
}

export interface ProducerResult {
  produced: number;
  left: number;
  /** seq -> [partition, offset] */
  acked: Map<number, [number, number]>;
  failed: Map<number, string>;
  stderr: string;
}

export function startProducer(bootstrap: string, topic: string, partitions: number, rate = 300): ProducerRun {
  const dir = makeTempDir('brook-acc-py-');
  const file = join(dir, 'producer.py');
  writeFileSync(file, PRODUCER);
  const proc = spawnLongRunning(
    PYTHON,
    // BROOK_ACC_RDKAFKA_DEBUG=eos,msg (librdkafka debug contexts) goes to the producer's stderr, which
    // BROOK_ACC_LOGS=<dir> keeps as <dir>/producer.log.
    [
      '-u',
      file,
      JSON.stringify({
        bootstrap,
        topic,
        partitions,
        rate,
        debug: process.env.BROOK_ACC_RDKAFKA_DEBUG ?? '',
      }),
    ],
    {
      env: { PYTHONUNBUFFERED: '1' },
    },
  );
  const count = (): number => {
    let n = 0;
    for (const l of proc.lines) if (l.charCodeAt(0) === 65 /* A */) n++;
    return n;
  };
  const keepStderr = (): void => {
    const logs = process.env.BROOK_ACC_LOGS;
    if (logs) appendFileSync(join(logs, 'producer.log'), proc.stderr());
  };
  return {
    proc,
    acked: count,
    async abort() {
      proc.kill('SIGKILL');
      await proc.waitExit();
      keepStderr();
      removeDir(dir);
    },
    async finish() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 180_000);
      await proc.waitExit();
      clearTimeout(timer);
      keepStderr();
      removeDir(dir);
      const acked = new Map<number, [number, number]>();
      const failed = new Map<number, string>();
      let produced = -1;
      let left = -1;
      for (const l of proc.lines) {
        const f = l.split(' ');
        if (f[0] === 'A') acked.set(Number(f[1]), [Number(f[2]), Number(f[3])]);
        else if (f[0] === 'E') failed.set(Number(f[1]), f.slice(2).join(' '));
        else if (f[0] === 'DONE') {
          left = Number(f[1]);
          produced = Number(f[2]);
        }
      }
      return { produced, left, acked, failed, stderr: proc.stderr() };
    },
  };
}

// Reads every partition from the beginning up to its high watermark (a consumer with assign(), no group).
const READ_ALL = String.raw`
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
c = Consumer({'bootstrap.servers': BS, 'group.id': 'acc-verify', 'enable.auto.commit': False,
              'enable.partition.eof': True, 'fetch.wait.max.ms': 100})
ends = {}
for p in range(P['partitions']):
    lo, hi = c.get_watermark_offsets(TopicPartition(P['topic'], p), timeout=30)
    ends[p] = hi
c.assign([TopicPartition(P['topic'], p, OFFSET_BEGINNING) for p in range(P['partitions'])])
out = {str(p): [] for p in range(P['partitions'])}
pos = {p: 0 for p in range(P['partitions'])}
errors = []
deadline = time.time() + P['timeoutS']
while time.time() < deadline and any(pos[p] < ends[p] for p in ends):
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() != -191:
            errors.append(str(m.error()))
        continue
    out[str(m.partition())].append([int(m.key()), m.offset()])
    pos[m.partition()] = m.offset() + 1
c.close()
print(json.dumps({'ends': ends, 'records': out, 'errors': errors[:20]}))
`;

export interface ReadBack {
  ends: Record<string, number>;
  records: Record<string, [number, number][]>;
  errors: string[];
}

export async function readAll(bootstrap: string, topic: string, partitions: number): Promise<ReadBack> {
  return runPythonWithParams<ReadBack>(READ_ALL, { bootstrap, topic, partitions, timeoutS: 90 }, 120_000);
}

/**
 * The issue's assertion: every acknowledged seq is read exactly once, in its acknowledged partition and offset,
 * and each partition's seqs are strictly increasing (order kept); nothing is read twice. Prints the counts.
 */
export function checkNoLoss(label: string, r: ProducerResult, back: ReadBack, partitions: number): void {
  const seen = new Map<number, [number, number]>();
  const dups: string[] = [];
  const disorder: string[] = [];
  let read = 0;
  for (let p = 0; p < partitions; p++) {
    let prev = -1;
    for (const [seq, offset] of back.records[String(p)] ?? []) {
      read++;
      const earlier = seen.get(seq);
      if (earlier) dups.push(`${seq} at p${earlier[0]}@${earlier[1]} and p${p}@${offset}`);
      seen.set(seq, [p, offset]);
      if (seq <= prev) disorder.push(`p${p}: ${prev} then ${seq} at offset ${offset}`);
      prev = seq;
    }
  }
  const missing: number[] = [];
  const moved: string[] = [];
  for (const [seq, [p, off]] of r.acked) {
    const s = seen.get(seq);
    if (!s) missing.push(seq);
    // An offset of -1: acknowledged without one (implicitly, by a later batch's success).
    else if (s[0] !== p || (off >= 0 && s[1] !== off))
      moved.push(`${seq}: acked p${p}@${off}, read p${s[0]}@${s[1]}`);
  }
  missing.sort((a, b) => a - b);
  const errorKinds = new Map<string, number>();
  for (const e of r.failed.values()) errorKinds.set(e, (errorKinds.get(e) ?? 0) + 1);
  log(
    `${label}: produced ${r.produced}, acknowledged ${r.acked.size}, failed ${r.failed.size}` +
      `${errorKinds.size ? ` (${[...errorKinds].map(([e, n]) => `${n}x ${e}`).join('; ')})` : ''}` +
      `, left ${r.left}; read ${read} (${seen.size} distinct), ends ${JSON.stringify(back.ends)}`,
  );
  assert.ok(r.acked.size > 0, 'something was acknowledged');
  assert.equal(r.left, 0, 'the producer flushed everything');
  assert.deepEqual(missing.slice(0, 50), [], `${missing.length} acknowledged records lost`);
  assert.deepEqual(dups.slice(0, 50), [], `${dups.length} records read twice`);
  assert.deepEqual(disorder.slice(0, 20), [], 'per-partition order');
  assert.deepEqual(moved.slice(0, 20), [], 'each record where its acknowledgement said');
  assert.equal(r.acked.size + r.failed.size, r.produced, 'every record got a delivery report');
}
