// One @platformatic/kafka 1.35.0 group member, run as a child process by groups-platformatic.test.ts. Default
// consumer settings except groupId, sessionTimeout and mode 'committed' with fallback 'earliest' (the default mode
// 'latest' ignores committed offsets, client-compat.md P4). Prints JSON lines (see group-harness.ts); SIGTERM
// closes the stream and the consumer cleanly (final autocommit + LeaveGroup).
// Env: BOOTSTRAP, TOPIC, GROUP, SESSION_TIMEOUT_MS, MEMBER_NAME.
import { Consumer, stringDeserializers, type ConsumerGroupJoinPayload } from '@platformatic/kafka';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};
const topic = env('TOPIC');
const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const consumer = new Consumer({
  clientId: env('MEMBER_NAME'),
  bootstrapBrokers: [env('BOOTSTRAP')],
  groupId: env('GROUP'),
  sessionTimeout: Number(env('SESSION_TIMEOUT_MS')),
  deserializers: stringDeserializers,
});

consumer.on('consumer:group:join', (e: ConsumerGroupJoinPayload) => {
  const partitions = (e.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions);
  out({ type: 'assign', memberId: e.memberId, partitions });
});

const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest' });
// platformatic 1.35.0 delivers the records of a Fetch that was in flight across a rebalance even for
// partitions the member no longer owns (MessagesStream #pushRecords does not check the new assignment), so the
// same records also reach their new owner. Like a careful application we drop records of partitions we do not
// own at delivery time, and print them as "stale" so the test can check they came from a previous assignment.
stream.on('data', (m) => {
  const owned = consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? [];
  const type = owned.includes(m.partition) ? 'msg' : 'stale';
  out({ type, partition: m.partition, offset: Number(m.offset), value: m.value ?? null });
});
stream.on('error', (err: unknown) => {
  out({ type: 'error', error: String(err) });
});

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  (async () => {
    await stream.close();
    await consumer.close();
  })()
    .then(() => {
      out({ type: 'closed' });
      process.exit(0);
    })
    .catch((err: unknown) => {
      out({ type: 'error', error: String(err) });
      process.exit(1);
    });
});
out({ type: 'ready' });
