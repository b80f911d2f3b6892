// ElectLeaders (API 43) over a real ZooKeeper, and `brook topics elect-leaders`: a broker stops and
// comes back, so leadership has moved away from its preferred replica; the CLI elects, and the
// preferred replica leads again (the other partition needed no election). A non-controller answers
// NOT_CONTROLLER; an explicit UNCLEAN election brings an offline partition back with an out-of-sync
// replica even though unclean.leader.election.enable is false; a single node answers
// ELECTION_NOT_NEEDED / UNKNOWN_TOPIC_OR_PARTITION.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import {
  REPO_ROOT,
  makeTempDir,
  removeDir,
  startTestBroker,
  withBroker,
  type TestBroker,
} from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { runCommand } from '../helpers/run.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { BROOK_CLI } from '../helpers/cli.js';
import { createAssigned, waitFor, zkBrokerConfig, zkStore } from './zk-cluster.js';

const config = (zk: ZooKeeper, nodeId: number, extra: Record<string, string> = {}): Record<string, string> =>
  zkBrokerConfig(zk, nodeId, { ...extra });

const CLI = BROOK_CLI;

async function electRaw(
  b: TestBroker,
  electionType: number,
  topicPartitions: { topic: string; partitions: number[] }[] | null,
) {
  const conn = await Connection.connect('127.0.0.1', b.port);
  try {
    return await conn.send(
      ApiKey.ElectLeaders,
      { electionType, topicPartitions, timeoutMs: 10_000 },
      { minVersion: 1 },
    );
  } finally {
    conn.close();
  }
}

