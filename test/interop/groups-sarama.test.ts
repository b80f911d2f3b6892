// Consumer groups with Go sarama 1.22.1 (Debian golang-github-shopify-sarama-dev; sarama.NewConsumerGroup with
// Version V2_2_0_0: FindCoordinator v0, JoinGroup v1, SyncGroup/Heartbeat/LeaveGroup v0, OffsetFetch/OffsetCommit v1,
// ListOffsets v1, Fetch v4) against Brook. test/interop/sarama/group_consumer.go keeps sarama's defaults (range
// strategy, session 10 s, heartbeat 3 s, offsets committed every 1 s) except Offsets.Initial = OffsetOldest.
// Three member processes share a 6-partition topic; one shuts down cleanly (session released → offsets flushed,
// Close() → LeaveGroup v0) and the others take over its partitions well before the session timeout; nothing is
// lost or read twice; a fresh member after a full stop reads only what was produced while the group was down.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import {
  makeTempDir,
  removeDir,
  REPO_ROOT,
  uniqueTopic,
  withBroker,
  type TestBroker,
} from '../helpers/broker.js';
import { hasGo, hasSarama, requireTool, SARAMA_GOPATH } from '../helpers/external.js';
import { runCommand, spawnLongRunning, type LongRunning } from '../helpers/run.js';

const PARTITIONS = 6;
const ALL = [0, 1, 2, 3, 4, 5];
/** sarama's default Consumer.Group.Session.Timeout (passed explicitly, same value). */
const SESSION_MS = 10_000;

const buildDir = makeTempDir('brook-groups-sarama-');
after(() => removeDir(buildDir));

/** Builds test/interop/sarama/group_consumer.go (GOPATH mode, no network; a shared build cache keeps reruns fast). */
async function buildMember(): Promise<string> {
  const gocache = join(tmpdir(), 'brook-sarama-gocache');
  mkdirSync(gocache, { recursive: true });
  const bin = join(buildDir, 'group_consumer');
  const r = await runCommand('go', ['build', '-o', bin, 'group_consumer.go'], {
    cwd: join(REPO_ROOT, 'test', 'interop', 'sarama'),
    env: {
      GO111MODULE: 'off',
      GOPATH: `${join(buildDir, 'gopath')}:${SARAMA_GOPATH}`,
      GOCACHE: gocache,
      GOFLAGS: '',
    },
    timeoutMs: 300_000,
  });
  if (r.code !== 0)
    throw new Error(`go build group_consumer.go failed (${r.code ?? r.signal}):\n${r.stderr.slice(-6000)}`);
  return bin;
}

interface Rec {
  p: number;
  o: number;
  v: string;
}
interface Event {
  ev: string;
  partitions?: number[];
  p?: number;
  o?: number;
  v?: string;
}

/** A member process and what it printed. */
class Member {
  constructor(
    readonly name: string,
    readonly proc: LongRunning,
  ) {}
  events(from = 0): Event[] {
    return this.proc.lines
      .slice(from)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Event);
  }
  /** Its current assignment: the last `assigned` minus what was revoked since. */
  owned(): number[] {
    let cur = new Set<number>();
    for (const e of this.events()) {
      if (e.ev === 'assigned') cur = new Set(e.partitions);
      if (e.ev === 'revoked') for (const p of e.partitions ?? []) cur.delete(p);
    }
    return [...cur].sort((a, b) => a - b);
  }
  consumed(from = 0): Rec[] {
    return this.events(from)
      .filter((e) => e.ev === 'msg')
      .map((e) => ({ p: e.p!, o: e.o!, v: e.v! }));
  }
  get exited(): boolean {
    return this.proc.child.exitCode !== null || this.proc.child.signalCode !== null;
  }
}

function startMember(bin: string, name: string, bootstrap: string, topic: string, group: string): Member {
  return new Member(
    name,
    spawnLongRunning(bin, [
      '-brokers',
      bootstrap,
      '-topic',
      topic,
      '-group',
      group,
      '-session',
      `${SESSION_MS}ms`,
    ]),
  );
}

