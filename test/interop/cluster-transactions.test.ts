// Transactions across brokers (issue 10), kafkajs 2.2.4 on three broker processes and a real ZooKeeper:
// 1. Transactions spanning partitions led by all three brokers commit and abort: the coordinator sends
//    WriteTxnMarkers to the other leaders, so a read_committed consumer sees exactly the committed records and
//    every partition's last stable offset reaches its high watermark.
// 2. The coordinator broker is kill -9ed inside a transaction (after its records, before the commit): a new
//    producer with the same transactional.id, served by the new coordinator (__transaction_state is replicated),
//    fences the old one; the open transaction is aborted on every partition (LSO = high watermark again) and
//    new transactions commit.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Cluster } from '../../src/client/cluster.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { uniqueTopic } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { log, ProcessCluster, waitFor } from './cluster-harness.js';

const PARTITIONS = 3;
const RECORDS_PER_TXN = 12;

function newKafka(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'brook-acc-txn',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 15_000,
    // Long enough for a coordinator failover (session timeout, election, loading the partition).
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}

/** The bootstrap list of the running brokers only. */
function liveBootstrap(c: ProcessCluster): string {
  return c.ids
    .filter((id) => c.isUp(id))
    .map((id) => `127.0.0.1:${c.portOf(id)}`)
    .join(',');
}

/** Commits (or aborts) one transaction of RECORDS_PER_TXN records spread over every partition. */
async function transaction(
  producer: Producer,
  topic: string,
  name: string,
  commit: boolean,
): Promise<string[]> {
  const values = Array.from({ length: RECORDS_PER_TXN }, (_, i) => `${name}-${i}`);
  const txn = await producer.transaction();
  await txn.send({ topic, messages: values.map((value, i) => ({ value, partition: i % PARTITIONS })) });
  if (commit) await txn.commit();
  else await txn.abort();
  return values;
}

