// Cluster mode through a real ZooKeeper (Debian's zookeeper package) and real brokers: registration,
// Kafka's znode layout, topics shared by every broker, controller elections and failover, leader
// election when a broker dies (in-process stop, and kill -9 of a broker process), duplicate broker
// ids, producer ids unique across brokers. Short session timeouts keep the failure tests quick.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ZkSession } from '../../src/cluster/zookeeper/zk-session.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { Kafka, logLevel } from 'kafkajs';
import {
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  startTestBroker,
  uniqueTopic,
  type TestBroker,
} from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { openZkReader, waitFor, zkBrokerConfig, zkStore } from './zk-cluster.js';

const SESSION_MS = 6000;

const clusterConfig = (
  zk: ZooKeeper,
  nodeId: number,
  extra: Record<string, string> = {},
): Record<string, string> =>
  zkBrokerConfig(zk, nodeId, {
    'zookeeper.session.timeout.ms': String(SESSION_MS),
    'offsets.topic.num.partitions': '3',
    ...extra,
  });

async function readJson(s: ZkSession, path: string): Promise<Record<string, unknown>> {
  const node = await s.get(path);
  assert.ok(node, `${path} exists`);
  return JSON.parse(node.data.toString('utf8')) as Record<string, unknown>;
}

describe('cluster mode with ZooKeeper', () => {
  let zk: ZooKeeper | null = null;
  let reader: ZkSession;
  const brokers: TestBroker[] = [];

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
    reader = await openZkReader(zk);
  });
  after(async () => {
    for (const b of brokers.splice(0)) await b.stop().catch(() => undefined);
    reader?.close();
    await zk?.stop();
  });

  async function need(t: Parameters<typeof requireTool>[0]): Promise<ZooKeeper | null> {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper')))
      return null;
    return zk;
  }

  async function startBroker(nodeId: number, extra: Record<string, string> = {}): Promise<TestBroker> {
    const b = await startTestBroker(clusterConfig(zk!, nodeId, extra));
    brokers.push(b);
    return b;
  }

  async function stopBroker(b: TestBroker): Promise<void> {
    brokers.splice(brokers.indexOf(b), 1);
    await b.stop();
  }

  test('brokers register with their endpoint and rack, share one cluster id and elect one controller', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const started = await Promise.all(
      [1, 2].map((id) => startBroker(id, { 'broker.rack': `rack-${id % 2}` })),
    );
    // transaction.state.log.replication.factor (3) live brokers are needed before __transaction_state
    // is created: until then FindCoordinator for a transactional id answers COORDINATOR_NOT_AVAILABLE.
    await waitFor('two brokers seen', () => zkStore(started[0]!).liveBrokers().length === 2);
    const findTxnCoordinator = async (b: TestBroker): Promise<number> => {
      const conn = await Connection.connect('127.0.0.1', b.port);
      try {
        const res = await conn.send(ApiKey.FindCoordinator, {
          key: 'zk-txn',
          keyType: 1,
          coordinatorKeys: ['zk-txn'],
        });
        return (res.coordinators[0] ?? res).errorCode;
      } finally {
        conn.close();
      }
    };
    assert.equal(await findTxnCoordinator(started[0]!), ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(started[0]!.broker.services.topics.get('__transaction_state'), undefined);
    started.push(await startBroker(3, { 'broker.rack': 'rack-1' }));
    for (const b of started) {
      await waitFor('all three brokers seen', () => zkStore(b).liveBrokers().length === 3);
      assert.deepEqual(
        zkStore(b)
          .liveBrokers()
          .map((x) => x.nodeId),
        [1, 2, 3],
      );
    }
    const ids = new Set(started.map((b) => b.broker.services.metadata.clusterId));
    assert.equal(ids.size, 1);
    const controller = await waitFor('a controller', () => {
      const c = zkStore(started[0]!).controllerId();
      return c > 0 && started.every((b) => zkStore(b).controllerId() === c) ? c : null;
    });
    assert.ok([1, 2, 3].includes(controller));

    // Kafka's layout, readable as zkCli.sh would.
    const reg = await readJson(reader, '/brokers/ids/2');
    assert.equal(reg.version, 5);
    assert.equal(reg.host, '127.0.0.1');
    assert.equal(reg.port, started[1]!.port);
    assert.deepEqual(reg.endpoints, [`PLAINTEXT://127.0.0.1:${started[1]!.port}`]);
    assert.equal(reg.rack, 'rack-0');
    assert.ok((await reader.ephemeralOwner('/brokers/ids/2')) !== null, 'registration is ephemeral');
    const ctl = await readJson(reader, '/controller');
    assert.equal(ctl.brokerid, controller);
    assert.ok(Number((await reader.get('/controller_epoch'))!.data.toString()) >= 1);
    assert.equal((await readJson(reader, '/cluster/id')).id, started[0]!.broker.services.metadata.clusterId);

    // With three live brokers it is created with 3 replicas and min.insync.replicas 2 (Kafka's defaults).
    const deadline = Date.now() + 20_000;
    while ((await findTxnCoordinator(started[1]!)) !== ErrorCode.NONE) {
      assert.ok(Date.now() < deadline, '__transaction_state created once three brokers are live');
      await new Promise((r) => setTimeout(r, 100));
    }
    const state = started[1]!.broker.services.topics.get('__transaction_state')!;
    assert.equal(state.replicationFactor, 3);
    assert.equal(state.configs['min.insync.replicas'], '2');
  });

  test('a topic created on one broker is on every broker with the same id, config and states', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const [b1, b2, b3] = brokers;
    const topic = uniqueTopic('zk-topic');
    const created = await b1!.broker.services.topics.create({
      name: topic,
      numPartitions: 4,
      replicationFactor: 3,
      configs: { 'retention.ms': '12345' },
    });
    for (const b of [b2!, b3!]) {
      const seen = await waitFor('topic on another broker', () => b.broker.services.topics.get(topic));
      assert.equal(seen.topicId, created.topicId);
      assert.equal(seen.partitions, 4);
      assert.equal(seen.replicationFactor, 3);
      assert.deepEqual(seen.configs, { 'retention.ms': '12345' });
    }
    for (const b of brokers) {
      await waitFor('partition states everywhere', () =>
        [0, 1, 2, 3].every((p) => zkStore(b).partitionState(topic, p)),
      );
    }
    for (let p = 0; p < 4; p++) {
      const s = zkStore(b3!).partitionState(topic, p)!;
      assert.equal(s.replicas.length, 3);
      assert.equal(s.leader, s.replicas[0]);
      assert.deepEqual([...s.isr].sort(), [1, 2, 3]);
      assert.equal(s.leaderEpoch, 0);
    }
    // Leaders are spread (round-robin first replicas).
    const leaders = new Set([0, 1, 2, 3].map((p) => zkStore(b1!).partitionState(topic, p)!.leader));
    assert.equal(leaders.size, 3);
    // Every broker holds a log of every partition (each is a replica).
    for (const b of brokers) {
      await waitFor(`local logs on broker ${b.broker.config.nodeId}`, () =>
        [0, 1, 2, 3].every((p) => b.broker.services.replicas.getLog(topic, p)),
      ).catch((e: Error) => {
        throw new Error(
          e.message +
            ' ' +
            JSON.stringify(
              [0, 1, 2, 3].map((p) => [
                zkStore(b).partitionState(topic, p),
                !!b.broker.services.replicas.getLog(topic, p),
              ]),
            ),
        );
      });
    }
    // The znodes, as Kafka writes them.
    const assignment = await readJson(reader, `/brokers/topics/${topic}`);
    assert.equal(assignment.version, 3);
    assert.equal(
      assignment.topic_id,
      Buffer.from(created.topicId.replace(/-/g, ''), 'hex').toString('base64url'),
    );
    assert.equal(Object.keys(assignment.partitions as object).length, 4);
    const state = await readJson(reader, `/brokers/topics/${topic}/partitions/0/state`);
    assert.deepEqual(Object.keys(state).sort(), [
      'controller_epoch',
      'isr',
      'leader',
      'leader_epoch',
      'version',
    ]);
    assert.deepEqual(await readJson(reader, `/config/topics/${topic}`), {
      version: 1,
      config: { 'retention.ms': '12345' },
    });

    // Deleted through another broker: gone everywhere, znodes and logs.
    await b2!.broker.services.topics.delete(topic);
    for (const b of brokers) {
      await waitFor('topic gone', () => b.broker.services.topics.get(topic) === undefined);
      await waitFor('logs gone', () =>
        [0, 1, 2, 3].every((p) => !b.broker.services.replicas.getLog(topic, p)),
      );
    }
    await waitFor('znodes gone', () => zkStore(b1!).replicaAssignment(topic) === undefined);
    assert.equal(await reader.get(`/brokers/topics/${topic}`), null);
    assert.equal(await reader.get(`/admin/delete_topics/${topic}`), null);
  });

  test('topic configs and dynamic broker configs changed through one broker are in force on every broker', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const [b1, b2] = brokers;
    const topic = uniqueTopic('zk-configs');
    await b1!.broker.services.topics.create({
      name: topic,
      numPartitions: 1,
      replicationFactor: 2,
      configs: {},
    });
    await waitFor('topic on broker 2', () => b2!.broker.services.topics.get(topic));
    await b1!.broker.services.topics.setConfigs(topic, { 'retention.ms': '4321' });
    await waitFor(
      'topic config on broker 2',
      () => b2!.broker.services.topics.get(topic)!.configs['retention.ms'] === '4321',
    );
    assert.deepEqual(await readJson(reader, `/config/topics/${topic}`), {
      version: 1,
      config: { 'retention.ms': '4321' },
    });

    await b1!.broker.services.reconfigure({ 'log.retention.ms': '7654321' });
    await waitFor(
      'cluster-wide default on broker 2',
      () => b2!.broker.config.dynamicValues['log.retention.ms'] === '7654321',
    );
    assert.equal(b2!.broker.config.retentionMs, 7654321);
    assert.deepEqual(await readJson(reader, '/config/brokers/<default>'), {
      version: 1,
      config: { 'log.retention.ms': '7654321' },
    });
    await b2!.broker.services.reconfigure({ 'log.retention.ms': null });
    await waitFor(
      'removed on broker 1',
      () => b1!.broker.config.dynamicValues['log.retention.ms'] === undefined,
    );
  });

  test('kafkajs admin: CreateTopics and CreatePartitions with explicit replica assignments, answered by any broker', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const ids = brokers.map((b) => b.broker.config.nodeId).sort((a, b) => a - b);
    const kafka = new Kafka({
      clientId: 'zk-assign',
      brokers: [brokers[1]!.bootstrapServers],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const topic = uniqueTopic('zk-manual');
    const wanted = [
      [ids[2]!, ids[0]!],
      [ids[1]!, ids[2]!],
    ];
    await admin.createTopics({
      topics: [{ topic, replicaAssignment: wanted.map((replicas, partition) => ({ partition, replicas })) }],
    });
    const view = zkStore(brokers[0]!);
    await waitFor('states', () => [0, 1].every((p) => view.partitionState(topic, p)));
    assert.deepEqual(view.replicaAssignment(topic), wanted);
    assert.equal(view.partitionState(topic, 0)!.leader, ids[2]);
    await admin.createPartitions({
      topicPartitions: [{ topic, count: 3, assignments: [[ids[0]!, ids[1]!]] }],
    });
    await waitFor('third partition', () => view.partitionState(topic, 2));
    assert.deepEqual(view.replicaAssignment(topic)![2], [ids[0], ids[1]]);
    // An unknown broker is refused.
    await assert.rejects(
      admin.createTopics({
        topics: [
          { topic: uniqueTopic('zk-bad'), replicaAssignment: [{ partition: 0, replicas: [ids[0]!, 99] }] },
        ],
      }),
      (err: { errors?: { type?: string }[] }) => {
        assert.equal(err.errors?.[0]?.type, 'INVALID_REPLICA_ASSIGNMENT');
        return true;
      },
    );
  });

  test('producer ids are unique across brokers', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const ids = await Promise.all(
      brokers.flatMap((b) => Array.from({ length: 5 }, () => b.broker.services.producerIds.generate())),
    );
    assert.equal(new Set(ids).size, ids.length);
    const block = await readJson(reader, '/latest_producer_id_block');
    assert.equal(block.version, 1);
    assert.equal(typeof block.block_start, 'string');
  });

  test('a broker id already registered by a live broker is refused with a clear error', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    assert.ok(zkStore(brokers[0]!).broker(2), 'broker 2 is live');
    const attempt = startTestBroker(clusterConfig(zk, 2));
    t.after(async () => {
      const b = await attempt.catch(() => null);
      await b?.stop();
    });
    await assert.rejects(
      attempt,
      /Broker id 2 is already registered in ZooKeeper by a live broker \(127\.0\.0\.1:\d+\)/,
    );
  });

  test('a stopped broker leaves, and the controller moves its leaderships (epoch + 1, ISR shrunk)', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const topic = uniqueTopic('zk-failover');
    await brokers[0]!.broker.services.topics.create({
      name: topic,
      numPartitions: 3,
      replicationFactor: 3,
      configs: {},
    });
    const view = zkStore(brokers[0]!);
    await waitFor('states', () => [0, 1, 2].every((p) => view.partitionState(topic, p)));
    // Stop a broker that is not the controller, so this is about partition leadership only.
    const controller = view.controllerId();
    const victim = brokers.find((b) => b.broker.config.nodeId !== controller)!;
    const victimId = victim.broker.config.nodeId;
    const before = [0, 1, 2].map((p) => view.partitionState(topic, p)!);
    const startedAt = Date.now();
    await stopBroker(victim);
    const observer = zkStore(brokers.find((b) => b.broker.config.nodeId !== victimId)!);
    await waitFor('leaderships moved', () =>
      [0, 1, 2].every((p) => {
        const s = observer.partitionState(topic, p)!;
        return s.leader !== victimId && !s.isr.includes(victimId);
      }),
    );
    const elapsed = Date.now() - startedAt;
    assert.ok(elapsed < 10_000, `leadership moved after ${elapsed} ms`);
    for (let p = 0; p < 3; p++) {
      const s = observer.partitionState(topic, p)!;
      // Controlled shutdown: a partition the victim led gets a new leader (epoch + 1); one it followed
      // keeps its leader and epoch (acks=all waits there go on) and only loses the victim from its ISR.
      const epochStep = before[p]!.leader === victimId ? 1 : 0;
      assert.equal(s.leaderEpoch, before[p]!.leaderEpoch + epochStep);
      assert.ok(s.partitionEpoch > before[p]!.partitionEpoch);
      if (before[p]!.leader !== victimId) assert.equal(s.leader, before[p]!.leader);
      else assert.ok(before[p]!.isr.includes(s.leader), 'new leader came from the ISR');
    }
    // Leadership moved before the victim closed its session (controlled shutdown); it leaves right after.
    await waitFor('victim gone', () => !observer.liveBrokers().some((b) => b.nodeId === victimId));

    // It comes back: registered again, nothing forced; a preferred-leader election restores leaders.
    const back = await startBroker(victimId);
    await waitFor('back', () => observer.liveBrokers().some((b) => b.nodeId === victimId));
    assert.ok(back);
  });

  test('controller failover: the controller broker stops and another takes over with a higher epoch', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const view = zkStore(brokers[0]!);
    const old = await waitFor('controller', () => (view.controllerId() > 0 ? view.controllerId() : null));
    const epochBefore = Number((await reader.get('/controller_epoch'))!.data.toString());
    const ctlBroker = brokers.find((b) => b.broker.config.nodeId === old)!;
    await stopBroker(ctlBroker);
    const other = zkStore(brokers[0]!);
    const next = await waitFor('new controller', () => {
      const c = other.controllerId();
      return c > 0 && c !== old ? c : null;
    });
    assert.notEqual(next, old);
    const epochAfter = Number((await reader.get('/controller_epoch'))!.data.toString());
    assert.ok(epochAfter > epochBefore, `controller epoch ${epochBefore} -> ${epochAfter}`);
    // The new controller acts: a topic created now gets its states.
    const topic = uniqueTopic('zk-after-failover');
    await brokers[0]!.broker.services.topics.create({
      name: topic,
      numPartitions: 2,
      replicationFactor: 2,
      configs: {},
    });
    await waitFor('states from the new controller', () => other.partitionState(topic, 1));
    await startBroker(old); // back to three for the next test
  });

  test('a broker process killed with SIGKILL disappears after its session timeout and loses its leaderships', async (t) => {
    const zk = await need(t);
    if (!zk) return;
    const dataDir = makeTempDir('brook-zk-proc-');
    t.after(() => removeDir(dataDir));
    const proc = await spawnBrokerProcess({ dataDir, config: clusterConfig(zk, 7) });
    t.after(async () => {
      proc.kill('SIGKILL');
      await proc.waitExit();
    });
    const view = zkStore(brokers[0]!);
    await waitFor('process broker registered', () => view.broker(7));
    const topic = uniqueTopic('zk-kill');
    // Explicitly led by broker 7: create through the store with a fixed assignment.
    await view.putTopic(
      {
        name: topic,
        topicId: (await import('node:crypto')).randomUUID(),
        partitions: 1,
        replicationFactor: 2,
        configs: {},
      },
      [[7, brokers[0]!.broker.config.nodeId]],
    );
    const s0 = await waitFor('state', () => view.partitionState(topic, 0));
    assert.equal(s0.leader, 7);
    const killedAt = Date.now();
    proc.kill('SIGKILL');
    await proc.waitExit();
    const s1 = await waitFor(
      'new leader',
      () => {
        const s = view.partitionState(topic, 0);
        return s && s.leader !== 7 ? s : null;
      },
      SESSION_MS + 20_000,
    );
    const elapsed = Date.now() - killedAt;
    assert.equal(s1.leader, brokers[0]!.broker.config.nodeId);
    assert.equal(s1.leaderEpoch, 1);
    assert.deepEqual(s1.isr, [brokers[0]!.broker.config.nodeId]);
    assert.ok(!view.broker(7), 'registration gone');
    assert.ok(
      elapsed < SESSION_MS + 10_000,
      `moved ${elapsed} ms after the kill (session timeout ${SESSION_MS} ms)`,
    );
  });
});
