// @platformatic/kafka 1.35.0 consumer groups against Brook, each member a separate process (test/interop/
// clients/platformatic-member.ts, default consumer settings except groupId, a 15 s session timeout and
// mode 'committed' with fallback 'earliest' — the default mode 'latest' ignores committed offsets, P4):
// 3 members share a 6-partition topic, one closes cleanly (LeaveGroup), the others take over at once from the
// committed offsets with no gap and no duplicate, and a later member resumes where the group stopped.
// platformatic's protocol name is `roundrobin` (client-compat.md G6).
import { test } from 'node:test';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { PARTITIONS, runTakeoverScenario } from './clients/group-harness.js';

const CONFIG = { 'group.initial.rebalance.delay.ms': '0' };

test(
  '@platformatic/kafka: 3 member processes share 6 partitions; one closes, the others take over; a new member resumes from committed offsets',
  { timeout: 300_000 },
  async (t) => {
    await withBroker({ config: CONFIG }, async (tb) => {
      const topic = uniqueTopic('plat-group');
      const base = { bootstrapBrokers: [tb.bootstrapServers], timeout: 15_000, retries: 3, retryDelay: 200 };
      const admin = new Admin({ ...base, clientId: 'groups-plat-admin' });
      const producer = new Producer({
        ...base,
        clientId: 'groups-plat-producer',
        serializers: stringSerializers,
      });
      try {
        await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
        const r = await runTakeoverScenario({
          tb,
          topic,
          groupId: uniqueTopic('plat-group-id'),
          script: 'platformatic-member.ts',
          memberNames: ['a', 'b', 'c'],
          sessionTimeoutMs: 15_000,
          stop: 'close',
          async produce(messages) {
            const r = await producer.send({
              messages: messages.map((m) => ({ topic, partition: m.partition, value: m.value })),
            });
            return new Map((r.offsets ?? []).map((o) => [o.partition, Number(o.offset)]));
          },
        });
        t.diagnostic(
          `takeover after ${r.takeoverMs} ms; ${r.duplicates} duplicate deliveries; ${r.stale} stale records dropped`,
        );
      } finally {
        await producer.close().catch(() => {});
        await admin.close().catch(() => {});
      }
    });
  },
);
