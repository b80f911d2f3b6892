import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CLEAN_SHUTDOWN_FILE, LogManager } from '../../src/storage/log-manager.js';
import { listBatches, testConfig, valueBatch, withTempDir } from './helpers.js';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('LogManager reopens every <topic>-<partition> dir and manages the clean-shutdown marker', async () => {
  await withTempDir(async (dir) => {
    const manager = await LogManager.open(dir, testConfig());
    const a = await manager.createLog('my-topic-1', 3, {});
    const b = await manager.createLog('other', 0, { segmentBytes: 500 });
    assert.equal(await manager.createLog('other', 0, { segmentBytes: 500 }), b, 'createLog is idempotent');
    await a.append(valueBatch(2, 10, 'a'), { leaderEpoch: 0, assignOffsets: true }).durable;
    await b.append(valueBatch(3, 10, 'b'), { leaderEpoch: 0, assignOffsets: true }).durable;
    await manager.flushAll();
    await manager.close();
    assert.ok(await exists(join(dir, CLEAN_SHUTDOWN_FILE)));

    const again = await LogManager.open(dir, testConfig());
    assert.equal(again.hadCleanShutdown, true);
    assert.equal(await exists(join(dir, CLEAN_SHUTDOWN_FILE)), false, 'marker removed at startup');
    assert.deepEqual(
      again
        .allLogs()
        .map((l) => `${l.topic}/${l.partition}@${l.logEndOffset}`)
        .sort(),
      ['my-topic-1/3@2', 'other/0@3'],
    );
    const { records } = await again.getLog('my-topic-1', 3)!.read(0, 1000, { minOneBatch: true });
    assert.equal(listBatches(records).length, 1);
    await again.deleteLog('other', 0);
    assert.equal(again.getLog('other', 0), undefined);
    // Renamed to other-0.<uuid>-delete at once (crash-safe), removed in the background.
    assert.ok(!(await readdir(dir)).includes('other-0'));
    await again.close();
    assert.deepEqual((await readdir(dir)).sort(), ['.clean-shutdown', 'my-topic-1-3']);
  });
});

test('LogManager without a marker reports an unclean start and still loads the data', async () => {
  await withTempDir(async (dir) => {
    const manager = await LogManager.open(dir, testConfig());
    const log = await manager.createLog('t', 0);
    await log.append(valueBatch(2, 10, 'x'), { leaderEpoch: 0, assignOffsets: true }).durable;
    await manager.close();
    await rm(join(dir, CLEAN_SHUTDOWN_FILE));
    const reopened = await LogManager.open(dir, testConfig());
    assert.equal(reopened.hadCleanShutdown, false);
    assert.equal(reopened.getLog('t', 0)?.logEndOffset, 2);
    await reopened.close();
  });
});

test('retention still runs for logs created after the manager started empty', async () => {
  await withTempDir(async (dir) => {
    const manager = await LogManager.open(dir, testConfig({ retentionCheckIntervalMs: 20 }));
    // Several passes over no logs at all: each must leave the loop ready for the next one.
    await new Promise((r) => setTimeout(r, 150));
    const log = await manager.createLog('late', 0, { segmentBytes: 600, retentionBytes: 700 });
    const batches = Array.from({ length: 20 }, (_, i) => valueBatch(2, 40, `l${i}`));
    await Promise.all(batches.map((b) => log.append(b, { leaderEpoch: 0, assignOffsets: true }).durable));
    const deadline = Date.now() + 10_000;
    while (log.logStartOffset === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(log.logStartOffset > 0, 'retention ran in the background');
    await manager.close();
  });
});

test('the background retention loop deletes old segments on its own', async () => {
  await withTempDir(async (dir) => {
    const manager = await LogManager.open(dir, testConfig({ retentionCheckIntervalMs: 20 }));
    const log = await manager.createLog('r', 0, { segmentBytes: 600, retentionBytes: 700 });
    const batches = Array.from({ length: 20 }, (_, i) => valueBatch(2, 40, `r${i}`));
    await Promise.all(batches.map((b) => log.append(b, { leaderEpoch: 0, assignOffsets: true }).durable));
    assert.ok(log.segmentCount > 3);
    const deadline = Date.now() + 2000;
    while (log.logStartOffset === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(log.logStartOffset > 0, 'retention ran in the background');
    assert.ok(log.segmentCount <= 3);
    await manager.close();
  });
});

test('createLog rejects names that could escape the data directory', async () => {
  await withTempDir(async (dir) => {
    const manager = await LogManager.open(dir, testConfig());
    await assert.rejects(manager.createLog('../evil', 0));
    await assert.rejects(manager.createLog('..', 0));
    await manager.close();
  });
});
