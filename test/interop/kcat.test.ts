// kcat 1.7.1 (librdkafka 2.0.2) against Brook, the way people poke at a Kafka broker from a shell:
// -L metadata, -P with keys/headers/compression, -C with a format string and with -J JSON,
// and a broker started through the CLI that keeps its data across a restart.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { makeTempDir, removeDir, spawnBrokerProcess, uniqueTopic, withBroker } from '../helpers/broker.js';
import { hasKcat, requireTool } from '../helpers/external.js';
import { fetchAllBatches } from '../helpers/raw-fetch.js';
import { runCommand, type RunResult } from '../helpers/run.js';

const TEST_TIMEOUT_MS = 120_000;
const KCAT_TIMEOUT_MS = 40_000;
// kcat cannot create topics: it relies on auto-creation like against a default Kafka.
const BROKER_CONFIG = { 'auto.create.topics.enable': 'true', 'num.partitions': '3' };

async function kcat(args: string[], input?: string): Promise<RunResult> {
  const r = await runCommand('kcat', ['-m', '15', ...args], { input, timeoutMs: KCAT_TIMEOUT_MS });
  const shown = `kcat ${args.join(' ')} → ${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}\n--- stdout ---\n${r.stdout.slice(0, 4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
  assert.equal(r.timedOut, false, shown);
  assert.equal(r.code, 0, shown);
  assert.doesNotMatch(r.stderr, /Delivery failed|ERROR/, shown);
  return r;
}

/** Produces "key:value" lines to one partition with the given headers and codec. */
async function produce(
  bootstrap: string,
  topic: string,
  lines: string[],
  opts: { headers?: string[]; codec?: string; partition?: number },
) {
  const args = ['-b', bootstrap, '-P', '-t', topic, '-K:'];
  if (opts.partition !== undefined) args.push('-p', String(opts.partition));
  for (const h of opts.headers ?? []) args.push('-H', h);
  if (opts.codec && opts.codec !== 'none') args.push('-z', opts.codec);
  return kcat(args, lines.map((l) => `${l}\n`).join(''));
}

/** Consumes a partition (or all) from the beginning to the current end with a format string. */
async function consume(
  bootstrap: string,
  topic: string,
  format: string[],
  partition?: number,
): Promise<string[]> {
  const args = ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', ...format];
  if (partition !== undefined) args.push('-p', String(partition));
  const r = await kcat(args);
  return r.stdout.split('\n').filter((l) => l !== '');
}

async function available(t: TestContext): Promise<boolean> {
  return requireTool(t, 'kcat', hasKcat, 'install the Debian package kcat');
}

// Values compress well even one by one: librdkafka sends a batch uncompressed when compressing does not shrink it.
const lineOf = (i: number) => `key-${i}:value ${i} ${'z'.repeat(200 + i * 7)}`;

describe('kcat 1.7.1', { timeout: 10 * TEST_TIMEOUT_MS }, () => {
  test(
    '-L lists the broker, an auto-created topic and its 3 partitions',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      await withBroker({ config: BROKER_CONFIG }, async (b) => {
        const topic = uniqueTopic('kcat-meta');
        await produce(b.bootstrapServers, topic, ['k:v'], {});
        const all = (await kcat(['-b', b.bootstrapServers, '-L'])).stdout;
        assert.match(all, /^ 1 brokers:$/m, all);
        assert.match(
          all,
          new RegExp(`^  broker \\d+ at 127\\.0\\.0\\.1:${b.port}( \\(controller\\))?$`, 'm'),
          all,
        );
        assert.match(all, new RegExp(`^  topic "${topic}" with 3 partitions:$`, 'm'), all);
        for (const p of [0, 1, 2]) {
          assert.match(
            all,
            new RegExp(`^    partition ${p}, leader \\d+, replicas: \\d+, isrs: \\d+$`, 'm'),
            all,
          );
        }
        const one = (await kcat(['-b', b.bootstrapServers, '-L', '-t', topic])).stdout;
        assert.match(one, new RegExp(`^ 1 topics:\\n  topic "${topic}" with 3 partitions:$`, 'm'), one);
        assert.doesNotMatch(one, /Broker: /, one);
      });
    },
  );

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(
      `-P -K: -H -z ${codec}, then -C -f '%k=%s %h %T' reads every message back exactly`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        if (!(await available(t))) return;
        await withBroker({ config: BROKER_CONFIG }, async (b) => {
          const topic = uniqueTopic(`kcat-${codec}`);
          const lines = Array.from({ length: 50 }, (_, i) => lineOf(i));
          const before = Date.now();
          await produce(b.bootstrapServers, topic, lines, {
            headers: ['trace=abc-123', 'app=brook'],
            codec,
            partition: 0,
          });
          const after = Date.now();

          const out = await consume(b.bootstrapServers, topic, ['-f', '%k=%s %h %T\\n'], 0);
          assert.equal(out.length, lines.length, out.join('\n'));
          out.forEach((line, i) => {
            const m = /^(.*) (\d+)$/.exec(line);
            assert.ok(m, `line ${i}: ${line}`);
            const [key, value] = lines[i]!.split(/:(.*)/s);
            assert.equal(m[1], `${key}=${value} trace=abc-123,app=brook`, `message ${i}`);
            const ts = Number(m[2]);
            assert.ok(
              ts >= before - 1000 && ts <= after + 1000,
              `message ${i}: CreateTime ${ts} not in [${before}, ${after}]`,
            );
          });

          const batches = await fetchAllBatches(b.bootstrapServers, topic, 0);
          assert.deepEqual(
            [...new Set(batches.map((x) => x.codec))],
            [codec],
            `stored batch codecs ${JSON.stringify(batches.map((x) => x.codec))}` +
              (codec === 'lz4'
                ? ' (librdkafka 2.0.2 silently disables LZ4 unless the broker advertises FindCoordinator v0)'
                : ''),
          );
          assert.equal(
            batches.reduce((n, x) => n + x.recordCount, 0),
            lines.length,
          );
          assert.ok(
            batches.every((x) => x.timestampType === 0),
            'CreateTime batches',
          );
        });
      },
    );
  }

  test(
    '-J prints each message as JSON with topic, partition, offset, key, payload, headers and CreateTime',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      await withBroker({ config: BROKER_CONFIG }, async (b) => {
        const topic = uniqueTopic('kcat-json');
        // no -p: librdkafka's consistent_random partitioner puts each key on a fixed partition
        const lines = Array.from({ length: 30 }, (_, i) => `k${i}:payload ${i}`);
        const before = Date.now();
        await produce(b.bootstrapServers, topic, lines, { headers: ['h1=one', 'h2=two'] });
        const after = Date.now();

        const out = (await consume(b.bootstrapServers, topic, ['-J'])).map(
          (l) => JSON.parse(l) as Record<string, unknown>,
        );
        assert.equal(out.length, lines.length, JSON.stringify(out));
        for (const j of out) {
          assert.equal(j.topic, topic);
          assert.equal(j.tstype, 'create');
          assert.ok(Number(j.ts) >= before - 1000 && Number(j.ts) <= after + 1000, `ts ${String(j.ts)}`);
          assert.deepEqual(j.headers, ['h1', 'one', 'h2', 'two']);
          assert.equal(j.payload, `payload ${String(j.key).slice(1)}`);
        }
        assert.deepEqual(out.map((j) => j.key).sort(), lines.map((l) => l.split(':')[0]).sort());
        const partitions = new Set(out.map((j) => j.partition));
        assert.ok(partitions.size > 1, `keys spread over partitions: ${[...partitions].join(',')}`);
        for (const p of partitions) {
          const offsets = out.filter((j) => j.partition === p).map((j) => j.offset);
          assert.deepEqual(
            offsets,
            offsets.map((_, i) => i),
            `partition ${String(p)} offsets 0..n-1 in order`,
          );
        }
      });
    },
  );

  test(
    'broker started by the CLI keeps kcat-produced messages across a SIGTERM restart',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await available(t))) return;
      const dataDir = makeTempDir('brook-cli-');
      try {
        const lines = Array.from({ length: 25 }, (_, i) => lineOf(i));
        const topic = uniqueTopic('kcat-restart');
        const first = await spawnBrokerProcess({ dataDir, config: BROKER_CONFIG });
        try {
          await produce(first.bootstrapServers, topic, lines, {
            headers: ['gen=1'],
            codec: 'lz4',
            partition: 0,
          });
        } finally {
          first.kill('SIGTERM');
          const exit = await first.waitExit();
          assert.equal(
            exit.code,
            0,
            `graceful stop on SIGTERM: ${JSON.stringify(exit)}\n${first.proc.stderr()}`,
          );
        }
        const second = await spawnBrokerProcess({ dataDir, config: BROKER_CONFIG });
        try {
          const out = await consume(second.bootstrapServers, topic, ['-f', '%k=%s %h|%o\\n'], 0);
          assert.deepEqual(
            out,
            lines.map((l, i) => `${l.replace(':', '=')} gen=1|${i}`),
          );
          // and it keeps appending after the recovered end
          await produce(second.bootstrapServers, topic, ['after:restart'], { partition: 0 });
          const tail = await consume(second.bootstrapServers, topic, ['-f', '%k=%s|%o\\n'], 0);
          assert.equal(tail[tail.length - 1], `after=restart|${lines.length}`);
        } finally {
          second.kill('SIGTERM');
          await second.waitExit();
        }
      } finally {
        removeDir(dataDir);
      }
    },
  );
});
