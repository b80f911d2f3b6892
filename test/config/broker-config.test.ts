import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import {
  BROKER_CONFIG_DEFS,
  DYNAMIC_BROKER_CONFIG_KEYS,
  defaultBrokerConfig,
  describeBrokerConfig,
  resolveBrokerConfig,
  withDynamicBrokerConfig,
} from '../../src/config/broker-config.js';
import { ConfigSource, parseConfigValue } from '../../src/config/config-def.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseServerProperties } from '../../src/config/properties.js';

const HOUR = 3_600_000;

describe('resolveBrokerConfig defaults', () => {
  it('uses Kafka defaults, and Brook’s where documented', () => {
    const c = defaultBrokerConfig();
    assert.equal(c.nodeId, 1);
    assert.deepEqual(c.listeners, [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
    assert.deepEqual(c.advertisedListeners, c.listeners);
    assert.deepEqual(c.logDirs, ['./data']);
    assert.equal(c.numPartitions, 1);
    assert.equal(c.retentionMs, 168 * HOUR);
    assert.equal(c.retentionBytes, -1);
    assert.equal(c.segmentBytes, 1073741824);
    assert.equal(c.rollMs, 168 * HOUR);
    assert.equal(c.messageMaxBytes, 1048588);
    assert.equal(c.socketRequestMaxBytes, 104857600);
    assert.equal(c.queuedMaxRequests, 500);
    assert.equal(c.offsetsTopicNumPartitions, 50);
    assert.equal(c.offsetsRetentionMs, 10080 * 60_000);
    assert.equal(c.groupInitialRebalanceDelayMs, 3000);
    assert.equal(c.flushBeforeAck, false);
    assert.deepEqual(c.cleanupPolicy, ['delete']);
    assert.equal(c.messageTimestampType, 'CreateTime');
    assert.equal(c.flushIntervalMessages, Number.MAX_SAFE_INTEGER);
    assert.equal(c.logLevel, 'info');
  });

  it('has a doc string, a parseable default and a note for every Brook-specific default', () => {
    for (const def of BROKER_CONFIG_DEFS) {
      assert.ok(def.doc.length > 10, def.name);
      if (def.default !== null) parseConfigValue(def, def.default);
      if (def.kafkaDefault !== undefined)
        assert.ok(def.note, `${def.name} differs from Kafka without a note`);
    }
  });

  it('loads a stock Kafka KRaft server.properties without unknown keys', () => {
    const stock = `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`;
    const unknown: string[] = [];
    const c = resolveBrokerConfig(parseServerProperties(stock), { onUnknownKey: (k) => unknown.push(k) });
    assert.deepEqual(unknown, []);
    assert.deepEqual(c.listeners, [{ name: 'PLAINTEXT', host: '', port: 9092 }]);
    assert.deepEqual(c.advertisedListeners, [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }]);
    assert.deepEqual(c.logDirs, ['/tmp/kraft-combined-logs']);
  });
});

describe('resolveBrokerConfig synonyms', () => {
  it('log.retention.ms wins over minutes, which wins over hours', () => {
    assert.equal(resolveBrokerConfig({ 'log.retention.hours': '1' }).retentionMs, HOUR);
    assert.equal(
      resolveBrokerConfig({ 'log.retention.hours': '1', 'log.retention.minutes': '5' }).retentionMs,
      5 * 60_000,
    );
    assert.equal(
      resolveBrokerConfig({
        'log.retention.hours': '1',
        'log.retention.minutes': '5',
        'log.retention.ms': '1234',
      }).retentionMs,
      1234,
    );
    assert.equal(
      resolveBrokerConfig({ 'log.retention.ms': '-1', 'log.retention.hours': '1' }).retentionMs,
      -1,
    );
    assert.equal(resolveBrokerConfig({ 'log.retention.hours': '-5' }).retentionMs, -1);
  });

  it('log.roll.ms wins over log.roll.hours', () => {
    assert.equal(resolveBrokerConfig({ 'log.roll.hours': '2' }).rollMs, 2 * HOUR);
    assert.equal(resolveBrokerConfig({ 'log.roll.hours': '2', 'log.roll.ms': '500' }).rollMs, 500);
  });

  it('node.id wins over broker.id, log.dirs over log.dir', () => {
    assert.equal(resolveBrokerConfig({ 'broker.id': '7' }).nodeId, 7);
    assert.equal(resolveBrokerConfig({ 'node.id': '3', 'broker.id': '3' }).nodeId, 3);
    assert.throws(
      () => resolveBrokerConfig({ 'node.id': '3', 'broker.id': '4' }),
      /broker\.id.*must equal node\.id/,
    );
    assert.deepEqual(resolveBrokerConfig({ 'log.dir': '/x' }).logDirs, ['/x']);
    assert.deepEqual(resolveBrokerConfig({ 'log.dir': '/x', 'log.dirs': '/a, /b' }).logDirs, ['/a', '/b']);
  });
});

describe('resolveBrokerConfig validation', () => {
  it('names the key, the value and what is allowed in one sentence', () => {
    const cases: [Record<string, string>, string][] = [
      [
        { 'log.retention.ms': 'soon' },
        'Invalid value "soon" for configuration log.retention.ms: must be a long integer between -1 and 9223372036854775807.',
      ],
      [
        { 'num.partitions': '0' },
        'Invalid value "0" for configuration num.partitions: must be an integer between 1 and 2147483647.',
      ],
      [
        { 'num.partitions': '3000000000' },
        'Invalid value "3000000000" for configuration num.partitions: must be an integer between 1 and 2147483647.',
      ],
      [
        { 'auto.create.topics.enable': 'yes' },
        'Invalid value "yes" for configuration auto.create.topics.enable: must be true or false.',
      ],
      [
        { 'log.message.timestamp.type': 'Now' },
        'Invalid value "Now" for configuration log.message.timestamp.type: must be one of CreateTime, LogAppendTime.',
      ],
      [
        { 'log.cleanup.policy': 'delete,shred' },
        'Invalid value "delete,shred" for configuration log.cleanup.policy: must be a comma-separated list of compact, delete.',
      ],
    ];
    for (const [raw, message] of cases) {
      assert.throws(
        () => resolveBrokerConfig(raw),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.message, message);
          return true;
        },
      );
    }
  });

  it('accepts values the way Kafka does: trimmed, case-insensitive booleans and enums', () => {
    const c = resolveBrokerConfig({
      'num.partitions': ' 4 ',
      'delete.topic.enable': 'FALSE',
      'log.message.timestamp.type': 'logappendtime',
      'log.cleanup.policy': 'compact, delete',
    });
    assert.equal(c.numPartitions, 4);
    assert.equal(c.deleteTopicEnable, false);
    assert.equal(c.messageTimestampType, 'LogAppendTime');
    assert.deepEqual(c.cleanupPolicy, ['compact', 'delete']);
  });

  it('calls onUnknownKey for keys it does not know, once each', () => {
    const unknown: string[] = [];
    resolveBrokerConfig(
      { 'log.retension.ms': '5', 'foo.bar': 'x', 'num.partitions': '2' },
      {
        onUnknownKey: (k) => unknown.push(k),
      },
    );
    assert.deepEqual(unknown.sort(), ['foo.bar', 'log.retension.ms']);
  });

  it('accepts zookeeper.connect (cluster mode) with its timeouts and broker.rack', () => {
    const c = resolveBrokerConfig({
      'zookeeper.connect': 'zk1:2181,zk2:2181/brook',
      'zookeeper.session.timeout.ms': '6000',
      'broker.rack': 'r1',
    });
    assert.equal(c.zookeeperConnect, 'zk1:2181,zk2:2181/brook');
    assert.equal(c.zookeeperSessionTimeoutMs, 6000);
    assert.equal(c.zookeeperConnectionTimeoutMs, 6000);
    assert.equal(c.brokerRack, 'r1');
    const d = resolveBrokerConfig({});
    assert.equal(d.zookeeperConnect, '');
    assert.equal(d.zookeeperSessionTimeoutMs, 18000);
    assert.equal(d.brokerRack, null);
    assert.throws(() => resolveBrokerConfig({ 'zookeeper.connect': 'a b:2181' }), /zookeeper\.connect/);
  });
});

