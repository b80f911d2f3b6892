// Consumer groups with kafka-python 2.0.2 (Debian python3-kafka, /usr/bin/python3: FindCoordinator v0, JoinGroup v2,
// SyncGroup/Heartbeat/LeaveGroup v1, OffsetFetch v1, OffsetCommit v2, Fetch v4) against Brook, with the client's
// default settings (session 10 s, heartbeat 3 s, auto-commit every 5 s, assignors range+roundrobin) except the
// bootstrap address, the group id and auto_offset_reset='earliest'.
// 1. Three member processes share a 6-partition topic; one leaves cleanly (close() → LeaveGroup) and the others
//    take over its partitions well before a session timeout; nothing is lost or read twice; a fresh member after
//    a full stop reads only what was produced while the group was down (committed offsets).
// 2. The broker is killed with SIGKILL under a running group and restarted on the same port and data dir: the
//    members reconnect on their own (the restored group keeps them), the committed offsets survived, everything is
//    consumed; a member that dies while the broker is down expires after its session timeout once it is back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  freePort,
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  uniqueTopic,
  withBroker,
  type BrokerProcess,
  type TestBroker,
} from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { describeGroup, fetchOffsets, TestClient } from '../group/helpers.js';
import {
  ALL,
  allConsumed,
  assertAllConsumed,
  assertFreshMemberResumes,
  coordinatorView,
  duplicates,
  endOffsets,
  kafkajsClients,
  key,
  sleep,
  startPythonMember,
  stopMember,
  until,
  waitConsumed,
  waitCoverage,
  type Member,
} from './group-harness.js';

/** kafka-python's default session.timeout.ms (left at its default). */
const SESSION_MS = 10_000;

// One group member: prints one JSON line per event. SIGTERM ends the poll loop and close() commits + leaves.
const MEMBER = `
import json, signal, sys
from kafka import KafkaConsumer, ConsumerRebalanceListener

bootstrap, topic, group = sys.argv[1:4]

def emit(d):
    sys.stdout.write(json.dumps(d) + '\\n')
    sys.stdout.flush()

stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        emit({'ev': 'revoked', 'partitions': sorted(tp.partition for tp in revoked)})
    def on_partitions_assigned(self, assigned):
        emit({'ev': 'assigned', 'partitions': sorted(tp.partition for tp in assigned)})

consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest')
consumer.subscribe([topic], listener=Listener())
emit({'ev': 'started'})
while not stop:
    for tp, records in consumer.poll(timeout_ms=200).items():
        for r in records:
            emit({'ev': 'msg', 'p': r.partition, 'o': r.offset, 'v': r.value.decode()})
consumer.close()
emit({'ev': 'closed'})
`;

function startMember(dir: string, name: string, bootstrap: string, topic: string, group: string): Member {
  return startPythonMember(dir, MEMBER, name, [bootstrap, topic, group]);
}

const { createTopic, produce } = kafkajsClients('groups-kp');

