// Replication through a real ZooKeeper (Debian's zookeeper package): three real in-process brokers
// coordinated by ZooKeeper and their controller, an idempotent kafkajs producer writing with acks=all
// to a topic with replication factor 3 and min.insync.replicas=2 while its leader broker stops; every
// acknowledged record is read back once, in order, from the new leader, and the followers' logs match.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { waitUntil } from '../helpers/in-memory-cluster.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { connect, readValues, segmentBytes } from './replication-helpers.js';

const SESSION_MS = 4000;

describe('replication with ZooKeeper', () => {
  let zk: ZooKeeper | null = null;
  const brokers = new Map<number, TestBroker>();

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
  });
  after(async () => {
    for (const b of brokers.values()) await b.stop().catch(() => undefined);
    await zk?.stop();
  });

  test('acks=all writes survive the leader stopping: read back once, in order; followers hold the same log', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    for (const id of [1, 2, 3]) {
      brokers.set(
        id,
        await startTestBroker({
          'node.id': String(id),
          'zookeeper.connect': zk!.connect,
          'zookeeper.session.timeout.ms': String(SESSION_MS),
          'offsets.topic.num.partitions': '1',
          'replica.fetch.wait.max.ms': '100',
        }),
      );
    }
    await waitUntil(
      () => brokers.get(1)!.broker.services.cluster.liveBrokers().length === 3,
      20_000,
      'three live brokers',
    );
    const topic = uniqueTopic('zk-repl');
    await brokers.get(1)!.broker.services.topics.create({
      name: topic,
      numPartitions: 1,
      replicationFactor: 3,
      configs: { 'min.insync.replicas': '2' },
    });
    const leaderOf = (): number =>
      brokers.get(1)!.broker.services.cluster.partitionState(topic, 0)?.leader ?? -1;
    await waitUntil(
      () =>
        leaderOf() > 0 &&
        brokers.get(leaderOf())?.broker.services.replicas.replica(topic, 0)?.isLeader === true,
      20_000,
      'a leader',
    );
    const kafka = new Kafka({
      clientId: 'brook-zk-repl',
      brokers: [...brokers.values()].map((b) => b.bootstrapServers),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const acked: string[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        const value = `z${i}`;
        await producer.send({ topic, acks: -1, messages: [{ value, partition: 0 }] });
        acked.push(value);
      }
    })();
    const firstLeader = leaderOf();
    try {
      await waitUntil(() => acked.length >= 30, 30_000, 'first writes');
      const stoppedAt = Date.now();
      const victim = brokers.get(firstLeader)!;
      brokers.delete(firstLeader);
      await victim.stop();
      await waitUntil(
        () => {
          const l = brokers.get(1)?.broker ?? brokers.get(2)!.broker;
          const s = l.services.cluster.partitionState(topic, 0);
          return s !== undefined && s.leader > 0 && s.leader !== firstLeader;
        },
        20_000,
        'a new leader',
      );
      const mark = acked.length;
      await waitUntil(() => acked.length >= mark + 30, 30_000, 'writes to the new leader');
      t.diagnostic(
        `leader ${firstLeader} stopped; ${acked.length} acknowledged; ${Date.now() - stoppedAt} ms to 30 more`,
      );
    } finally {
      stop = true;
      await writing.catch(() => undefined);
      await producer.disconnect();
    }

    const any = [...brokers.values()][0]!.broker;
    const newLeader = any.services.cluster.partitionState(topic, 0)!.leader;
    const conn = await connect(brokers.get(newLeader)!.broker);
    try {
      const log = brokers.get(newLeader)!.broker.services.replicas.getLog(topic, 0)!;
      await waitUntil(() => log.highWatermark === log.logEndOffset, 10_000, 'high watermark at the log end');
      assert.deepEqual(await readValues(conn, topic, 0), acked, 'every acknowledged record once, in order');
    } finally {
      conn.close();
    }
    // The surviving replicas hold the same bytes.
    const [a, b] = [...brokers.values()];
    await waitUntil(
      () =>
        a!.broker.services.replicas.getLog(topic, 0)!.logEndOffset ===
        b!.broker.services.replicas.getLog(topic, 0)!.logEndOffset,
      10_000,
      'followers caught up',
    );
    const bytes = await Promise.all([a!, b!].map((x) => segmentBytes(x.dataDir, topic, 0)));
    assert.ok(bytes[0]!.equals(bytes[1]!), 'the two surviving replicas hold identical logs');
  });
});
