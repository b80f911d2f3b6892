// Cluster mode against ZooKeeper failures and elections: an unreachable ZooKeeper at startup, a
// broker whose session expires (SIGSTOP past the session timeout) and comes back, a three-server
// ensemble losing one server, preferred-leader election, and unclean leader election off by default.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from '../../src/broker/broker.js';
import type { ZooKeeperMetadataStore } from '../../src/cluster/zookeeper/zookeeper-metadata-store.js';
import { createLogger } from '../../src/logger.js';
import {
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  startTestBroker,
  uniqueTopic,
} from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { createAssigned, waitFor, zkBrokerConfig, zkStore } from './zk-cluster.js';

const SESSION_MS = 6000;

const config = (zk: ZooKeeper, nodeId: number, extra: Record<string, string> = {}): Record<string, string> =>
  zkBrokerConfig(zk, nodeId, { 'zookeeper.session.timeout.ms': String(SESSION_MS), ...extra });

async function need(t: Parameters<typeof requireTool>[0]): Promise<boolean> {
  return requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper');
}

test('startup with an unreachable ZooKeeper says so in one sentence, keeps trying, and starts once it answers', async (t) => {
  if (!(await need(t))) return;
  const zk = await startZooKeeper(1);
  t.after(() => zk.stop());
  await zk.servers[0]!.kill();
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    name: 'broker',
    env: {},
    stream: { write: (l: string) => lines.push(l) },
  });
  const dataDir = makeTempDir('brook-zk-unreachable-');
  let started: Broker | null = null;
  const starting = Broker.start({
    port: 0,
    dataDir,
    logger,
    config: config(zk, 1, { 'zookeeper.connection.timeout.ms': '1000' }),
  }).then((b) => (started = b));
  t.after(async () => {
    await starting.catch(() => undefined);
    await started?.stop();
    removeDir(dataDir);
  });
  await waitFor('the unreachable sentence', () => lines.some((l) => l.includes('is unreachable')), 15_000);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(started, null, 'not started without ZooKeeper');
  const said = lines.filter((l) => l.includes('is unreachable'));
  assert.equal(said.length, 1, `said once: ${said.join('\n')}`);
  assert.match(said[0]!, /ZooKeeper at 127\.0\.0\.1:\d+ is unreachable after 1000 ms; still trying/);
  await zk.servers[0]!.restart();
  const broker = await starting;
  assert.ok(
    (broker.services.cluster as ZooKeeperMetadataStore).broker(1),
    'registered once ZooKeeper answered',
  );
});

test('a broker whose ZooKeeper session expires loses its leaderships, then registers again on a new session', async (t) => {
  if (!(await need(t))) return;
  const zk = await startZooKeeper(1);
  t.after(() => zk.stop());
  const b1 = await startTestBroker(config(zk, 1));
  t.after(() => b1.stop());
  const dataDir = makeTempDir('brook-zk-stopped-');
  const proc = await spawnBrokerProcess({ dataDir, config: config(zk, 2) });
  t.after(async () => {
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await proc.waitExit();
    removeDir(dataDir);
  });
  await waitFor('broker 2 registered', () => zkStore(b1).broker(2));
  const topic = await createAssigned(b1, [[2, 1]], { prefix: 'zk-assigned' });
  assert.equal(zkStore(b1).partitionState(topic, 0)!.leader, 2);

  // Frozen past its session timeout: ZooKeeper expires the session, the controller moves leadership.
  proc.kill('SIGSTOP');
  const moved = await waitFor(
    'leader moved off the frozen broker',
    () => {
      const s = zkStore(b1).partitionState(topic, 0)!;
      return s.leader === 1 ? s : null;
    },
    SESSION_MS + 15_000,
  );
  assert.equal(moved.leaderEpoch, 1);
  assert.deepEqual(moved.isr, [1]);
  assert.equal(zkStore(b1).broker(2), undefined);

  // Thawed: it learns the session expired, opens a new one and registers again.
  proc.kill('SIGCONT');
  await waitFor('broker 2 registered again', () => zkStore(b1).broker(2), 20_000);
  await waitFor(
    'its log says so',
    () => proc.proc.stderr().includes('New ZooKeeper session after expiry'),
    10_000,
  );
  assert.match(proc.proc.stderr(), /ZooKeeper session lost/);
  // Nothing forced: the partition stays with broker 1.
  assert.equal(zkStore(b1).partitionState(topic, 0)!.leader, 1);
});

