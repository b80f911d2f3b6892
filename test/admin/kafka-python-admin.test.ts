// kafka-python 2.0.2's KafkaAdminClient against a real in-process broker: create_partitions,
// alter_configs and describe_configs (topic and broker), as a Python user would call them.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { runPythonJson } from '../helpers/run.js';

const PY_TIMEOUT_MS = 60_000;

// Parameters arrive as JSON in $PARAMS; the last stdout line is the JSON result.
const SCRIPT = `
import json, os
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

p = json.loads(os.environ['PARAMS'])
admin = KafkaAdminClient(bootstrap_servers=p['bootstrap'], client_id='brook-kp-admin', request_timeout_ms=20000)
topic = p['topic']
out = {}

def entries(responses):
    res = []
    for r in responses:
        for (code, msg, rtype, rname, configs) in r.resources:
            res.append({'code': code, 'type': rtype, 'name': rname,
                        'configs': {c[0]: {'value': c[1], 'readOnly': c[2], 'source': c[3], 'sensitive': c[4]} for c in configs}})
    return res

admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
admin.create_partitions({topic: NewPartitions(total_count=5)})
try:
    admin.create_partitions({topic: NewPartitions(total_count=3)})
    out['shrink'] = 'accepted'
except KafkaError as e:
    out['shrink'] = type(e).__name__

producer = KafkaProducer(bootstrap_servers=p['bootstrap'])
md = producer.send(topic, value=b'to-partition-4', partition=4).get(timeout=20)
producer.close()
out['produced'] = [md.partition, md.offset]

alter = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={'retention.ms': '1000', 'cleanup.policy': 'compact'})])
out['alter'] = [[r[0], r[3]] for r in alter.resources]
bad = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={'retention.ms': '-5'})])
out['alterBad'] = [[r[0], r[1]] for r in bad.resources]

out['topic'] = entries(admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]))
out['broker'] = entries(admin.describe_configs(
    [ConfigResource(ConfigResourceType.BROKER, str(p['nodeId']), configs={'log.retention.hours': None, 'num.partitions': None})]))
out['partitions'] = sorted(admin.describe_topics([topic])[0]['partitions'], key=lambda x: x['partition'])[-1]['partition']
admin.close()
print(json.dumps(out))
`;

interface Described {
  code: number;
  type: number;
  name: string;
  configs: Record<string, { value: string | null; readOnly: boolean; source: number; sensitive: boolean }>;
}

interface Result {
  shrink: string;
  produced: [number, number];
  alter: [number, string][];
  alterBad: [number, string | null][];
  topic: Described[];
  broker: Described[];
  partitions: number;
}

async function available(t: TestContext): Promise<boolean> {
  return requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka');
}

describe('kafka-python 2.0.2 KafkaAdminClient', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker();
  });
  after(async () => {
    await b?.stop();
  });

  test('create_partitions, alter_configs and describe_configs as a Python user sees them', async (t) => {
    if (!(await available(t))) return;
    const topic = uniqueTopic('kp-admin');
    const r = await runPythonJson<Result>(
      SCRIPT,
      { PARAMS: JSON.stringify({ bootstrap: b.bootstrapServers, topic, nodeId: b.broker.config.nodeId }) },
      PY_TIMEOUT_MS,
    );
    // create_partitions to 5: partition 4 exists and takes writes; shrinking is refused.
    assert.equal(r.partitions, 4);
    assert.deepEqual(r.produced, [4, 0]);
    assert.equal(r.shrink, 'InvalidPartitionsError');

    assert.deepEqual(r.alter, [[0, topic]]);
    assert.equal(r.alterBad[0]![0], 40 /* INVALID_CONFIG */);
    assert.match(r.alterBad[0]![1] ?? '', /retention\.ms/);

    const [topicRes] = r.topic;
    assert.equal(topicRes!.code, 0);
    assert.deepEqual(topicRes!.configs['retention.ms'], {
      value: '1000',
      readOnly: false,
      source: 1 /* DYNAMIC_TOPIC_CONFIG */,
      sensitive: false,
    });
    assert.equal(topicRes!.configs['cleanup.policy']?.value, 'compact');
    assert.equal(topicRes!.configs['segment.bytes']?.source, 5 /* DEFAULT_CONFIG */);
    assert.equal(b.broker.services.replicas.getLog(topic, 3)?.config.retentionMs, 1000);

    const [brokerRes] = r.broker;
    assert.equal(brokerRes!.code, 0);
    assert.deepEqual(Object.keys(brokerRes!.configs).sort(), ['log.retention.hours', 'num.partitions']);
    assert.equal(brokerRes!.configs['log.retention.hours']?.value, '168');
    assert.equal(brokerRes!.configs['log.retention.hours']?.readOnly, false);
    assert.equal(brokerRes!.configs['num.partitions']?.readOnly, true);
  });
});