describe('listeners', () => {
  it('parses NAME://host:port lists, IPv6 and empty hosts', () => {
    const c = resolveBrokerConfig({
      listeners: 'PLAINTEXT://0.0.0.0:9092, INTERNAL://[::1]:19092',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
    });
    assert.deepEqual(c.listeners, [
      { name: 'PLAINTEXT', host: '0.0.0.0', port: 9092 },
      { name: 'INTERNAL', host: '::1', port: 19092 },
    ]);
    // Not advertised as 0.0.0.0: as in Kafka, the machine's host name instead.
    assert.equal(c.advertisedListeners[0]!.host, hostname());
    assert.equal(c.advertisedListeners[1]!.host, '::1');
  });

  it('uses advertised.listeners when set, and rejects a non-routable one', () => {
    const c = resolveBrokerConfig({
      listeners: 'PLAINTEXT://:9092',
      'advertised.listeners': 'PLAINTEXT://broker.example.com:19092',
    });
    assert.deepEqual(c.advertisedListeners, [{ name: 'PLAINTEXT', host: 'broker.example.com', port: 19092 }]);
    assert.throws(
      () => resolveBrokerConfig({ 'advertised.listeners': 'PLAINTEXT://0.0.0.0:9092' }),
      /non-routable address 0\.0\.0\.0/,
    );
  });

  it('rejects malformed listeners, bad ports, duplicates and non-PLAINTEXT protocols', () => {
    assert.throws(() => resolveBrokerConfig({ listeners: 'localhost:9092' }), /PLAINTEXT:\/\/host:port/);
    assert.throws(() => resolveBrokerConfig({ listeners: 'PLAINTEXT://localhost:70000' }), /0 to 65535/);
    assert.throws(
      () => resolveBrokerConfig({ listeners: 'PLAINTEXT://a:1,PLAINTEXT://b:2' }),
      /more than once/,
    );
    assert.throws(
      () => resolveBrokerConfig({ listeners: 'SSL://:9093' }),
      /uses SSL, but Brook supports only PLAINTEXT/,
    );
    assert.throws(
      () => resolveBrokerConfig({ listeners: 'CUSTOM://:9093' }),
      /no entry in listener\.security/,
    );
    assert.throws(() => resolveBrokerConfig({ listeners: '' }), /at least one PLAINTEXT listener/);
  });
});

