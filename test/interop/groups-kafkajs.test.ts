// kafkajs 2.2.4 consumer groups against Brook, each member a separate process (test/interop/clients/
// kafkajs-member.ts, default consumer settings except groupId, fromBeginning and a 10 s session timeout):
// 3 members share a 6-partition topic, one is killed with SIGKILL, the others take over its partitions after its
// session timeout from the committed offsets, nothing is lost, and a later member resumes where the group stopped.
// kafkajs's protocol name is `RoundRobinAssigner` (client-compat.md G6/J4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { PARTITIONS, runTakeoverScenario } from './clients/group-harness.js';

const CONFIG = { 'group.initial.rebalance.delay.ms': '0' };

test(
  'kafkajs: 3 member processes share 6 partitions; kill -9 one, the others take over; a new member resumes from committed offsets',
  { timeout: 300_000 },
  async (t) => {
    await withBroker({ config: CONFIG }, async (tb) => {
      const topic = uniqueTopic('kjs-group');
      const kafka = new Kafka({
        clientId: 'groups-kjs-test',
        brokers: [tb.bootstrapServers],
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      const producer = kafka.producer();
      await admin.connect();
      await producer.connect();
      try {
        assert.equal(
          await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }),
          true,
        );
        const r = await runTakeoverScenario({
          tb,
          topic,
          groupId: uniqueTopic('kjs-group-id'),
          script: 'kafkajs-member.ts',
          memberNames: ['a', 'b', 'c'],
          sessionTimeoutMs: 10_000,
          stop: 'kill9',
          async produce(messages) {
            // acks -1 (kafkajs default)
            const r = await producer.send({
              topic,
              messages: messages.map((m) => ({ partition: m.partition, value: m.value })),
            });
            return new Map(r.map((x) => [x.partition, Number(x.baseOffset)]));
          },
        });
        t.diagnostic(
          `takeover after ${r.takeoverMs} ms; ${r.duplicates} duplicate deliveries; ${r.stale} stale records dropped`,
        );
      } finally {
        await producer.disconnect().catch(() => {});
        await admin.disconnect().catch(() => {});
      }
    });
  },
);
