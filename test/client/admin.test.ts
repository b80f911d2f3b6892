// Brook's Admin against a real in-process broker: topics, partitions, configs and groups, with the
// group side checked against a real kafkajs group member.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Admin, KafkaClientError, Producer } from '../../src/index.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';

describe('client Admin', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '2' });
    admin = await Admin.connect(broker.bootstrapServers);
    producer = await Producer.connect(broker.bootstrapServers);
  });
  after(async () => {
    await producer.close();
    await admin.close();
    await broker.stop();
  });

  test('creates, lists, describes, grows and deletes topics', async () => {
    const topic = uniqueTopic('admin');
    const byDefault = uniqueTopic('admin-default');
    await admin.createTopics([
      { name: topic, partitions: 3, configs: { 'retention.ms': '3600000' } },
      { name: byDefault },
    ]);
    const names = await admin.listTopics();
    assert.ok(names.includes(topic) && names.includes(byDefault));

    await producer.send({
      topic,
      messages: [
        { value: 'a', partition: 1 },
        { value: 'b', partition: 1 },
      ],
    });
    const [t, d] = await admin.describeTopics([topic, byDefault]);
    assert.equal(t!.partitions.length, 3);
    assert.equal(d!.partitions.length, 2, 'num.partitions applies without --partitions');
    assert.deepEqual(
      t!.partitions.map((p) => [p.partition, p.leader, p.replicas, p.earliestOffset, p.latestOffset]),
      [
        [0, 1, [1], 0, 0],
        [1, 1, [1], 0, 2],
        [2, 1, [1], 0, 0],
      ],
    );
    assert.match(t!.topicId, /^[0-9a-f-]{36}$/);

    await admin.createPartitions([{ topic, count: 5 }]);
    assert.equal((await admin.describeTopics([topic]))[0]!.partitions.length, 5);

    await admin.deleteTopics([topic, byDefault]);
    const after = await admin.listTopics();
    assert.ok(!after.includes(topic) && !after.includes(byDefault));
  });

  test('errors are KafkaErrors with the code and the topic they came from', async () => {
    const topic = uniqueTopic('admin-err');
    await admin.createTopics([{ name: topic, partitions: 1 }]);
    await assert.rejects(admin.createTopics([{ name: topic, partitions: 1 }]), (e: unknown) => {
      assert.ok(e instanceof KafkaError && e instanceof KafkaClientError);
      assert.equal(e.code, ErrorCode.TOPIC_ALREADY_EXISTS);
      assert.equal(e.api, 'CreateTopics');
      assert.match(e.message, new RegExp(`CreateTopics topic '${topic}'.*TOPIC_ALREADY_EXISTS`));
      return true;
    });
    await assert.rejects(admin.describeTopics(['no-such-topic']), {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    await assert.rejects(admin.deleteTopics(['no-such-topic']), {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    await assert.rejects(
      admin.createTopics([
        { name: uniqueTopic('bad'), partitions: 1, configs: { 'cleanup.policy': 'nope' } },
      ]),
      {
        code: ErrorCode.INVALID_CONFIG,
      },
    );
    await assert.rejects(admin.createPartitions([{ topic, count: 1 }]), {
      code: ErrorCode.INVALID_PARTITIONS,
    });
  });

  test('describes and alters topic configs', async () => {
    const topic = uniqueTopic('admin-cfg');
    await admin.createTopics([{ name: topic, partitions: 1, configs: { 'retention.ms': '1000000' } }]);
    const before = (await admin.describeConfigs([{ type: 'topic', name: topic }])).get(topic)!;
    const retention = before.find((c) => c.name === 'retention.ms')!;
    assert.equal(retention.value, '1000000');
    assert.equal(retention.isDefault, false);
    assert.equal(before.find((c) => c.name === 'cleanup.policy')?.isDefault, true);

    await admin.alterConfigs([{ type: 'topic', name: topic, configs: { 'cleanup.policy': 'compact' } }]);
    const now = (
      await admin.describeConfigs([{ type: 'topic', name: topic, keys: ['cleanup.policy', 'retention.ms'] }])
    ).get(topic)!;
    assert.deepEqual(now.map((c) => [c.name, c.value, c.isDefault]).sort(), [
      ['cleanup.policy', 'compact', false],
      ['retention.ms', '604800000', true], // AlterConfigs replaces the whole set
    ]);
    const brokerCfg = (
      await admin.describeConfigs([{ type: 'broker', name: '1', keys: ['num.partitions'] }])
    ).get('1')!;
    assert.equal(brokerCfg[0]?.value, '2');
  });

  test('commits, fetches and deletes group offsets; lag is log end minus committed', async () => {
    const topic = uniqueTopic('admin-lag');
    const group = `g-${topic}`;
    await admin.createTopics([{ name: topic, partitions: 2 }]);
    await producer.send({
      topic,
      messages: Array.from({ length: 7 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
    });
    await admin.commitOffsets(group, [
      { topic, partition: 0, offset: 1 },
      { topic, partition: 1, offset: 3 },
    ]);
    assert.deepEqual(
      (await admin.fetchOffsets(group)).map((o) => [o.topic, o.partition, o.offset]),
      [
        [topic, 0, 1],
        [topic, 1, 3],
      ],
    );
    assert.deepEqual(await admin.groupLag(group), [
      { topic, partition: 0, committedOffset: 1, logEndOffset: 4, lag: 3 },
      { topic, partition: 1, committedOffset: 3, logEndOffset: 3, lag: 0 },
    ]);
    assert.ok((await admin.listGroups()).some((g) => g.groupId === group && g.state === 'Empty'));
    await admin.deleteGroups([group]);
    assert.deepEqual(await admin.fetchOffsets(group), []);
    assert.ok(!(await admin.listGroups()).some((g) => g.groupId === group));
  });

  test('lag of a deleted topic is unknown rather than an error', async () => {
    const topic = uniqueTopic('admin-gone');
    const group = `g-${topic}`;
    await admin.createTopics([{ name: topic, partitions: 1 }]);
    await admin.commitOffsets(group, [{ topic, partition: 0, offset: 0 }]);
    await admin.deleteTopics([topic]);
    assert.deepEqual(await admin.groupLag(group), [
      { topic, partition: 0, committedOffset: 0, logEndOffset: -1, lag: null },
    ]);
    await admin.deleteGroups([group]);
  });

  test('describes a live kafkajs consumer group with decoded assignments', async () => {
    const topic = uniqueTopic('admin-grp');
    const group = `g-${topic}`;
    await admin.createTopics([{ name: topic, partitions: 3 }]);
    await producer.send({
      topic,
      messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, partition: i % 3 })),
    });
    const kafka = new Kafka({
      clientId: 'kjs-member',
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen = 0;
      const allSeen = new Promise<void>((resolve) => {
        void consumer.run({
          autoCommitThreshold: 1,
          eachMessage: async () => {
            if (++seen === 6) resolve();
          },
        });
      });
      await allSeen;
      await waitFor(
        async () =>
          (await admin.groupLag(group)).every((l) => l.lag === 0) &&
          (await admin.fetchOffsets(group)).length === 3,
      );

      const [desc] = await admin.describeGroups([group]);
      assert.equal(desc!.state, 'Stable');
      assert.equal(desc!.protocolType, 'consumer');
      assert.equal(desc!.members.length, 1);
      const m = desc!.members[0]!;
      assert.equal(m.clientId, 'kjs-member');
      assert.deepEqual(m.subscription, [topic]);
      assert.deepEqual(
        m.assignment.map((a) => `${a.topic}/${a.partition}`).sort(),
        [0, 1, 2].map((p) => `${topic}/${p}`),
      );
      assert.deepEqual(
        (await admin.groupLag(group)).map((l) => [l.partition, l.committedOffset, l.logEndOffset, l.lag]),
        [
          [0, 2, 2, 0],
          [1, 2, 2, 0],
          [2, 2, 2, 0],
        ],
      );
      await assert.rejects(admin.deleteGroups([group]), { code: ErrorCode.NON_EMPTY_GROUP });
    } finally {
      await consumer.disconnect();
    }
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