test(
  'kafka-python group: 3 members share 6 partitions, a clean close hands partitions over, a new member resumes',
  { timeout: 150_000 },
  async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'apt-get install python3-kafka'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'brook-groups-kp-'));
    const members: Member[] = [];
    try {
      await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b: TestBroker) => {
        const bootstrap = b.bootstrapServers;
        const topic = uniqueTopic('groups-kp');
        const group = `${topic}-group`;
        const coordinator = coordinatorView(b, group, topic);
        const { groupMembers, stable } = coordinator;
        await createTopic(bootstrap, topic);

        for (const name of ['m1', 'm2', 'm3']) members.push(startMember(dir, name, bootstrap, topic, group));
        await waitCoverage(members, 60_000, () => stable(3));

        const phase1 = await produce(bootstrap, topic, 'one', 10);
        await waitConsumed(members, phase1, 30_000);

        // m2 leaves cleanly: close() commits and sends LeaveGroup, so the coordinator drops it at once.
        const [m1, m2, m3] = members as [Member, Member, Member];
        const m2Owned = m2.owned();
        const t0 = Date.now();
        await stopMember(m2);
        assert.equal(m2.proc.child.exitCode, 0, `m2 must exit cleanly:\n${m2.proc.stderr()}`);
        assert.ok(
          m2.events().some((e) => e.ev === 'closed'),
          'm2 printed closed after close()',
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
        await waitConsumed(members, [...phase1, ...phase2], 30_000);
        const before = allConsumed(members);
        assertAllConsumed([...phase1, ...phase2], before);
        assert.deepEqual(
          duplicates(before),
          [],
          'with clean hand-overs (commit on revoke/close) nothing is read twice',
        );

        // Everyone stops cleanly; the committed offsets are the end of every partition.
        await Promise.all([stopMember(m1), stopMember(m3)]);
        await coordinator.assertClosedWithCommitted(endOffsets([...phase1, ...phase2]));

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

async function offsetsViaClient(port: number, group: string, topic: string): Promise<number[]> {
  const c = await TestClient.connect(port, 'groups-kp-check');
  try {
    const r = await fetchOffsets(c, group, [{ name: topic, partitionIndexes: ALL }], 1);
    assert.equal(r.errorCode, 0, 'OffsetFetch error');
    return ALL.map((p) =>
      Number(r.topics[0]?.partitions.find((x) => x.partitionIndex === p)?.committedOffset ?? -1n),
    );
  } finally {
    c.close();
  }
}

async function groupViaClient(port: number, group: string): Promise<{ state: string; members: number }> {
  const c = await TestClient.connect(port, 'groups-kp-check');
  try {
    const g = await describeGroup(c, group);
    return { state: g.groupState, members: g.members.length };
  } finally {
    c.close();
  }
}

test(
  'kafka-python group survives a broker kill -9: members reconnect by themselves, committed offsets intact',
  { timeout: 150_000 },
  async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'apt-get install python3-kafka'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'brook-groups-kp-crash-'));
    const dataDir = makeTempDir('brook-groups-kp-data-');
    const port = await freePort();
    const config = { 'group.initial.rebalance.delay.ms': '0' };
    const members: Member[] = [];
    let broker: BrokerProcess | undefined;
    try {
      broker = await spawnBrokerProcess({ dataDir, port, config });
      const bootstrap = broker.bootstrapServers;
      const topic = uniqueTopic('groups-kp-crash');
      const group = `${topic}-group`;
      await createTopic(bootstrap, topic);
      for (const name of ['a', 'b']) members.push(startMember(dir, name, bootstrap, topic, group));
      await waitCoverage(members, 60_000);
      await until('the group is Stable with 2 members', 30_000, async () => {
        const g = await groupViaClient(port, group);
        return g.state === 'Stable' && g.members === 2;
      });

      const phase1 = await produce(bootstrap, topic, 'before', 8);
      await waitConsumed(members, phase1, 30_000);
      const ends1 = endOffsets(phase1);
      // Auto-commit runs every 5 s.
      await until('the members committed everything', 20_000, async () => {
        const c = await offsetsViaClient(port, group, topic);
        return c.every((o, i) => o === ends1[i]);
      });
      const committedBefore = await offsetsViaClient(port, group, topic);

      const marks = members.map((m) => m.proc.lines.length);
      broker.kill('SIGKILL');
      await broker.waitExit();
      await sleep(1000); // the members notice the dead connections
      broker = await spawnBrokerProcess({ dataDir, port, config });
      const t0 = Date.now();

      const after = await offsetsViaClient(port, group, topic);
      after.forEach((o, p) =>
        assert.ok(
          o >= committedBefore[p]!,
          `partition ${p}: committed ${o} after the restart < ${committedBefore[p]} before`,
        ),
      );

      const phase2 = await produce(bootstrap, topic, 'after', 8);
      await waitConsumed(members, [...phase1, ...phase2], 90_000);
      const rejoins = members.map((m, i) => m.events(marks[i]).filter((e) => e.ev === 'assigned').length);
      t.diagnostic(
        `after the broker restart the group consumed new messages within ${Date.now() - t0} ms ` +
          `(new assignments per member: ${rejoins.join(', ')})`,
      );
      for (const m of members)
        assert.ok(!m.exited, `member ${m.name} must survive the broker crash:\n${m.proc.stderr()}`);
      await until('the group is Stable with 2 members again', 30_000, async () => {
        const g = await groupViaClient(port, group);
        return g.state === 'Stable' && g.members === 2;
      });
      await waitCoverage(members, 10_000);

      const postCrash = members.flatMap((m, i) => m.consumed(marks[i]));
      const reread = postCrash.filter((r) => r.o < committedBefore[r.p]!).map(key);
      assert.deepEqual(reread, [], 'after the crash nobody re-reads below the committed offsets');
      assertAllConsumed([...phase1, ...phase2], allConsumed(members));
      assert.deepEqual(
        duplicates(allConsumed(members)),
        [],
        'everything was committed before the crash: no re-reads',
      );

      const ends2 = endOffsets(phase2);
      await until('the members committed the new messages', 20_000, async () => {
        const c = await offsetsViaClient(port, group, topic);
        return c.every((o, i) => o === ends2[i]);
      });

      // Second crash, and member b dies while the broker is down: the restarted coordinator restores b from its
      // log, so b must still expire after its session timeout and a must take over every partition.
      const [a, b] = members as [Member, Member];
      broker.kill('SIGKILL');
      await broker.waitExit();
      await stopMember(b, 'SIGKILL');
      const aMark = a.proc.lines.length;
      broker = await spawnBrokerProcess({ dataDir, port, config });
      const t1 = Date.now();
      await waitCoverage([a], SESSION_MS + 20_000, () => a.events(aMark).some((e) => e.ev === 'assigned'));
      const takeoverMs = Date.now() - t1;
      t.diagnostic(`after the second restart a took over b's partitions in ${takeoverMs} ms`);
      assert.ok(
        takeoverMs <= SESSION_MS + 10_000,
        `a restored member that never came back must expire after its ${SESSION_MS} ms session (took ${takeoverMs} ms)`,
      );
      const phase3 = await produce(bootstrap, topic, 'alone', 4);
      await waitConsumed([a], phase3, 30_000);
      const aAfter = a.consumed(aMark);
      const rereadByA = aAfter.filter((r) => r.o < ends2[r.p]!).map(key);
      assert.deepEqual(
        rereadByA,
        [],
        "a resumes b's partitions at the committed offsets, not from the beginning",
      );
    } finally {
      for (const m of members) await stopMember(m, 'SIGKILL');
      if (broker) {
        broker.kill('SIGKILL');
        await broker.waitExit();
      }
      removeDir(dataDir);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