test('brook topics elect-leaders gives leadership back to the preferred replica after a broker restart', async (t) => {
  if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
  const zk = await startZooKeeper(1);
  t.after(() => zk.stop());
  const dirs = [makeTempDir('brook-elect1-'), makeTempDir('brook-elect2-')];
  const brokers: (TestBroker | null)[] = [
    await startTestBroker(config(zk, 1), dirs[0]),
    await startTestBroker(config(zk, 2), dirs[1]),
  ];
  t.after(async () => {
    for (const b of brokers) await b?.stop();
    for (const d of dirs) removeDir(d);
  });
  const b2 = brokers[1]!;
  await waitFor('both registered', () => zkStore(b2).liveBrokers().length === 2);
  const topic = await createAssigned(
    b2,
    [
      [1, 2],
      [2, 1],
    ],
    { prefix: 'elect' },
  );
  await waitFor('both in sync', () =>
    [0, 1].every((p) => zkStore(b2).partitionState(topic, p)!.isr.length === 2),
  );

  // Broker 1 stops: broker 2 leads both. It comes back and rejoins the ISR, but does not lead.
  await brokers[0]!.stop();
  brokers[0] = null;
  await waitFor('broker 2 leads partition 0', () => zkStore(b2).partitionState(topic, 0)!.leader === 2);
  brokers[0] = await startTestBroker(config(zk, 1), dirs[0]);
  await waitFor('broker 1 in the ISR', () => zkStore(b2).partitionState(topic, 0)!.isr.includes(1));
  assert.equal(zkStore(b2).partitionState(topic, 0)!.leader, 2);
  const epochBefore = zkStore(b2).partitionState(topic, 0)!.leaderEpoch;

  // The broker that is not the controller answers NOT_CONTROLLER (clients go to the controller).
  const controllerId = zkStore(b2).controllerId();
  const other = brokers.find((b) => b!.broker.config.nodeId !== controllerId)!;
  const refused = await electRaw(other, 0, [{ topic, partitions: [0] }]);
  assert.equal(refused.replicaElectionResults[0]!.partitionResult[0]!.errorCode, ErrorCode.NOT_CONTROLLER);
  assert.equal(zkStore(b2).partitionState(topic, 0)!.leader, 2, 'nothing elected by a non-controller');

  // The CLI, bootstrapped at either broker, finds the controller.
  const r = await runCommand(
    process.execPath,
    [CLI, 'topics', 'elect-leaders', '--topic', topic, '--bootstrap-server', `127.0.0.1:${other.port}`],
    { cwd: REPO_ROOT, timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`Successfully completed leader election \\(PREFERRED\\) for partitions ${topic}-0\\n`),
  );
  assert.match(r.stdout, new RegExp(`Valid replica already elected for partitions ${topic}-1\\n`));
  const s = await waitFor('broker 1 leads partition 0 again', () => {
    const st = zkStore(b2).partitionState(topic, 0)!;
    return st.leader === 1 ? st : null;
  });
  assert.equal(s.leaderEpoch, epochBefore + 1);
  // Every broker's view shows it, and a second run has nothing to do.
  await waitFor(
    'broker 1 sees itself lead',
    () => zkStore(brokers[0]!).partitionState(topic, 0)!.leader === 1,
  );
  const again = await runCommand(
    process.execPath,
    [CLI, 'topics', 'elect-leaders', '--bootstrap-server', `127.0.0.1:${b2.port}`],
    { cwd: REPO_ROOT, timeoutMs: 60_000 },
  );
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /No partition needed a leader election \(PREFERRED\)/);

  // Unclean, asked explicitly: only broker 1 is in partition 0's ISR and it dies; broker 2 is out of
  // sync, and unclean.leader.election.enable=false keeps the partition offline until ElectLeaders UNCLEAN.
  await waitFor('broker 2 in sync', () => zkStore(b2).partitionState(topic, 0)!.isr.length === 2);
  await b2.stop();
  brokers[1] = null;
  await waitFor(
    'ISR shrunk to broker 1',
    () => zkStore(brokers[0]!).partitionState(topic, 0)!.isr.join() === '1',
  );
  await brokers[0]!.stop();
  brokers[0] = null;
  brokers[1] = await startTestBroker(config(zk, 2), dirs[1]);
  const nb2 = brokers[1];
  await waitFor('partition 0 offline', () => zkStore(nb2).partitionState(topic, 0)?.leader === -1);
  await waitFor('broker 2 is the controller', () => nb2.broker.clusterController?.isActive);
  const preferred = await electRaw(nb2, 0, [{ topic, partitions: [0] }]);
  assert.equal(
    preferred.replicaElectionResults[0]!.partitionResult[0]!.errorCode,
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  );
  const unclean = await electRaw(nb2, 1, [{ topic, partitions: [0, 1, 7] }]);
  const codes = Object.fromEntries(
    unclean.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode]),
  );
  // Broker 1 led partition 1 alone too when it died: both come back with broker 2.
  assert.deepEqual(codes, {
    0: ErrorCode.NONE,
    1: ErrorCode.NONE,
    7: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  });
  const st = await waitFor('broker 2 leads partition 0', () => {
    const x = zkStore(nb2).partitionState(topic, 0)!;
    return x.leader === 2 ? x : null;
  });
  const second = await electRaw(nb2, 1, [{ topic, partitions: [0] }]);
  assert.equal(
    second.replicaElectionResults[0]!.partitionResult[0]!.errorCode,
    ErrorCode.ELECTION_NOT_NEEDED,
  );
  assert.deepEqual(st.isr, [2]);
});

test('ElectLeaders on a single node: ELECTION_NOT_NEEDED for its partitions, UNKNOWN_TOPIC_OR_PARTITION else', async () => {
  await withBroker({}, async (b) => {
    const conn = await Connection.connect('127.0.0.1', b.port);
    try {
      const { Admin } = await import('../../src/client/admin.js');
      const admin = await Admin.connect(`127.0.0.1:${b.port}`);
      await admin.createTopics([{ name: 'single', partitions: 1 }]);
      await admin.close();
      const res = await conn.send(ApiKey.ElectLeaders, {
        electionType: 0,
        topicPartitions: [{ topic: 'single', partitions: [0, 3] }],
        timeoutMs: 1000,
      });
      assert.deepEqual(
        res.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode]),
        [
          [0, ErrorCode.ELECTION_NOT_NEEDED],
          [3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ],
      );
      const bad = await conn.send(
        ApiKey.ElectLeaders,
        { electionType: 5, topicPartitions: null, timeoutMs: 1000 },
        { minVersion: 1 },
      );
      assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      conn.close();
    }
  });
});
