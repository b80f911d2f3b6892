// `brook broker start` as a user runs it: clear one-sentence failures, warnings for unknown keys, a
// clean SIGTERM shutdown that keeps every acknowledged message and marks the log clean, and a
// server.properties file with Kafka's key names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_ROOT, freePort, makeTempDir, removeDir, spawnBrokerProcess } from '../helpers/broker.js';
import { runCommand } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const CLI = BROOK_CLI;

function brook(args: string[], timeoutMs = 30_000) {
  return runCommand(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, timeoutMs });
}

test('an invalid config value exits 1 with one sentence naming the key', async () => {
  const dir = makeTempDir();
  try {
    const r = await brook([
      'broker',
      'start',
      '--port',
      '0',
      '--data-dir',
      dir,
      '--set',
      'num.partitions=many',
    ]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /num\.partitions/);
    assert.match(lines[0]!, /many/);
  } finally {
    removeDir(dir);
  }
});

test('a port in use exits 1 with one sentence', async () => {
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  const dir = makeTempDir();
  try {
    const r = await brook(['broker', 'start', '--port', String(port), '--data-dir', dir]);
    assert.equal(r.code, 1);
    const errors = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('brook:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, new RegExp(`${port}.*in use|in use.*${port}`, 'i'));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    blocker.close();
    removeDir(dir);
  }
});

test('an unknown key is warned about, the broker still starts and reads server.properties keys', async () => {
  const dir = makeTempDir();
  const props = join(dir, 'server.properties');
  writeFileSync(props, '# Kafka style\nnum.partitions=3\nno.such.key=1\n');
  const port = await freePort();
  const args = [
    CLI,
    'broker',
    'start',
    '--port',
    String(port),
    '--data-dir',
    join(dir, 'data'),
    '--config',
    props,
  ];
  const { spawnLongRunning } = await import('../helpers/run.js');
  const proc = spawnLongRunning(process.execPath, args, { cwd: REPO_ROOT });
  try {
    await proc.waitForLine((l) => l.includes('started'), 30_000);
    const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'auto-created', messages: [{ value: 'x' }] });
    await producer.disconnect();
    const meta = await admin.fetchTopicMetadata({ topics: ['auto-created'] });
    await admin.disconnect();
    assert.equal(meta.topics[0]!.partitions.length, 3, 'num.partitions from server.properties');
  } finally {
    proc.kill('SIGTERM');
    await proc.waitExit();
  }
  assert.match(proc.stderr(), /no\.such\.key/);
  removeDir(dir);
});

test('SIGTERM shuts down cleanly: exit 0, clean marker written, acknowledged data there after restart', async () => {
  const dataDir = makeTempDir();
  let broker = await spawnBrokerProcess({ dataDir });
  try {
    const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await producer.send({ topic: 'shutdown', acks: -1, messages: values.map((value) => ({ value })) });
    await producer.disconnect();
    broker.kill('SIGTERM');
    const exit = await broker.waitExit();
    assert.equal(exit.code, 0, 'clean exit code');
    assert.ok(existsSync(join(dataDir, '.clean-shutdown')), 'clean-shutdown marker');

    broker = await spawnBrokerProcess({ dataDir });
    const kafka2 = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
    const admin = kafka2.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets('shutdown');
    await admin.disconnect();
    assert.equal(offsets[0]!.high, '50');
    assert.equal(offsets[0]!.low, '0');
  } finally {
    broker.kill('SIGKILL');
    await broker.waitExit();
    removeDir(dataDir);
  }
});
