// Topic deletion survives a crash at any point, as in Kafka: the metadata forgets the topic first,
// then each partition directory is renamed to `*-delete` and removed in the background. The broker
// (the real CLI, a child process) kills itself with SIGKILL between two steps (BROOK_CRASH_AT, see
// src/broker/crash-points.ts); each restart must start, finish the deletion, and keep every record of
// the other topic, read back with kcat.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Admin } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { hasKcat, requireTool } from '../helpers/external.js';
import { makeTempDir, removeDir, spawnBrokerProcess, type BrokerProcess } from '../helpers/broker.js';
import { kcatReadAll } from '../helpers/kcat.js';
import { runCommand } from '../helpers/run.js';
import { rawRequest } from '../admin/raw-client.js';

const CRASH_POINTS = [
  'topic-delete:after-metadata',
  'topic-delete:after-first-rename',
  'topic-delete:before-complete',
] as const;

async function produce(bootstrap: string, topic: string, values: string[]): Promise<void> {
  const r = await runCommand('kcat', ['-P', '-b', bootstrap, '-t', topic, '-K', ':', '-X', 'acks=all'], {
    input: values.map((v, i) => `k${i}:${v}`).join('\n') + '\n',
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, r.stderr);
}

/** Entries of the data dir that belong to `topic` (its partitions or their renamed directories). */
function dirsOf(dataDir: string, topic: string): string[] {
  return readdirSync(dataDir).filter((n) => n.startsWith(`${topic}-`));
}

test('a crash at every step of a topic deletion leaves a broker that starts and keeps the other topics', async (t) => {
  if (!(await requireTool(t, 'kcat', hasKcat, 'install Debian package kcat'))) return;
  const dataDir = makeTempDir('brook-delcrash-');
  const config = { 'offsets.topic.num.partitions': '1' };
  let bp: BrokerProcess | undefined;
  try {
    const keptValues = Array.from({ length: 30 }, (_, i) => `kept-${i}`);
    bp = await spawnBrokerProcess({ dataDir, config, env: { BROOK_CRASH_AT: CRASH_POINTS[0] } });
    const admin = await Admin.connect(bp.bootstrapServers);
    await admin.createTopics([
      { name: 'kept', partitions: 2 },
      ...CRASH_POINTS.map((_, i) => ({ name: `doomed${i}`, partitions: 3 })),
    ]);
    await admin.close();
    await produce(bp.bootstrapServers, 'kept', keptValues);
    for (let i = 0; i < CRASH_POINTS.length; i++) {
      await produce(bp.bootstrapServers, `doomed${i}`, ['a', 'b', 'c', 'd']);
    }

    for (let i = 0; i < CRASH_POINTS.length; i++) {
      // The broker dies inside this request, so no answer comes.
      await rawRequest(bp.bootstrapServers, ApiKey.DeleteTopics, 4, {
        topicNames: [`doomed${i}`],
        timeoutMs: 10_000,
      }).then(
        () => assert.fail(`the broker answered instead of crashing at ${CRASH_POINTS[i]}`),
        () => undefined,
      );
      const exit = await bp.waitExit();
      assert.equal(exit.signal, 'SIGKILL', `crashed at ${CRASH_POINTS[i]}`);
      // Restart, armed with the next crash point (the last restart is a plain one).
      const next = CRASH_POINTS[i + 1];
      bp = await spawnBrokerProcess({ dataDir, config, env: next ? { BROOK_CRASH_AT: next } : {} });
    }

    const admin2 = await Admin.connect(bp.bootstrapServers);
    const topics = await admin2.listTopics();
    assert.ok(topics.includes('kept'));
    for (let i = 0; i < CRASH_POINTS.length; i++)
      assert.ok(!topics.includes(`doomed${i}`), `doomed${i} is gone`);
    const read = (await kcatReadAll(bp.bootstrapServers, 'kept')).map((m) => m.payload).sort();
    assert.deepEqual(read, [...keptValues].sort(), 'every acknowledged record of the other topic');

    // The renamed directories are removed in the background; nothing of the deleted topics remains.
    const deadline = Date.now() + 20_000;
    const leftovers = () => CRASH_POINTS.flatMap((_, i) => dirsOf(dataDir, `doomed${i}`));
    while (leftovers().length > 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(leftovers(), []);
    assert.equal(dirsOf(dataDir, 'kept').length, 2);

    // The names are free again, and a recreated topic starts empty.
    await admin2.createTopics([{ name: 'doomed0', partitions: 1 }]);
    await admin2.close();
    assert.deepEqual(await kcatReadAll(bp.bootstrapServers, 'doomed0'), []);
  } finally {
    if (bp) {
      bp.kill('SIGKILL');
      await bp.waitExit();
    }
    removeDir(dataDir);
  }
});
