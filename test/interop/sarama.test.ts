// Go sarama 1.22.1 (Debian golang-github-shopify-sarama-dev, Version = V2_2_0_0: Metadata v5, Produce v3, Fetch v4,
// ListOffsets v1, no ApiVersions) against a real in-process Brook broker. The programs in test/interop/sarama/ are
// built in a temp GOPATH (no network). Checks: sarama → sarama, sarama → kcat and kcat → sarama, contents compared.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { REPO_ROOT, startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasGo, hasKcat, hasSarama, requireTool, SARAMA_GOPATH } from '../helpers/external.js';
import { byPartitionOffset, kcatReadAll } from '../helpers/kcat.js';
import { runCommand } from '../helpers/run.js';

const SRC_DIR = join(REPO_ROOT, 'test', 'interop', 'sarama');
const buildDir = mkdtempSync(join(tmpdir(), 'brook-sarama-'));
let built: Promise<{ producer: string; consumer: string }> | undefined;

/** Builds producer.go and consumer.go once (GOPATH mode, no modules, no network). */
function buildPrograms(): Promise<{ producer: string; consumer: string }> {
  built ??= (async () => {
    const env: Record<string, string> = {
      GO111MODULE: 'off',
      GOPATH: `${join(buildDir, 'gopath')}:${SARAMA_GOPATH}`,
      GOCACHE: join(buildDir, 'gocache'),
      GOFLAGS: '',
    };
    const out: Record<string, string> = {};
    for (const name of ['producer', 'consumer']) {
      const bin = join(buildDir, name);
      const r = await runCommand('go', ['build', '-o', bin, `${name}.go`], {
        cwd: SRC_DIR,
        env,
        timeoutMs: 300_000,
      });
      if (r.code !== 0)
        throw new Error(`go build ${name}.go failed (${r.code ?? r.signal}):\n${r.stderr.slice(-6000)}`);
      out[name] = bin;
    }
    return { producer: out.producer!, consumer: out.consumer! };
  })();
  return built;
}

async function haveToolchain(t: Parameters<typeof requireTool>[0]): Promise<boolean> {
  return (
    (await requireTool(t, 'go', hasGo, 'apt-get install golang-go')) &&
    (await requireTool(t, 'sarama', hasSarama, 'apt-get install golang-github-shopify-sarama-dev'))
  );
}

interface Ack {
  partition: number;
  offset: number;
  key: string;
}

async function saramaProduce(topic: string, n: number, prefix: string): Promise<Ack[]> {
  const { producer } = await buildPrograms();
  const r = await runCommand(
    producer,
    ['-brokers', tb.bootstrapServers, '-topic', topic, '-n', String(n), '-prefix', prefix],
    { timeoutMs: 60_000 },
  );
  assert.equal(
    r.code,
    0,
    `sarama producer failed (${r.code ?? r.signal}):\n${r.stderr.slice(-4000)}\n${r.stdout}`,
  );
  const acks = r.stdout
    .split('\n')
    .map((l) => /^ack partition=(\d+) offset=(\d+) key=(\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ partition: Number(m[1]), offset: Number(m[2]), key: m[3]! }));
  assert.equal(acks.length, n, `sarama producer must acknowledge all ${n} messages`);
  return acks;
}

interface Consumed {
  key: string;
  value: string;
  partition: number;
  offset: number;
  headers: string;
}

async function saramaConsume(topic: string, n: number): Promise<Consumed[]> {
  const { consumer } = await buildPrograms();
  const r = await runCommand(
    consumer,
    ['-brokers', tb.bootstrapServers, '-topic', topic, '-n', String(n), '-timeout', '30s'],
    { timeoutMs: 60_000 },
  );
  assert.equal(
    r.code,
    0,
    `sarama consumer failed (${r.code ?? r.signal}):\n${r.stderr.slice(-4000)}\n${r.stdout}`,
  );
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [kv, p, o, h] = l.split('\t');
      const eq = kv!.indexOf('=');
      return {
        key: kv!.slice(0, eq),
        value: kv!.slice(eq + 1),
        partition: Number(p!.replace('partition=', '')),
        offset: Number(o!.replace('offset=', '')),
        headers: h!.replace('headers=', ''),
      };
    })
    .sort(byPartitionOffset);
}