async function stopMember(m: Member, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  m.proc.kill(signal);
  const killer = setTimeout(() => m.proc.kill('SIGKILL'), 20_000);
  await m.proc.waitExit();
  clearTimeout(killer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** Every partition owned by exactly one of `members`, each of which owns at least one. */
function covers(members: Member[]): boolean {
  const owned = members.map((m) => m.owned());
  const flat = owned.flat().sort((a, b) => a - b);
  return owned.every((o) => o.length > 0) && JSON.stringify(flat) === JSON.stringify(ALL);
}

function describeMembers(members: Member[]): string {
  return members
    .map(
      (m) =>
        `${m.name}${m.exited ? '(exited)' : ''}: owns [${m.owned().join(',')}]\n${m.proc.stderr().slice(-2000)}`,
    )
    .join('\n');
}

async function waitCoverage(members: Member[], timeoutMs: number, extra?: () => boolean): Promise<void> {
  try {
    await until(
      'the assignments cover all partitions once',
      timeoutMs,
      () => covers(members) && (extra?.() ?? true),
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${describeMembers(members)}`, { cause: e });
  }
}

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'groups-sarama-admin',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }),
      true,
    );
  } finally {
    await admin.disconnect();
  }
}

/** Produces `perPartition` messages to every partition (acks all); returns them with their offsets. */
async function produce(bootstrap: string, topic: string, tag: string, perPartition: number): Promise<Rec[]> {
  const producer = new Kafka({
    clientId: 'groups-sarama-producer',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  }).producer();
  await producer.connect();
  try {
    const out: Rec[] = [];
    for (const p of ALL) {
      const values = Array.from({ length: perPartition }, (_, i) => `${tag}-p${p}-${i}`);
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: values.map((value) => ({ partition: p, value })),
      });
      const base = Number(meta!.baseOffset);
      values.forEach((v, i) => out.push({ p, o: base + i, v }));
    }
    return out;
  } finally {
    await producer.disconnect();
  }
}

const key = (r: { p: number; o: number }) => `${r.p}:${r.o}`;

/** Every produced record consumed by someone, and every consumed record is exactly what was produced there. */
function assertAllConsumed(produced: Rec[], consumed: Rec[]): void {
  const byKey = new Map(produced.map((r) => [key(r), r.v]));
  for (const c of consumed)
    assert.equal(c.v, byKey.get(key(c)), `consumed ${key(c)} must hold what was produced there`);
  const seen = new Set(consumed.map(key));
  const missing = produced.filter((r) => !seen.has(key(r))).map(key);
  assert.deepEqual(missing, [], 'no produced message may be missing from what the group consumed');
}

function duplicates(consumed: Rec[]): string[] {
  const n = new Map<string, number>();
  for (const c of consumed) n.set(key(c), (n.get(key(c)) ?? 0) + 1);
  return [...n].filter(([, k]) => k > 1).map(([k]) => k);
}

function allConsumed(members: Member[]): Rec[] {
  return members.flatMap((m) => m.consumed());
}

async function waitConsumed(members: Member[], produced: Rec[], timeoutMs: number): Promise<void> {
  try {
    await until(`the group consumed all ${produced.length} messages`, timeoutMs, () => {
      const seen = new Set(allConsumed(members).map(key));
      return produced.every((r) => seen.has(key(r)));
    });
  } catch (e) {
    const seen = new Set(allConsumed(members).map(key));
    const missing = produced.filter((r) => !seen.has(key(r))).map(key);
    throw new Error(`${(e as Error).message}; missing ${missing.join(' ')}\n${describeMembers(members)}`, {
      cause: e,
    });
  }
}

test(
  'sarama group: 3 members share 6 partitions, a clean Close() hands partitions over, a new member resumes',
  { timeout: 400_000 },
  async (t) => {
    if (!(await requireTool(t, 'go', hasGo, 'apt-get install golang-go'))) return;
    if (!(await requireTool(t, 'sarama', hasSarama, 'apt-get install golang-github-shopify-sarama-dev')))
      return;
    const started = Date.now();
    const bin = await buildMember();
    t.diagnostic(`go build took ${Date.now() - started} ms`);
    const members: Member[] = [];
    try {
      await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b: TestBroker) => {
        const bootstrap = b.bootstrapServers;
        const topic = uniqueTopic('groups-sarama');
        const group = `${topic}-group`;
        const groupMembers = () => b.broker.services.groups.groups.get(group)?.members.size ?? 0;
        const stable = (n: number) =>
          b.broker.services.groups.groups.get(group)?.state === 'Stable' && groupMembers() === n;
        const committed = () => {
          const r = b.broker.services.groups.fetchOffsets(group, [{ name: topic, partitions: ALL }]);
          return ALL.map((p) => r.topics[0]?.partitions.find((x) => x.partition === p)?.offset ?? -1);
        };
        await createTopic(bootstrap, topic);

        for (const name of ['m1', 'm2', 'm3']) members.push(startMember(bin, name, bootstrap, topic, group));
        await waitCoverage(members, 60_000, () => stable(3));

        const phase1 = await produce(bootstrap, topic, 'one', 10);
        await waitConsumed(members, phase1, 30_000);

        // m2 shuts down cleanly: its session ends (offsets flushed), then Close() sends LeaveGroup.
        const [m1, m2, m3] = members as [Member, Member, Member];
        const m2Owned = m2.owned();
        const t0 = Date.now();
        await stopMember(m2);
        assert.equal(m2.proc.child.exitCode, 0, `m2 must exit cleanly:\n${m2.proc.stderr().slice(-4000)}`);
        assert.ok(
          m2.events().some((e) => e.ev === 'closed'),
          'm2 printed closed after Close()',
        );
        assert.ok(
          groupMembers() <= 2,
          `after LeaveGroup the coordinator must have dropped m2 (members: ${groupMembers()})`,
        );
        await waitCoverage([m1, m3], SESSION_MS + 15_000, () => stable(2));
        const takeoverMs = Date.now() - t0;
        t.diagnostic(`clean-close takeover of [${m2Owned.join(',')}] in ${takeoverMs} ms`);
        assert.ok(
          takeoverMs < SESSION_MS,
          `with LeaveGroup the takeover must not wait for the ${SESSION_MS} ms session timeout (took ${takeoverMs} ms)`,
        );

        const phase2 = await produce(bootstrap, topic, 'two', 10);
        const produced = [...phase1, ...phase2];
        await waitConsumed(members, produced, 30_000);
        const consumed = allConsumed(members);
        assertAllConsumed(produced, consumed);
        assert.deepEqual(
          duplicates(consumed),
          [],
          'with clean hand-overs (offsets flushed on release) nothing is read twice',
        );

        // Everyone stops cleanly; the committed offsets are the end of every partition.
        await Promise.all([stopMember(m1), stopMember(m3)]);
        for (const m of [m1, m3])
          assert.equal(m.proc.child.exitCode, 0, `${m.name} exits cleanly:\n${m.proc.stderr().slice(-4000)}`);
        const ends = ALL.map((p) => Math.max(...produced.filter((r) => r.p === p).map((r) => r.o)) + 1);
        await until(
          'the group is Empty',
          10_000,
          () => b.broker.services.groups.groups.get(group)?.state === 'Empty',
        );
        assert.deepEqual(committed(), ends, 'closing members committed everything they consumed');

        // Produced while nobody is in the group; a fresh member reads exactly these.
        const phase3 = await produce(bootstrap, topic, 'three', 5);
        const fresh = startMember(bin, 'fresh', bootstrap, topic, group);
        members.push(fresh);
        await waitCoverage([fresh], 60_000, () => stable(1));
        await waitConsumed([fresh], phase3, 30_000);
        await sleep(1500); // anything re-read from before would have arrived by now
        const got = fresh.consumed();
        assertAllConsumed(phase3, got);
        assert.deepEqual(
          got.map(key).sort(),
          phase3.map(key).sort(),
          'the new member resumes at the committed offsets: only what was produced while the group was down',
        );
        await stopMember(fresh);
        assert.equal(
          fresh.proc.child.exitCode,
          0,
          `fresh exits cleanly:\n${fresh.proc.stderr().slice(-4000)}`,
        );
      });
    } finally {
      for (const m of members) await stopMember(m, 'SIGKILL');
    }
  },
);
