// DescribeConfigs with IncludeSynonyms lists where a value comes from, as Kafka's ConfigHelper does (issue 9):
// the topic override, then this broker's dynamic value (DYNAMIC_BROKER_CONFIG, AlterConfigs on its node id),
// the cluster-wide dynamic default (DYNAMIC_DEFAULT_BROKER_CONFIG, resource ""), server.properties
// (STATIC_BROKER_CONFIG) and the built-in default (DEFAULT_CONFIG), with the entry's ConfigSource the first
// synonym's. Shown with kafka-python 2.0.2's describe_configs(include_synonyms=True); ConfigType and
// documentation (v3+, which kafka-python does not send) with a raw DescribeConfigs v4.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { runPythonWithParams } from '../helpers/run.js';
import { rawRequest } from './raw-client.js';

const SCRIPT = String.raw`
from kafka.admin import KafkaAdminClient, NewTopic, ConfigResource, ConfigResourceType as T
admin = KafkaAdminClient(bootstrap_servers=BS, request_timeout_ms=20000)
admin.create_topics([NewTopic(P['topic'], 1, 1, topic_configs={'retention.ms': '1000'})])
# The cluster-wide default first, then this broker's own value, which wins.
admin.alter_configs([ConfigResource(T.BROKER, '', configs={'log.segment.bytes': '2000000'})])
admin.alter_configs([ConfigResource(T.BROKER, str(P['nodeId']), configs={'log.segment.bytes': '3000000'})])
def entries(rs):
    out = {}
    for r in rs:
        for (code, msg, rtype, rname, configs) in r.resources:
            for c in configs:
                out[c[0]] = {'value': c[1], 'source': c[3], 'synonyms': [[s[0], s[1], s[2]] for s in c[5]]}
    return out
keys = {'retention.ms': None, 'segment.bytes': None, 'segment.ms': None, 'max.message.bytes': None}
out = {
  'topic': entries(admin.describe_configs([ConfigResource(T.TOPIC, P['topic'], configs=keys)], include_synonyms=True)),
  'broker': entries(admin.describe_configs([ConfigResource(T.BROKER, str(P['nodeId']),
      configs={'log.segment.bytes': None, 'log.retention.hours': None, 'log.retention.ms': None})], include_synonyms=True)),
}
admin.close()
print(json.dumps(out))
`;

const DYNAMIC_TOPIC = 1;
const DYNAMIC_BROKER = 2;
const DYNAMIC_DEFAULT = 3;
const STATIC = 4;
const DEFAULT = 5;

describe('DescribeConfigs synonyms, as Kafka lists them', () => {
  let b: TestBroker;
  let topic: string;
  before(async () => {
    b = await startTestBroker({ 'log.retention.hours': '24', 'log.segment.bytes': '10485760' });
    topic = uniqueTopic('synonyms');
  });
  after(async () => {
    await b?.stop();
  });

  test('kafka-python describe_configs(include_synonyms=True) shows every layer in precedence order', async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka')))
      return;
    type Entry = { value: string | null; source: number; synonyms: [string, string | null, number][] };
    const r = await runPythonWithParams<{ topic: Record<string, Entry>; broker: Record<string, Entry> }>(
      SCRIPT,
      { bootstrap: b.bootstrapServers, topic, nodeId: b.broker.config.nodeId },
      60_000,
    );
    const segmentLayers: [string, string, number][] = [
      ['log.segment.bytes', '3000000', DYNAMIC_BROKER],
      ['log.segment.bytes', '2000000', DYNAMIC_DEFAULT],
      ['log.segment.bytes', '10485760', STATIC],
      ['log.segment.bytes', '1073741824', DEFAULT],
    ];
    assert.deepEqual(r.topic['segment.bytes'], {
      value: '3000000',
      source: DYNAMIC_BROKER,
      synonyms: segmentLayers,
    });
    // The override, then nothing: Kafka drops the log.retention.hours values in front of log.retention.ms.
    assert.deepEqual(r.topic['retention.ms'], {
      value: '1000',
      source: DYNAMIC_TOPIC,
      synonyms: [['retention.ms', '1000', DYNAMIC_TOPIC]],
    });
    assert.deepEqual(r.topic['segment.ms'], { value: '604800000', source: DEFAULT, synonyms: [] });
    assert.deepEqual(r.topic['max.message.bytes'], {
      value: '1048588',
      source: DEFAULT,
      synonyms: [['message.max.bytes', '1048588', DEFAULT]],
    });
    assert.deepEqual(r.broker['log.segment.bytes'], {
      value: '3000000',
      source: DYNAMIC_BROKER,
      synonyms: segmentLayers,
    });
    assert.deepEqual(r.broker['log.retention.hours'], {
      value: '24',
      source: STATIC,
      synonyms: [
        ['log.retention.hours', '24', STATIC],
        ['log.retention.hours', '168', DEFAULT],
      ],
    });
    assert.deepEqual(r.broker['log.retention.ms'], { value: null, source: DEFAULT, synonyms: [] });
    // The broker's own value is the one its logs run with.
    assert.equal(b.broker.services.replicas.getLog(topic, 0)?.config.segmentBytes, 3000000);
  });

  test('the cluster-default resource lists only its own keys; v4 carries ConfigType and documentation', async () => {
    const res = await rawRequest<DescribeConfigsResponse>(b.bootstrapServers, ApiKey.DescribeConfigs, 4, {
      resources: [
        { resourceType: 4, resourceName: '', configurationKeys: null },
        { resourceType: 2, resourceName: topic, configurationKeys: ['segment.bytes'] },
      ],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    const [clusterDefault, topicRes] = res.results;
    assert.deepEqual(
      clusterDefault!.configs.map((c) => [c.name, c.value, c.configSource, c.synonyms.map((s) => s.source)]),
      [['log.segment.bytes', '2000000', DYNAMIC_DEFAULT, [DYNAMIC_DEFAULT, STATIC, DEFAULT]]],
    );
    const seg = topicRes!.configs[0]!;
    assert.equal(seg.configType, 3 /* INT */);
    assert.match(seg.documentation ?? '', /segment/i);
  });
});
