// Shared by the consumer-group interop tests: group members run as CHILD PROCESSES (one script per client under
// test/interop/clients/, run with `node --import tsx`) so that one can be killed with SIGKILL. Every member
// prints one JSON line per event on stdout:
//   {"type":"ready"}                                   consumer connected and subscribed
//   {"type":"assign","memberId":"…","partitions":[…]}  after every completed JoinGroup+SyncGroup
//   {"type":"msg","partition":p,"offset":o,"value":"…"} one per consumed message, printed before it is committed
//   {"type":"stale",…}  like msg, for a record of a partition the member no longer owns (dropped; platformatic)
//   {"type":"closed"}                                  after a clean close (SIGTERM handler)
// Stdout is a pipe, which Node writes synchronously on Linux: whatever a killed member printed was printed.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestBroker } from '../../helpers/broker.js';
import { REPO_ROOT } from '../../helpers/broker.js';
import { spawnLongRunning, type LongRunning } from '../../helpers/run.js';

export const CLIENTS_DIR = dirname(fileURLToPath(import.meta.url));

export interface MemberEvent {
  type: 'ready' | 'assign' | 'msg' | 'stale' | 'closed' | 'error';
  memberId?: string;
  partitions?: number[];
  partition?: number;
  offset?: number;
  value?: string;
  error?: string;
}

/** One consumed message, tagged with the member that printed it and its position in that member's output. */
export interface Consumed {
  member: string;
  line: number;
  partition: number;
  offset: number;
  value: string;
}

export class Member {
  constructor(
    readonly name: string,
    readonly proc: LongRunning,
  ) {}

  events(): MemberEvent[] {
    const out: MemberEvent[] = [];
    for (const l of this.proc.lines) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as MemberEvent);
      } catch {
        // a partial line cannot happen (lines are split on \n); ignore anything that is not ours
      }
    }
    return out;
  }

  /** The most recent assignment this member printed, or undefined before its first one. */
  lastAssignment(): { memberId: string; partitions: number[] } | undefined {
    const a = this.events().filter((e) => e.type === 'assign');
    const last = a[a.length - 1];
    return last
      ? { memberId: last.memberId!, partitions: [...last.partitions!].sort((x, y) => x - y) }
      : undefined;
  }

  consumed(fromLine = 0): Consumed[] {
    const out: Consumed[] = [];
    this.proc.lines.forEach((l, line) => {
      if (line < fromLine || !l.startsWith('{"type":"msg"')) return;
      const e = JSON.parse(l) as MemberEvent;
      out.push({ member: this.name, line, partition: e.partition!, offset: e.offset!, value: e.value! });
    });
    return out;
  }

  /**
   * Records the member dropped because they belong to a partition it no longer owned when they arrived, each
   * with the partitions it had been assigned before that record (to check it came from an earlier assignment).
   */
  stale(): { partition: number; offset: number; everOwned: number[] }[] {
    const out: { partition: number; offset: number; everOwned: number[] }[] = [];
    const owned = new Set<number>();
    for (const e of this.events()) {
      if (e.type === 'assign') for (const p of e.partitions!) owned.add(p);
      if (e.type === 'stale') out.push({ partition: e.partition!, offset: e.offset!, everOwned: [...owned] });
    }
    return out;
  }

  get alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  describe(): string {
    return `--- ${this.name} (pid ${this.proc.pid}) stdout tail ---\n${this.proc.lines.slice(-15).join('\n')}\n--- stderr ---\n${this.proc.stderr().slice(-3000)}`;
  }

  /** SIGKILL by PID: no LeaveGroup, no final commit. */
  async kill9(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.proc.waitExit();
  }

  /** SIGTERM: the script closes its consumer cleanly (final commit + LeaveGroup) and prints "closed". */
  async closeCleanly(timeoutMs = 30_000): Promise<void> {
    this.proc.kill('SIGTERM');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.proc.waitExit();
    clearTimeout(killer);
    assert.ok(
      this.events().some((e) => e.type === 'closed'),
      `${this.name} did not close cleanly (exit ${r.code ?? r.signal})\n${this.describe()}`,
    );
  }
}

/** Starts one member script (a file in test/interop/clients/) as a child process with the given env. */
export async function startMember(
  script: string,
  name: string,
  env: Record<string, string>,
  readyTimeoutMs = 30_000,
): Promise<Member> {
  const proc = spawnLongRunning(process.execPath, ['--import', 'tsx', join(CLIENTS_DIR, script)], {
    cwd: REPO_ROOT,
    env: { ...env, MEMBER_NAME: name },
  });
  const m = new Member(name, proc);
  try {
    await proc.waitForLine((l) => l.startsWith('{"type":"ready"'), readyTimeoutMs);
  } catch (e) {
    proc.kill('SIGKILL');
    await proc.waitExit();
    throw e;
  }
  return m;
}

