// File descriptors at scale: a broker child process under `ulimit -n 512` holds far more segments (partitions ×
// segments each) than it may open. One CreateTopics makes every partition, then it must start, serve every segment, stop on SIGTERM with the clean-shutdown marker
// written, and start cleanly again. Before the bounded open-file cache (src/storage/open-file-cache.ts) every
// segment's .log stayed open from startup and shutdown sealed every partition at once: EMFILE, unclean shutdown.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeBatchSync } from '../../src/protocol/records.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/storage/log-manager.js';
import { offsetFileName } from '../../src/storage/log-segment.js';
import { Admin } from '../../src/client/index.js';
import { makeTempDir, removeDir, spawnBrokerProcess } from '../helpers/broker.js';
import { readPartition } from './raw-kafka.js';

const FILE_LIMIT = 512;
const PARTITIONS = 1000;
const SEGMENTS_PER_PARTITION = 3;
const TOPIC = 'many-segments';

/** Segment files of one record each, as the broker writes them after rolls (the indexes it rebuilds when missing). */
function writeSegments(partitionDir: string, partition: number): void {
  for (const name of readdirSync(partitionDir)) {
    if (/^\d{20}\.(log|index|timeindex)$/.test(name)) rmSync(join(partitionDir, name));
  }
  for (let offset = 0; offset < SEGMENTS_PER_PARTITION; offset++) {
    const batch = encodeBatchSync({
      baseOffset: offset,
      records: [
        { key: `k${partition}`, value: `p${partition}-o${offset}`, timestamp: 1_700_000_000_000 + offset },
      ],
    });
    writeFileSync(join(partitionDir, offsetFileName(offset, '.log')), batch);
  }
}

/** Open descriptors of a process (Linux). */
function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test(`${PARTITIONS} partitions × ${SEGMENTS_PER_PARTITION} segments under ulimit -n ${FILE_LIMIT}: serves, stops cleanly, restarts`, async (t) => {
  if (!existsSync('/proc/self/fd')) {
    t.skip('needs /proc (Linux)');
    return;
  }
  const dataDir = makeTempDir('brook-fds-');
  t.after(() => removeDir(dataDir));

  // One CreateTopics for every partition, under the limit too (all created at once ran out of descriptors).
  const config = { 'log.open.files.max': '200' };
  const creator = await spawnBrokerProcess({ dataDir, fileLimit: FILE_LIMIT, config });
  try {
    const admin = await Admin.connect(creator.bootstrapServers);
    try {
      await admin.createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1 }], 60_000);
    } finally {
      await admin.close();
    }
    creator.kill('SIGTERM');
    assert.equal((await creator.waitExit()).code, 0, creator.proc.stderr().slice(-3000));
  } finally {
    creator.kill('SIGKILL');
    await creator.waitExit();
  }
  // Then each partition gets several segments, written as files.
  for (let p = 0; p < PARTITIONS; p++) {
    const dir = join(dataDir, `${TOPIC}-${p}`);
    mkdirSync(dir, { recursive: true });
    writeSegments(dir, p);
  }
  assert.ok(existsSync(join(dataDir, CLEAN_SHUTDOWN_FILE)), 'setup broker stopped cleanly');

  let bp = await spawnBrokerProcess({ dataDir, fileLimit: FILE_LIMIT, config });
  let maxFds = 0;
  try {
    // Read every partition (every segment), a few at a time, watching the descriptor count.
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < PARTITIONS) {
        const p = next++;
        const records = await readPartition(bp.bootstrapServers, TOPIC, p);
        assert.deepEqual(
          records.map((r) => r.value?.toString()),
          Array.from({ length: SEGMENTS_PER_PARTITION }, (_, o) => `p${p}-o${o}`),
        );
        if (p % 50 === 0) maxFds = Math.max(maxFds, openFds(bp.pid));
      }
    };
    await Promise.all(Array.from({ length: 8 }, reader));
    maxFds = Math.max(maxFds, openFds(bp.pid));
    assert.ok(maxFds < FILE_LIMIT, `open descriptors ${maxFds}`);

    bp.kill('SIGTERM');
    const exit = await bp.waitExit();
    assert.equal(exit.code, 0, `exit after SIGTERM\n${bp.proc.stderr().slice(-3000)}`);
    assert.doesNotMatch(bp.proc.stderr(), /EMFILE|unclean shutdown/);
    assert.ok(existsSync(join(dataDir, CLEAN_SHUTDOWN_FILE)), 'clean-shutdown marker written');

    // The restart trusts the marker and serves the same data.
    bp = await spawnBrokerProcess({ dataDir, fileLimit: FILE_LIMIT, config });
    assert.match(bp.proc.stderr(), /hadCleanShutdown=true/);
    const last = await readPartition(bp.bootstrapServers, TOPIC, PARTITIONS - 1);
    assert.equal(last.length, SEGMENTS_PER_PARTITION);
    bp.kill('SIGTERM');
    assert.equal((await bp.waitExit()).code, 0);
    assert.ok(existsSync(join(dataDir, CLEAN_SHUTDOWN_FILE)), 'clean-shutdown marker written again');
  } finally {
    bp.kill('SIGKILL');
    await bp.waitExit();
  }
});
