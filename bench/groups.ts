// Consumer-group benchmarks, self-contained (the lead wires them into bench/run.ts):
// - benchRebalance: rebalance latency of a 10-member classic group, measured with raw-protocol members (no
//   client library: JoinGroup v5 / SyncGroup v3 / Heartbeat v3 / LeaveGroup v3 over node:net, encoded with the
//   broker's own codec), 20 leave+join cycles → 40 samples of "one member leaves (or joins) → every member has
//   completed SyncGroup of the new generation". Members heartbeat every HEARTBEAT_MS (20 ms), which bounds how
//   quickly they notice a rebalance, as in any client; the number is reported next to the percentiles.
// - benchGroupConsume: throughput of a 3-member group vs a single-member group reading the same 6-partition topic
//   from the beginning, with rdkafka_performance in consumer-group mode (-G) when it can be built (bench/lib),
//   else with kafkajs members.
// Standalone: `node --import tsx bench/groups.ts <host:port> [messages]` against a running broker.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeResponse, encodeRequest } from '../src/protocol/frames.js';
import { ApiKey } from '../src/protocol/generated/apis.js';
import { buildRdkafkaPerformance } from './lib/rdkafka.js';
import { startChild, stopChild, type Child } from './lib/procs.js';

const benchDir = dirname(fileURLToPath(import.meta.url));

const GROUP_MEMBERS = 10;
const CYCLES = 20;
const HEARTBEAT_MS = 20;
const SESSION_TIMEOUT_MS = 10_000;
const REBALANCE_TIMEOUT_MS = 10_000;
const CONSUME_PARTITIONS = 6;

const E = {
  NONE: 0,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  MEMBER_ID_REQUIRED: 79,
  TOPIC_ALREADY_EXISTS: 36,
} as const;