/** What the sarama producer sent for key `<prefix>-key-<i>`. */
function expectedFromAcks(acks: Ack[], prefix: string): Consumed[] {
  return acks
    .map((a) => {
      const i = Number(a.key.slice(`${prefix}-key-`.length));
      return {
        key: a.key,
        value: `${prefix}-value-${i}`,
        partition: a.partition,
        offset: a.offset,
        headers: `idx:${i},src:sarama`,
      };
    })
    .sort(byPartitionOffset);
}

let tb: TestBroker;
let admin: Admin;

before(async () => {
  tb = await startTestBroker();
  admin = new Kafka({
    clientId: 'brook-sarama-admin',
    brokers: [tb.bootstrapServers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect().catch(() => {});
  await tb?.stop();
  rmSync(buildDir, { recursive: true, force: true });
});

async function createTopic(topic: string, partitions: number) {
  assert.equal(
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }),
    true,
  );
}

describe('sarama 1.22.1 (V2_2_0_0)', () => {
  const saramaTopic = uniqueTopic('sarama');
  let acks: Ack[] = [];
  const N = 30;

  test('SyncProducer (Produce v3, acks all): offsets dense and in order per partition', async (t) => {
    if (!(await haveToolchain(t))) return;
    await createTopic(saramaTopic, 3);
    acks = await saramaProduce(saramaTopic, N, 'sar');
    for (const p of new Set(acks.map((a) => a.partition))) {
      const offs = acks.filter((a) => a.partition === p).map((a) => a.offset);
      assert.deepEqual(
        offs,
        offs.map((_, i) => i),
        `partition ${p}: offsets 0.. in send order`,
      );
    }
    const highs = await admin.fetchTopicOffsets(saramaTopic);
    for (const h of highs) {
      assert.equal(
        Number(h.high),
        acks.filter((a) => a.partition === h.partition).length,
        `HWM of ${h.partition}`,
      );
    }
  });

  test('sarama partition consumer (Fetch v4 from OffsetOldest) reads what sarama produced', async (t) => {
    if (!(await haveToolchain(t))) return;
    assert.equal(acks.length, N, 'the producer test must have run first');
    const got = await saramaConsume(saramaTopic, N);
    assert.deepEqual(got, expectedFromAcks(acks, 'sar'));
  });

  test('kcat reads what sarama produced', async (t) => {
    if (!(await haveToolchain(t))) return;
    if (!(await requireTool(t, 'kcat', hasKcat, 'apt-get install kcat'))) return;
    assert.equal(acks.length, N, 'the producer test must have run first');
    const got = (await kcatReadAll(tb.bootstrapServers, saramaTopic))
      .map((m) => ({
        key: m.key,
        value: m.payload,
        partition: m.partition,
        offset: m.offset,
        headers: m.headers.map(([k, v]) => `${k}:${v}`).join(','),
      }))
      .sort(byPartitionOffset);
    assert.deepEqual(got, expectedFromAcks(acks, 'sar'));
  });

  test('sarama consumer reads what kcat (librdkafka, Produce v7) produced', async (t) => {
    if (!(await haveToolchain(t))) return;
    if (!(await requireTool(t, 'kcat', hasKcat, 'apt-get install kcat'))) return;
    const topic = uniqueTopic('kcat-to-sarama');
    await createTopic(topic, 2);
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) lines.push(`kc-key-${i}|kc-value-${i}`);
    const r = await runCommand(
      'kcat',
      [
        '-P',
        '-b',
        tb.bootstrapServers,
        '-t',
        topic,
        '-K',
        '|',
        '-H',
        'src=kcat',
        '-H',
        'n=1',
        '-X',
        'acks=all',
      ],
      { input: lines.join('\n') + '\n', timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, `kcat producer failed: ${r.stderr}`);
    const highs = await admin.fetchTopicOffsets(topic);
    assert.equal(
      highs.reduce((s, h) => s + Number(h.high), 0),
      20,
      'kcat must have written 20 messages',
    );
    const got = await saramaConsume(topic, 20);
    assert.equal(got.length, 20);
    assert.deepEqual(
      got.map((m) => `${m.key}=${m.value}`).sort(),
      lines.map((l) => l.replace('|', '=')).sort(),
    );
    for (const m of got) assert.equal(m.headers, 'src:kcat,n:1', `headers of ${m.key}`);
    for (const p of [0, 1]) {
      const offs = got.filter((m) => m.partition === p).map((m) => m.offset);
      assert.deepEqual(
        offs,
        offs.map((_, i) => i),
        `partition ${p} offsets dense`,
      );
    }
  });
});
