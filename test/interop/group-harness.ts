// Shared by the consumer-group interop tests whose members are another client's processes (kafka-python,
// confluent-kafka-python, sarama). A member prints one JSON line per event on stdout:
//   {"ev":"started"} / {"ev":"assigned"|"revoked","partitions":[…]} / {"ev":"msg","p":…,"o":…,"v":"…"} / {"ev":"closed"}
// The tests create the topic and produce with kafkajs (explicit partitions, acks all), so every produced record's
// partition and offset is known, and check what the members printed against it.
// (test/interop/clients/group-harness.ts serves the kafkajs and platformatic group tests, whose members are Node
// scripts with another event format.)
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { TestBroker } from '../helpers/broker.js';
import { PYTHON } from '../helpers/external.js';
import { spawnLongRunning, type LongRunning } from '../helpers/run.js';

export const PARTITIONS = 6;
export const ALL = [0, 1, 2, 3, 4, 5];

/** One record: partition, offset, value. */
export interface Rec {
  p: number;
  o: number;
  v: string;
}
/** One line a member printed. */
export interface MemberEvent {
  ev: string;
  partitions?: number[];
  p?: number;
  o?: number;
  v?: string;
}

/** A member process and what it printed. */
export class Member {
  constructor(
    readonly name: string,
    readonly proc: LongRunning,
  ) {}
  events(from = 0): MemberEvent[] {
    return this.proc.lines
      .slice(from)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as MemberEvent);
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

/** Writes `script` to `dir`/member.py and runs it with /usr/bin/python3 (unbuffered) and `args`. */
export function startPythonMember(dir: string, script: string, name: string, args: string[]): Member {
  const file = join(dir, 'member.py');
  writeFileSync(file, script);
  return new Member(
    name,
    spawnLongRunning(PYTHON, ['-u', file, ...args], { env: { PYTHONUNBUFFERED: '1' } }),
  );
}

/** Sends `signal` (SIGTERM: the member closes cleanly) and waits for the exit; SIGKILL after 20 s. */
export async function stopMember(m: Member, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  m.proc.kill(signal);
  const killer = setTimeout(() => m.proc.kill('SIGKILL'), 20_000);
  await m.proc.waitExit();
  clearTimeout(killer);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 100 ms; throws after `timeoutMs`, naming `what` it waited for. */
export async function until(
  what: string,
  timeoutMs: number,
  cond: () => boolean | Promise<boolean>,
): Promise<void> {
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

/** Waits until `members`' assignments cover every partition once (and `extra` holds); the error shows who owns what. */
export async function waitCoverage(
  members: Member[],
  timeoutMs: number,
  extra?: () => boolean,
): Promise<void> {
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

/** The kafkajs admin and producer of one test file; their client ids are `${clientIdPrefix}-admin|-producer`. */
export function kafkajsClients(clientIdPrefix: string) {
  return {
    /** Creates `topic` with PARTITIONS partitions and waits for their leaders. */
    async createTopic(bootstrap: string, topic: string): Promise<void> {
      const admin = new Kafka({
        clientId: `${clientIdPrefix}-admin`,
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
    },

    /** Produces `perPartition` messages to every partition (acks all); returns them with their offsets. */
    async produce(bootstrap: string, topic: string, tag: string, perPartition: number): Promise<Rec[]> {
      const producer = new Kafka({
        clientId: `${clientIdPrefix}-producer`,
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
    },
  };
}

/** "partition:offset", how records are compared. */
export const key = (r: { p: number; o: number }) => `${r.p}:${r.o}`;

/** Per partition, the offset after the last of `records` in it. */
export function endOffsets(records: Rec[]): number[] {
  return ALL.map((p) => Math.max(...records.filter((r) => r.p === p).map((r) => r.o)) + 1);
}

/** Every produced record consumed by someone, and every consumed record is exactly what was produced there. */
export function assertAllConsumed(produced: Rec[], consumed: Rec[]): void {
  const byKey = new Map(produced.map((r) => [key(r), r.v]));
  for (const c of consumed)
    assert.equal(c.v, byKey.get(key(c)), `consumed ${key(c)} must hold what was produced there`);
  const seen = new Set(consumed.map(key));
  const missing = produced.filter((r) => !seen.has(key(r))).map(key);
  assert.deepEqual(missing, [], 'no produced message may be missing from what the group consumed');
}

/** The keys of the records consumed more than once. */
export function duplicates(consumed: Rec[]): string[] {
  const n = new Map<string, number>();
  for (const c of consumed) n.set(key(c), (n.get(key(c)) ?? 0) + 1);
  return [...n].filter(([, k]) => k > 1).map(([k]) => k);
}

/** Everything `members` consumed, in member order. */
export function allConsumed(members: Member[]): Rec[] {
  return members.flatMap((m) => m.consumed());
}

/** Waits until `members` together consumed every record of `produced`; the error lists the missing ones. */
export async function waitConsumed(members: Member[], produced: Rec[], timeoutMs: number): Promise<void> {
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

/** A group as the in-process coordinator of a `withBroker` broker sees it. */
export function coordinatorView(b: TestBroker, group: string, topic: string) {
  /** How many members the coordinator has. */
  const groupMembers = () => b.broker.services.groups.groups.get(group)?.members.size ?? 0;
  /** The committed offset of every partition of `topic` (-1: none). */
  const committed = () => {
    const r = b.broker.services.groups.fetchOffsets(group, [{ name: topic, partitions: ALL }]);
    return ALL.map((p) => r.topics[0]?.partitions.find((x) => x.partition === p)?.offset ?? -1);
  };
  return {
    groupMembers,
    committed,
    /** The group is Stable with exactly `n` members. */
    stable: (n: number) =>
      b.broker.services.groups.groups.get(group)?.state === 'Stable' && groupMembers() === n,
    /** After everyone closed: waits for the group to be Empty, then checks it committed up to `ends`. */
    async assertClosedWithCommitted(ends: number[]): Promise<void> {
      await until(
        'the group is Empty',
        10_000,
        () => b.broker.services.groups.groups.get(group)?.state === 'Empty',
      );
      assert.deepEqual(committed(), ends, 'closing members committed everything they consumed');
    },
  };
}

/**
 * `fresh` joined the group after everyone had stopped and `phase3` was produced while nobody was in it: it gets
 * every partition and reads exactly `phase3`, i.e. it resumes at the committed offsets.
 */
export async function assertFreshMemberResumes(
  fresh: Member,
  phase3: Rec[],
  stableAlone: () => boolean,
): Promise<void> {
  await waitCoverage([fresh], 60_000, stableAlone);
  await waitConsumed([fresh], phase3, 30_000);
  await sleep(1500); // anything re-read from before would have arrived by now
  const got = fresh.consumed();
  assertAllConsumed(phase3, got);
  assert.deepEqual(
    got.map(key).sort(),
    phase3.map(key).sort(),
    'the new member resumes at the committed offsets: only what was produced while the group was down',
  );
}
