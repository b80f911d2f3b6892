// kafkajs 2.2.4 admin against a real in-process broker: createPartitions, deleteTopicRecords,
// describeConfigs / alterConfigs (topic and broker, kept across a restart) and describeCluster,
// checked the way a user would see them: through the same client, a producer and raw fetches.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners, type Admin, type ConfigResourceTypes } from 'kafkajs';
import { makeTempDir, removeDir, startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { fetchOnce } from '../helpers/raw-fetch.js';

// kafkajs's ConfigResourceTypes enum is not visible to ESM imports of the CommonJS package.
const TOPIC = 2 as ConfigResourceTypes;
const BROKER = 4 as ConfigResourceTypes;
const OFFSET_OUT_OF_RANGE = 1;
const DYNAMIC_TOPIC_CONFIG = 1;
// Altered on the broker's node id: its own dynamic value, not the cluster-wide default (3).
const DYNAMIC_BROKER_CONFIG = 2;
const DEFAULT_CONFIG = 5;

function kafkaFor(b: TestBroker): Kafka {
  return new Kafka({
    clientId: 'brook-admin-test',
    brokers: [b.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

async function withAdmin<T>(b: TestBroker, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaFor(b).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function produce(b: TestBroker, topic: string, partition: number, count: number): Promise<void> {
  const producer = kafkaFor(b).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < count; i++) {
      await producer.send({ topic, acks: -1, messages: [{ partition, value: `m${i}` }] });
    }
  } finally {
    await producer.disconnect();
  }
}

async function topicConfig(admin: Admin, topic: string, name: string) {
  const r = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC, name: topic, configNames: [name] }],
  });
  const entry = r.resources[0]!.configEntries.find((e) => e.configName === name);
  assert.ok(entry, `describeConfigs shows ${name}`);
  return entry as typeof entry & { configSource: number };
}

describe('kafkajs admin', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  test('createPartitions to 5: metadata shows 5 and a producer can write to partition 4', async () => {
    const topic = uniqueTopic('grow');
    await withAdmin(broker, async (admin) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.deepEqual(meta.topics[0]!.partitions.map((p) => p.partitionId).sort(), [0, 1, 2, 3, 4]);
    });
    await produce(broker, topic, 4, 3);
    await withAdmin(broker, async (admin) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(offsets.find((o) => o.partition === 4)?.high, '3');
      // Not an increase, and an unknown topic: kafkajs surfaces the broker's error.
      await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] }), (err: Error) =>
        /INVALID_PARTITIONS|partitions/i.test(`${err.name} ${err.message} ${JSON.stringify(err)}`),
      );
      await assert.rejects(
        admin.createPartitions({ topicPartitions: [{ topic: uniqueTopic('missing'), count: 3 }] }),
      );
    });
  });

  test('deleteTopicRecords: the earliest offset moves to what was asked and reads below it are out of range', async () => {
    const topic = uniqueTopic('trim');
    await withAdmin(broker, (admin) => admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }));
    await produce(broker, topic, 0, 10);
    await withAdmin(broker, async (admin) => {
      // kafkajs looks the leader up in metadata it must already have (it does not fetch it itself).
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
      const [p0] = await admin.fetchTopicOffsets(topic);
      assert.equal(p0!.low, '4');
      assert.equal(p0!.high, '10');
    });
    const below = await fetchOnce(broker.bootstrapServers, topic, 0, 2n);
    assert.equal(below.errorCode, OFFSET_OUT_OF_RANGE);
    const at = await fetchOnce(broker.bootstrapServers, topic, 0, 4n);
    assert.equal(at.errorCode, 0);
    assert.ok(at.batches.length > 0 && at.batches[0]!.lastOffset >= 4n);
    // Offset -1: everything up to the high watermark.
    await withAdmin(broker, async (admin) => {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
      const [p0] = await admin.fetchTopicOffsets(topic);
      assert.equal(p0!.low, '10');
    });
  });

  test('alterConfigs retention.ms=1000 on a topic: describeConfigs shows it as DYNAMIC_TOPIC_CONFIG; leaving it out reverts it', async () => {
    const topic = uniqueTopic('cfg');
    await withAdmin(broker, async (admin) => {
      await admin.createTopics({ topics: [{ topic }] });
      const before = await topicConfig(admin, topic, 'retention.ms');
      assert.equal(before.configValue, '604800000');
      assert.equal(before.configSource, DEFAULT_CONFIG);

      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
      });
      const set = await topicConfig(admin, topic, 'retention.ms');
      assert.equal(set.configValue, '1000');
      assert.equal(set.configSource, DYNAMIC_TOPIC_CONFIG);
      assert.equal(set.readOnly, false);

      // AlterConfigs replaces the whole set: retention.ms is not named, so it reverts.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: TOPIC, name: topic, configEntries: [{ name: 'segment.ms', value: '60000' }] }],
      });
      assert.equal((await topicConfig(admin, topic, 'retention.ms')).configValue, '604800000');
      assert.equal((await topicConfig(admin, topic, 'segment.ms')).configValue, '60000');

      // validateOnly changes nothing.
      await admin.alterConfigs({
        validateOnly: true,
        resources: [{ type: TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '5' }] }],
      });
      assert.equal((await topicConfig(admin, topic, 'retention.ms')).configValue, '604800000');
    });
  });

  // kafkajs shows only the error code's generic text; raw-admin.test.ts checks the broker's message.
  test('alterConfigs with a bad value or an unknown key fails with INVALID_CONFIG', async () => {
    const topic = uniqueTopic('badcfg');
    await withAdmin(broker, async (admin) => {
      await admin.createTopics({ topics: [{ topic }] });
      for (const entry of [
        { name: 'retention.ms', value: 'soon' },
        { name: 'no.such.key', value: '1' },
      ]) {
        await assert.rejects(
          admin.alterConfigs({
            validateOnly: false,
            resources: [{ type: TOPIC, name: topic, configEntries: [entry] }],
          }),
          (err: Error & { type?: string }) => {
            assert.equal(err.type, 'INVALID_CONFIG', `${err.message}`);
            return true;
          },
        );
      }
      await assert.rejects(
        admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: TOPIC, name: uniqueTopic('missing') }],
        }),
        (err: Error & { type?: string }) => err.type === 'UNKNOWN_TOPIC_OR_PARTITION',
      );
    });
  });

  test('describeCluster: one broker, which is the controller', async () => {
    await withAdmin(broker, async (admin) => {
      const c = await admin.describeCluster();
      assert.equal(c.brokers.length, 1);
      assert.equal(c.brokers[0]!.port, broker.port);
      assert.equal(c.controller, c.brokers[0]!.nodeId);
      assert.equal(c.clusterId, broker.broker.services.metadata.clusterId);
    });
  });
});

