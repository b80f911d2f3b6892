// Controller fencing of topic deletion (real ZooKeeper, one in-process broker): a controller whose
// /controller_epoch moved on (another controller won meanwhile) must not delete a topic's znodes when a
// deletion is requested (the active one does delete); its multi's check of the epoch znode's version fails and it resigns.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ZkSession } from '../../src/cluster/zookeeper/zk-session.js';
import { decodeState } from '../../src/cluster/zookeeper/znodes.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { makeTempDir, removeDir, startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { waitUntil } from '../helpers/in-memory-cluster.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { connect, produce } from './replication-helpers.js';
import { openZkReader } from './zk-cluster.js';

describe('controller fencing (ZooKeeper)', () => {
  let zk: ZooKeeper | null = null;
  let reader: ZkSession | null = null;
  let broker: TestBroker | null = null;
  let broker2: TestBroker | null = null;

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
    reader = await openZkReader(zk);
  });
  after(async () => {
    await broker?.stop();
    reader?.close();
    await zk?.stop();
  });

  test('a deposed controller does not delete a topic', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    broker = await startTestBroker({
      'node.id': '1',
      'zookeeper.connect': zk!.connect,
      'zookeeper.session.timeout.ms': '6000',
      'log.level': 'error',
      'controlled.shutdown.enable': 'false',
    });
    const services = broker.broker.services;
    await waitUntil(() => services.controller()?.isActive === true, 30_000, 'broker 1 is controller');
    const topic = uniqueTopic('fenced-delete');
    await services.topics.create({ name: topic, numPartitions: 2, replicationFactor: 1, configs: {} });
    const state = `/brokers/topics/${topic}/partitions/1/state`;
    for (const until = Date.now() + 30_000; (await reader!.get(state)) === null;) {
      assert.ok(Date.now() < until, 'the controller wrote the partition states');
      await new Promise((r) => setTimeout(r, 50));
    }

    // The active controller deletes: every znode of the topic goes, the request marker last.
    const other = uniqueTopic('deleted');
    await services.topics.create({ name: other, numPartitions: 2, replicationFactor: 1, configs: {} });
    await reader!.create(`/admin/delete_topics/${other}`, Buffer.alloc(0));
    for (const until = Date.now() + 30_000; ;) {
      const left = await Promise.all(
        [`/brokers/topics/${other}`, `/config/topics/${other}`, `/admin/delete_topics/${other}`].map((p) =>
          reader!.get(p),
        ),
      );
      if (left.every((n) => n === null)) break;
      assert.ok(Date.now() < until, 'the controller deleted the topic');
      await new Promise((r) => setTimeout(r, 50));
    }

    // Another controller won an election (its epoch + 1); this one has not heard of it yet.
    const epoch = (await reader!.get('/controller_epoch'))!;
    await reader!.setData(
      '/controller_epoch',
      Buffer.from(String(Number(epoch.data.toString()) + 1)),
      epoch.version,
    );
    await reader!.create(`/admin/delete_topics/${topic}`, Buffer.alloc(0));

    await waitUntil(() => services.controller()?.isActive === false, 30_000, 'the stale controller resigns');
    assert.ok((await reader!.get(`/brokers/topics/${topic}`)) !== null, 'topic znode kept');
    assert.ok((await reader!.get(state)) !== null, 'partition state kept');
    assert.ok((await reader!.get(`/config/topics/${topic}`)) !== null, 'topic config kept');
    assert.ok((await reader!.get(`/admin/delete_topics/${topic}`)) !== null, 'deletion still pending');
  });

  test('a broker restarted when nobody could see it go does not lead on its old state; the new controller decides again', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    // A fresh chroot: a one-broker cluster of its own (the broker above resigned in its cluster).
    const config = {
      'node.id': '1',
      'zookeeper.connect': `${zk!.connect}/restart`,
      'zookeeper.session.timeout.ms': '6000',
      'log.level': 'error',
      'controlled.shutdown.enable': 'false',
    };
    const dataDir = makeTempDir('brook-restart-');
    try {
      let b = await startTestBroker(config, dataDir);
      const topic = uniqueTopic('restart');
      const state = async () => {
        const node = await reader!.get(`/restart/brokers/topics/${topic}/partitions/0/state`);
        return node === null ? null : decodeState(node.data);
      };
      try {
        await b.broker.services.topics.create({
          name: topic,
          numPartitions: 1,
          replicationFactor: 1,
          configs: {},
        });
        for (const until = Date.now() + 30_000; (await state()) === null;) {
          assert.ok(Date.now() < until, 'state written');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        // The only broker, and the controller: nobody is left to see it go, so its state keeps naming it.
        await b.stop();
      }
      assert.deepEqual(await state(), { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: 1 });
      b = await startTestBroker(config, dataDir);
      broker2 = b;
      // It registered after that state was written: the controller (itself, newly elected) decides again.
      for (const until = Date.now() + 30_000; ;) {
        const s = await state();
        if (s !== null && s.leader === 1 && s.leaderEpoch >= 1) break;
        assert.ok(Date.now() < until, `a new leader epoch: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const conn = await connect(b.broker);
      try {
        for (const until = Date.now() + 30_000; ;) {
          const r = await produce(conn, topic, 0, ['after restart'], -1);
          if (r.errorCode === ErrorCode.NONE) break;
          assert.ok(Date.now() < until, `produce after the restart: error ${r.errorCode}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        conn.close();
      }
    } finally {
      await broker2?.stop();
      broker2 = null;
      removeDir(dataDir);
    }
  });
});
