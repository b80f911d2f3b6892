// A kafkajs 2.2.4 consume-transform-produce processor, run as a child process by
// transactions-kafkajs.test.ts (which kill -9s it several times). Each fetched batch of the input
// becomes one transaction: the transformed records go to the same partition of the output topic and
// the input offsets are committed with sendOffsets, so the output holds every input exactly once.
// Prints JSON lines: {type:'ready'}, {type:'committed', partition, count}, {type:'error', error}.
// Env: BOOTSTRAP, INPUT, OUTPUT, GROUP, TXN_ID.
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

const kafka = new Kafka({
  clientId: 'txn-processor',
  brokers: [env('BOOTSTRAP')],
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ transactionalId: env('TXN_ID'), maxInFlightRequests: 1, idempotent: true });
const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: 6000,
  rebalanceTimeout: 10000,
  readUncommitted: false,
  maxBytesPerPartition: 256 * 1024,
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
