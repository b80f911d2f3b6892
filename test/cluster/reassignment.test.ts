// Partition reassignment (KIP-455: AlterPartitionReassignments / ListPartitionReassignments) over a real
// ZooKeeper and three in-process brokers: a partition of a replication-factor-2 topic moves from brokers
// [1,2] to [2,3] (asked by kafkajs's admin) while an idempotent kafkajs acks=all producer writes; afterwards its replicas are [2,3],
// its leader is one of them, broker 1's log directory for it is gone, and a consumer reads every
// acknowledged record once, in order. The requests Kafka refuses are refused with Kafka's codes, a
// broker that is not the controller answers NOT_CONTROLLER, and a reassignment left in ZooKeeper by a
// controller that went away is completed by the next one.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Admin } from '../../src/client/admin.js';
import { Connection } from '../../src/client/connection.js';
import { encodeAssignment, topicPath } from '../../src/cluster/zookeeper/znodes.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { REPO_ROOT, startTestBroker, withBroker, type TestBroker } from '../helpers/broker.js';
import { BROOK_CLI } from '../helpers/cli.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { runCommand, type RunResult } from '../helpers/run.js';
import type { ZooKeeper } from '../helpers/zookeeper.js';
import { readValues } from './replication-helpers.js';
import { createAssigned, startZkCluster, waitFor, zkBrokerConfig, zkStore } from './zk-cluster.js';
import { startAckedWriter } from './acked-writer.js';

const config = (zk: ZooKeeper, nodeId: number): Record<string, string> =>
  zkBrokerConfig(zk, nodeId, { 'replica.fetch.wait.max.ms': '100', 'auto.leader.rebalance.enable': 'false' });

/** The partition's directories in a broker's log dir (the live one, or one being deleted). */
function partitionDirs(b: TestBroker, topic: string, partition: number): string[] {
  return readdirSync(b.broker.services.replicas.logDir).filter(
    (d) => d === `${topic}-${partition}` || d.startsWith(`${topic}-${partition}.`),
  );
}

async function brook(bootstrap: string, args: string[]): Promise<RunResult> {
  return runCommand(process.execPath, [BROOK_CLI, ...args, '--bootstrap-server', bootstrap], {
    cwd: REPO_ROOT,
    timeoutMs: 60_000,
  });
}

test('a partition moves from brokers [1,2] to [2,3] under an idempotent acks=all producer; nothing acknowledged is lost', async (t) => {
  if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
  const { brokers } = await startZkCluster(t, 3, config);
  const [b1, b2, b3] = brokers as TestBroker[];
  const topic = await createAssigned(b2!, [[1, 2]], { prefix: 'reassign', inSync: true });
  const before = zkStore(b2!).partitionState(topic, 0)!;
  assert.equal(before.leader, 1);

  const kafka = new Kafka({
    clientId: 'brook-reassign',
    brokers: [b1!.bootstrapServers, b2!.bootstrapServers, b3!.bootstrapServers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 15_000,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const writer = await startAckedWriter(kafka, topic);
  const acked = writer.acked;

  const admin = await Admin.connect(b1!.bootstrapServers);
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    await waitFor('first writes', () => acked.length >= 50 || writer.failure() !== null);

    // What Kafka refuses, refused with its codes (the Admin finds the controller from any broker).
    const refused = await admin.alterPartitionReassignments([
      { topic, partition: 0, replicas: [2, 2] },
      { topic, partition: 0, replicas: [2, 9] },
      { topic, partition: 0, replicas: [] },
      { topic, partition: 1, replicas: [2, 3] },
      { topic, partition: 0, replicas: null },
      { topic: 'no-such-topic', partition: 0, replicas: [2, 3] },
    ]);
    assert.deepEqual(
      refused.map((r) => r.errorCode),
      [
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ],
      JSON.stringify(refused),
    );
    assert.deepEqual(zkStore(b2!).partitionAssignment(topic, 0)!.replicas, [1, 2], 'nothing changed');

    // A broker that is not the controller answers NOT_CONTROLLER (at the top level, as Kafka's).
    const controllerId = zkStore(b2!).controllerId();
    const other = brokers.find((b) => b!.broker.config.nodeId !== controllerId)!;
    const conn = await Connection.connect('127.0.0.1', other.port);
    try {
      const res = await conn.send(ApiKey.AlterPartitionReassignments, {
        timeoutMs: 10_000,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [2, 3] }] }],
      });
      assert.equal(res.errorCode, ErrorCode.NOT_CONTROLLER);
      const list = await conn.send(ApiKey.ListPartitionReassignments, { timeoutMs: 10_000, topics: null });
      assert.equal(list.errorCode, ErrorCode.NOT_CONTROLLER);
    } finally {
      conn.close();
    }

    // The move, asked by a real client's admin (kafkajs finds the controller through Metadata).
    await kafkaAdmin.alterPartitionReassignments({
      topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }],
    });
    const done = await waitFor('the reassignment completes', () => {
      const s = zkStore(b2!).partitionState(topic, 0)!;
      const a = zkStore(b2!).partitionAssignment(topic, 0)!;
      return a.adding.length === 0 && a.removing.length === 0 && s.replicas.join() === '2,3' ? s : null;
    });
    assert.deepEqual(await admin.listPartitionReassignments(), []);
    assert.deepEqual(await kafkaAdmin.listPartitionReassignments({}), { topics: [] });
    assert.ok([2, 3].includes(done.leader), `leader ${done.leader} is a target replica`);
    assert.deepEqual([...done.isr].sort(), [2, 3]);
    assert.ok(done.leaderEpoch > before.leaderEpoch, 'the leader moved with a new leader epoch');
    await waitFor(
      "broker 1's log of the partition is deleted",
      () => partitionDirs(b1!, topic, 0).length === 0,
    );
    assert.equal(b1!.broker.services.replicas.replica(topic, 0), undefined);
    assert.equal(partitionDirs(b3!, topic, 0).length, 1, 'broker 3 holds the partition');

    const mark = acked.length;
    await waitFor('writes after the move', () => acked.length >= mark + 50 || writer.failure() !== null);
  } finally {
    await writer.stop();
    await kafkaAdmin.disconnect();
    await admin.close();
  }
  assert.equal(writer.failure(), null, `the producer gave up: ${String(writer.failure())}`);
  const leader = zkStore(b2!).partitionState(topic, 0)!.leader;
  const conn = await Connection.connect('127.0.0.1', brokers[leader - 1]!.port);
  try {
    assert.deepEqual(await readValues(conn, topic), acked, 'every acknowledged record, once, in order');
  } finally {
    conn.close();
  }
});

