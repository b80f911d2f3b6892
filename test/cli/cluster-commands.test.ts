// The operator's view of brokers and partitions, run as a user runs it (`node
// dist/src/cli/main.js`): `brook cluster describe` (DescribeCluster), `brook cluster log-dirs`
// (DescribeLogDirs) and `brook topics describe` (Metadata: leader, leader epoch, replicas, ISR,
// offline replicas). First one real broker with a rack; then three real in-process brokers whose
// partition states are set through the in-memory coordinator (the test double of ZooKeeper and the
// controller), to show replicas, a dead broker's offline replicas, a leaderless partition and a new
// leader epoch.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Admin, Producer } from '../../src/index.js';
import { REPO_ROOT, startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { TestCluster, waitUntil } from '../helpers/in-memory-cluster.js';
import { runCommand } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const MAIN = BROOK_CLI;

/** Runs `brook args --bootstrap-server bootstrap`, requires exit 0, returns stdout. */
async function brook(bootstrap: string, args: string[]): Promise<string> {
  const r = await runCommand(process.execPath, [MAIN, ...args, '--bootstrap-server', bootstrap], {
    cwd: REPO_ROOT,
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, `brook ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function segmentBytes(dataDir: string, topic: string, partition: number): number {
  const dir = join(dataDir, `${topic}-${partition}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

/** The partition lines of `brook topics describe`, as field maps. */
function partitionLines(out: string): Map<string, string>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('\tTopic:'))
    .map(
      (l) =>
        new Map(
          l
            .slice(1)
            .split('\t')
            .map((f) => f.split(': ') as [string, string]),
        ),
    );
}

describe('brook cluster / topics describe on one broker', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ 'broker.rack': 'rack-a' });
  });
  after(async () => {
    await b?.stop();
  });

  test('cluster describe: cluster id, controller, the broker with its endpoint and rack', async () => {
    assert.equal(
      await brook(b.bootstrapServers, ['cluster', 'describe']),
      `ClusterId: ${b.broker.services.metadata.clusterId}\tController: 1\tBrokers: 1\n` +
        `\tBroker: 1\tEndpoint: 127.0.0.1:${b.port}\tRack: rack-a\n`,
    );
  });

  test('cluster log-dirs --topic: the dir with its disk space, each partition with its size on disk', async () => {
    const topic = uniqueTopic('cli-dirs');
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([{ name: topic, partitions: 2 }]);
    await admin.close();
    const producer = await Producer.connect(b.bootstrapServers);
    await producer.send({ topic, messages: [{ partition: 1, value: 'x'.repeat(500) }] });
    await producer.close();

    const [dirs, partitions] = (await brook(b.bootstrapServers, ['cluster', 'log-dirs', '--topic', topic]))
      .trimEnd()
      .split('\n\n');
    const dirRows = dirs!.split('\n');
    assert.match(dirRows[0]!, /^BROKER\s+LOG-DIR\s+STATUS\s+TOTAL-BYTES\s+USABLE-BYTES$/);
    const [broker, path, status, total, usable] = dirRows[1]!.split(/\s+/);
    assert.deepEqual([broker, path, status], ['1', b.dataDir, 'online']);
    assert.ok(Number(total) > 0 && Number(usable) > 0 && Number(usable) <= Number(total));
    const size1 = segmentBytes(b.dataDir, topic, 1);
    assert.ok(size1 > 500);
    assert.deepEqual(
      partitions!.split('\n').map((l) => l.split(/\s+/)),
      [
        ['BROKER', 'TOPIC', 'PARTITION', 'SIZE', 'OFFSET-LAG'],
        ['1', topic, '0', '0', '0'],
        ['1', topic, '1', String(size1), '0'],
      ],
    );
  });
});