/** Everything a read_committed group consumer reads from the beginning, once `expected` arrived and 2 s passed. */
async function readCommitted(kafka: Kafka, topic: string, expected: number): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueTopic('txn-reader'), readUncommitted: false });
  const got: string[] = [];
  let last = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) got.push(m.value!.toString());
        last = Date.now();
      },
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (got.length < expected || Date.now() - last < 2000)) {
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Per partition: [last stable offset, high watermark], from its leader (ListOffsets latest). */
async function offsets(bootstrap: string, topic: string): Promise<[number, number][]> {
  const c = new Cluster({ bootstrap, connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
  try {
    await c.connect();
    const out: [number, number][] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const conn = await c.connectionTo(await c.leaderOf(topic, p, true));
      const at = async (isolationLevel: number): Promise<number> => {
        const res = await conn.send(ApiKey.ListOffsets, {
          replicaId: -1,
          isolationLevel,
          topics: [
            { name: topic, partitions: [{ partitionIndex: p, timestamp: -1n, currentLeaderEpoch: -1 }] },
          ],
        });
        const r = res.topics[0]!.partitions[0]!;
        if (r.errorCode !== ErrorCode.NONE)
          throw new Error(`ListOffsets ${topic}-${p}: error ${r.errorCode}`);
        return Number(r.offset);
      };
      out.push([await at(1), await at(0)]);
    }
    return out;
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** Polls until every partition's LSO equals its high watermark (no transaction left open). */
async function waitStable(c: ProcessCluster, topic: string): Promise<[number, number][]> {
  let last: unknown = null;
  try {
    return await waitFor(
      `${topic}: last stable offset = high watermark on every partition`,
      async () => {
        const o = await offsets(liveBootstrap(c), topic).catch((e: unknown) => e);
        last = o;
        return Array.isArray(o) && o.every(([lso, hw]) => lso === hw) ? o : null;
      },
      60_000,
      300,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last: ${JSON.stringify(last, null, 0)}\n${c.tails()}`, {
      cause: e,
    });
  }
}

/** The node id of the coordinator of a transactional id (FindCoordinator key type 1). */
async function txnCoordinator(bootstrap: string, transactionalId: string): Promise<number> {
  const c = new Cluster({ bootstrap, connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
  try {
    await c.connect();
    const conn = await c.anyConnection();
    const res = await conn.send(ApiKey.FindCoordinator, {
      key: transactionalId,
      keyType: 1,
      coordinatorKeys: [transactionalId],
    });
    const r = res.coordinators.length > 0 ? res.coordinators[0]! : res;
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator: error ${r.errorCode}`);
    return r.nodeId;
  } finally {
    await c.close().catch(() => undefined);
  }
}

describe(
  'acceptance: transactions across brokers (3 processes, ZooKeeper, kafkajs)',
  { timeout: 240_000 },
  () => {
    let cluster: ProcessCluster | null = null;

    before(async () => {
      if (!hasZooKeeper()) return;
      cluster = await ProcessCluster.start(3);
    });
    after(async () => {
      await cluster?.stop();
    });

    async function need(t: TestContext): Promise<ProcessCluster | null> {
      if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper')))
        return null;
      return cluster;
    }

    /** A topic whose partitions are led by three different brokers. */
    async function spreadTopic(c: ProcessCluster): Promise<string> {
      const topic = uniqueTopic('acc-txn');
      await c.createTopic(topic, PARTITIONS, { 'min.insync.replicas': '2' });
      const leaders = new Set((await c.describe(topic)).map((p) => p.leader));
      assert.equal(leaders.size, 3, `the partitions' leaders are ${[...leaders].join(',')}`);
      return topic;
    }

    test('commit and abort across partitions led by all three brokers', async (t) => {
      const c = await need(t);
      if (!c) return;
      const topic = await spreadTopic(c);
      const kafka = newKafka(c.bootstrap);
      const producer = kafka.producer({
        transactionalId: 'acc-txn-1',
        maxInFlightRequests: 1,
        idempotent: true,
      });
      await producer.connect();
      const expected: string[] = [];
      try {
        expected.push(...(await transaction(producer, topic, 'c0', true)));
        await transaction(producer, topic, 'a1', false);
        expected.push(...(await transaction(producer, topic, 'c2', true)));
        await transaction(producer, topic, 'a3', false);
      } finally {
        await producer.disconnect();
      }
      const stable = await waitStable(c, topic);
      // Each partition holds 4 transactions' records and their 4 markers.
      const perPartition = (4 * RECORDS_PER_TXN) / PARTITIONS + 4;
      assert.deepEqual(
        stable.map(([, hw]) => hw),
        Array.from({ length: PARTITIONS }, () => perPartition),
      );
      const got = await readCommitted(kafka, topic, expected.length);
      assert.deepEqual(got.sort(), [...expected].sort());
    });

    test('coordinator kill -9 mid-transaction: the new coordinator fences the old producer and aborts', async (t) => {
      const c = await need(t);
      if (!c) return;
      const topic = await spreadTopic(c);
      const kafka = newKafka(c.bootstrap);
      const txnId = 'acc-txn-failover';
      const old = kafka.producer({ transactionalId: txnId, maxInFlightRequests: 1, idempotent: true });
      await old.connect();
      const expected = await transaction(old, topic, 'before', true);
      const coordinator = await txnCoordinator(c.bootstrap, txnId);
      const open = await old.transaction();
      await open.send({
        topic,
        messages: Array.from({ length: RECORDS_PER_TXN }, (_, i) => ({
          value: `open-${i}`,
          partition: i % PARTITIONS,
        })),
      });
      log(`kill -9 broker ${coordinator}, the coordinator of ${txnId}, inside a transaction`);
      await c.kill9(coordinator);
      // kafkajs gives up on a dead seed broker instead of trying the next: later clients get the live ones.
      const live = newKafka(liveBootstrap(c));
      const fresh = live.producer({ transactionalId: txnId, maxInFlightRequests: 1, idempotent: true });
      try {
        await fresh.connect();
        // kafkajs sends InitProducerId with the first transaction: once the session of the killed broker
        // ends, the new coordinator bumps the epoch and aborts the open transaction on every partition.
        const next = await fresh.transaction();
        assert.notEqual(await txnCoordinator(liveBootstrap(c), txnId), coordinator);
        await assert.rejects(open.commit(), (e: Error) => /fenced|epoch/i.test(`${e.name} ${e.message}`));
        const values = Array.from({ length: RECORDS_PER_TXN }, (_, i) => `after-${i}`);
        await next.send({
          topic,
          messages: values.map((value, i) => ({ value, partition: i % PARTITIONS })),
        });
        await next.commit();
        expected.push(...values);
      } finally {
        await fresh.disconnect();
        await old.disconnect().catch(() => undefined);
      }
      await waitStable(c, topic);
      const got = await readCommitted(live, topic, expected.length);
      assert.deepEqual(got.sort(), [...expected].sort());
    });
  },
);