/** Stops every member still running (SIGKILL by PID) — for finally blocks. */
export async function killAll(members: Member[]): Promise<void> {
  for (const m of members) if (m.alive) await m.kill9();
}

/**
 * Waits until the broker's group is Stable with exactly these members and their latest printed assignments cover
 * partitions 0..count-1, each exactly once. Returns partition → member name.
 */
export async function waitForFullAssignment(
  tb: TestBroker,
  groupId: string,
  members: Member[],
  partitionCount: number,
  timeoutMs: number,
): Promise<Map<number, string>> {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  while (Date.now() < deadline) {
    why = checkAssignment(tb, groupId, members, partitionCount);
    if (why === '') {
      const owner = new Map<number, string>();
      for (const m of members) for (const p of m.lastAssignment()!.partitions) owner.set(p, m.name);
      return owner;
    }
    await sleep(100);
  }
  throw new Error(
    `group ${groupId} never had all ${partitionCount} partitions owned once each by ${members.map((m) => m.name).join(', ')}: ${why}\n` +
      members.map((m) => m.describe()).join('\n'),
  );
}

function checkAssignment(tb: TestBroker, groupId: string, members: Member[], partitionCount: number): string {
  const group = tb.broker.services.groups.groups.get(groupId);
  if (!group) return 'the broker does not know the group';
  if (group.state !== 'Stable') return `group state is ${group.state}`;
  const brokerMembers = [...group.members.keys()].sort();
  const latest = members.map((m) => ({ m, a: m.lastAssignment() }));
  const missing = latest.find((x) => x.a === undefined);
  if (missing) return `${missing.m.name} has no assignment yet`;
  // Every script uses its member name as client id; scripts that can print their member id do so as well.
  const clientIds = [...group.members.values()].map((gm) => gm.clientId).sort();
  const names = members.map((m) => m.name).sort();
  if (JSON.stringify(clientIds) !== JSON.stringify(names)) {
    return `broker members' client ids ${JSON.stringify(clientIds)} != ${JSON.stringify(names)}`;
  }
  const printed = latest.map((x) => x.a!.memberId);
  if (printed.some((id) => id !== undefined && !group.members.has(id))) {
    return `broker members ${JSON.stringify(brokerMembers)} do not include members' latest ids ${JSON.stringify(printed)}`;
  }
  const all = latest.flatMap((x) => x.a!.partitions).sort((a, b) => a - b);
  const want = Array.from({ length: partitionCount }, (_, i) => i);
  if (JSON.stringify(all) !== JSON.stringify(want)) return `assigned partitions ${JSON.stringify(all)}`;
  return '';
}

/** Waits until the union of what `members` consumed contains every value in `values`. */
export async function waitForValues(
  members: Member[],
  values: Iterable<string>,
  timeoutMs: number,
): Promise<void> {
  const want = new Set(values);
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  while (Date.now() < deadline) {
    const seen = new Set(members.flatMap((m) => m.consumed().map((c) => c.value)));
    missing = [...want].filter((v) => !seen.has(v));
    if (missing.length === 0) return;
    await sleep(100);
  }
  throw new Error(
    `${missing.length} of ${want.size} messages were never consumed, e.g. ${missing.slice(0, 5).join(', ')}\n` +
      members.map((m) => m.describe()).join('\n'),
  );
}