describe('brook topics describe / cluster describe on three brokers', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start(3, {
      'replica.fetch.wait.max.ms': '100',
      'replica.fetch.backoff.ms': '100',
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('leader, epoch, replicas, ISR; then a dead broker, a leaderless partition and a new leader', async () => {
    const bootstrap = cluster.broker(1).bootstrapServers;
    const ports = [1, 2, 3].map((id) => cluster.broker(id).port);
    assert.equal(
      await brook(bootstrap, ['cluster', 'describe']),
      `ClusterId: ${cluster.broker(1).services.metadata.clusterId}\tController: 1\tBrokers: 3\n` +
        ports.map((port, i) => `\tBroker: ${i + 1}\tEndpoint: 127.0.0.1:${port}\tRack: none\n`).join(''),
    );

    const topic = 'described';
    await cluster.createTopic(topic, [
      [1, 2, 3],
      [3, 1, 2],
    ]);
    await waitUntil(
      () =>
        cluster.broker(1).services.replicas.replica(topic, 0)?.isLeader === true &&
        cluster.broker(3).services.replicas.replica(topic, 1)?.isLeader === true,
      10_000,
      'leaders',
    );
    const producer = await Producer.connect(bootstrap);
    await producer.send({
      topic,
      messages: [
        { partition: 0, value: 'a' },
        { partition: 1, value: 'b' },
      ],
    });
    await producer.close();

    const healthy = await brook(bootstrap, ['topics', 'describe', topic]);
    assert.match(healthy.split('\n')[0]!, /\tPartitionCount: 2\tReplicationFactor: 3\t/);
    assert.equal(
      healthy.split('\n').slice(1).join('\n'),
      `\tTopic: ${topic}\tPartition: 0\tLeader: 1\tLeaderEpoch: 0\tReplicas: 1,2,3\tIsr: 1,2,3\tLogStartOffset: 0\tLogEndOffset: 1\n` +
        `\tTopic: ${topic}\tPartition: 1\tLeader: 3\tLeaderEpoch: 0\tReplicas: 3,1,2\tIsr: 3,1,2\tLogStartOffset: 0\tLogEndOffset: 1\n`,
    );

    // Every replica of both partitions, on each broker, with lag 0 once the followers have the record.
    await waitUntil(
      () =>
        [1, 2, 3].every((id) =>
          [0, 1].every((p) => cluster.broker(id).services.replicas.getLog(topic, p)?.highWatermark === 1),
        ),
      10_000,
      'followers caught up',
    );
    const rows = (await brook(bootstrap, ['cluster', 'log-dirs', '--topic', topic]))
      .trimEnd()
      .split('\n\n')[1]!
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/));
    assert.deepEqual(
      rows.map(([broker, t, p, , lag]) => [broker, t, p, lag]),
      [1, 2, 3].flatMap((id) => [0, 1].map((p) => [String(id), topic, String(p), '0'])),
    );
    for (const [broker, , p, size] of rows) {
      assert.equal(Number(size), segmentBytes(cluster.nodes.get(Number(broker))!.dataDir, topic, Number(p)));
    }

    // Broker 3 dies: partition 0 keeps its leader and shows 3 offline; partition 1 (led by 3) has no leader.
    await cluster.stopNode(3);
    const degraded = partitionLines(await brook(bootstrap, ['topics', 'describe', topic]));
    assert.equal(degraded[0]!.get('Leader'), '1');
    assert.equal(degraded[0]!.get('Isr'), '1,2');
    assert.equal(degraded[0]!.get('Offline'), '3');
    assert.equal(degraded[0]!.get('LogEndOffset'), '1');
    assert.equal(degraded[1]!.get('Leader'), 'none');
    assert.equal(degraded[1]!.get('Replicas'), '3,1,2');
    assert.equal(degraded[1]!.get('Offline'), '3');
    assert.equal(degraded[1]!.get('LogStartOffset'), 'N/A');
    assert.equal(degraded[1]!.get('LogEndOffset'), 'N/A');
    assert.match(await brook(bootstrap, ['cluster', 'describe']), /\tBrokers: 2\n/);

    // The controller (here: the test) elects broker 1 for partition 1: a new leader epoch.
    cluster.coordinator.setPartition(topic, 1, { leader: 1, isr: [1, 2] });
    await waitUntil(
      () => cluster.broker(1).services.replicas.replica(topic, 1)?.isLeader === true,
      10_000,
      'new leader',
    );
    const recovered = partitionLines(await brook(bootstrap, ['topics', 'describe', topic]));
    assert.deepEqual(
      ['Leader', 'LeaderEpoch', 'Isr', 'Offline', 'LogEndOffset'].map((k) => recovered[1]!.get(k)),
      ['1', '1', '1,2', '3', '1'],
    );
  });
});