describe('kafkajs admin across a restart', () => {
  test('topic and broker config changes survive a restart and apply to topics', async () => {
    const dataDir = makeTempDir('brook-admin-restart-');
    const topic = uniqueTopic('keep');
    const other = uniqueTopic('inherit');
    try {
      let b = await startTestBroker(undefined, dataDir);
      try {
        await withAdmin(b, async (admin) => {
          await admin.createTopics({ topics: [{ topic }, { topic: other }] });
          await admin.alterConfigs({
            validateOnly: false,
            resources: [
              { type: TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '1000' }] },
              {
                type: BROKER,
                name: String(b.broker.config.nodeId),
                configEntries: [{ name: 'log.retention.ms', value: '3600000' }],
              },
            ],
          });
          // A read-only broker key is refused and changes nothing.
          await assert.rejects(
            admin.alterConfigs({
              validateOnly: false,
              resources: [
                {
                  type: BROKER,
                  name: String(b.broker.config.nodeId),
                  configEntries: [{ name: 'num.partitions', value: '7' }],
                },
              ],
            }),
            (err: Error & { type?: string }) => err.type === 'INVALID_CONFIG',
          );
        });
        // The broker default reached the running logs of a topic without an override.
        assert.equal(b.broker.services.replicas.getLog(other, 0)?.config.retentionMs, 3_600_000);
        assert.equal(b.broker.services.replicas.getLog(topic, 0)?.config.retentionMs, 1000);
      } finally {
        await b.stop();
      }

      b = await startTestBroker(undefined, dataDir);
      try {
        await withAdmin(b, async (admin) => {
          const kept = await topicConfig(admin, topic, 'retention.ms');
          assert.equal(kept.configValue, '1000');
          assert.equal(kept.configSource, DYNAMIC_TOPIC_CONFIG);
          const inherited = await topicConfig(admin, other, 'retention.ms');
          assert.equal(inherited.configValue, '3600000');
          assert.equal(inherited.configSource, DYNAMIC_BROKER_CONFIG);
          const r = await admin.describeConfigs({
            includeSynonyms: false,
            resources: [
              {
                type: BROKER,
                name: String(b.broker.config.nodeId),
                configNames: ['log.retention.ms', 'num.partitions'],
              },
            ],
          });
          const entries = r.resources[0]!.configEntries as Array<{
            configName: string;
            configValue: string;
            readOnly: boolean;
            configSource: number;
          }>;
          const retention = entries.find((e) => e.configName === 'log.retention.ms')!;
          assert.equal(retention.configValue, '3600000');
          assert.equal(retention.configSource, DYNAMIC_BROKER_CONFIG);
          assert.equal(retention.readOnly, false);
          const partitions = entries.find((e) => e.configName === 'num.partitions')!;
          assert.equal(partitions.readOnly, true);
          assert.equal(partitions.configValue, '1');
        });
        assert.equal(b.broker.services.replicas.getLog(other, 0)?.config.retentionMs, 3_600_000);
        assert.equal(b.broker.services.replicas.getLog(topic, 0)?.config.retentionMs, 1000);
      } finally {
        await b.stop();
      }
    } finally {
      removeDir(dataDir);
    }
  });
});
