// Lost or damaged cluster metadata must never cost data: a broker whose metadata is missing or
// unreadable while partition directories exist refuses to start with one sentence (through the real
// CLI, exit 1, no stack trace) and deletes nothing; metadata.recovery.rebuild.from.logs=true rebuilds
// the topic list from the directories with the same topic IDs, and kcat reads back every record that
// was acknowledged. A torn last record of the metadata log is cut off and the earlier changes kept.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { Admin } from '../../src/index.js';
import { hasKcat, requireTool } from '../helpers/external.js';
import { makeTempDir, REPO_ROOT, removeDir, startTestBroker } from '../helpers/broker.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { runCommand } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const META = '__cluster_metadata';
const REBUILD = { 'metadata.recovery.rebuild.from.logs': 'true' };

/** Every file under dir (except the metadata store's own) with its size: what "nothing deleted" compares. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== META) walk(p);
      } else if (e.name !== '.clean-shutdown') out.push(`${relative(dir, p)} ${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** `brook broker start` as a child process on the data dir; bounded, killed by PID if it runs on. */
function cliStart(dataDir: string, extra: string[] = []) {
  return runCommand(
    process.execPath,
    [BROOK_CLI, 'broker', 'start', '--port', '0', '--data-dir', dataDir, ...extra],
    { cwd: REPO_ROOT, timeoutMs: 30_000 },
  );
}