describe('dynamic broker config and DescribeConfigs', () => {
  it('applies dynamic keys, rejects read-only ones, and can revert', () => {
    const base = resolveBrokerConfig({ 'log.retention.hours': '24' });
    assert.ok(DYNAMIC_BROKER_CONFIG_KEYS.has('log.retention.ms'));
    assert.ok(DYNAMIC_BROKER_CONFIG_KEYS.has('message.max.bytes'));
    assert.ok(DYNAMIC_BROKER_CONFIG_KEYS.has('log.flush.interval.ms'));
    assert.ok(!DYNAMIC_BROKER_CONFIG_KEYS.has('listeners'));
    const altered = withDynamicBrokerConfig(base, {
      'log.retention.ms': '60000',
      'message.max.bytes': '2000000',
    });
    assert.equal(altered.retentionMs, 60000);
    assert.equal(altered.messageMaxBytes, 2000000);
    assert.equal(base.retentionMs, 24 * HOUR, 'the original config is not mutated');
    assert.throws(() => withDynamicBrokerConfig(base, { listeners: 'PLAINTEXT://:1' }), /read-only/);
    assert.throws(() => withDynamicBrokerConfig(base, { 'log.segment.bytes': '-3' }), ConfigError);
    assert.equal(withDynamicBrokerConfig(altered, { 'log.retention.ms': null }).retentionMs, 24 * HOUR);
  });

  it('describes every key with its source', () => {
    const c = withDynamicBrokerConfig(resolveBrokerConfig({ 'num.partitions': '3' }), {
      'log.segment.bytes': '1000',
    });
    const byName = new Map(describeBrokerConfig(c).map((e) => [e.name, e]));
    assert.equal(byName.size, BROKER_CONFIG_DEFS.length);
    assert.deepEqual(
      { ...byName.get('num.partitions'), documentation: undefined, configType: undefined },
      {
        name: 'num.partitions',
        value: '3',
        isDefault: false,
        readOnly: true,
        sensitive: false,
        source: ConfigSource.STATIC_BROKER_CONFIG,
        documentation: undefined,
        configType: undefined,
      },
    );
    assert.equal(byName.get('log.segment.bytes')!.source, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    assert.equal(byName.get('log.segment.bytes')!.readOnly, false);
    assert.equal(byName.get('message.max.bytes')!.source, ConfigSource.DEFAULT_CONFIG);
    assert.equal(byName.get('message.max.bytes')!.value, '1048588');
    assert.equal(byName.get('message.max.bytes')!.isDefault, true);
    assert.equal(byName.get('log.retention.ms')!.value, null);
  });
});
