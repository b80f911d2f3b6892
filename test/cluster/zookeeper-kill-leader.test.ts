// No acknowledged write lost when a leader dies: three broker processes (the real CLI) coordinated by a
// real ZooKeeper, a topic with replication factor 3 and min.insync.replicas=2, an idempotent kafkajs
// producer writing with acks=all while the partition leader's process is killed with SIGKILL. After the
// controller moved leadership (the dead broker's session expired), every acknowledged record is read
// back from the new leader once, in order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from '../../src/client/connection.js';
import {
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  uniqueTopic,
  type BrokerProcess,
} from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { waitUntil } from '../helpers/in-memory-cluster.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { readValues } from './replication-helpers.js';
import { startAckedWriter } from './acked-writer.js';

const SESSION_MS = 4000;

describe('kill -9 of a partition leader (ZooKeeper, broker processes)', () => {
  let zk: ZooKeeper | null = null;
  const procs = new Map<number, BrokerProcess>();
  const dirs: string[] = [];

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
  });
  after(async () => {
    for (const p of procs.values()) {
      p.kill('SIGKILL');
      await p.waitExit();
    }
    for (const d of dirs) removeDir(d);
    await zk?.stop();
  });

  test('every acknowledged acks=all record is readable from the new leader, once, in order', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    for (const id of [1, 2, 3]) {
      const dataDir = makeTempDir(`brook-kill-${id}-`);
      dirs.push(dataDir);
      procs.set(
        id,
        await spawnBrokerProcess({
          dataDir,
          config: {
            'node.id': String(id),
            'zookeeper.connect': zk!.connect,
            'zookeeper.session.timeout.ms': String(SESSION_MS),
            'offsets.topic.num.partitions': '1',
            'replica.fetch.wait.max.ms': '100',
          },
        }),
      );
    }
    const kafka = new Kafka({
      clientId: 'brook-kill-leader',
      brokers: [...procs.values()].map((p) => p.bootstrapServers),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueTopic('kill-leader');
    const leaderOf = async (): Promise<number> => {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      return md.topics[0]!.partitions[0]!.leader;
    };
    try {
      // Until all three brokers are registered, a replication factor of 3 is refused: retry.
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await admin.createTopics({
            topics: [
              {
                topic,
                numPartitions: 1,
                replicationFactor: 3,
                configEntries: [{ name: 'min.insync.replicas', value: '2' }],
              },
            ],
            waitForLeaders: true,
          });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      const writer = await startAckedWriter(kafka, topic, 'k');
      const acked = writer.acked;
      let first = -1;
      try {
        await waitUntil(() => acked.length >= 50, 60_000, 'first writes');
        first = await leaderOf();
        const killedAt = Date.now();
        procs.get(first)!.kill('SIGKILL');
        await procs.get(first)!.waitExit();
        procs.delete(first);
        const mark = acked.length;
        await waitUntil(
          () => acked.length >= mark + 50 || writer.failure() !== null,
          60_000,
          'writes to the new leader',
        );
        t.diagnostic(`killed leader ${first}; writes resumed, ${Date.now() - killedAt} ms to 50 more`);
      } finally {
        await writer.stop();
      }
      assert.equal(writer.failure(), null, `the producer gave up: ${String(writer.failure())}`);
      let leader = await leaderOf();
      for (const until = Date.now() + 30_000; (leader <= 0 || leader === first) && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 200));
        leader = await leaderOf();
      }
      assert.ok(leader > 0 && leader !== first, `new leader ${leader}`);
      const conn = await Connection.connect('127.0.0.1', procs.get(leader)!.port);
      try {
        const values = await readValues(conn, topic);
        assert.deepEqual(values, acked, 'every acknowledged record, once, in order');
      } finally {
        conn.close();
      }
    } finally {
      await admin.disconnect();
    }
  });
});
