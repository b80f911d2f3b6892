// @confluentinc/kafka-javascript 1.10.1 (bundled librdkafka 2.15.1) consumer groups against Brook, each member a
// separate process (test/interop/clients/cfk-member.ts; KafkaJS-compatible API, default `roundrobin` assignor,
// fromBeginning, 10 s session timeout): 3 members share a 6-partition topic (producer acks -1, the default),
// one disconnects cleanly (LeaveGroup), the others take over from the committed offsets, nothing is lost or read
// twice, and a later member resumes where the group stopped.
// The package needs a native build of its bundled librdkafka (client-compat.md C1: 5-12 minutes on a 2-core
// machine), more than CI's budget allows, so it is not in package.json and this file is not named *.test.ts:
// `npm test` does not run it. Run it by hand after installing the package (or pointing CKJS_MODULE at an install):
//   CKJS_LINKING=dynamic npm install --no-save @confluentinc/kafka-javascript
//   node --import tsx --test test/interop/groups-confluent-kafka-javascript.manual.ts
import { test } from 'node:test';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { requireTool } from '../helpers/external.js';
import { loadCfk, type CfkModule } from './clients/cfk.js';
import { PARTITIONS, runTakeoverScenario } from './clients/group-harness.js';

const CONFIG = { 'group.initial.rebalance.delay.ms': '0' };

test(
  '@confluentinc/kafka-javascript: 3 member processes share 6 partitions; one disconnects, the others take over; a new member resumes from committed offsets',
  { timeout: 300_000 },
  async (t) => {
    let cfk: CfkModule | undefined;
    const loadable = () => {
      cfk = loadCfk();
      return typeof cfk.KafkaJS?.Kafka === 'function';
    };
    const how =
      'apt-get install -y build-essential python3 libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev ' +
      'libsasl2-dev liblz4-dev && CKJS_LINKING=dynamic npm install @confluentinc/kafka-javascript';
    if (!(await requireTool(t, '@confluentinc/kafka-javascript', loadable, how))) return;
    await withBroker({ config: CONFIG }, async (tb) => {
      const topic = uniqueTopic('cfk-group');
      const kafka = new cfk!.KafkaJS.Kafka({ kafkaJS: { brokers: [tb.bootstrapServers], logLevel: 1 } });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      await admin.disconnect();
      const producer = kafka.producer({ kafkaJS: { acks: -1 } });
      await producer.connect();
      try {
        const r = await runTakeoverScenario({
          tb,
          topic,
          groupId: uniqueTopic('cfk-group-id'),
          script: 'cfk-member.ts',
          memberNames: ['a', 'b', 'c'],
          sessionTimeoutMs: 10_000,
          stop: 'close',
          async produce(messages) {
            const r = await producer.send({
              topic,
              messages: messages.map((m) => ({ partition: m.partition, value: m.value })),
            });
            const base = new Map<number, number>();
            for (const x of r) base.set(x.partition, Number(x.baseOffset));
            return base;
          },
        });
        t.diagnostic(
          `takeover after ${r.takeoverMs} ms; ${r.duplicates} duplicate deliveries; ${r.stale} stale records dropped`,
        );
      } finally {
        await producer.disconnect().catch(() => {});
      }
    });
  },
);