test('while its ZooKeeper session is lost a broker leads nothing; when it is back, it leads (and controls) again', async (t) => {
  if (!(await need(t))) return;
  const zk = await startZooKeeper(1);
  const b1 = await startTestBroker(config(zk, 1));
  t.after(async () => {
    await b1.stop();
    await zk.stop();
  });
  const topic = await createAssigned(b1, [[1]], { prefix: 'zk-assigned' });
  const leads = () => b1.broker.services.replicas.replica(topic, 0)?.isLeader === true;
  await waitFor('leader', leads);
  await waitFor('controller', () => b1.broker.clusterController?.isActive);
  await zk.servers[0]!.kill();
  await waitFor('session lost', () => !zkStore(b1).sessionValid, SESSION_MS + 10_000);
  await waitFor('no longer leading', () => !leads(), 15_000);
  assert.equal(b1.broker.clusterController?.isActive, false, 'the controller resigned');
  await zk.servers[0]!.restart();
  await waitFor('session back', () => zkStore(b1).sessionValid, 60_000);
  await waitFor('leading again', leads, 30_000);
  await waitFor('controller again', () => b1.broker.clusterController?.isActive, 30_000);
  assert.ok(zkStore(b1).broker(1), 'registered');
});

test('a three-server ZooKeeper ensemble keeps the cluster working when one server is killed', async (t) => {
  if (!(await need(t))) return;
  const zk = await startZooKeeper(3);
  t.after(() => zk.stop());
  const b1 = await startTestBroker(config(zk, 1));
  t.after(() => b1.stop());
  const b2 = await startTestBroker(config(zk, 2));
  let b2Stopped = false;
  t.after(() => (b2Stopped ? undefined : b2.stop()));
  await waitFor('both registered', () => zkStore(b1).liveBrokers().length === 2);
  await zk.servers[0]!.kill();
  // Clients on the killed server move to another one within their session timeout.
  const topic = uniqueTopic('zk-ensemble');
  await b1.broker.services.topics.create({
    name: topic,
    numPartitions: 2,
    replicationFactor: 2,
    configs: {},
  });
  await waitFor('topic and states on broker 2', () =>
    [0, 1].every((p) => zkStore(b2).partitionState(topic, p)),
  );
  const led = [0, 1].filter((p) => zkStore(b1).partitionState(topic, p)!.leader === 2);
  b2Stopped = true;
  await b2.stop();
  await waitFor('leadership moved to broker 1', () =>
    [0, 1].every((p) => zkStore(b1).partitionState(topic, p)!.leader === 1),
  );
  for (const p of led) assert.equal(zkStore(b1).partitionState(topic, p)!.leaderEpoch, 1);
});

