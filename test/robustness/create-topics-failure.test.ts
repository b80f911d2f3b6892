// A topic creation that fails midway leaves nothing behind: no partition directory, no metadata for
// a topic whose logs failed, and the broker keeps serving and restarts. The
// failure is real: the broker (the real CLI, a child process) runs under `ulimit -n` and is asked
// for more partitions than it has descriptors (EMFILE). A crash between the logs and the metadata
// (BROOK_CRASH_AT) leaves a broker that starts, with the half-created directories kept aside.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Admin } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import { makeTempDir, removeDir, spawnBrokerProcess, type BrokerProcess } from '../helpers/broker.js';
import { rawRequest } from '../admin/raw-client.js';

/** Small enough that a few hundred partitions exhaust it, large enough for the broker to start. */
const MAX_OPEN_FILES = 200;
const CONFIG = { 'offsets.topic.num.partitions': '1' };
/**
 * Open segment files are bounded by log.open.files.max (half of ulimit -n by default), so creating
 * partitions no longer runs out on its own: a bound above the limit lets it, as a misconfigured
 * broker would, and that real EMFILE is the failure this test needs.
 */
const EMFILE_CONFIG = { ...CONFIG, 'log.open.files.max': '100000' };

function createTopic(bootstrap: string, name: string, numPartitions: number): Promise<CreateTopicsResponse> {
  return rawRequest(
    bootstrap,
    ApiKey.CreateTopics,
    5,
    {
      topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 60_000,
      validateOnly: false,
    },
    90_000,
  );
}

function entriesOf(dataDir: string, topic: string): string[] {
  return readdirSync(dataDir).filter((n) => n.startsWith(`${topic}-`));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(100);
}

test('a creation that fails with EMFILE leaves nothing behind and the broker still restarts', async () => {
  const dataDir = makeTempDir('brook-emfile-');
  let bp: BrokerProcess | undefined;
  try {
    bp = await spawnBrokerProcess({ dataDir, config: EMFILE_CONFIG, fileLimit: MAX_OPEN_FILES });
    const r = await createTopic(bp.bootstrapServers, 'big', 400);
    assert.notEqual(r.topics[0]!.errorCode, 0, 'the creation must fail for this test to mean anything');
    assert.match(r.topics[0]!.errorMessage ?? '', /EMFILE/);

    // Every directory it made is renamed away at once and removed in the background.
    assert.deepEqual(
      entriesOf(dataDir, 'big').filter((n) => !n.endsWith('-delete')),
      [],
    );
    await waitUntil(() => entriesOf(dataDir, 'big').length === 0, 20_000);
    assert.deepEqual(entriesOf(dataDir, 'big'), []);
    const admin = await Admin.connect(bp.bootstrapServers);
    assert.ok(!(await admin.listTopics()).includes('big'), 'no metadata for a topic whose logs failed');
    await admin.createTopics([{ name: 'small', partitions: 2 }]);
    await admin.close();

    bp.kill('SIGKILL');
    await bp.waitExit();
    bp = await spawnBrokerProcess({ dataDir, config: EMFILE_CONFIG, fileLimit: MAX_OPEN_FILES });
    const admin2 = await Admin.connect(bp.bootstrapServers);
    const topics = await admin2.listTopics();
    await admin2.close();
    assert.ok(topics.includes('small'));
    assert.ok(!topics.includes('big'));
  } finally {
    if (bp) {
      bp.kill('SIGKILL');
      await bp.waitExit();
    }
    removeDir(dataDir);
  }
});

test('a crash after the logs but before the metadata: the broker starts, the topic does not exist, its data is kept aside', async () => {
  const dataDir = makeTempDir('brook-createcrash-');
  let bp: BrokerProcess | undefined;
  try {
    // A first start creates __consumer_offsets, so the crash point is armed only for `half`.
    bp = await spawnBrokerProcess({ dataDir, config: CONFIG });
    bp.kill('SIGTERM');
    await bp.waitExit();
    bp = await spawnBrokerProcess({
      dataDir,
      config: CONFIG,
      env: { BROOK_CRASH_AT: 'topic-create:before-metadata' },
    });
    await createTopic(bp.bootstrapServers, 'half', 3).then(
      () => assert.fail('the broker answered instead of crashing'),
      () => undefined,
    );
    assert.equal((await bp.waitExit()).signal, 'SIGKILL');
    assert.equal(entriesOf(dataDir, 'half').length, 3, 'the crash left the three directories');

    bp = await spawnBrokerProcess({ dataDir, config: CONFIG });
    const admin = await Admin.connect(bp.bootstrapServers);
    assert.ok(!(await admin.listTopics()).includes('half'));
    // Never deleted: renamed aside, so the name can be created again from scratch.
    assert.equal(entriesOf(dataDir, 'half').filter((n) => /^half-\d\.[0-9a-f]{32}-stray$/.test(n)).length, 3);
    await admin.createTopics([{ name: 'half', partitions: 1 }]);
    await admin.close();
  } finally {
    if (bp) {
      bp.kill('SIGKILL');
      await bp.waitExit();
    }
    removeDir(dataDir);
  }
});
