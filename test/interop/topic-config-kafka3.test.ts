// Topic configs Kafka 3.x accepts, as kafka-python's admin and producer meet them (issue 9): the deprecated
// message.format.version and message.timestamp.difference.max.ms are accepted, and the timestamp limits
// (message.timestamp.before.max.ms / after.max.ms, or the deprecated difference as their fallback) are enforced
// on produce with INVALID_TIMESTAMP for CreateTime topics, as Kafka 3.6+ does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { runPythonWithParams } from '../helpers/run.js';

const PY_TIMEOUT_MS = 60_000;
const HOUR_MS = 3_600_000;

const SCRIPT = String.raw`
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError
admin = KafkaAdminClient(bootstrap_servers=BS, request_timeout_ms=20000)
out = {'create': {}, 'produce': {}}
for name, configs in P['topics'].items():
    try:
        admin.create_topics([NewTopic(name, 1, 1, topic_configs=configs)])
        out['create'][name] = 'ok'
    except KafkaError as e:
        out['create'][name] = type(e).__name__
admin.close()
p = KafkaProducer(bootstrap_servers=BS, retries=0, request_timeout_ms=20000)
now = int(time.time() * 1000)
for name, offsets in P['sends'].items():
    res = []
    for delta in offsets:
        try:
            md = p.send(name, b'v', timestamp_ms=now + delta).get(timeout=20)
            res.append(md.offset)
        except KafkaError as e:
            res.append(type(e).__name__)
    out['produce'][name] = res
p.close()
print(json.dumps(out))
`;

// The broker-level synonym, set at runtime as the cluster-wide default, limits a topic without overrides.
const BROKER_SCRIPT = String.raw`
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic, ConfigResource, ConfigResourceType
from kafka.errors import KafkaError
admin = KafkaAdminClient(bootstrap_servers=BS, request_timeout_ms=20000)
admin.create_topics([NewTopic(P['topic'], 1, 1)])
p = KafkaProducer(bootstrap_servers=BS, retries=0, request_timeout_ms=20000)
def send(delta):
    try:
        return p.send(P['topic'], b'v', timestamp_ms=int(time.time() * 1000) + delta).get(timeout=20).offset
    except KafkaError as e:
        return type(e).__name__
out = {'before': send(P['future'])}
r = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, '', configs={'log.message.timestamp.after.max.ms': str(P['limit'])})])
out['alter'] = r.resources[0][0]
out['after'] = [send(P['future']), send(0)]
p.close()
admin.close()
print(json.dumps(out))
`;

describe('Kafka 3.x topic configs with kafka-python', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker();
  });
  after(async () => {
    await b?.stop();
  });

  test('deprecated keys are accepted and the timestamp limits answer INVALID_TIMESTAMP', async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka')))
      return;
    const deprecated = uniqueTopic('cfg-deprecated');
    const limits = uniqueTopic('cfg-limits');
    const appendTime = uniqueTopic('cfg-appendtime');
    const bad = uniqueTopic('cfg-bad');
    const hour = String(HOUR_MS);
    const r = await runPythonWithParams<{
      create: Record<string, string>;
      produce: Record<string, (number | string)[]>;
    }>(
      SCRIPT,
      {
        bootstrap: b.bootstrapServers,
        topics: {
          // Only the deprecated difference: it bounds both sides.
          [deprecated]: { 'message.format.version': '2.8', 'message.timestamp.difference.max.ms': hour },
          [limits]: { 'message.timestamp.before.max.ms': hour, 'message.timestamp.after.max.ms': hour },
          // LogAppendTime topics ignore the limits (the broker stamps its own time).
          [appendTime]: { 'message.timestamp.type': 'LogAppendTime', 'message.timestamp.before.max.ms': '0' },
          [bad]: { 'message.format.version': 'not-a-version' },
        },
        sends: {
          [deprecated]: [0, -2 * HOUR_MS, 2 * HOUR_MS],
          [limits]: [0, -2 * HOUR_MS, 2 * HOUR_MS, -HOUR_MS / 2],
          [appendTime]: [-10 * HOUR_MS],
        },
      },
      PY_TIMEOUT_MS,
    );
    assert.deepEqual(r.create, {
      [deprecated]: 'ok',
      [limits]: 'ok',
      [appendTime]: 'ok',
      [bad]: 'InvalidConfigurationError',
    });
    assert.deepEqual(r.produce[deprecated], [0, 'InvalidTimestampError', 'InvalidTimestampError']);
    assert.deepEqual(r.produce[limits], [0, 'InvalidTimestampError', 'InvalidTimestampError', 1]);
    assert.deepEqual(r.produce[appendTime], [0]);
  });

  test('log.message.timestamp.after.max.ms set at runtime limits topics without an override', async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka')))
      return;
    const r = await runPythonWithParams<{
      before: number | string;
      alter: number;
      after: (number | string)[];
    }>(
      BROKER_SCRIPT,
      {
        bootstrap: b.bootstrapServers,
        topic: uniqueTopic('cfg-broker'),
        future: 2 * HOUR_MS,
        limit: HOUR_MS,
      },
      PY_TIMEOUT_MS,
    );
    assert.deepEqual(r, { before: 0, alter: 0, after: ['InvalidTimestampError', 1] });
  });
});
