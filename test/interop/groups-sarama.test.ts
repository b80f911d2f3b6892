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
import {
  makeTempDir,
  removeDir,
  REPO_ROOT,
  uniqueTopic,
  withBroker,
  type TestBroker,
} from '../helpers/broker.js';
import { hasGo, hasSarama, requireTool, SARAMA_GOPATH } from '../helpers/external.js';
import { runCommand, spawnLongRunning } from '../helpers/run.js';
import {
  allConsumed,
  assertAllConsumed,
  assertFreshMemberResumes,
  coordinatorView,
  duplicates,
  endOffsets,
  kafkajsClients,
  Member,
  stopMember,
  waitConsumed,
  waitCoverage,
} from './group-harness.js';

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

const { createTopic, produce } = kafkajsClients('groups-sarama');

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
        const coordinator = coordinatorView(b, group, topic);
        const { groupMembers, stable } = coordinator;
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
        await coordinator.assertClosedWithCommitted(endOffsets(produced));

        // Produced while nobody is in the group; a fresh member reads exactly these.
        const phase3 = await produce(bootstrap, topic, 'three', 5);
        const fresh = startMember(bin, 'fresh', bootstrap, topic, group);
        members.push(fresh);
        await assertFreshMemberResumes(fresh, phase3, () => stable(1));
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