test('brook topics reassignments / reassign --cancel; a reassignment left by a controller that went away is completed by the next one', async (t) => {
  if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
  const { zk, brokers, dirs } = await startZkCluster(t, 3, config);
  const topic = await createAssigned(brokers[0]!, [
    [1, 2],
    [1, 2],
  ]);
  // Broker 3 stops; then both partitions' reassignment [1,2] -> [1,3] is written as a controller's
  // phase A leaves it (replicas target + original, adding and removing recorded): it cannot complete
  // while broker 3 is away.
  await brokers[2]!.stop();
  brokers[2] = null;
  const store = zkStore(brokers[0]!);
  await waitFor('broker 3 gone', () => store.liveBrokers().length === 2);
  const a = store.topicAssignment(topic)!;
  await store.session.setData(
    topicPath(topic),
    encodeAssignment({
      topicId: a.topicId,
      partitions: [
        [1, 3, 2],
        [1, 3, 2],
      ],
      adding: new Map([
        [0, [3]],
        [1, [3]],
      ]),
      removing: new Map([
        [0, [2]],
        [1, [2]],
      ]),
    }),
    a.version,
  );
  await waitFor('the reassignments are seen', () => store.partitionAssignment(topic, 1)!.adding.length === 1);
  const bootstrap = brokers[0]!.bootstrapServers;

  // The CLI lists both, cancels partition 1's (back to [1,2] at once: both are in sync), and says in
  // one sentence that there is nothing left to cancel.
  const listed = await brook(bootstrap, ['topics', 'reassignments', '--topic', topic]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(
    listed.stdout,
    'Current partition reassignments:\n' +
      `${topic}-0: replicas: 1,3,2. adding: 3. removing: 2.\n` +
      `${topic}-1: replicas: 1,3,2. adding: 3. removing: 2.\n`,
  );
  const cancel = ['topics', 'reassign', '--topic', topic, '--partition', '1', '--cancel'];
  const cancelled = await brook(bootstrap, cancel);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.equal(cancelled.stdout, `Successfully cancelled partition reassignments for: ${topic}-1\n`);
  await waitFor('partition 1 back on [1,2]', () => {
    const p1 = store.partitionAssignment(topic, 1)!;
    return p1.adding.length === 0 && p1.replicas.join() === '1,2';
  });
  const nothing = await brook(bootstrap, cancel);
  assert.equal(nothing.code, 1);
  assert.equal(nothing.stdout, '');
  assert.match(
    nothing.stderr.trim(),
    new RegExp(
      `^[^\\n]*Cancelling the reassignment of ${topic}-1 failed: [^\\n]*NO_REASSIGNMENT_IN_PROGRESS[^\\n]*\\.$`,
    ),
  );

  // The controller goes away; broker 3 comes back, and the next controller completes partition 0's.
  const controllerId = store.controllerId();
  assert.ok(controllerId === 1 || controllerId === 2, `controller ${controllerId}`);
  await brokers[controllerId - 1]!.stop();
  brokers[controllerId - 1] = null;
  const survivor = brokers[controllerId === 1 ? 1 : 0]!;
  await waitFor('a new controller', () => survivor.broker.clusterController?.isActive);
  brokers[2] = await startTestBroker(config(zk, 3), dirs[2]);
  // The stopped controller's broker comes back too (a target replica may be on it).
  brokers[controllerId - 1] = await startTestBroker(config(zk, controllerId), dirs[controllerId - 1]);
  const s = await waitFor('the new controller completes it', () => {
    const st = zkStore(survivor).partitionState(topic, 0)!;
    const as = zkStore(survivor).partitionAssignment(topic, 0)!;
    return as.adding.length === 0 && st.replicas.join() === '1,3' ? st : null;
  });
  assert.deepEqual([...s.isr].sort(), [1, 3]);
  await waitFor(
    "broker 2's log of the partition is deleted",
    () => partitionDirs(brokers[1]!, topic, 0).length === 0,
  );
});

test('a single node answers as a one-broker Kafka: itself is NONE, other brokers INVALID_REPLICA_ASSIGNMENT, nothing to cancel or list', async () => {
  await withBroker({}, async (b) => {
    const admin = await Admin.connect(`127.0.0.1:${b.port}`);
    try {
      await admin.createTopics([{ name: 'single', partitions: 1 }]);
      const results = await admin.alterPartitionReassignments([
        { topic: 'single', partition: 0, replicas: [1] },
        { topic: 'single', partition: 0, replicas: [2] },
        { topic: 'single', partition: 0, replicas: null },
        { topic: 'single', partition: 4, replicas: [1] },
      ]);
      assert.deepEqual(
        results.map((r) => r.errorCode),
        [
          ErrorCode.NONE,
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ],
      );
      assert.deepEqual(await admin.listPartitionReassignments(), []);
    } finally {
      await admin.close();
    }
  });
});
