import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveBrokerConfig, withDynamicBrokerConfig } from '../../src/config/broker-config.js';
import { ConfigSource } from '../../src/config/config-def.js';
import { ConfigError } from '../../src/config/config-error.js';
import { logDefaultsFrom } from '../../src/broker/broker.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import {
  TOPIC_TO_BROKER_KEY,
  describeTopicConfig,
  topicLogConfig,
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
    const t = topicLogConfig(logDefaultsFrom(broker), {
      'retention.bytes': '100',
      'cleanup.policy': 'compact',
    });
    assert.equal(t.retentionMs, 2 * 3_600_000);
    assert.equal(t.segmentBytes, 4096);
    assert.equal(t.retentionBytes, 100);
    assert.equal(t.cleanupPolicy, 'compact');
    assert.equal(t.maxMessageBytes, 1048588);
    const dynamic = withDynamicBrokerConfig(broker, { 'log.retention.ms': '5000' });
    assert.equal(topicLogConfig(logDefaultsFrom(dynamic), {}).retentionMs, 5000);
  });

  it('maps Kafka keys onto the log settings and rejects invalid values (the one topic config parser)', () => {
    const cfg = topicLogConfig(defaultLogConfig, {
      'segment.bytes': '1048576',
      'retention.ms': '-1',
      'retention.bytes': '5000',
      'cleanup.policy': 'delete,compact',
      'message.timestamp.type': 'LogAppendTime',
      'flush.messages': '9223372036854775807',
      'compression.type': 'zstd',
    });
    assert.equal(cfg.segmentBytes, 1048576);
    assert.equal(cfg.retentionMs, -1);
    assert.equal(cfg.retentionBytes, 5000);
    assert.equal(cfg.cleanupPolicy, 'compact,delete');
    assert.equal(cfg.messageTimestampType, 'LogAppendTime');
    assert.equal(cfg.flushIntervalMessages, Number.MAX_SAFE_INTEGER);
    assert.equal(cfg.segmentMs, defaultLogConfig.segmentMs);
    for (const bad of [
      { 'segment.bytes': 'abc' },
      { 'retention.ms': '-5' },
      { 'cleanup.policy': 'nope' },
      { 'segment.bytes': '3000000000' },
      { preallocate: 'maybe' },
    ] as Record<string, string>[]) {
      assert.throws(() => topicLogConfig(defaultLogConfig, bad), ConfigError, JSON.stringify(bad));
    }
  });

  it('accepts every Kafka 3.9 TopicConfig key, validated as Kafka validates it', () => {
    const accepted: Record<string, string> = {
      'message.format.version': '2.8',
      'message.timestamp.difference.max.ms': '60000',
      'message.timestamp.before.max.ms': '1000',
      'message.timestamp.after.max.ms': '2000',
      'message.downconversion.enable': 'false',
      'compression.gzip.level': '-1',
      'compression.lz4.level': '17',
      'compression.zstd.level': '-5',
      'local.retention.ms': '-2',
      'local.retention.bytes': '1000',
      'remote.storage.enable': 'false',
      'remote.log.copy.disable': 'true',
      'remote.log.delete.on.disable': 'false',
      'leader.replication.throttled.replicas': '0:1,1:1',
      'follower.replication.throttled.replicas': '*',
      'file.delete.delay.ms': '0',
      'max.compaction.lag.ms': '1',
      'min.insync.replicas': '1',
      preallocate: 'true',
      'segment.index.bytes': '4096',
      'segment.jitter.ms': '0',
      'unclean.leader.election.enable': 'true',
    };
    for (const [k, v] of Object.entries(accepted)) assert.doesNotThrow(() => validateTopicConfig(k, v), k);
    validateTopicConfig('message.format.version', '0.10.2-IV0');
    validateTopicConfig('message.format.version', '3.0-IV1');
    const refused: [string, string][] = [
      ['message.format.version', '9.9'],
      ['message.format.version', 'latest'],
      ['message.timestamp.difference.max.ms', '-1'],
      ['compression.gzip.level', '0'],
      ['compression.gzip.level', '10'],
      ['compression.lz4.level', '18'],
      ['compression.zstd.level', '23'],
      ['local.retention.ms', '-3'],
      ['remote.storage.enable', 'true'],
      ['leader.replication.throttled.replicas', 'all'],
      ['message.downconversion.enable', 'yes'],
    ];
    for (const [k, v] of refused) assert.throws(() => validateTopicConfig(k, v), ConfigError, `${k}=${v}`);
  });

  it('falls back to the deprecated message.timestamp.difference.max.ms, as Kafka 3.6+', () => {
    const t = topicLogConfig(defaultLogConfig, { 'message.timestamp.difference.max.ms': '60000' });
    assert.equal(t.messageTimestampBeforeMaxMs, 60000);
    assert.equal(t.messageTimestampAfterMaxMs, 60000);
    const both = topicLogConfig(defaultLogConfig, {
      'message.timestamp.difference.max.ms': '60000',
      'message.timestamp.before.max.ms': '5',
    });
    assert.equal(both.messageTimestampBeforeMaxMs, 5);
    assert.equal(both.messageTimestampAfterMaxMs, 60000);
    const broker = resolveBrokerConfig({ 'log.message.timestamp.difference.max.ms': '7000' });
    assert.equal(broker.messageTimestampBeforeMaxMs, 7000);
    assert.equal(broker.messageTimestampAfterMaxMs, 7000);
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
    // As Kafka: a value set only through log.retention.hours is not listed as a synonym of the
    // millisecond key (ConfigHelper drops the synonyms in front of log.retention.ms).
    assert.equal(entries.get('retention.ms')!.source, ConfigSource.DEFAULT_CONFIG);
    assert.equal(entries.get('retention.ms')!.value, String(2 * 3_600_000));
    assert.deepEqual(entries.get('retention.ms')!.synonyms, []);
    const ms = new Map(
      describeTopicConfig(resolveBrokerConfig({ 'log.retention.ms': '5' })).map((e) => [e.name, e]),
    );
    assert.deepEqual(ms.get('retention.ms')!.synonyms, [
      { name: 'log.retention.ms', value: '5', source: ConfigSource.STATIC_BROKER_CONFIG },
      { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
    ]);
    assert.equal(entries.get('cleanup.policy')!.source, ConfigSource.DEFAULT_CONFIG);
    assert.deepEqual(entries.get('cleanup.policy')!.synonyms, [
      { name: 'log.cleanup.policy', value: 'delete', source: ConfigSource.DEFAULT_CONFIG },
    ]);
    assert.equal(entries.get('cleanup.policy')!.isDefault, true);
    assert.equal(entries.get('flush.messages')!.value, '9223372036854775807');
  });
});
