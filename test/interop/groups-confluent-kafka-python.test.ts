// Consumer groups with confluent-kafka-python 1.7.0 on Debian's librdkafka 2.0.2 (/usr/bin/python3; FindCoordinator
// v2, JoinGroup v5 with MEMBER_ID_REQUIRED, SyncGroup/Heartbeat v3, LeaveGroup v1, OffsetFetch v7 (flexible),
// OffsetCommit v7, Fetch v11) against Brook, with librdkafka's defaults (eager range+roundrobin assignors,
// auto-commit every 5 s of the offsets poll() returned, heartbeat 3 s) except the bootstrap address, the group id,
// auto.offset.reset=earliest and session.timeout.ms=6000 (the broker's group.min.session.timeout.ms).
// Three member processes share a 6-partition topic; one is killed with SIGKILL (no commit, no LeaveGroup): the
// coordinator expires it after the session timeout and the others take over its partitions from its last
// committed offsets (re-reading only what it had not committed yet); nothing is lost; a fresh member after a
// clean stop of everyone reads only what was produced while the group was down.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniqueTopic, withBroker, type TestBroker } from '../helpers/broker.js';
import { hasConfluentKafkaPython, requireTool } from '../helpers/external.js';
import {
  allConsumed,
  assertAllConsumed,
  assertFreshMemberResumes,
  coordinatorView,
  duplicates,
  endOffsets,
  kafkajsClients,
  key,
  startPythonMember,
  stopMember,
  until,
  waitConsumed,
  waitCoverage,
  type Member,
} from './group-harness.js';

const SESSION_MS = 6000;

// One group member: prints one JSON line per event. SIGTERM ends the poll loop and close() commits + leaves.
const MEMBER = `
import json, signal, sys
from confluent_kafka import Consumer

bootstrap, topic, group, session_ms = sys.argv[1:5]

def emit(d):
    sys.stdout.write(json.dumps(d) + '\\n')
    sys.stdout.flush()

stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

def on_assign(consumer, partitions):
    emit({'ev': 'assigned', 'partitions': sorted(tp.partition for tp in partitions)})
def on_revoke(consumer, partitions):
    emit({'ev': 'revoked', 'partitions': sorted(tp.partition for tp in partitions)})

consumer = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'auto.offset.reset': 'earliest',
    'session.timeout.ms': int(session_ms),
})
consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
emit({'ev': 'started'})
while not stop:
    m = consumer.poll(0.2)
    if m is None:
        continue
    if m.error():
        sys.stderr.write('consumer error: %s\\n' % m.error())
        continue
    emit({'ev': 'msg', 'p': m.partition(), 'o': m.offset(), 'v': m.value().decode()})
consumer.close()
emit({'ev': 'closed'})
`;

function startMember(dir: string, name: string, bootstrap: string, topic: string, group: string): Member {
  return startPythonMember(dir, MEMBER, name, [bootstrap, topic, group, String(SESSION_MS)]);
}

const { createTopic, produce } = kafkajsClients('groups-ck');

