// `brook cluster start` as a user runs it: the real CLI starts Debian's ZooKeeper and three broker
// processes; kafka-python creates a topic with replication factor 3, produces with acks=all through one
// broker and consumes through another; Metadata names three brokers; SIGINT stops every child process
// (checked by PID) and the command exits 0. Also its one-sentence errors.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, makeTempDir, removeDir } from '../helpers/broker.js';
import { hasPythonKafka, hasZooKeeper, requireTool } from '../helpers/external.js';
import { runCommand, runPythonWithParams, spawnLongRunning } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const CLI = BROOK_CLI;

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (the brokers take consecutive ones), from a random base. */
async function consecutiveFreePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await listenable(base + i);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('brook cluster start: 3 brokers and ZooKeeper, RF 3 produce/consume with kafka-python, SIGINT stops all', async (t) => {
  if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
  if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install the Debian package python3-kafka')))
    return;
  const dir = makeTempDir('brook-cluster-start-');
  const base = await consecutiveFreePorts(4);
  const zkPort = base + 3;
  const proc = spawnLongRunning(
    process.execPath,
    [
      CLI,
      'cluster',
      'start',
      '--brokers',
      '3',
      '--data-dir',
      dir,
      '--port',
      String(base),
      '--zookeeper-port',
      String(zkPort),
      '--set',
      'offsets.topic.num.partitions=3',
    ],
    { cwd: REPO_ROOT },
  );
  try {
    await proc
      .waitForLine((l) => l.startsWith('Cluster ready'), 180_000)
      .catch((err: Error) => {
        throw new Error(`${err.message}\nstdout:\n${proc.lines.join('\n')}\nstderr:\n${proc.stderr()}`);
      });
    const pids = proc.lines
      .map((l) => /^(ZooKeeper|Broker \d+) listening on 127\.0\.0\.1:(\d+) \(pid (\d+)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ what: m[1]!, port: Number(m[2]), pid: Number(m[3]) }));
    assert.deepEqual(
      pids.map((p) => [p.what, p.port]),
      [
        ['ZooKeeper', zkPort],
        ['Broker 1', base],
        ['Broker 2', base + 1],
        ['Broker 3', base + 2],
      ],
      proc.lines.join('\n'),
    );
    for (const p of pids) assert.ok(alive(p.pid), `${p.what} pid ${p.pid} runs`);
    assert.ok(existsSync(join(dir, 'broker-2')), 'log.dirs under the data dir');

    const result = await runPythonWithParams<{
      brokers: number[];
      replicas: number[][];
      isr: number[][];
      values: string[];
    }>(
      String.raw`
from kafka import KafkaAdminClient, KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
admin = KafkaAdminClient(bootstrap_servers=BS, request_timeout_ms=30000)
admin.create_topics([NewTopic('rf3', num_partitions=2, replication_factor=3)], timeout_ms=30000)
deadline = time.time() + 60
while True:
    md = admin.describe_topics(['rf3'])[0]
    parts = md['partitions']
    if len(parts) == 2 and all(p['leader'] >= 0 and len(p['isr']) == 3 for p in parts):
        break
    if time.time() > deadline:
        raise SystemExit('partitions not fully in sync: %r' % parts)
    time.sleep(0.2)
brokers = sorted(b['node_id'] for b in admin.describe_cluster()['brokers'])
admin.close()
prod = KafkaProducer(bootstrap_servers=P['produceTo'], acks='all', retries=10, request_timeout_ms=30000)
for i in range(20):
    prod.send('rf3', value=('m%d' % i).encode(), partition=i % 2).get(timeout=60)
prod.close()
cons = KafkaConsumer(bootstrap_servers=P['consumeFrom'], auto_offset_reset='earliest', consumer_timeout_ms=20000)
cons.assign([TopicPartition('rf3', 0), TopicPartition('rf3', 1)])
values = []
while len(values) < 20:
    batch = cons.poll(timeout_ms=20000)
    if not batch:
        break
    for recs in batch.values():
        values.extend(r.value.decode() for r in recs)
cons.close()
print(json.dumps({'brokers': brokers, 'replicas': [sorted(p['replicas']) for p in parts],
                  'isr': [sorted(p['isr']) for p in parts], 'values': sorted(values)}))
`,
      {
        bootstrap: `127.0.0.1:${base}`,
        produceTo: `127.0.0.1:${base + 1}`,
        consumeFrom: `127.0.0.1:${base + 2}`,
      },
      150_000,
    );
    assert.deepEqual(result.brokers, [1, 2, 3]);
    assert.deepEqual(result.replicas, [
      [1, 2, 3],
      [1, 2, 3],
    ]);
    assert.deepEqual(result.isr, result.replicas);
    assert.deepEqual(result.values, Array.from({ length: 20 }, (_, i) => `m${i}`).sort());

    proc.kill('SIGINT');
    const exit = await proc.waitExit();
    assert.equal(exit.code, 0, `exit ${exit.code ?? exit.signal}\n${proc.stderr()}`);
    assert.ok(proc.lines.includes('Cluster stopped.'), proc.lines.join('\n'));
    for (const p of pids) assert.ok(!alive(p.pid), `${p.what} pid ${p.pid} has exited`);
  } finally {
    proc.kill('SIGKILL');
    await proc.waitExit();
    // Children of a killed CLI live in their own process groups: stop any left by PID.
    for (const l of proc.lines) {
      const m = /\(pid (\d+)/.exec(l);
      if (m && alive(Number(m[1]))) process.kill(Number(m[1]), 'SIGKILL');
    }
    removeDir(dir);
  }
});

test('brook cluster start: a taken port fails in one sentence before anything starts', async () => {
  const dir = makeTempDir('brook-cluster-start-');
  const base = await consecutiveFreePorts(3);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(base + 1, '127.0.0.1', r));
  try {
    const r = await runCommand(
      process.execPath,
      [
        CLI,
        'cluster',
        'start',
        '--brokers',
        '3',
        '--data-dir',
        dir,
        '--port',
        String(base),
        '--zookeeper-port',
        String(base + 3),
      ],
      { cwd: REPO_ROOT, timeoutMs: 60_000 },
    );
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`Port ${base + 1} .* in use`));
  } finally {
    blocker.close();
    removeDir(dir);
  }
});

test('brook cluster start without Java says which Debian package to install, in one sentence', async () => {
  const dir = makeTempDir('brook-cluster-start-');
  try {
    const r = await runCommand(
      process.execPath,
      [CLI, 'cluster', 'start', '--brokers', '1', '--data-dir', dir],
      // No directory on PATH holds java (node itself is run by its absolute path).
      { cwd: REPO_ROOT, timeoutMs: 60_000, env: { PATH: '/nonexistent' } },
    );
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /is not installed.*Debian.s "zookeeper" package/);
  } finally {
    removeDir(dir);
  }
});
