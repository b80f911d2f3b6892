// Transactions with kafkajs 2.2.4:
// - a transactional producer commits and aborts across partitions; a read_committed consumer sees
//   exactly the committed records, a read_uncommitted one everything;
// - consume-transform-produce with sendOffsets (AddOffsetsToTxn + TxnOffsetCommit): a processor in
//   its own process (clients/kafkajs-txn-processor.ts) is kill -9ed several times while it works
//   through the input; the output, read with read_committed, holds every input record exactly once,
//   in the input's order per partition.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { spawnLongRunning, type LongRunning } from '../helpers/run.js';

const CLIENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'clients');
const PARTITIONS = 3;
/**
 * Input records of the consume-transform-produce run: 10,000 in CI (the CI budget; most of the time is the
 * rebalances after each kill); BROOK_TXN_CTP_RECORDS=100000 runs the full size (about 5 min).
 */
const CTP_RECORDS = Number(process.env.BROOK_TXN_CTP_RECORDS ?? 10_000);
const KILLS = 3;
/** Input records per producer send: about 100 records per batch and partition. */
const CTP_SEND = 300;

function newKafka(bootstrap: string, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

/** Reads `topic` from the beginning until `expected` records arrived and 2 s passed without more. */
async function readAll(
  kafka: Kafka,
  topic: string,
  readUncommitted: boolean,
  expected: number,
  limitMs = 120_000,
): Promise<{ partition: number; value: string }[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueTopic('reader'), readUncommitted });
  const got: { partition: number; value: string }[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) got.push({ partition: batch.partition, value: m.value!.toString() });
      last = Date.now();
    },
  });
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline && (got.length < expected || Date.now() - last < 2000)) {
    await new Promise((r) => setTimeout(r, 200));
  }
  await consumer.disconnect();
  return got;
}

describe('transactions with kafkajs 2.2.4', { timeout: 600_000 }, () => {
  test(
    'commit and abort across partitions; read_committed sees only committed records',
    {
      timeout: 120_000,
    },
    async () => {
      await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b) => {
        const kafka = newKafka(b.bootstrapServers, 'kjs-txn');
        const topic = uniqueTopic('kjs-txn');
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
        await admin.disconnect();
        const producer = kafka.producer({
          transactionalId: 'kjs-txn-1',
          maxInFlightRequests: 1,
          idempotent: true,
        });
        await producer.connect();
        const expected: string[] = [];
        for (let t = 0; t < 4; t++) {
          const txn = await producer.transaction();
          const values = Array.from({ length: 30 }, (_, i) => `t${t}-${i}`);
          await txn.send({
            topic,
            messages: values.map((value, i) => ({ value, partition: i % PARTITIONS })),
          });
          if (t % 2 === 0) {
            await txn.commit();
            expected.push(...values);
          } else {
            await txn.abort();
          }
        }
        await producer.disconnect();
        const committed = await readAll(kafka, topic, false, expected.length);
        assert.deepEqual(committed.map((r) => r.value).sort(), [...expected].sort());
        const everything = await readAll(kafka, topic, true, 120);
        assert.equal(everything.length, 120);
      });
    },
  );

  test(
    `consume-transform-produce with sendOffsets, processor kill -9ed ${KILLS} times: every input exactly once`,
    {
      timeout: 540_000,
    },
    async () => {
      await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b) => {
        const kafka = newKafka(b.bootstrapServers, 'kjs-ctp');
        const input = uniqueTopic('ctp-in');
        const output = uniqueTopic('ctp-out');
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({
          topics: [
            { topic: input, numPartitions: PARTITIONS },
            { topic: output, numPartitions: PARTITIONS },
          ],
          waitForLeaders: true,
        });
        await admin.disconnect();
        const plain = kafka.producer();
        await plain.connect();
        // Small sends make small batches, so every processor run has many transactions to do: with a few
        // big batches two runs could take the whole input and leave the next run nothing to commit.
        for (let start = 0; start < CTP_RECORDS; start += CTP_SEND) {
          await plain.send({
            topic: input,
            messages: Array.from({ length: Math.min(CTP_SEND, CTP_RECORDS - start) }, (_, i) => ({
              value: `m-${start + i}`,
              partition: (start + i) % PARTITIONS,
            })),
          });
        }
        await plain.disconnect();

        const env = {
          BOOTSTRAP: b.bootstrapServers,
          INPUT: input,
          OUTPUT: output,
          GROUP: 'ctp',
          TXN_ID: 'ctp-1',
          PROCESSOR_DEBUG: process.env.PROCESSOR_DEBUG ?? '',
        };
        const spawnProcessor = (): LongRunning =>
          spawnLongRunning(
            process.execPath,
            ['--import', 'tsx', join(CLIENTS_DIR, 'kafkajs-txn-processor.ts')],
            {
              env,
            },
          );
        const committedSoFar = (p: LongRunning): number =>
          p.lines
            .filter((l) => l.includes('"committed"'))
            .reduce((n, l) => n + (JSON.parse(l) as { count: number }).count, 0);
        // Each run is killed once it has committed a share of the input (so kills land mid-stream,
        // often inside a transaction), then a new instance takes over with the same transactional.id.
        for (let k = 0; k < KILLS; k++) {
          const proc = spawnProcessor();
          const target = Math.floor(CTP_RECORDS / (KILLS + 2));
          const deadline = Date.now() + 120_000;
          while (committedSoFar(proc) < target && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
          }
          proc.kill('SIGKILL');
          await proc.waitExit();
          assert.ok(
            committedSoFar(proc) > 0,
            `run ${k} committed nothing; stdout: ${proc.lines.slice(-20).join('\n')}\nstderr: ${proc.stderr().slice(-3000)}`,
          );
        }
        const last = spawnProcessor();
        try {
          // Done when the group's committed offsets cover the whole input. The processors' own counts
          // are a lower bound only: a run killed between its commit and its print under-reports.
          const watcher = kafka.admin();
          await watcher.connect();
          try {
            const deadline = Date.now() + 240_000;
            const consumed = async (): Promise<number> =>
              (await watcher.fetchOffsets({ groupId: env.GROUP, topics: [input] }))
                .flatMap((t) => t.partitions)
                .reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
            while ((await consumed()) < CTP_RECORDS && Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, 200));
            }
          } finally {
            await watcher.disconnect();
          }
          const got = await readAll(kafka, output, false, CTP_RECORDS, 180_000);
          // Exactly once, and per partition in the input's order.
          assert.equal(got.length, CTP_RECORDS, 'every input record once in the committed output');
          for (let p = 0; p < PARTITIONS; p++) {
            const values = got
              .filter((r) => r.partition === p)
              .map((r) => Number(r.value.slice('out-m-'.length)));
            const want = Array.from({ length: CTP_RECORDS }, (_, i) => i).filter((i) => i % PARTITIONS === p);
            assert.deepEqual(values, want, `partition ${p}`);
          }
        } finally {
          last.kill('SIGKILL');
          await last.waitExit();
        }
      });
    },
  );
});
