// Broker epochs (KIP-380) with a real ZooKeeper and broker processes: a partition leader is killed
// with SIGKILL and started again so quickly that the controller never sees its registration missing.
// To make that certain rather than lucky, the controller's process is SIGSTOPped (its session is long
// enough to survive) from before the kill until the restarted broker has registered again: when it
// resumes, /brokers/ids/2 is there as before, only its czxid (the broker epoch) is new. The controller
// must handle that as a failure followed by a start (leadership moves, leader epoch + 1, the broker
// rejoins the ISR as a follower once caught up), no acknowledged acks=all record may be lost, and a
// ControlledShutdown carrying the old incarnation's epoch is refused with STALE_BROKER_EPOCH.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from '../../src/client/connection.js';
import { ZkSession } from '../../src/cluster/zookeeper/zk-session.js';
import { decodeState } from '../../src/cluster/zookeeper/znodes.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import {
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  uniqueTopic,
  type BrokerProcess,
} from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';
import { readValues } from './replication-helpers.js';
import { startAckedWriter } from './acked-writer.js';
import { openZkReader, waitFor } from './zk-cluster.js';

/** The restarted broker's session: short, so its old registration expires quickly. */
const VICTIM_SESSION_MS = 3000;
/** Everyone else's: the controller must survive being stopped across the victim's restart. */
const SESSION_MS = 30_000;

/** waitFor with this file's longer default: process starts and session expiries. */
const until = <T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> => waitFor(what, fn, timeoutMs);

describe('broker epochs: a broker restarted before the controller saw it go (ZooKeeper, processes)', () => {
  let zk: ZooKeeper | null = null;
  let reader: ZkSession | null = null;
  const procs = new Map<number, BrokerProcess>();
  const dirs = new Map<number, string>();

  before(async () => {
    if (!hasZooKeeper()) return;
    zk = await startZooKeeper(1);
    reader = await openZkReader(zk);
  });
  after(async () => {
    for (const p of procs.values()) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
      await p.waitExit();
    }
    for (const d of dirs.values()) removeDir(d);
    reader?.close();
    await zk?.stop();
  });

  async function start(id: number): Promise<void> {
    if (!dirs.has(id)) dirs.set(id, makeTempDir(`brook-epoch-${id}-`));
    procs.set(
      id,
      await spawnBrokerProcess({
        dataDir: dirs.get(id)!,
        config: {
          'node.id': String(id),
          'zookeeper.connect': zk!.connect,
          'zookeeper.session.timeout.ms': String(id === 2 ? VICTIM_SESSION_MS : SESSION_MS),
          'offsets.topic.num.partitions': '1',
          'replica.fetch.wait.max.ms': '100',
          'replica.lag.time.max.ms': '60000',
        },
      }),
    );
  }

  const state = async (topic: string) => {
    const node = await reader!.get(`/brokers/topics/${topic}/partitions/0/state`);
    return node === null ? null : decodeState(node.data);
  };
  const registration = async (id: number) => (await reader!.get(`/brokers/ids/${id}`))?.czxid ?? null;

  test('the controller fails the old incarnation over, the new one rejoins the ISR, nothing acknowledged is lost', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    // Broker 1 first, so it is the controller (the one stopped below); broker 2 is the victim.
    await start(1);
    await until('broker 1 is controller', async () =>
      (await reader!.get('/controller'))?.data.toString().includes('"brokerid":1'),
    );
    await Promise.all([start(2), start(3)]);
    const kafka = new Kafka({
      clientId: 'brook-broker-epoch',
      brokers: [...procs.values()].map((p) => p.bootstrapServers),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueTopic('epoch');
    try {
      await until('topic created with broker 2 leading', async () => {
        try {
          await admin.createTopics({
            topics: [
              {
                topic,
                replicaAssignment: [{ partition: 0, replicas: [2, 1, 3] }],
                configEntries: [{ name: 'min.insync.replicas', value: '2' }],
              },
            ],
          });
        } catch {
          // Brokers not all registered yet, or created by the previous try.
        }
        const s = await state(topic);
        return s !== null && s.leader === 2 && s.isr.length === 3;
      });
      const writer = await startAckedWriter(kafka, topic);
      const acked = writer.acked;
      let before: NonNullable<Awaited<ReturnType<typeof state>>>;
      const oldEpoch = (await registration(2))!;
      try {
        await until('first writes', () => Promise.resolve(acked.length >= 30 || writer.failure() !== null));
        before = (await state(topic))!;
        const controller = procs.get(1)!;
        controller.kill('SIGSTOP');
        try {
          const victim = procs.get(2)!;
          victim.kill('SIGKILL');
          await victim.waitExit();
          procs.delete(2);
          // Kafka (and Brook) refuse to register over a live-looking registration: start again once it expired.
          await until('the old registration expired', async () => (await registration(2)) === null, 30_000);
          await start(2);
          const newEpoch = await until('registered again', () => registration(2));
          assert.ok(newEpoch > oldEpoch, `new broker epoch ${newEpoch} > ${oldEpoch}`);
        } finally {
          controller.kill('SIGCONT');
        }
        const mark = acked.length;
        await until('writes after the restart', () =>
          Promise.resolve(acked.length >= mark + 30 || writer.failure() !== null),
        );
      } finally {
        await writer.stop();
      }
      assert.equal(writer.failure(), null, `the producer gave up: ${String(writer.failure())}`);

      // The controller noticed: leadership left the old incarnation with a new leader epoch, and the
      // new incarnation is back in the ISR (it caught up as a follower).
      const after = await until(
        'broker 2 back in the ISR under a new leader',
        async () => {
          const s = await state(topic);
          return s !== null && s.leader > 0 && s.isr.length === 3 && s.leaderEpoch > before.leaderEpoch
            ? s
            : null;
        },
        60_000,
      );
      assert.notEqual(
        after.leader,
        2,
        `the restarted broker does not keep its old leadership: ${JSON.stringify(after)}`,
      );

      const conn = await Connection.connect('127.0.0.1', procs.get(after.leader)!.port);
      try {
        assert.deepEqual(await readValues(conn, topic), acked, 'every acknowledged record, once, in order');
        // The old incarnation's epoch is stale for the controller (broker 1).
      } finally {
        conn.close();
      }
      const ctl = await Connection.connect('127.0.0.1', procs.get(1)!.port);
      try {
        const res = await ctl.sendAt(ApiKey.ControlledShutdown, 3, { brokerId: 2, brokerEpoch: oldEpoch });
        assert.equal(res.errorCode, ErrorCode.STALE_BROKER_EPOCH);
      } finally {
        ctl.close();
      }
      t.diagnostic(`acknowledged ${acked.length}; state after: ${JSON.stringify(after)}`);
    } finally {
      await admin.disconnect();
    }
  });
});
