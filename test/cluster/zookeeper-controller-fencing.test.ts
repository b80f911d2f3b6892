// Controller fencing of topic deletion (real ZooKeeper, one in-process broker): a controller whose
// /controller_epoch moved on (another controller won meanwhile) must not delete a topic's znodes when a
// deletion is requested (the active one does delete); its multi's check of the epoch znode's version fails and it resigns.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ZkSession } from '../../src/cluster/zookeeper/zk-session.js';
import { createLogger } from '../../src/logger.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { waitUntil } from '../helpers/in-memory-cluster.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';

describe('controller fencing (ZooKeeper)', () => {
  let zk: ZooKeeper | null = null;
  let reader: ZkSession | null = null;
  let broker: TestBroker | null = null;

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
    reader = await ZkSession.open({
      connect: zk.connect,
      sessionTimeoutMs: 10_000,
      connectionTimeoutMs: 10_000,
      logger: createLogger({ level: 'error', name: 'zk-reader' }),
    });
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
});
