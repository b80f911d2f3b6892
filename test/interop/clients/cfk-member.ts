// One @confluentinc/kafka-javascript group member (KafkaJS-compatible API, default assignor `roundrobin`), run as
// a child process by groups-confluent-kafka-javascript.test.ts. Default settings except groupId, fromBeginning and
// sessionTimeout. librdkafka does not expose the member id here, so assignments are printed without it (the
// harness matches members by client id = MEMBER_NAME): polled every 50 ms and printed on every change.
// Env: BOOTSTRAP, TOPIC, GROUP, SESSION_TIMEOUT_MS, MEMBER_NAME (and CKJS_MODULE, see cfk.ts).
import { loadCfk } from './cfk.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};
const topic = env('TOPIC');
const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const { KafkaJS } = loadCfk();
const kafka = new KafkaJS.Kafka({
  kafkaJS: { clientId: env('MEMBER_NAME'), brokers: [env('BOOTSTRAP')], logLevel: 1 /* ERROR */ },
});
const consumer = kafka.consumer({
  kafkaJS: { groupId: env('GROUP'), fromBeginning: true, sessionTimeout: Number(env('SESSION_TIMEOUT_MS')) },
});

let last = '';
let closing = false;
const poll = setInterval(() => {
  if (closing) return;
  let partitions: number[];
  try {
    partitions = consumer
      .assignment()
      .filter((a) => a.topic === topic)
      .map((a) => a.partition)
      .sort((a, b) => a - b);
  } catch {
    return; // not connected yet
  }
  const key = JSON.stringify(partitions);
  if (key === last) return;
  last = key;
  out({ type: 'assign', partitions });
}, 50);

process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  clearInterval(poll);
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
await consumer.subscribe({ topics: [topic] });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    out({ type: 'msg', partition, offset: Number(message.offset), value: message.value?.toString() ?? null });
  },
});
out({ type: 'ready' });
