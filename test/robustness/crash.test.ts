// Crash safety: the broker runs as a child process (the real CLI); an idempotent kafkajs producer writes with
// acks=all continuously while the broker is killed with SIGKILL three times mid-stream and restarted on the same
// data dir and port. Afterwards every acknowledged message must be stored exactly once, at the offset the broker
// reported, in send order per partition; unacknowledged attempts may be missing but never duplicated. The data is
// read back with a hand-written Fetch v4 reader (test/robustness/raw-kafka.ts), independent of kafkajs.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import {
  freePort,
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  type BrokerProcess,
} from '../helpers/broker.js';
import { readPartition } from './raw-kafka.js';

const PARTITIONS = 3;
const KILLS = 3;
/** Acknowledged sends required between two kills (so each kill lands mid-stream, not before it starts). */
const SENDS_BETWEEN_KILLS = 25;

/** Short name of a value for messages: the part before the padding. */
const label = (v: string) => v.split('|')[0]!;

interface Acked {
  value: string;
  seq: number;
  partition: number;
  offset: number;
}

test('SIGKILL ×3 during acks=all idempotent produce: every acknowledged message survives exactly once', async (t) => {
  const dataDir = makeTempDir('brook-crash-');
  const port = await freePort();
  let bp: BrokerProcess | undefined = await spawnBrokerProcess({ dataDir, port });
  const bootstrap = bp.bootstrapServers;
  const topic = `crash-${process.pid}-${Date.now().toString(36)}`;

  const kafka = new Kafka({
    clientId: 'brook-crash-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
    // Long enough to ride out a restart (a few seconds), so sends normally succeed after retrying.
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000, factor: 0.2 },
  });

  const acked: Acked[] = [];
  const attempted = new Map<string, number>(); // value → seq
  const sendErrors: string[] = [];
  let producersCreated = 0;
  let stop = false;
  let producing: Promise<void> | undefined;
  let producerFailure: Error | undefined;

  const newProducer = async (): Promise<Producer> => {
    for (let attempt = 0; ; attempt++) {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await p.connect();
        producersCreated++;
        return p;
      } catch (e) {
        await p.disconnect().catch(() => {});
        if (attempt >= 30) throw e;
        await sleep(300);
      }
    }
  };

  try {
    const admin = kafka.admin();
    await admin.connect();
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }),
      true,
    );
    await admin.disconnect();

    let seq = 0;
    producing = (async () => {
      let producer = await newProducer();
      while (!stop) {
        const s = seq++;
        // One message per partition per send: a Produce request with three partition batches. Values vary in
        // size (up to ~30 KB) so that a kill can land in the middle of a larger write.
        const msgs = Array.from({ length: PARTITIONS }, (_, p) => ({
          partition: p,
          value: `m-${s}-${p}|` + 'x'.repeat((s * 7919 + p * 104729) % 30_000),
          key: `k-${s}`,
        }));
        for (const m of msgs) attempted.set(m.value, s);
        let res: Awaited<ReturnType<Producer['send']>>;
        try {
          res = await producer.send({ topic, acks: -1, messages: msgs });
        } catch (e) {
          // Not acknowledged: the attempt may or may not be stored. A fresh producer (new producer id) avoids
          // reusing the failed batch's sequence numbers for different content.
          sendErrors.push(`send ${s}: ${(e as Error).message}`);
          await producer.disconnect().catch(() => {});
          producer = await newProducer();
          continue;
        }
        assert.equal(res.length, PARTITIONS, 'one RecordMetadata per partition');
        for (const md of res) {
          assert.equal(md.errorCode, 0);
          acked.push({
            value: msgs[md.partition]!.value,
            seq: s,
            partition: md.partition,
            offset: Number(md.baseOffset),
          });
        }
      }
      await producer.disconnect().catch(() => {});
    })().catch((e: Error) => {
      producerFailure = e;
    });

    const waitForAcks = async (count: number, what: string) => {
      const deadline = Date.now() + 90_000;
      while (acked.length < count) {
        if (producerFailure) throw producerFailure;
        if (Date.now() > deadline) {
          throw new Error(
            `${what}: only ${acked.length}/${count} acknowledged; errors: ${sendErrors.slice(-5).join(' | ')}`,
          );
        }
        await sleep(20);
      }
    };

    const pids: number[] = [bp.pid];
    for (let k = 1; k <= KILLS; k++) {
      await waitForAcks(acked.length + SENDS_BETWEEN_KILLS * PARTITIONS, `before kill ${k}`);
      const dying: BrokerProcess = bp;
      dying.kill('SIGKILL');
      const exit: { code: number | null; signal: NodeJS.Signals | null } = await dying.waitExit();
      assert.equal(exit.signal, 'SIGKILL', `kill ${k}: broker must have died of SIGKILL`);
      bp = undefined;
      t.diagnostic(`kill ${k}: ${acked.length} messages acknowledged so far`);
      await sleep(150);
      bp = await spawnBrokerProcess({ dataDir, port });
      pids.push(bp.pid);
    }
    await waitForAcks(acked.length + SENDS_BETWEEN_KILLS * PARTITIONS, 'after the last restart');
    stop = true;
    await producing;
    assert.equal(producerFailure, undefined);
    assert.equal(new Set(pids).size, KILLS + 1, 'each restart is a new process');
    t.diagnostic(
      `attempted ${attempted.size}, acknowledged ${acked.length}, send errors ${sendErrors.length}, producers ${producersCreated}`,
    );
    for (const e of sendErrors.slice(0, 10)) t.diagnostic(e);

    // ---- read everything back with the raw Fetch v4 reader
    for (let p = 0; p < PARTITIONS; p++) {
      const records = await readPartition(bootstrap, topic, p);
      const where = `partition ${p}`;
      // Dense offsets from 0: nothing lost in the middle, no holes.
      assert.deepEqual(
        records.map((r) => Number(r.offset)),
        records.map((_, i) => i),
        `${where}: offsets must be dense from 0`,
      );
      const values = records.map((r) => r.value?.toString('utf8') ?? '<null>');
      const count = new Map<string, number>();
      for (const v of values) count.set(v, (count.get(v) ?? 0) + 1);
      for (const [v, c] of count) {
        assert.ok(attempted.has(v), `${where}: stored value ${label(v)} was never sent`);
        assert.equal(c, 1, `${where}: ${label(v)} is stored ${c} times (idempotent producer ⇒ at most once)`);
      }
      const mine = acked.filter((a) => a.partition === p);
      for (const a of mine) {
        assert.equal(
          count.get(a.value),
          1,
          `${where}: acknowledged ${label(a.value)} must be stored exactly once`,
        );
        assert.ok(
          values[a.offset] === a.value,
          `${where}: acknowledged ${label(a.value)} must be at the offset the broker reported (${a.offset}), ` +
            `found ${label(values[a.offset] ?? '<missing>')}`,
        );
      }
      // Per-partition order = send order (single producer, one request in flight).
      const seqs = values.map((v) => attempted.get(v)!);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        `${where}: messages must be stored in send order`,
      );
    }
  } finally {
    stop = true;
    if (bp) {
      bp.kill('SIGKILL');
      await bp.waitExit();
    }
    // The producer loop gives up quickly once stop is set and the broker is gone (bounded by its retries).
    await Promise.race([producing, sleep(60_000, undefined, { ref: false })]);
    removeDir(dataDir);
  }
});