test(
  'confluent-kafka group: 3 members share 6 partitions, a kill -9 member is replaced after the session timeout',
  { timeout: 150_000 },
  async (t) => {
    if (
      !(await requireTool(
        t,
        'confluent-kafka',
        hasConfluentKafkaPython,
        'apt-get install python3-confluent-kafka',
      ))
    )
      return;
    const dir = mkdtempSync(join(tmpdir(), 'brook-groups-ck-'));
    const members: Member[] = [];
    try {
      await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b: TestBroker) => {
        const bootstrap = b.bootstrapServers;
        const topic = uniqueTopic('groups-ck');
        const group = `${topic}-group`;
        const coordinator = coordinatorView(b, group, topic);
        const { groupMembers, stable, committed } = coordinator;
        await createTopic(bootstrap, topic);

        for (const name of ['m1', 'm2', 'm3']) members.push(startMember(dir, name, bootstrap, topic, group));
        await waitCoverage(members, 60_000, () => stable(3));

        // First half, then wait for an auto-commit (every 5 s) of it; the second half is then (most likely) read
        // but not yet committed when m2 is killed, so m2's partitions resume in the middle.
        const phase1a = await produce(bootstrap, topic, 'one', 5);
        await waitConsumed(members, phase1a, 30_000);
        const ends1a = endOffsets(phase1a);
        await until('the members auto-committed the first half', 20_000, () =>
          committed().every((o, p) => o === ends1a[p]),
        );
        const phase1b = await produce(bootstrap, topic, 'one-b', 5);
        const phase1 = [...phase1a, ...phase1b];
        await waitConsumed(members, phase1, 30_000);

        // m2 dies without a word: no commit, no LeaveGroup. Its partitions stay with it until its session expires.
        const [m1, m2, m3] = members as [Member, Member, Member];
        const lost = m2.owned();
        const t0 = Date.now();
        await stopMember(m2, 'SIGKILL');
        const committedAtKill = committed(); // nobody else owns `lost` yet, and m2 can no longer commit
        assert.equal(groupMembers(), 3, 'the coordinator cannot know yet that m2 is gone');
        const survivorMarks = [m1, m3].map((m) => m.proc.lines.length);
        await waitCoverage([m1, m3], SESSION_MS + 20_000, () => stable(2));
        const takeoverMs = Date.now() - t0;
        t.diagnostic(
          `kill -9 takeover of [${lost.join(',')}] in ${takeoverMs} ms (committed then: ` +
            `${lost.map((p) => `${p}@${committedAtKill[p]}`).join(' ')}; m2 had read up to ` +
            `${lost
              .map(
                (p) =>
                  `${p}@${
                    Math.max(
                      -1,
                      ...m2
                        .consumed()
                        .filter((r) => r.p === p)
                        .map((r) => r.o),
                    ) + 1
                  }`,
              )
              .join(' ')})`,
        );
        // The session clock starts at m2's last heartbeat, up to heartbeat.interval.ms (3 s) before the kill.
        assert.ok(
          takeoverMs >= SESSION_MS - 3000 - 500,
          `the coordinator may only drop a silent member after its session timeout (took ${takeoverMs} ms)`,
        );
        assert.ok(
          takeoverMs <= SESSION_MS + 10_000,
          `the survivors must own m2's partitions within the ${SESSION_MS} ms session timeout + 10 s (took ${takeoverMs} ms)`,
        );

        const phase2 = await produce(bootstrap, topic, 'two', 10);
        const produced = [...phase1, ...phase2];
        await waitConsumed(members, produced, 30_000);
        const consumed = allConsumed(members);
        assertAllConsumed(produced, consumed);

        // The survivors resume m2's partitions at m2's last committed offset (earliest if none) ...
        const taken = [m1, m3].flatMap((m, i) => m.consumed(survivorMarks[i]));
        for (const p of lost) {
          const offs = taken.filter((r) => r.p === p).map((r) => r.o);
          assert.ok(offs.length > 0, `partition ${p} was consumed after the takeover`);
          assert.equal(
            Math.min(...offs),
            Math.max(0, committedAtKill[p]!),
            `partition ${p} resumes at the committed offset`,
          );
        }
        // ... so the only messages read twice are m2's uncommitted ones.
        for (const d of duplicates(consumed)) {
          const [p, o] = d.split(':').map(Number) as [number, number];
          assert.ok(
            lost.includes(p) && o >= committedAtKill[p]! && m2.consumed().some((r) => key(r) === d),
            `${d} was read twice but was not in m2's uncommitted interval`,
          );
        }

        // Everyone stops cleanly; the committed offsets are the end of every partition.
        await Promise.all([stopMember(m1), stopMember(m3)]);
        for (const m of [m1, m3])
          assert.equal(m.proc.child.exitCode, 0, `${m.name} exits cleanly:\n${m.proc.stderr()}`);
        await coordinator.assertClosedWithCommitted(endOffsets(produced));

        // Produced while nobody is in the group; a fresh member reads exactly these.
        const phase3 = await produce(bootstrap, topic, 'three', 5);
        const fresh = startMember(dir, 'fresh', bootstrap, topic, group);
        members.push(fresh);
        await assertFreshMemberResumes(fresh, phase3, () => stable(1));
        await stopMember(fresh);
      });
    } finally {
      for (const m of members) await stopMember(m, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
