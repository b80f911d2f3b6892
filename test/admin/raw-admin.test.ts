// The admin APIs no installed client sends, and exact versions of the others, over a raw socket:
// IncrementalAlterConfigs, OffsetForLeaderEpoch v2 (librdkafka 2.x) and v4, DescribeCluster,
// DescribeConfigs v0/v3/v4 fields, AlterConfigs error messages, CreateTopics v5 configs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { AlterConfigsResponse } from '../../src/protocol/generated/alter-configs.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { DescribeClusterResponse } from '../../src/protocol/generated/describe-cluster.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import type { IncrementalAlterConfigsResponse } from '../../src/protocol/generated/incremental-alter-configs.js';
import type { OffsetForLeaderEpochResponse } from '../../src/protocol/generated/offset-for-leader-epoch.js';
import type { DeleteRecordsResponse } from '../../src/protocol/generated/delete-records.js';
import type { CreatePartitionsResponse } from '../../src/protocol/generated/create-partitions.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { rawRequest } from './raw-client.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

describe('admin APIs over the raw protocol', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker();
  });
  after(async () => {
    await b?.stop();
  });

  const createTopic = async (
    name: string,
    partitions = 1,
    configs: { name: string; value: string }[] = [],
  ) => {
    const r = await rawRequest<CreateTopicsResponse>(b.bootstrapServers, ApiKey.CreateTopics, 5, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(r.topics[0]!.errorCode, ErrorCode.NONE, r.topics[0]!.errorMessage ?? '');
    return r.topics[0]!;
  };

  const describeTopic = async (name: string, keys: string[] | null, version = 4, extra = {}) => {
    const r = await rawRequest<DescribeConfigsResponse>(b.bootstrapServers, ApiKey.DescribeConfigs, version, {
      resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: keys }],
      includeSynonyms: false,
      includeDocumentation: false,
      ...extra,
    });
    return r.results[0]!;
  };

  const incremental = async (
    resourceType: number,
    resourceName: string,
    configs: { name: string; configOperation: number; value: string | null }[],
    validateOnly = false,
    version = 1,
  ) => {
    const r = await rawRequest<IncrementalAlterConfigsResponse>(
      b.bootstrapServers,
      ApiKey.IncrementalAlterConfigs,
      version,
      { resources: [{ resourceType, resourceName, configs }], validateOnly },
    );
    return r.responses[0]!;
  };

  test('CreateTopics v5 answers every topic config with its source, as DescribeConfigs does', async () => {
    const topic = uniqueTopic('ct5');
    const created = await createTopic(topic, 1, [{ name: 'retention.ms', value: '12345' }]);
    const described = await describeTopic(topic, null);
    assert.ok(created.configs);
    assert.equal(created.configs.length, described.configs.length);
    assert.ok(created.configs.length > 10);
    const retention = created.configs.find((c) => c.name === 'retention.ms')!;
    assert.equal(retention.value, '12345');
    assert.equal(retention.configSource, 1 /* DYNAMIC_TOPIC_CONFIG */);
    const segment = created.configs.find((c) => c.name === 'segment.bytes')!;
    assert.equal(segment.value, '1073741824');
    assert.equal(segment.configSource, 5 /* DEFAULT_CONFIG */);
  });

  test('IncrementalAlterConfigs: APPEND, SUBTRACT, SET, DELETE on a topic, each visible in DescribeConfigs', async () => {
    const topic = uniqueTopic('inc');
    await createTopic(topic);
    const value = async (key: string) => (await describeTopic(topic, [key])).configs[0]!;

    let r = await incremental(TOPIC, topic, [
      { name: 'cleanup.policy', configOperation: APPEND, value: 'compact' },
    ]);
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    assert.equal((await value('cleanup.policy')).value, 'delete,compact');
    assert.equal(b.broker.services.replicas.getLog(topic, 0)?.config.cleanupPolicy, 'compact,delete');

    r = await incremental(TOPIC, topic, [
      { name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' },
    ]);
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    assert.equal((await value('cleanup.policy')).value, 'compact');

    // SET one key and DELETE another in one request; the untouched override stays (unlike AlterConfigs).
    r = await incremental(TOPIC, topic, [
      { name: 'retention.ms', configOperation: SET, value: '1000' },
      { name: 'cleanup.policy', configOperation: DELETE, value: null },
    ]);
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    const retention = await value('retention.ms');
    assert.equal(retention.value, '1000');
    assert.equal(retention.configSource, 1);
    const policy = await value('cleanup.policy');
    assert.equal(policy.value, 'delete');
    assert.equal(policy.configSource, 5);

    // v0 (non-flexible) and validateOnly: checked, not applied.
    r = await incremental(
      TOPIC,
      topic,
      [{ name: 'retention.ms', configOperation: SET, value: '2000' }],
      true,
      0,
    );
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal((await value('retention.ms')).value, '1000');
  });

  test('IncrementalAlterConfigs errors: bad value, append to a non-list, unknown op, duplicate key, unknown topic', async () => {
    const topic = uniqueTopic('incerr');
    await createTopic(topic);
    const cases: [Parameters<typeof incremental>[2], number, RegExp][] = [
      [
        [{ name: 'retention.ms', configOperation: SET, value: 'x' }],
        ErrorCode.INVALID_CONFIG,
        /retention\.ms/,
      ],
      [[{ name: 'retention.ms', configOperation: APPEND, value: '5' }], ErrorCode.INVALID_CONFIG, /append/],
      [
        [{ name: 'no.such.key', configOperation: SET, value: '5' }],
        ErrorCode.INVALID_CONFIG,
        /no\.such\.key/,
      ],
      [
        [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }],
        ErrorCode.INVALID_CONFIG,
        /cleanup\.policy/,
      ],
      [[{ name: 'retention.ms', configOperation: 9, value: '5' }], ErrorCode.INVALID_REQUEST, /operation/],
      [
        [{ name: 'retention.ms', configOperation: SET, value: null }],
        ErrorCode.INVALID_REQUEST,
        /retention\.ms/,
      ],
      [
        [
          { name: 'retention.ms', configOperation: SET, value: '5' },
          { name: 'retention.ms', configOperation: DELETE, value: null },
        ],
        ErrorCode.INVALID_REQUEST,
        /duplicate/,
      ],
    ];
    for (const [configs, code, message] of cases) {
      const r = await incremental(TOPIC, topic, configs);
      assert.equal(r.errorCode, code, `${JSON.stringify(configs)}: ${r.errorMessage}`);
      assert.match(r.errorMessage ?? '', message);
    }
    // Nothing of the failed requests was applied.
    assert.deepEqual(b.broker.services.topics.get(topic)?.configs, {});
    const missing = await incremental(TOPIC, uniqueTopic('missing'), [
      { name: 'retention.ms', configOperation: SET, value: '5' },
    ]);
    assert.equal(missing.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('IncrementalAlterConfigs on the broker: dynamic keys apply to logs of topics without an override', async () => {
    const topic = uniqueTopic('incbroker');
    await createTopic(topic);
    // The cluster-wide default (""): this broker has no value of its own, so its logs take it.
    let r = await incremental(BROKER, '', [
      { name: 'log.segment.bytes', configOperation: SET, value: '1048576' },
    ]);
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    assert.equal(b.broker.services.replicas.getLog(topic, 0)?.config.segmentBytes, 1048576);
    assert.equal((await describeTopic(topic, ['segment.bytes'])).configs[0]!.value, '1048576');

    r = await incremental(BROKER, '', [{ name: 'num.partitions', configOperation: SET, value: '3' }]);
    assert.equal(r.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(r.errorMessage ?? '', /num\.partitions/);
    r = await incremental(BROKER, '99', [
      { name: 'log.segment.bytes', configOperation: SET, value: '1048576' },
    ]);
    assert.equal(r.errorCode, ErrorCode.INVALID_REQUEST);

    // Describing the cluster default ("") lists only what was set dynamically.
    const d = await rawRequest<DescribeConfigsResponse>(b.bootstrapServers, ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: BROKER, resourceName: '', configurationKeys: null }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    assert.deepEqual(
      d.results[0]!.configs.map((c) => [c.name, c.value, c.configSource]),
      [['log.segment.bytes', '1048576', 3 /* DYNAMIC_DEFAULT_BROKER_CONFIG */]],
    );
    assert.deepEqual(
      d.results[0]!.configs[0]!.synonyms.map((s) => [s.name, s.value, s.source]),
      [
        ['log.segment.bytes', '1048576', 3],
        ['log.segment.bytes', '1073741824', 5],
      ],
    );

    r = await incremental(BROKER, '', [{ name: 'log.segment.bytes', configOperation: DELETE, value: null }]);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(b.broker.services.replicas.getLog(topic, 0)?.config.segmentBytes, 1073741824);
  });

  test('DescribeConfigs v0 has IsDefault, v3 has types and documentation on request, sensitive and read-only flags', async () => {
    const topic = uniqueTopic('dc');
    await createTopic(topic, 1, [{ name: 'retention.ms', value: '1000' }]);
    const v0 = await describeTopic(topic, ['retention.ms', 'segment.bytes'], 0);
    assert.deepEqual(
      v0.configs.map((c) => [c.name, c.isDefault]),
      [
        ['retention.ms', false],
        ['segment.bytes', true],
      ],
    );
    const v3 = await describeTopic(topic, ['retention.ms', 'no.such.key'], 3, {
      includeSynonyms: true,
      includeDocumentation: true,
    });
    assert.equal(v3.configs.length, 1, 'unknown keys are left out');
    const c = v3.configs[0]!;
    assert.equal(c.configType, 5 /* LONG */);
    assert.ok(c.documentation && c.documentation.length > 0);
    assert.deepEqual(c.synonyms[0], { name: 'retention.ms', value: '1000', source: 1 });
    const plain = await describeTopic(topic, ['retention.ms'], 3);
    assert.equal(plain.configs[0]!.documentation, null);
    assert.deepEqual(plain.configs[0]!.synonyms, []);

    const broker = await rawRequest<DescribeConfigsResponse>(b.bootstrapServers, ApiKey.DescribeConfigs, 2, {
      resources: [
        { resourceType: BROKER, resourceName: String(b.broker.config.nodeId), configurationKeys: null },
        { resourceType: BROKER, resourceName: '42', configurationKeys: null },
        { resourceType: 8, resourceName: '1', configurationKeys: null },
      ],
      includeSynonyms: false,
    });
    const [own, other, logger] = broker.results;
    assert.equal(own!.errorCode, ErrorCode.NONE);
    const byName = new Map(own!.configs.map((e) => [e.name, e]));
    assert.equal(byName.get('num.partitions')?.readOnly, true);
    assert.equal(byName.get('log.retention.ms')?.readOnly, false);
    assert.equal(byName.get('log.dirs')?.value, b.dataDir);
    assert.equal(byName.get('log.dirs')?.configSource, 4 /* STATIC_BROKER_CONFIG */);
    for (const e of own!.configs) if (e.isSensitive) assert.equal(e.value, null, e.name);
    assert.equal(other!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(logger!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test('AlterConfigs explains INVALID_CONFIG in its error message and rejects a duplicate resource', async () => {
    const topic = uniqueTopic('acmsg');
    await createTopic(topic);
    const r = await rawRequest<AlterConfigsResponse>(b.bootstrapServers, ApiKey.AlterConfigs, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: topic, configs: [{ name: 'segment.bytes', value: '1' }] },
        { resourceType: TOPIC, resourceName: uniqueTopic('missing'), configs: [] },
      ],
      validateOnly: false,
    });
    assert.equal(r.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(r.responses[0]!.errorMessage ?? '', /segment\.bytes: must be an integer between 14 and/);
    assert.equal(r.responses[1]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const dup = await rawRequest<AlterConfigsResponse>(b.bootstrapServers, ApiKey.AlterConfigs, 0, {
      resources: [
        { resourceType: TOPIC, resourceName: topic, configs: [] },
        { resourceType: TOPIC, resourceName: topic, configs: [] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      dup.responses.map((x) => x.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
  });

  test('OffsetForLeaderEpoch v2 and v4: epoch 0 ends at the log end offset; other epochs and errors as Kafka', async () => {
    const topic = uniqueTopic('ofle');
    await createTopic(topic, 1);
    const ask = (
      version: number,
      partitions: { partition: number; currentLeaderEpoch: number; leaderEpoch: number }[],
      name = topic,
    ) =>
      rawRequest<OffsetForLeaderEpochResponse>(b.bootstrapServers, ApiKey.OffsetForLeaderEpoch, version, {
        replicaId: -1,
        topics: [{ topic: name, partitions }],
      });
    // Empty log: epoch 0 is current, its end is 0.
    let r = await ask(2, [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }]);
    assert.deepEqual(r.topics[0]!.partitions[0], {
      errorCode: 0,
      partition: 0,
      leaderEpoch: 0,
      endOffset: 0n,
    });

    const kafka = new Kafka({ brokers: [b.bootstrapServers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.disconnect();

    for (const version of [2, 4]) {
      r = await ask(version, [
        { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
        { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 3 },
        { partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 },
        { partition: 7, currentLeaderEpoch: 0, leaderEpoch: 0 },
      ]);
      assert.deepEqual(
        r.topics[0]!.partitions.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset]),
        [
          [ErrorCode.NONE, 0, 3n],
          [ErrorCode.NONE, -1, -1n],
          [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n],
          [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
        ],
        `v${version}`,
      );
    }
    r = await ask(4, [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }], uniqueTopic('missing'));
    assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('DescribeCluster v0 and v1: this broker, controller and cluster id; controller endpoints are refused', async () => {
    for (const version of [0, 1]) {
      const r = await rawRequest<DescribeClusterResponse>(
        b.bootstrapServers,
        ApiKey.DescribeCluster,
        version,
        {
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        },
      );
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.clusterId, b.broker.services.metadata.clusterId);
      assert.equal(r.controllerId, b.broker.config.nodeId);
      assert.deepEqual(r.brokers, [
        { brokerId: b.broker.config.nodeId, host: '127.0.0.1', port: b.port, rack: null },
      ]);
      assert.equal(r.clusterAuthorizedOperations, -2147483648);
    }
    const controllers = await rawRequest<DescribeClusterResponse>(
      b.bootstrapServers,
      ApiKey.DescribeCluster,
      1,
      {
        includeClusterAuthorizedOperations: true,
        endpointType: 2,
      },
    );
    assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  });

  test('CreatePartitions and DeleteRecords edge cases: assignments, duplicates, offsets past the high watermark', async () => {
    const topic = uniqueTopic('edges');
    await createTopic(topic, 1);
    const grow = (
      topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[],
      validateOnly = false,
    ) =>
      rawRequest<CreatePartitionsResponse>(b.bootstrapServers, ApiKey.CreatePartitions, 3, {
        topics,
        timeoutMs: 5000,
        validateOnly,
      });
    const nodeId = b.broker.config.nodeId;
    let r = await grow([{ name: topic, count: 3, assignments: [{ brokerIds: [nodeId] }] }]);
    assert.equal(r.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    r = await grow([{ name: topic, count: 2, assignments: [{ brokerIds: [nodeId + 1] }] }]);
    assert.equal(r.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    r = await grow([
      { name: topic, count: 2, assignments: null },
      { name: topic, count: 3, assignments: null },
    ]);
    assert.deepEqual(
      r.results.map((x) => x.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    r = await grow([{ name: topic, count: 4, assignments: null }], true);
    assert.equal(r.results[0]!.errorCode, ErrorCode.NONE);
    assert.equal(b.broker.services.topics.get(topic)?.partitions, 1, 'validateOnly created nothing');
    r = await grow([{ name: topic, count: 2, assignments: [{ brokerIds: [nodeId] }] }]);
    assert.equal(r.results[0]!.errorCode, ErrorCode.NONE, r.results[0]!.errorMessage ?? '');
    assert.equal(b.broker.services.topics.get(topic)?.partitions, 2);

    const del = await rawRequest<DeleteRecordsResponse>(b.bootstrapServers, ApiKey.DeleteRecords, 2, {
      topics: [
        {
          name: topic,
          partitions: [
            { partitionIndex: 0, offset: 5n },
            { partitionIndex: 1, offset: -1n },
            { partitionIndex: 9, offset: 0n },
          ],
        },
      ],
      timeoutMs: 5000,
    });
    assert.deepEqual(
      del.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.lowWatermark]),
      [
        [0, ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
        [1, ErrorCode.NONE, 0n],
        [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
      ],
    );
  });
});
