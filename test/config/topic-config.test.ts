import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveBrokerConfig, withDynamicBrokerConfig } from '../../src/config/broker-config.js';
import { ConfigSource } from '../../src/config/config-def.js';
import { ConfigError } from '../../src/config/config-error.js';
import {
  TOPIC_TO_BROKER_KEY,
  describeTopicConfig,
  resolveTopicConfig,
  validateTopicConfig,
  validateTopicConfigs,
} from '../../src/config/topic-config.js';

describe('topic config', () => {
  it('maps topic keys to their broker defaults', () => {
    assert.equal(TOPIC_TO_BROKER_KEY.get('retention.ms'), 'log.retention.ms');
    assert.equal(TOPIC_TO_BROKER_KEY.get('segment.bytes'), 'log.segment.bytes');
    assert.equal(TOPIC_TO_BROKER_KEY.get('max.message.bytes'), 'message.max.bytes');
    assert.equal(TOPIC_TO_BROKER_KEY.get('cleanup.policy'), 'log.cleanup.policy');
    assert.equal(TOPIC_TO_BROKER_KEY.get('segment.ms'), 'log.roll.ms');
  });

  it('validates values and unknown keys with ConfigError', () => {
    assert.equal(validateTopicConfig('retention.ms', '1000'), 1000);
    assert.deepEqual(validateTopicConfig('cleanup.policy', 'compact,delete'), ['compact', 'delete']);
    assert.throws(() => validateTopicConfig('retention.ms', '-2'), ConfigError);
    assert.throws(() => validateTopicConfig('segment.bytes', '10'), /segment\.bytes.*at least 14|between 14/);
    assert.throws(() => validateTopicConfig('cleanup.policy', 'forever'), /cleanup\.policy/);
    assert.throws(
      () => validateTopicConfig('retention.hours', '1'),
      /Unknown topic configuration retention\.hours\./,
    );
    assert.throws(
      () => validateTopicConfigs({ 'min.compaction.lag.ms': '100', 'max.compaction.lag.ms': '10' }),
      /must not exceed max\.compaction\.lag\.ms/,
    );
  });

  it('resolves overrides over broker defaults, including dynamic ones', () => {
    const broker = resolveBrokerConfig({ 'log.retention.hours': '2', 'log.segment.bytes': '4096' });
    const t = resolveTopicConfig(broker, { 'retention.bytes': '100', 'cleanup.policy': 'compact' });
    assert.equal(t.retentionMs, 2 * 3_600_000);
    assert.equal(t.segmentBytes, 4096);
    assert.equal(t.retentionBytes, 100);
    assert.deepEqual(t.cleanupPolicy, ['compact']);
    assert.equal(t.maxMessageBytes, 1048588);
    const dynamic = withDynamicBrokerConfig(broker, { 'log.retention.ms': '5000' });
    assert.equal(resolveTopicConfig(dynamic).retentionMs, 5000);
  });

  it('reports DYNAMIC_TOPIC_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG and DEFAULT_CONFIG', () => {
    const broker = withDynamicBrokerConfig(resolveBrokerConfig({ 'log.retention.hours': '2' }), {
      'message.max.bytes': '5000',
    });
    const entries = new Map(describeTopicConfig(broker, { 'segment.bytes': '1024' }).map((e) => [e.name, e]));
    assert.equal(entries.get('segment.bytes')!.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
    assert.equal(entries.get('segment.bytes')!.value, '1024');
    assert.equal(entries.get('max.message.bytes')!.source, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    assert.equal(entries.get('max.message.bytes')!.value, '5000');
    assert.equal(entries.get('retention.ms')!.source, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(entries.get('retention.ms')!.value, String(2 * 3_600_000));
    assert.deepEqual(entries.get('retention.ms')!.synonyms, [
      { name: 'log.retention.hours', value: '2', source: ConfigSource.STATIC_BROKER_CONFIG },
    ]);
    assert.equal(entries.get('cleanup.policy')!.source, ConfigSource.DEFAULT_CONFIG);
    assert.equal(entries.get('cleanup.policy')!.isDefault, true);
    assert.equal(entries.get('flush.messages')!.value, '9223372036854775807');
  });
});
