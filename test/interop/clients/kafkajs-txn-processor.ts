// A kafkajs 2.2.4 consume-transform-produce processor, run as a child process by
// transactions-kafkajs.test.ts (which kill -9s it several times). Each fetched batch of the input
// becomes one transaction: the transformed records go to the same partition of the output topic and
// the input offsets are committed with sendOffsets, so the output holds every input exactly once.
// Prints JSON lines: {type:'ready'}, {type:'committed', partition, count}, {type:'error', error}.
// Env: BOOTSTRAP, INPUT, OUTPUT, GROUP, TXN_ID.
import { appendFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};
const input = env('INPUT');
const output = env('OUTPUT');
const group = env('GROUP');
const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const debugDir = process.env.PROCESSOR_DEBUG;
const kafka = new Kafka({
  clientId: 'txn-processor',
  brokers: [env('BOOTSTRAP')],
  // Errors go to stderr, which the test prints when a run commits nothing.
  // PROCESSOR_DEBUG=<dir> logs everything kafkajs does to <dir>/<pid>.log (to see where a run stalls).
  logLevel: debugDir ? logLevel.DEBUG : logLevel.ERROR,
  logCreator: () => (entry) => {
    const line = `${entry.namespace} ${entry.label} ${JSON.stringify(entry.log)}\n`;
    if (debugDir) appendFileSync(`${debugDir}/${process.pid}.log`, line);
    else process.stderr.write(line);
  },
});
const producer = kafka.producer({ transactionalId: env('TXN_ID'), maxInFlightRequests: 1, idempotent: true });
const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: 6000,
  rebalanceTimeout: 10000,
  readUncommitted: false,
  // Small fetches make many small transactions, so a kill lands mid-stream and later runs have work left.
  maxBytesPerPartition: 4 * 1024,
});
consumer.on(consumer.events.CRASH, (e) => out({ type: 'error', error: String(e.payload.error) }));

await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: input, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  eachBatch: async ({ batch, resolveOffset }) => {
    if (batch.messages.length === 0) return;
    const txn = await producer.transaction();
    try {
      await txn.send({
        topic: output,
        messages: batch.messages.map((m) => ({
          key: m.key,
          value: `out-${m.value?.toString() ?? ''}`,
          partition: batch.partition,
        })),
      });
      // A pause inside the transaction: the test's kill (it polls every 100 ms) often lands here,
      // mid-transaction, and a run does not race through the input before the test sees its progress.
      await new Promise((r) => setTimeout(r, 20));
      await txn.sendOffsets({
        consumerGroupId: group,
        topics: [
          {
            topic: input,
            partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }],
          },
        ],
      });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw err;
    }
    for (const m of batch.messages) resolveOffset(m.offset);
    out({ type: 'committed', partition: batch.partition, count: batch.messages.length });
  },
});
out({ type: 'ready' });