function assertOneSentenceRefusal(r: Awaited<ReturnType<typeof cliStart>>, what: RegExp): void {
  assert.equal(r.timedOut, false, `the broker started instead of refusing:\n${r.stderr.slice(-2000)}`);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  const refusal = lines.filter((l) => l.startsWith('brook: '));
  assert.equal(refusal.length, 1, r.stderr);
  assert.match(refusal[0]!, what);
  assert.match(refusal[0]!, /metadata\.recovery\.rebuild\.from\.logs=true/);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace expected:\n${r.stderr}`);
  assert.ok(!/SyntaxError/.test(r.stderr), r.stderr);
}

/** Two topics (one with 3 partitions) produced to with kcat (acks=all); returns their IDs. */
async function populate(dataDir: string): Promise<{ ids: Map<string, string>; sent: Map<string, string[]> }> {
  const b = await startTestBroker({}, dataDir);
  try {
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([
      { name: 'orders', partitions: 3 },
      { name: 'audit', partitions: 1, configs: { 'retention.ms': '-1' } },
    ]);
    await admin.close();
    const sent = new Map<string, string[]>();
    for (const topic of ['orders', 'audit']) {
      const values = Array.from({ length: 40 }, (_, i) => `${topic}-value-${i}`);
      const r = await runCommand(
        'kcat',
        ['-P', '-b', b.bootstrapServers, '-t', topic, '-K', ':', '-X', 'acks=all'],
        { input: values.map((v, i) => `k${i}:${v}`).join('\n') + '\n', timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      sent.set(topic, values);
    }
    const ids = new Map<string, string>();
    for (const t of b.broker.services.topics.all()) ids.set(t.name, t.topicId);
    return { ids, sent };
  } finally {
    await b.stop();
  }
}

test('missing metadata: refuses with one sentence, deletes nothing; the recovery key rebuilds the same topics', async (t) => {
  if (!(await requireTool(t, 'kcat', hasKcat, 'install Debian package kcat'))) return;
  const dataDir = makeTempDir('brook-metaloss-');
  try {
    const { ids, sent } = await populate(dataDir);
    assert.ok(ids.has('__consumer_offsets'));
    rmSync(join(dataDir, META), { recursive: true });
    const before = listing(dataDir);
    assert.ok(before.some((f) => f.startsWith('__consumer_offsets-0/')));

    assertOneSentenceRefusal(await cliStart(dataDir), /cluster metadata .* is missing/);
    assert.deepEqual(listing(dataDir), before, 'a refused start touches no partition file');

    const b = await startTestBroker(REBUILD, dataDir);
    try {
      for (const [name, id] of ids) {
        assert.equal(b.broker.services.topics.get(name)?.topicId, id, `topic ID of ${name} kept`);
      }
      assert.equal(b.broker.services.topics.get('orders')?.partitions, 3);
      assert.equal(b.broker.services.topics.get('__consumer_offsets')?.configs['cleanup.policy'], 'compact');
      for (const [topic, values] of sent) {
        const read = (await kcatReadAll(b.bootstrapServers, topic)).map((m) => m.payload).sort();
        assert.deepEqual(read, [...values].sort(), `every acknowledged record of ${topic}`);
      }
    } finally {
      await b.stop();
    }
    // The rebuilt metadata is durable: the next start needs no recovery key.
    const again = await startTestBroker({}, dataDir);
    assert.equal(again.broker.services.topics.get('orders')?.topicId, ids.get('orders'));
    await again.stop();
  } finally {
    removeDir(dataDir);
  }
});

test('truncated metadata (old JSON format and new log): the same one-sentence refusal, exit 1, no stack trace', async () => {
  const dataDir = makeTempDir('brook-metatrunc-');
  try {
    const b = await startTestBroker({}, dataDir);
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([{ name: 'kept', partitions: 2 }]);
    await admin.close();
    await b.stop();
    const before = listing(dataDir);

    // The pre-log format, cut in the middle of its JSON.
    const metaDir = join(dataDir, META);
    for (const f of readdirSync(metaDir)) rmSync(join(metaDir, f));
    writeFileSync(join(metaDir, 'cluster-metadata.json'), '{"version":1,"clusterId":"abc","topics":[{"na');
    assertOneSentenceRefusal(await cliStart(dataDir), /cluster metadata .* is unreadable/);
    assert.deepEqual(listing(dataDir), before);

    // The metadata log with its header damaged.
    rmSync(join(metaDir, 'cluster-metadata.json'));
    writeFileSync(join(metaDir, 'metadata.log'), Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 5]));
    assertOneSentenceRefusal(await cliStart(dataDir), /cluster metadata .* is unreadable/);
    assert.deepEqual(listing(dataDir), before);

    // The recovery key keeps the damaged file aside and rebuilds.
    const rebuilt = await startTestBroker(REBUILD, dataDir);
    assert.equal(rebuilt.broker.services.topics.get('kept')?.partitions, 2);
    await rebuilt.stop();
    assert.ok(readdirSync(metaDir).some((f) => /^metadata\.log\.damaged-\d+$/.test(f)));
  } finally {
    removeDir(dataDir);
  }
});

test('a torn last metadata log record is cut off with a warning; earlier changes are kept', async () => {
  const dataDir = makeTempDir('brook-metatorn-');
  try {
    const b = await startTestBroker({}, dataDir);
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([{ name: 'first', partitions: 1 }]);
    await admin.createTopics([{ name: 'second', partitions: 2 }]);
    await admin.close();
    await b.stop();

    const log = join(dataDir, META, 'metadata.log');
    const whole = readFileSync(log);
    // Tear the last record (the creation of `second`) as a crash mid-append would.
    truncateSync(log, whole.length - 5);
    const torn = await startTestBroker({}, dataDir);
    try {
      assert.ok(torn.broker.services.topics.get('first'), 'earlier change kept');
      assert.equal(torn.broker.services.topics.get('second'), undefined, 'the torn record is gone');
      // `second`'s directories were never acknowledged to anyone: kept aside, not deleted.
      const names = readdirSync(dataDir);
      assert.equal(
        names.filter((n) => /^second-\d+\.[0-9a-f]{32}-stray$/.test(n)).length,
        2,
        names.join(' '),
      );
      // The name is free again, and the log accepts new records after the cut.
      const admin2 = await Admin.connect(torn.bootstrapServers);
      await admin2.createTopics([{ name: 'second', partitions: 1 }]);
      await admin2.close();
    } finally {
      await torn.stop();
    }
    // Garbage after the last record (a partial header) is cut off too.
    appendFileSync(log, Buffer.from([0, 0]));
    const again = await startTestBroker({}, dataDir);
    assert.equal(again.broker.services.topics.get('second')?.partitions, 1);
    assert.ok(again.broker.services.topics.get('first'));
    await again.stop();
  } finally {
    removeDir(dataDir);
  }
});

test('the old single-file metadata is read once and upgraded to the metadata log', async () => {
  const dataDir = makeTempDir('brook-metaupgrade-');
  try {
    const b = await startTestBroker({}, dataDir);
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([{ name: 'legacy', partitions: 2, configs: { 'cleanup.policy': 'compact' } }]);
    await admin.close();
    const legacy = b.broker.services.topics.get('legacy')!;
    const offsets = b.broker.services.topics.get('__consumer_offsets')!;
    await b.stop();

    const metaDir = join(dataDir, META);
    for (const f of readdirSync(metaDir)) rmSync(join(metaDir, f));
    const state = {
      version: 1,
      clusterId: 'Q2x1c3RlcklkT2ZUaGVPbGQ',
      topics: [legacy, offsets],
      brokerConfigs: {},
      nextProducerId: 5000,
    };
    writeFileSync(join(metaDir, 'cluster-metadata.json'), JSON.stringify(state, null, 2));

    const up = await startTestBroker({}, dataDir);
    try {
      assert.equal(up.broker.services.metadata.clusterId, state.clusterId);
      assert.deepEqual(up.broker.services.topics.get('legacy'), legacy);
      const { first } = await up.broker.services.metadata.allocateProducerIds(10);
      assert.ok(first >= 5000, 'producer IDs are never reused');
    } finally {
      await up.stop();
    }
    assert.deepEqual(readdirSync(metaDir).sort(), ['metadata.log']);
  } finally {
    removeDir(dataDir);
  }
});
