// Topic config changes in a cluster, as Kafka's ZooKeeper mode makes them: the broker that serves
// AlterConfigs / IncrementalAlterConfigs writes /config/topics/<t> and, in the same transaction, a sequential
// /config/changes/config_change_ notification; every broker watches /config/changes and applies the
// change to its logs. Shown with max.message.bytes altered through broker 1 and a produce to the
// partition's leader on broker 2, and with a change written as Kafka's own tools write it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ZkSession } from '../../src/cluster/zookeeper/zk-session.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { waitUntil } from '../helpers/in-memory-cluster.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { produce } from './replication-helpers.js';
import { openZkReader } from './zk-cluster.js';

const TOPIC_RESOURCE = 2;

describe('topic config changes through /config/changes (ZooKeeper)', () => {
  let zk: ZooKeeper | null = null;
  let reader: ZkSession | null = null;
  const brokers: TestBroker[] = [];

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
    reader = await openZkReader(zk);
  });
  after(async () => {
    await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
    reader?.close();
    await zk?.stop();
  });

  test('max.message.bytes altered through broker 1 is obeyed by the leader on broker 2', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    for (const id of [1, 2, 3]) {
      brokers.push(
        await startTestBroker({
          'node.id': String(id),
          'zookeeper.connect': zk!.connect,
          'zookeeper.session.timeout.ms': '6000',
          'controlled.shutdown.enable': 'false',
          'log.level': 'error',
        }),
      );
    }
    const [b1, b2] = brokers;
    await waitUntil(
      () => brokers.every((b) => b.broker.services.cluster.liveBrokers().length === 3),
      30_000,
      'three brokers registered',
    );
    const topic = uniqueTopic('config-change');
    await b1!.broker.services.topics.create({
      name: topic,
      numPartitions: 1,
      replicationFactor: 3,
      configs: {},
      assignment: [[2, 1, 3]],
    });
    const conn2 = await Connection.connect('127.0.0.1', b2!.port);
    const conn1 = await Connection.connect('127.0.0.1', b1!.port);
    try {
      const big = 'x'.repeat(2000);
      // Broker 2 leads; before the change, 2000 bytes are fine.
      for (const until = Date.now() + 30_000; ;) {
        const r = await produce(conn2, topic, 0, [big], 1);
        if (r.errorCode === ErrorCode.NONE) break;
        assert.ok(Date.now() < until, `first produce: error ${r.errorCode}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      const before = new Set((await reader!.children('/config/changes')) ?? []);
      const res = await conn1.send(ApiKey.AlterConfigs, {
        resources: [
          {
            resourceType: TOPIC_RESOURCE,
            resourceName: topic,
            configs: [{ name: 'max.message.bytes', value: '1000' }],
          },
        ],
        validateOnly: false,
      });
      assert.equal(res.responses[0]!.errorCode, ErrorCode.NONE);
      // Kafka's layout: the config, and a notification naming the entity.
      const config = await reader!.get(`/config/topics/${topic}`);
      assert.deepEqual(JSON.parse(config!.data.toString()), {
        version: 1,
        config: { 'max.message.bytes': '1000' },
      });
      const added = ((await reader!.children('/config/changes')) ?? []).filter((c) => !before.has(c));
      assert.equal(added.length, 1, `one notification: ${added.join(',')}`);
      assert.match(added[0]!, /^config_change_\d{10}$/);
      const note = await reader!.get(`/config/changes/${added[0]}`);
      assert.deepEqual(JSON.parse(note!.data.toString()), { version: 2, entity_path: `topics/${topic}` });

      // The leader on broker 2 obeys it.
      for (const until = Date.now() + 30_000; ;) {
        const r = await produce(conn2, topic, 0, [big], 1);
        if (r.errorCode === ErrorCode.MESSAGE_TOO_LARGE) break;
        assert.equal(r.errorCode, ErrorCode.NONE);
        assert.ok(Date.now() < until, 'broker 2 applied max.message.bytes=1000');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await produce(conn2, topic, 0, ['small'], 1)).errorCode, ErrorCode.NONE);

      // A change written as Kafka's tools write it (config znode, then a notification) applies too.
      await reader!.setData(
        `/config/topics/${topic}`,
        Buffer.from(JSON.stringify({ version: 1, config: { 'max.message.bytes': '5000' } })),
        -1,
      );
      await reader!.create(
        '/config/changes/config_change_',
        Buffer.from(JSON.stringify({ version: 2, entity_path: `topics/${topic}` })),
        2, // PERSISTENT_SEQUENTIAL
      );
      for (const until = Date.now() + 30_000; ;) {
        const r = await produce(conn2, topic, 0, [big], 1);
        if (r.errorCode === ErrorCode.NONE) break;
        assert.equal(r.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
        assert.ok(Date.now() < until, 'broker 2 applied max.message.bytes=5000');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      conn1.close();
      conn2.close();
    }
  });
});
