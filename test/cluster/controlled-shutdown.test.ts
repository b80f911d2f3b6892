// ControlledShutdown (API 7) over a real ZooKeeper, at the protocol level: a broker that is not the
// controller answers NOT_CONTROLLER; the controller answers BROKER_NOT_AVAILABLE for an unregistered
// id; for a live broker it moves every leadership that broker holds to the other ISR member (leader
// epoch + 1) and answers with nothing remaining. A single node answers NONE. (The rolling restart of
// CLI brokers under load is in zookeeper-rolling-restart.test.ts.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { makeTempDir, removeDir, startTestBroker, uniqueTopic, withBroker } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { waitFor, zkBrokerConfig, zkStore } from './zk-cluster.js';

const config = (zk: ZooKeeper, nodeId: number, extra: Record<string, string> = {}): Record<string, string> =>
  zkBrokerConfig(zk, nodeId, { 'auto.leader.rebalance.enable': 'false', ...extra });

async function controlledShutdown(port: number, brokerId: number) {
  const conn = await Connection.connect('127.0.0.1', port);
  try {
    return await conn.send(ApiKey.ControlledShutdown, { brokerId, brokerEpoch: -1n });
  } finally {
    conn.close();
  }
}

test('ControlledShutdown at the controller moves a live broker’s leaderships; other brokers refuse', async (t) => {
  if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
  const zk = await startZooKeeper(1);
  t.after(() => zk.stop());
  const dirs = [makeTempDir('brook-cs1-'), makeTempDir('brook-cs2-')];
  const brokers = [
    await startTestBroker(config(zk, 1), dirs[0]),
    await startTestBroker(config(zk, 2), dirs[1]),
  ];
  t.after(async () => {
    for (const b of brokers) await b.stop();
    for (const d of dirs) removeDir(d);
  });
  const b1 = brokers[0]!;
  await waitFor('both registered', () => zkStore(b1).liveBrokers().length === 2);
  const controllerId = await waitFor('controller', () =>
    zkStore(b1).controllerId() > 0 ? zkStore(b1).controllerId() : null,
  );
  const controller = brokers.find((b) => b.broker.config.nodeId === controllerId)!;
  const other = brokers.find((b) => b.broker.config.nodeId !== controllerId)!;
  const otherId = other.broker.config.nodeId;
  const topic = uniqueTopic('cshut');
  await zkStore(b1).putTopic(
    { name: topic, topicId: randomUUID(), partitions: 2, replicationFactor: 2, configs: {} },
    [
      [otherId, controllerId],
      [controllerId, otherId],
    ],
  );
  await waitFor('both in sync', () =>
    [0, 1].every((p) => zkStore(controller).partitionState(topic, p)?.isr.length === 2),
  );
  const before = zkStore(controller).partitionState(topic, 0)!;
  const before1 = zkStore(controller).partitionState(topic, 1)!;
  assert.equal(before.leader, otherId);

  const refused = await controlledShutdown(other.port, otherId);
  assert.equal(refused.errorCode, ErrorCode.NOT_CONTROLLER);
  const unknown = await controlledShutdown(controller.port, 99);
  assert.equal(unknown.errorCode, ErrorCode.BROKER_NOT_AVAILABLE);

  const res = await controlledShutdown(controller.port, otherId);
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.deepEqual(res.remainingPartitions, []);
  const after0 = zkStore(controller).partitionState(topic, 0)!;
  assert.equal(after0.leader, controllerId, 'partition 0 moved to the other ISR member');
  assert.equal(after0.leaderEpoch, before.leaderEpoch + 1);
  // Partition 1, which it only followed: same leader and epoch (it leaves the ISR, and since this
  // broker does not really stop, its fetcher may bring it back at once).
  assert.equal(zkStore(controller).partitionState(topic, 1)!.leaderEpoch, before1.leaderEpoch);
  assert.equal(zkStore(controller).partitionState(topic, 1)!.leader, controllerId);
  await waitFor('the broker sees it leads nothing', () =>
    [0, 1].every((p) => zkStore(other).partitionState(topic, p)?.leader === controllerId),
  );
});

test('a single node answers ControlledShutdown with NONE and nothing remaining', async () => {
  await withBroker({}, async (b) => {
    const res = await controlledShutdown(b.port, b.broker.config.nodeId);
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.deepEqual(res.remainingPartitions, []);
  });
});