test('preferred-leader election gives leadership back; unclean election is off unless enabled', async (t) => {
  if (!(await need(t))) return;
  const zk = await startZooKeeper(1);
  t.after(() => zk.stop());
  const dir1 = makeTempDir('brook-zk-pref1-');
  const dir2 = makeTempDir('brook-zk-pref2-');
  let b1 = await startTestBroker(config(zk, 1), dir1);
  let b2 = await startTestBroker(config(zk, 2), dir2);
  const running = new Set([b1, b2]);
  t.after(async () => {
    for (const b of running) await b.stop();
    removeDir(dir1);
    removeDir(dir2);
  });
  await waitFor('both registered', () => zkStore(b2).liveBrokers().length === 2);
  const topic = await createAssigned(b2, [[1, 2]], { prefix: 'zk-assigned' });

  // Broker 1 stops: broker 2 leads. Broker 1 returns: nothing forced.
  running.delete(b1);
  await b1.stop();
  await waitFor('broker 2 leads', () => zkStore(b2).partitionState(topic, 0)!.leader === 2);
  b1 = await startTestBroker(config(zk, 1), dir1);
  running.add(b1);
  await waitFor('broker 1 back', () => zkStore(b2).broker(1));
  // It follows broker 2 and rejoins the ISR (replication), then the preferred leader can take over.
  await waitFor('broker 1 in the ISR', () => zkStore(b2).partitionState(topic, 0)!.isr.includes(1), 30_000);
  assert.equal(zkStore(b2).partitionState(topic, 0)!.leader, 2);
  const controller = [b1, b2].find((b) => b.broker.clusterController?.isActive)!;
  const before = zkStore(b2).partitionState(topic, 0)!;
  const elected = await controller.broker.clusterController!.electPreferredLeaders([{ topic, partition: 0 }]);
  assert.deepEqual(elected, [{ topic, partition: 0 }]);
  await waitFor('broker 1 leads again', () => zkStore(b2).partitionState(topic, 0)!.leader === 1);
  assert.equal(zkStore(b2).partitionState(topic, 0)!.leaderEpoch, before.leaderEpoch + 1);

  // Only broker 1 in the ISR, then broker 1 dies: offline (leader -1), broker 2 is not elected.
  running.delete(b2);
  await b2.stop();
  await waitFor('ISR shrunk to broker 1', () => zkStore(b1).partitionState(topic, 0)!.isr.join() === '1');
  running.delete(b1);
  await b1.stop();
  b2 = await startTestBroker(config(zk, 2), dir2);
  running.add(b2);
  await waitFor('offline partition seen', () => zkStore(b2).partitionState(topic, 0)!.leader === -1);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(zkStore(b2).partitionState(topic, 0)!.leader, -1, 'no unclean election by default');
  assert.deepEqual(zkStore(b2).partitionState(topic, 0)!.isr, [1]);
  // With unclean.leader.election.enable the out-of-sync replica takes over.
  running.delete(b2);
  await b2.stop();
  b2 = await startTestBroker(config(zk, 2, { 'unclean.leader.election.enable': 'true' }), dir2);
  running.add(b2);
  const s = await waitFor('unclean leader', () => {
    const st = zkStore(b2).partitionState(topic, 0);
    return st && st.leader === 2 ? st : null;
  });
  assert.deepEqual(s.isr, [2]);
});

test('auto.leader.rebalance.enable: the controller gives leadership back to the preferred replica on its own', async (t) => {
  if (!(await need(t))) return;
  const zk = await startZooKeeper(1);
  const dir1 = makeTempDir('brook-zk-auto1-');
  const extra = { 'auto.leader.rebalance.enable': 'true', 'leader.imbalance.check.interval.seconds': '1' };
  let b1 = await startTestBroker(config(zk, 1, extra), dir1);
  const b2 = await startTestBroker(config(zk, 2, extra));
  const running = new Set([b1, b2]);
  t.after(async () => {
    for (const b of running) await b.stop();
    removeDir(dir1);
    await zk.stop();
  });
  await waitFor('both registered', () => zkStore(b2).liveBrokers().length === 2);
  const topic = await createAssigned(b2, [[1, 2]], { prefix: 'zk-assigned' });
  running.delete(b1);
  await b1.stop();
  await waitFor('broker 2 leads', () => zkStore(b2).partitionState(topic, 0)!.leader === 2);
  const epoch = zkStore(b2).partitionState(topic, 0)!.leaderEpoch;
  b1 = await startTestBroker(config(zk, 1, extra), dir1);
  running.add(b1);
  // Back in the ISR (replication), then the imbalance check elects it: no request needed.
  const s = await waitFor(
    'broker 1 leads again by itself',
    () => {
      const st = zkStore(b2).partitionState(topic, 0)!;
      return st.leader === 1 ? st : null;
    },
    45_000,
  );
  assert.equal(s.leaderEpoch, epoch + 1);
});