/** Committed offsets of a group for partitions 0..count-1 (-1 = none), read from the in-process coordinator. */
export function committedOffsets(tb: TestBroker, groupId: string, topic: string, count: number): number[] {
  const r = tb.broker.services.groups.fetchOffsets(groupId, [
    { name: topic, partitions: Array.from({ length: count }, (_, i) => i) },
  ]);
  const out = Array.from({ length: count }, () => -1);
  for (const p of r.topics[0]?.partitions ?? []) out[p.partition] = Number(p.offset);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What a scenario needs from the test: its producer (explicit partitions) and the member script. */
export interface TakeoverScenario {
  tb: TestBroker;
  topic: string;
  groupId: string;
  /** A script in test/interop/clients/. */
  script: string;
  memberNames: string[];
  /** Passed to the member scripts as SESSION_TIMEOUT_MS. */
  sessionTimeoutMs: number;
  /** How one member is stopped: SIGKILL (no LeaveGroup) or a clean close (LeaveGroup). */
  stop: 'kill9' | 'close';
  /** Produces the values to the given partitions; resolves with the base offset per partition written to. */
  produce(messages: { partition: number; value: string }[]): Promise<Map<number, number>>;
}

export const PARTITIONS = 6;

/**
 * The whole group story, asserted the way a user would check it:
 * 1. all members join; every partition is owned by exactly one member;
 * 2. N messages are produced and consumed;
 * 3. one member is stopped (SIGKILL or clean close); the others own all partitions again; the stopped member's
 *    partitions restart exactly at the offsets committed when it stopped;
 * 4. more messages are produced and consumed: every produced message was consumed, no gaps, and duplicates only
 *    in the stopped member's uncommitted interval (none at all for a clean close);
 * 5. everybody stops cleanly; messages are produced while the group is down; a new member sees exactly those
 *    (everything consumed before was committed), not the topic from the beginning.
 */
/** What happened, for the test's diagnostics. */
export interface TakeoverSummary {
  takeoverMs: number;
  duplicates: number;
  stale: number;
}

export async function runTakeoverScenario(s: TakeoverScenario): Promise<TakeoverSummary> {
  const { tb, topic, groupId } = s;
  const env = {
    BOOTSTRAP: tb.bootstrapServers,
    TOPIC: topic,
    GROUP: groupId,
    SESSION_TIMEOUT_MS: String(s.sessionTimeoutMs),
  };
  const produced = new Map<string, { partition: number; offset: number }>();
  const next = Array.from({ length: PARTITIONS }, () => 0);
  const produce = async (prefix: string, n: number): Promise<string[]> => {
    const msgs = Array.from({ length: n }, (_, i) => ({
      partition: i % PARTITIONS,
      value: `${prefix}-${i}`,
    }));
    const base = await s.produce(msgs);
    for (let p = 0; p < PARTITIONS; p++) {
      const mine = msgs.filter((m) => m.partition === p);
      if (mine.length === 0) continue;
      assert.equal(base.get(p), next[p], `${prefix}: base offset of partition ${p}`);
      mine.forEach((m, i) => produced.set(m.value, { partition: p, offset: next[p]! + i }));
      next[p]! += mine.length;
    }
    return msgs.map((m) => m.value);
  };

  const members: Member[] = [];
  try {
    for (const name of s.memberNames) members.push(await startMember(s.script, name, env));
    const owners = await waitForFullAssignment(tb, groupId, members, PARTITIONS, 60_000);
    for (const m of members) {
      assert.ok(
        [...owners.values()].includes(m.name),
        `${m.name} got no partition: ${JSON.stringify([...owners])}`,
      );
    }

    // ---- phase 1: everybody consumes
    const phase1 = await produce('before-stop', 120);
    await waitForValues(members, phase1, 60_000);

    // ---- stop one member
    const victim = members[1]!;
    const survivors = members.filter((m) => m !== victim);
    const victimParts = [...owners].filter(([, name]) => name === victim.name).map(([p]) => p);
    const victimId = [...(tb.broker.services.groups.groups.get(groupId)?.members.values() ?? [])].find(
      (gm) => gm.clientId === victim.name,
    )?.memberId;
    assert.ok(victimId, `the broker does not know ${victim.name}'s member`);
    const stoppedAt = Date.now();
    if (s.stop === 'kill9') await victim.kill9();
    else await victim.closeCleanly();
    const inGroup = tb.broker.services.groups.groups.get(groupId)?.members.has(victimId) ?? false;
    if (s.stop === 'kill9') {
      assert.ok(inGroup, 'after kill -9 the coordinator only notices at the session timeout');
    } else {
      assert.ok(!inGroup, 'a cleanly closed member must have left the group (LeaveGroup) at once');
    }
    await sleep(200); // a commit the victim sent just before its death may still be in the broker's queue
    const committedAtStop = committedOffsets(tb, groupId, topic, PARTITIONS);
    const marks = new Map(survivors.map((m) => [m.name, m.proc.lines.length]));

    const owners2 = await waitForFullAssignment(
      tb,
      groupId,
      survivors,
      PARTITIONS,
      s.sessionTimeoutMs + 60_000,
    );
    const takeoverMs = Date.now() - stoppedAt;
    if (s.stop === 'kill9') {
      assert.ok(
        takeoverMs >= s.sessionTimeoutMs - 1000,
        `the dead member's partitions moved after ${takeoverMs} ms, before its session timeout`,
      );
      assert.ok(
        takeoverMs <= s.sessionTimeoutMs + 20_000,
        `takeover took ${takeoverMs} ms (session timeout ${s.sessionTimeoutMs} ms)`,
      );
    } else {
      assert.ok(
        takeoverMs < s.sessionTimeoutMs,
        `after LeaveGroup the takeover took ${takeoverMs} ms, not faster than the session timeout`,
      );
    }
    for (const p of victimParts) assert.notEqual(owners2.get(p), victim.name);

    // ---- phase 2: the survivors consume everything, including the victim's partitions
    const phase2 = await produce('after-stop', 120);
    await waitForValues(survivors, phase2, 60_000);

    for (const m of members) {
      for (const st of m.stale()) {
        assert.ok(
          st.everOwned.includes(st.partition),
          `${m.name} received partition ${st.partition} offset ${st.offset}, which it was never assigned`,
        );
      }
    }
    const all = members.flatMap((m) => m.consumed());
    for (const c of all) {
      const want = produced.get(c.value);
      assert.ok(want, `${c.member} consumed a message nobody produced: ${c.value}`);
      assert.deepEqual({ partition: c.partition, offset: c.offset }, want, `position of ${c.value}`);
    }
    const duplicates = all.length - new Set(all.map((c) => c.value)).size;
    const stale = members.reduce((n, m) => n + m.stale().length, 0);
    const victimMax = new Map<number, number>();
    for (const c of victim.consumed())
      victimMax.set(c.partition, Math.max(victimMax.get(c.partition) ?? -1, c.offset));
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = all.filter((c) => c.partition === p).map((c) => c.offset);
      const distinct = [...new Set(offsets)].sort((a, b) => a - b);
      assert.deepEqual(
        distinct,
        Array.from({ length: next[p]! }, (_, i) => i),
        `partition ${p}: consumed offsets must be exactly 0..${next[p]! - 1} (no gap)`,
      );
      const dups = distinct.filter((o) => offsets.indexOf(o) !== offsets.lastIndexOf(o));
      if (dups.length === 0) continue;
      const who = members
        .map((m) => {
          const mine = m.consumed().filter((c) => c.partition === p);
          return `${m.name}: ${mine.length} msgs, offsets ${mine.map((c) => c.offset).join(',')}`;
        })
        .join('\n');
      const context =
        `\ncommitted when ${victim.name} stopped: ${JSON.stringify(committedAtStop)}; ${victim.name} owned ` +
        `${JSON.stringify(victimParts)}; owners before ${JSON.stringify([...owners])}, after ` +
        `${JSON.stringify([...owners2])}\n${who}`;
      assert.equal(
        s.stop,
        'kill9',
        `partition ${p}: duplicates ${JSON.stringify(dups)} after a clean close${context}`,
      );
      assert.ok(
        victimParts.includes(p),
        `partition ${p} (not the dead member's) has duplicates ${JSON.stringify(dups)}${context}`,
      );
      for (const o of dups) {
        assert.ok(
          o >= committedAtStop[p]! && o <= victimMax.get(p)!,
          `partition ${p}: duplicate offset ${o} is outside the dead member's uncommitted interval ` +
            `[${committedAtStop[p]}, ${victimMax.get(p)}]${context}`,
        );
      }
    }
    // The stopped member's partitions restart exactly at the offset committed when it stopped.
    for (const p of victimParts) {
      const after = survivors.flatMap((m) => m.consumed(marks.get(m.name)).filter((c) => c.partition === p));
      const first = Math.min(...after.map((c) => c.offset));
      const expected = committedAtStop[p]! >= 0 ? committedAtStop[p]! : 0;
      assert.equal(first, expected, `partition ${p}: the new owner must start at the committed offset`);
    }

    // ---- phase 3: everybody stops; the group is down; a new member resumes from the committed offsets
    for (const m of survivors) await m.closeCleanly();
    const committed = committedOffsets(tb, groupId, topic, PARTITIONS);
    assert.deepEqual(
      committed,
      next,
      'after consuming everything and closing cleanly, all of it is committed',
    );
    const phase3 = await produce('while-down', 60);
    const fresh = await startMember(s.script, 'late', env);
    members.push(fresh);
    await waitForFullAssignment(tb, groupId, [fresh], PARTITIONS, 60_000);
    await waitForValues([fresh], phase3, 60_000);
    await sleep(1500); // anything it should not see (older messages) would show up by now
    const seen = fresh.consumed().map((c) => c.value);
    assert.deepEqual(
      [...seen].sort(),
      [...phase3].sort(),
      'the new member must see exactly the messages produced while the group was down',
    );
    await fresh.closeCleanly();
    return { takeoverMs, duplicates, stale };
  } finally {
    await killAll(members);
  }
}
