// One kafkajs 2.2.4 group member, run as a child process by groups-kafkajs.test.ts. Default consumer settings
// except groupId, fromBeginning and sessionTimeout. Prints JSON lines (see group-harness.ts); SIGTERM closes the
// consumer cleanly (commit + LeaveGroup).
// Env: BOOTSTRAP, TOPIC, GROUP, SESSION_TIMEOUT_MS, MEMBER_NAME.
import { Kafka, logLevel } from 'kafkajs';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};
const topic = env('TOPIC');
const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const kafka = new Kafka({
  clientId: env('MEMBER_NAME'),
  brokers: [env('BOOTSTRAP')],
  logLevel: logLevel.ERROR,
});
const consumer = kafka.consumer({ groupId: env('GROUP'), sessionTimeout: Number(env('SESSION_TIMEOUT_MS')) });

consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const assigned = (e.payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
  out({ type: 'assign', memberId: e.payload.memberId, partitions: assigned });
});
consumer.on(consumer.events.CRASH, (e) => {
  out({ type: 'error', error: String(e.payload.error) });
});

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  consumer
    .disconnect()
    .then(() => {
      out({ type: 'closed' });
      process.exit(0);
    })
    .catch((err: unknown) => {
      out({ type: 'error', error: String(err) });
      process.exit(1);
    });
});

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    out({ type: 'msg', partition, offset: Number(message.offset), value: message.value?.toString() ?? null });
  },
});
out({ type: 'ready' });