// ConsumerProtocolSubscription v0 (version, topics [] , userData null) and ConsumerProtocolAssignment v0
// (version, assigned [] , userData null): valid but empty, the coordinator only relays them.
const SUBSCRIPTION = Buffer.from([0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
const ASSIGNMENT = Buffer.from([0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);

// ------------------------------------------------------------------------------------------ raw connection

interface Pending {
  apiKey: number;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

/** One TCP connection; requests are matched to responses by correlation id. */
class RawConn {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private buf: Buffer = Buffer.alloc(0);
  private dead: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    private readonly clientId: string,
  ) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    const fail = (e: Error) => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  static open(bootstrap: string, clientId: string): Promise<RawConn> {
    const [host, port] = splitHostPort(bootstrap);
    return new Promise((res, rej) => {
      const s = connect({ host, port }, () => {
        s.off('error', rej);
        res(new RawConn(s, clientId));
      });
      s.once('error', rej);
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) return;
      const frame = this.buf.subarray(4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const p = this.pending.get(frame.readInt32BE(0));
      if (!p) continue;
      this.pending.delete(frame.readInt32BE(0));
      try {
        p.resolve(decodeResponse(p.apiKey, p.version, frame).body);
      } catch (e) {
        p.reject(e as Error);
      }
    }
  }

  send<T>(apiKey: number, version: number, body: object): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const correlationId = ++this.nextId;
    const frame = encodeRequest(
      { apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    const size = Buffer.alloc(4);
    size.writeInt32BE(frame.length);
    return new Promise<T>((res, rej) => {
      this.pending.set(correlationId, {
        apiKey,
        version,
        resolve: res as (b: unknown) => void,
        reject: rej,
      });
      this.sock.write(Buffer.concat([size, frame]));
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

function splitHostPort(bootstrap: string): [string, number] {
  const first = bootstrap.split(',')[0]!.trim();
  const i = first.lastIndexOf(':');
  if (i < 0) throw new Error(`bootstrap must be host:port, got ${bootstrap}`);
  return [first.slice(0, i), Number(first.slice(i + 1))];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------ raw group member

interface JoinResp {
  errorCode: number;
  generationId: number;
  leader: string;
  memberId: string;
  members: { memberId: string }[];
}

/**
 * A member that behaves like a consumer's coordinator loop: join (MEMBER_ID_REQUIRED handled), sync (the leader
 * assigns every member), heartbeat every HEARTBEAT_MS and rejoin when the coordinator says so. onSynced is
 * called with the generation after each successful SyncGroup.
 */
class RawMember {
  memberId = '';
  syncedGeneration = -1;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly conn: RawConn,
    private readonly groupId: string,
    readonly name: string,
    private readonly onSynced: (m: RawMember, generation: number) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  start(): void {
    this.loop = this.run().catch((e: Error) => {
      if (!this.stopped) this.onError(e);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const join = await this.conn.send<JoinResp>(ApiKey.JoinGroup, 5, {
        groupId: this.groupId,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: SUBSCRIPTION }],
      });
      if (this.stopped) return;
      if (join.errorCode === E.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId;
        continue;
      }
      if (join.errorCode === E.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (join.errorCode !== E.NONE) {
        await sleep(20);
        continue;
      }
      this.memberId = join.memberId;
      const assignments =
        join.leader === join.memberId
          ? join.members.map((m) => ({ memberId: m.memberId, assignment: ASSIGNMENT }))
          : [];
      const sync = await this.conn.send<{ errorCode: number }>(ApiKey.SyncGroup, 3, {
        groupId: this.groupId,
        generationId: join.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        assignments,
      });
      if (this.stopped) return;
      if (sync.errorCode !== E.NONE) continue; // REBALANCE_IN_PROGRESS etc.: join again
      this.syncedGeneration = join.generationId;
      this.onSynced(this, join.generationId);
      while (!this.stopped) {
        await sleep(HEARTBEAT_MS);
        if (this.stopped) return;
        const hb = await this.conn.send<{ errorCode: number }>(ApiKey.Heartbeat, 3, {
          groupId: this.groupId,
          generationId: this.syncedGeneration,
          memberId: this.memberId,
          groupInstanceId: null,
        });
        if (hb.errorCode === E.NONE) continue;
        if (hb.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
        break; // REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION: rejoin
      }
    }
  }

  /** Stops the loop; with leave, sends LeaveGroup first (as a consumer's close()). */
  async stop(leave: boolean): Promise<void> {
    this.stopped = true;
    if (leave && this.memberId !== '') {
      await this.conn
        .send(ApiKey.LeaveGroup, 3, {
          groupId: this.groupId,
          members: [{ memberId: this.memberId, groupInstanceId: null }],
        })
        .catch(() => {});
    }
    this.conn.close();
    await this.loop;
  }
}

// ------------------------------------------------------------------------------------------ benchRebalance

function percentileOf(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Rebalance latency of a 10-member group: 20 cycles of "the 10th member leaves (LeaveGroup), the 9 others
 * complete SyncGroup of the new generation" and "a new 10th member joins, all 10 complete SyncGroup of the new
 * generation"; each transition is one sample (ms, from sending LeaveGroup / the first JoinGroup).
 */
export async function benchRebalance(
  bootstrap: string,
): Promise<{ p50Ms: number; p99Ms: number; samples: number; heartbeatMs: number }> {
  const groupId = `brook-bench-rebalance-${process.pid}-${Date.now().toString(36)}`;
  const members: RawMember[] = [];
  let failure: Error | null = null;
  let waiter: (() => void) | null = null;
  const onSynced = () => waiter?.();
  const onError = (e: Error) => {
    failure ??= e;
    waiter?.();
  };
  const add = async (name: string): Promise<RawMember> => {
    const m = new RawMember(await RawConn.open(bootstrap, name), groupId, name, onSynced, onError);
    members.push(m);
    m.start();
    return m;
  };
  /** Resolves when every current member synced one and the same generation > after. */
  const settled = (after: number, timeoutMs = 60_000): Promise<number> =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => {
        waiter = null;
        rej(
          new Error(
            `group ${groupId} did not settle: ${members.map((m) => `${m.name}@${m.syncedGeneration}`).join(' ')}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (failure) {
          clearTimeout(timer);
          waiter = null;
          rej(failure);
          return;
        }
        const g = members[0]?.syncedGeneration ?? -1;
        if (g > after && members.every((m) => m.syncedGeneration === g)) {
          clearTimeout(timer);
          waiter = null;
          res(g);
        }
      };
      waiter = check;
      check();
    });

  const samples: number[] = [];
  try {
    for (let i = 0; i < GROUP_MEMBERS; i++) await add(`bench-member-${i}`);
    let generation = await settled(-1);
    for (let c = 0; c < CYCLES; c++) {
      // one member leaves
      const leaver = members.pop()!;
      let t0 = performance.now();
      await leaver.stop(true);
      generation = await settled(generation);
      samples.push(performance.now() - t0);
      // a new member joins
      t0 = performance.now();
      await add(`bench-member-${GROUP_MEMBERS - 1}-${c}`);
      generation = await settled(generation);
      samples.push(performance.now() - t0);
    }
  } finally {
    for (const m of members) await m.stop(true);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    p50Ms: round(percentileOf(samples, 50)),
    p99Ms: round(percentileOf(samples, 99)),
    samples: samples.length,
    heartbeatMs: HEARTBEAT_MS,
  };
}

// ------------------------------------------------------------------------------------------ benchGroupConsume

/** Creates the topic with 6 partitions (CreateTopics v4; an existing topic is fine) and returns its end offset sum. */
async function ensureTopic(bootstrap: string, topic: string): Promise<void> {
  const c = await RawConn.open(bootstrap, 'brook-bench-groups');
  try {
    const r = await c.send<{ topics: { name: string; errorCode: number; errorMessage: string | null }[] }>(
      ApiKey.CreateTopics,
      4,
      {
        topics: [
          {
            name: topic,
            numPartitions: CONSUME_PARTITIONS,
            replicationFactor: 1,
            assignments: [],
            configs: [],
          },
        ],
        timeoutMs: 30_000,
        validateOnly: false,
      },
    );
    const e = r.topics[0]?.errorCode ?? -1;
    if (e !== E.NONE && e !== E.TOPIC_ALREADY_EXISTS) {
      throw new Error(`CreateTopics ${topic}: error ${e} ${r.topics[0]?.errorMessage ?? ''}`);
    }
  } finally {
    c.close();
  }
}

/** Sum over partitions of the log end offsets (ListOffsets v1, latest). */
async function topicSize(bootstrap: string, topic: string): Promise<number> {
  const c = await RawConn.open(bootstrap, 'brook-bench-groups');
  try {
    const r = await c.send<{ topics: { partitions: { errorCode: number; offset: bigint }[] }[] }>(
      ApiKey.ListOffsets,
      1,
      {
        replicaId: -1,
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: CONSUME_PARTITIONS }, (_, p) => ({
              partitionIndex: p,
              timestamp: -1n,
            })),
          },
        ],
      },
    );
    let sum = 0;
    for (const p of r.topics[0]?.partitions ?? []) {
      if (p.errorCode !== E.NONE) throw new Error(`ListOffsets ${topic}: error ${p.errorCode}`);
      sum += Number(p.offset);
    }
    return sum;
  } finally {
    c.close();
  }
}

const STDBUF = ['/usr/bin/stdbuf', '/bin/stdbuf'].find((p) => existsSync(p));

// Printed every -i ms: messages so far and the time since this process got its first message.
const STATS_RE = /% (\d+) messages \(\d+ bytes\) consumed in (\d+)ms/g;

/** rdkafka_performance -G members; resolves with msgs/s from the first consumed message to `messages` in total. */
async function rdGroupConsume(
  bin: string,
  bootstrap: string,
  topic: string,
  members: number,
  messages: number,
  timeoutMs: number,
): Promise<number> {
  const group = `brook-bench-gc${members}-${process.pid}-${Date.now().toString(36)}`;
  const children: Child[] = [];
  const counts = Array.from({ length: members }, () => 0);
  let tFirst = 0;
  let tDone = 0;
  return new Promise<number>((res, rej) => {
    const deadline = setTimeout(() => finish(new Error(`group consume of ${messages} timed out`)), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(deadline);
      Promise.all(children.map((c) => stopChild(c, 2_000))).then(
        () => (err ? rej(err) : res(messages / ((tDone - tFirst) / 1000))),
        rej,
      );
    };
    for (let i = 0; i < members; i++) {
      // stdout is a pipe: without stdbuf -oL, C stdio would hand us the stats lines seconds late, 4 KiB at a time.
      const child = startChild(STDBUF ?? bin, [
        ...(STDBUF ? ['-oL', bin] : []),
        '-C',
        '-G',
        group,
        '-t',
        topic,
        '-b',
        bootstrap,
        '-i',
        '100',
        '-X',
        'auto.offset.reset=earliest',
        '-X',
        'fetch.message.max.bytes=4194304',
      ]);
      children.push(child);
      child.proc.stdout?.on('data', (d: string) => {
        const now = performance.now();
        let last = -1;
        let sinceFirst = 0;
        for (const m of String(d).matchAll(STATS_RE)) {
          last = Number(m[1]);
          sinceFirst = Number(m[2]);
        }
        if (last <= 0) return;
        counts[i] = last;
        const first = now - sinceFirst; // when this member consumed its first message
        if (tFirst === 0 || first < tFirst) tFirst = first;
        const total = counts.reduce((a, b) => a + b, 0);
        if (total >= messages && tDone === 0) {
          tDone = performance.now();
          finish();
        }
      });
      void child.exited.then((code) => {
        if (tDone === 0)
          finish(new Error(`rdkafka_performance exited (${code}): ${child.err().slice(-500)}`));
      });
    }
  });
}

/** kafkajs members (fallback when rdkafka_performance cannot be built). */
async function kjsGroupConsume(
  bootstrap: string,
  topic: string,
  members: number,
  messages: number,
  timeoutMs: number,
): Promise<number> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'brook-bench-groups',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const groupId = `brook-bench-kjs${members}-${process.pid}-${Date.now().toString(36)}`;
  const consumers = Array.from({ length: members }, () => kafka.consumer({ groupId }));
  let total = 0;
  let tFirst = 0;
  let tDone = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  try {
    for (const c of consumers) {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachBatch: async ({ batch }) => {
          if (tFirst === 0) tFirst = performance.now();
          total += batch.messages.length;
          if (total >= messages && tDone === 0) {
            tDone = performance.now();
            done();
          }
        },
      });
    }
    const timer = new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error(`group consume of ${messages} timed out`)), timeoutMs).unref(),
    );
    await Promise.race([finished, timer]);
    return messages / ((tDone - tFirst) / 1000);
  } finally {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => {})));
  }
}

/** Produces `count` 100-byte messages spread over the topic's partitions (rdkafka_performance, else kafkajs). */
async function fill(bin: string | null, bootstrap: string, topic: string, count: number): Promise<void> {
  if (count <= 0) return;
  if (bin) {
    const c = startChild(bin, [
      '-P',
      '-t',
      topic,
      '-b',
      bootstrap,
      '-s',
      '100',
      '-c',
      String(count),
      '-a',
      '-1',
    ]);
    const code = await c.exited;
    if (code !== 0) throw new Error(`rdkafka_performance -P exited ${code}: ${c.err().slice(-500)}`);
    return;
  }
  const { Kafka, logLevel } = await import('kafkajs');
  const producer = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    const value = Buffer.alloc(100, 'x');
    for (let i = 0; i < count; i += 1000) {
      const n = Math.min(1000, count - i);
      await producer.send({
        topic,
        messages: Array.from({ length: n }, (_, j) => ({ partition: (i + j) % CONSUME_PARTITIONS, value })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Group consume throughput on a 6-partition topic holding at least `messages` messages (created and filled
 * if needed): a 3-member group and, for comparison, a 1-member group, each reading from the beginning.
 * msgsPerSec is the 3-member figure; singleMsgsPerSec the 1-member one; tool says which client measured.
 */
export async function benchGroupConsume(
  bootstrap: string,
  topic: string,
  messages: number,
  timeoutMs = 180_000,
): Promise<{ msgsPerSec: number; singleMsgsPerSec: number; members: number; tool: string }> {
  let bin: string | null = null;
  try {
    bin = await buildRdkafkaPerformance(benchDir);
  } catch (e) {
    process.stderr.write(
      `bench groups: rdkafka_performance unavailable (${(e as Error).message}); using kafkajs\n`,
    );
  }
  await ensureTopic(bootstrap, topic);
  await fill(bin, bootstrap, topic, messages - (await topicSize(bootstrap, topic)));
  const run = (members: number) =>
    bin
      ? rdGroupConsume(bin, bootstrap, topic, members, messages, timeoutMs)
      : kjsGroupConsume(bootstrap, topic, members, messages, timeoutMs);
  const single = await run(1);
  const multi = await run(3);
  return {
    msgsPerSec: Math.round(multi),
    singleMsgsPerSec: Math.round(single),
    members: 3,
    tool: bin ? 'rdkafka_performance -G' : 'kafkajs',
  };
}

// ------------------------------------------------------------------------------------------ standalone

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bootstrap = process.argv[2];
  if (!bootstrap) {
    process.stderr.write('usage: node --import tsx bench/groups.ts <host:port> [messages]\n');
    process.exit(2);
  }
  const messages = Number(process.argv[3] ?? 500_000);
  const r = await benchRebalance(bootstrap);
  console.log(
    `rebalance (${GROUP_MEMBERS} members, ${CYCLES} leave+join cycles, heartbeat ${r.heartbeatMs} ms): ` +
      `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.samples} samples`,
  );
  const topic = `brook-bench-groups-${process.pid}-${Date.now().toString(36)}`;
  const g = await benchGroupConsume(bootstrap, topic, messages);
  console.log(
    `group consume (${messages} x 100 B, ${CONSUME_PARTITIONS} partitions, ${g.tool}): ` +
      `${g.members} members ${g.msgsPerSec} msgs/s, 1 member ${g.singleMsgsPerSec} msgs/s`,
  );
  process.exit(0);
}
