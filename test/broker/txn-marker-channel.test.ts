// The coordinator's marker channel (src/txn/marker-channel.ts) against a real broker standing in for
// "broker 2" of a cluster view: markers queued in one turn travel in one WriteTxnMarkers request per
// destination broker (two transactions, five partitions: one request), each marker resolves with its
// partition's code, and the cases the coordinator retries or counts as done get their codes. And the
// coordinator's side: a decision whose marker failed stays in Prepare* and is retried for the missing
// partitions only until it completes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import type { BrokerEndpoint, ClusterView, PartitionState } from '../../src/cluster/cluster-view.js';
import { silentLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { TransactionMarkerChannel } from '../../src/txn/marker-channel.js';
import { TransactionCoordinator } from '../../src/txn/transaction-coordinator.js';
import { TxnState } from '../../src/txn/transaction-metadata.js';
import type { TransactionStateStore } from '../../src/txn/transaction-state-store.js';
import type { TxnMarker } from '../../src/txn/transaction-markers.js';
import { freePort, startTestBroker, uniqueTopic } from '../helpers/broker.js';
import { rawRequest } from '../admin/raw-client.js';

test('marker channel: one WriteTxnMarkers per destination broker, per-partition codes', async () => {
  const b = await startTestBroker({ 'num.partitions': '4' });
  const deadPort = await freePort();
  const topic = uniqueTopic('channel');
  const sent: number[] = [];
  const originalSend = Connection.prototype.send;
  try {
    await rawRequest(b.bootstrapServers, ApiKey.CreateTopics, 4, {
      topics: [{ name: topic, numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10000,
    });
    // This broker is 1; the real broker is 2; broker 3 is registered but nothing listens on its port.
    const endpoints: Record<number, BrokerEndpoint> = {
      2: { nodeId: 2, host: '127.0.0.1', port: b.port, rack: null },
      3: { nodeId: 3, host: '127.0.0.1', port: deadPort, rack: null },
    };
    const leaders: Record<number, number> = { 0: 2, 1: 2, 2: 2, 3: 3, 4: -1, 5: 1 };
    const view = {
      localNodeId: 1,
      broker: (id: number) => endpoints[id],
      partitionState: (t: string, p: number): PartitionState | undefined =>
        t === topic && p in leaders
          ? {
              topic,
              partition: p,
              replicas: [2],
              leader: leaders[p]!,
              leaderEpoch: 0,
              isr: [2],
              partitionEpoch: 0,
            }
          : undefined,
    } as unknown as ClusterView;
    const local: number[] = [];
    const channel = new TransactionMarkerChannel({
      cluster: view,
      writeLocal: (_t, p) => {
        local.push(p);
        return Promise.resolve(ErrorCode.NONE);
      },
      requestTimeoutMs: 5000,
      replicationTimeoutMs: 1000,
      logger: silentLogger,
    });
    Connection.prototype.send = function (this: Connection, apiKey, body, opts) {
      if (apiKey === ApiKey.WriteTxnMarkers) sent.push(apiKey);
      return originalSend.call(this, apiKey, body, opts) as never;
    } as typeof originalSend;

    const a: TxnMarker = { producerId: 7001, producerEpoch: 0, commit: true, coordinatorEpoch: 3 };
    const c: TxnMarker = { producerId: 7002, producerEpoch: 0, commit: false, coordinatorEpoch: 3 };
    const codes = await Promise.all([
      channel.send(topic, 0, a),
      channel.send(topic, 1, a),
      channel.send(topic, 2, a),
      channel.send(topic, 0, c),
      channel.send(topic, 1, c),
      channel.send(topic, 5, a), // led by this broker: written directly
      channel.send(topic, 4, a), // no leader: retried later
      channel.send(topic, 3, a), // leader unreachable: retried later
      channel.send(`${topic}-deleted`, 0, a), // gone: counts as done
    ]);
    assert.deepEqual(codes, [
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.LEADER_NOT_AVAILABLE,
      ErrorCode.NETWORK_EXCEPTION,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    assert.deepEqual(local, [5]);
    assert.equal(sent.length, 1, 'five markers of two transactions to broker 2 in one request');

    // The broker fences a coordinator whose epoch is older than the last marker's for the producer.
    const stale = await channel.send(topic, 0, { ...a, coordinatorEpoch: 2 });
    assert.equal(stale, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(sent.length, 2);
    channel.stop();
  } finally {
    Connection.prototype.send = originalSend;
    await b.stop();
  }
});

test('coordinator: a marker that could not be written is retried, for the unwritten partitions only, until Complete*', async () => {
  const writes: string[] = [];
  const store = {
    numPartitions: 1,
    partitionFor: () => 0,
    coordinatorEpoch: () => 0,
    topicExists: () => false,
    ensureTopic: () => Promise.resolve(),
    write: (id: string) => {
      writes.push(id);
      return Promise.resolve();
    },
    loadPartition: () => Promise.resolve(0),
  } as unknown as TransactionStateStore;
  const calls: string[] = [];
  let failuresLeft = 2;
  const coordinator = new TransactionCoordinator(
    {
      maxTimeoutMs: 60_000,
      idExpirationMs: 86_400_000,
      abortTimedOutIntervalMs: 60_000,
      removeExpiredIntervalMs: 60_000,
    },
    store,
    () => Promise.resolve(9001),
    (topic, partition) => {
      calls.push(`${topic}-${partition}`);
      // t-1's leader is unreachable for the first two attempts.
      if (partition === 1 && failuresLeft > 0) {
        failuresLeft--;
        return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      }
      return Promise.resolve(ErrorCode.NONE);
    },
    silentLogger,
  );
  await coordinator.start();
  try {
    const init = await coordinator.initProducerId('retry-1', 30_000, -1, -1);
    assert.equal(init.errorCode, ErrorCode.NONE);
    const parts = [0, 1, 2].map((partition) => ({ topic: 't', partition }));
    assert.equal(await coordinator.addPartitions('retry-1', init.producerId, 0, parts), ErrorCode.NONE);
    // The decision is durable in PrepareCommit: EndTxn succeeds although one marker is missing.
    assert.equal(await coordinator.endTransaction('retry-1', init.producerId, 0, true), ErrorCode.NONE);
    assert.equal(coordinator.txns.get('retry-1')!.state, TxnState.PrepareCommit);
    assert.equal(
      await coordinator.addPartitions('retry-1', init.producerId, 0, parts),
      ErrorCode.CONCURRENT_TRANSACTIONS,
    );
    const deadline = Date.now() + 20_000;
    while (coordinator.txns.get('retry-1')!.state !== TxnState.CompleteCommit) {
      assert.ok(Date.now() < deadline, 'the retries complete the commit');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(calls, ['t-0', 't-1', 't-2', 't-1', 't-1']);
  } finally {
    await coordinator.stop();
  }
});
