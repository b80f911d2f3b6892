// A rolling restart loses no request (issue 8): three broker processes (the real CLI) on a real
// ZooKeeper, a topic with three partitions, replication factor 3 and min.insync.replicas=2, and an
// idempotent kafkajs producer writing with acks=all to every partition without pause. Each broker in
// turn gets SIGTERM: it asks the controller to move its leaderships away (ControlledShutdown), exits,
// is started again on its data dir and port, and the test waits until it is back in every ISR before
// the next one. No send may fail, every acknowledged record is read back once and in order, and each
// stopped broker says its controlled shutdown succeeded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
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

const PARTITIONS = 3;
const BROKERS = [1, 2, 3];

describe('rolling restart with controlled shutdown (ZooKeeper, broker processes)', () => {
  let zk: ZooKeeper | null = null;
  const procs = new Map<number, BrokerProcess>();
  const dirs = new Map<number, string>();

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
  });
  after(async () => {
    for (const p of procs.values()) {
      p.kill('SIGKILL');
      await p.waitExit();
    }
    for (const d of dirs.values()) removeDir(d);
    await zk?.stop();
  });

  test('no acks=all send fails and every acknowledged record is read back once, in order', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    const startBroker = async (id: number, port?: number): Promise<BrokerProcess> => {
      const p = await spawnBrokerProcess({
        dataDir: dirs.get(id)!,
        port,
        config: {
          'node.id': String(id),
          'zookeeper.connect': zk!.connect,
          'zookeeper.session.timeout.ms': '6000',
          'offsets.topic.num.partitions': '1',
          'replica.fetch.wait.max.ms': '100',
        },
      });
      procs.set(id, p);
      return p;
    };
    for (const id of BROKERS) dirs.set(id, makeTempDir(`brook-rolling-${id}-`));
    await Promise.all(BROKERS.map((id) => startBroker(id)));
    const kafka = new Kafka({
      clientId: 'brook-rolling-restart',
      brokers: [...procs.values()].map((p) => p.bootstrapServers),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueTopic('rolling');
    const isrs = async (): Promise<number[][]> => {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      return md.topics[0]!.partitions.map((p) => p.isr);
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
                numPartitions: PARTITIONS,
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
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const acked: string[][] = Array.from({ length: PARTITIONS }, () => []);
      let sent = 0;
      let stop = false;
      let failure: unknown = null;
      const writing = (async () => {
        for (let i = 0; !stop; i++) {
          const partition = i % PARTITIONS;
          const value = `v${i}`;
          try {
            await producer.send({ topic, acks: -1, messages: [{ value, partition }] });
            acked[partition]!.push(value);
            sent++;
          } catch (err) {
            failure = err;
            break;
          }
        }
      })();
      try {
        await waitUntil(() => sent >= 60 || failure !== null, 30_000, 'first writes');
        for (const id of BROKERS) {
          const old = procs.get(id)!;
          const t0 = Date.now();
          old.kill('SIGTERM');
          const exit = await old.waitExit();
          const stoppedMs = Date.now() - t0;
          assert.equal(exit.code, 0, `broker ${id} exit ${JSON.stringify(exit)}: ${old.proc.stderr()}`);
          const logged = old.proc.lines.join('\n') + old.proc.stderr();
          assert.ok(
            logged.includes('Controlled shutdown succeeded'),
            `broker ${id} logged no successful controlled shutdown:\n${logged.slice(-3000)}`,
          );
          const mark = sent;
          await startBroker(id, old.port);
          for (const until = Date.now() + 30_000; ;) {
            if ((await isrs()).every((isr) => isr.includes(id)) || failure !== null) break;
            assert.ok(Date.now() < until, `broker ${id} not back in every ISR within 30 s`);
            await new Promise((r) => setTimeout(r, 200));
          }
          await waitUntil(() => sent >= mark + 30 || failure !== null, 30_000, 'writes after the restart');
          t.diagnostic(
            `broker ${id}: stopped in ${stoppedMs} ms, back in every ISR, ${sent} records acknowledged`,
          );
          if (failure !== null) break;
        }
      } finally {
        stop = true;
        await writing;
        await producer.disconnect();
      }
      assert.equal(failure, null, `a send failed: ${String(failure)}`);
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      for (const p of md.topics[0]!.partitions) {
        assert.deepEqual([...p.isr].sort(), BROKERS, `partition ${p.partitionId} ISR ${p.isr.join(',')}`);
        const conn = await Connection.connect('127.0.0.1', procs.get(p.leader)!.port);
        try {
          const values = await readValues(conn, topic, p.partitionId);
          assert.deepEqual(
            values,
            acked[p.partitionId],
            `partition ${p.partitionId}: every acknowledged record, once, in order`,
          );
        } finally {
          conn.close();
        }
      }
    } finally {
      await admin.disconnect();
    }
  });
});
