// cluster.id is honoured: a new data dir takes it (clients see it in Metadata/DescribeCluster), a restart without
// it keeps the stored id, and a data dir that belongs to another cluster refuses to start with one sentence, as
// Kafka's InconsistentClusterIdException does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_ROOT, makeTempDir, removeDir, startTestBroker } from '../helpers/broker.js';
import { runCommand } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const CLI = BROOK_CLI;

async function describedClusterId(bootstrap: string): Promise<string> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).clusterId;
  } finally {
    await admin.disconnect();
  }
}

test('cluster.id names a new cluster, is kept across restarts, and a mismatch refuses to start', async () => {
  const dir = makeTempDir();
  try {
    const first = await startTestBroker({ 'cluster.id': 'MkU3OEVBNTcwNTJENDM2Qk' }, dir);
    try {
      assert.equal(await describedClusterId(first.bootstrapServers), 'MkU3OEVBNTcwNTJENDM2Qk');
    } finally {
      await first.stop();
    }

    const again = await startTestBroker({}, dir);
    try {
      assert.equal(await describedClusterId(again.bootstrapServers), 'MkU3OEVBNTcwNTJENDM2Qk');
    } finally {
      await again.stop();
    }

    const r = await runCommand(
      process.execPath,
      [CLI, 'broker', 'start', '--port', '0', '--data-dir', dir, '--set', 'cluster.id=other'],
      { cwd: REPO_ROOT, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /cluster id "other" in cluster\.id does not match the cluster id "MkU3OEVBNTcwNTJENDM2Qk"/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    removeDir(dir);
  }
});
