import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../src/storage/errors.js';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { listBatches, testConfig, valueBatch, withTempDir } from './helpers.js';

async function openAt(logDir: string, cfg: Partial<LogConfig>, clean = false): Promise<UnifiedLog> {
  await mkdir(logDir, { recursive: true });
  return UnifiedLog.open(logDir, 't', 0, testConfig(cfg), { hadCleanShutdown: clean });
}

async function fill(log: UnifiedLog, n: number, timestampOf: (i: number) => number): Promise<void> {
  const batches = Array.from({ length: n }, (_, i) =>
    valueBatch(2, 40, `r${i}`, { baseTimestamp: timestampOf(i) }),
  );
  await Promise.all(batches.map((b) => log.append(b, { leaderEpoch: 0, assignOffsets: true }).durable));
}

const outOfRange = (err: unknown) => err instanceof StorageError && err.code === 'OFFSET_OUT_OF_RANGE';

test('retention.bytes deletes the oldest segments and moves the log start offset', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const now = Date.now();
    const log = await openAt(logDir, { segmentBytes: 600, retentionBytes: 1500 });
    await fill(log, 30, () => now);
    const segmentsBefore = log.segmentCount;
    assert.ok(segmentsBefore > 5);
    const deleted = await log.deleteOldSegments(now);
    assert.ok(deleted > 0);
    assert.equal(log.segmentCount, segmentsBefore - deleted);
    assert.ok(
      log.size > 1500 - 600 && log.size - 600 < 1500,
      `size ${log.size} within one segment of the limit`,
    );
    const first = log.segmentBaseOffsets()[0]!;
    assert.equal(log.logStartOffset, first);
    assert.ok(first > 0);
    await assert.rejects(log.read(0, 100, { minOneBatch: true }), outOfRange);
    const { records } = await log.read(first, 100, { minOneBatch: true });
    assert.equal(listBatches(records)[0]!.baseOffset, first);
    const logFiles = (await readdir(logDir)).filter((n) => n.endsWith('.log'));
    assert.equal(logFiles.length, log.segmentCount, 'deleted segment files are gone');
    await log.close();
  });
});

test('retention.ms deletes segments whose newest timestamp is too old but never the active one', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const now = Date.now();
    const dayMs = 86_400_000;
    const log = await openAt(logDir, { segmentBytes: 600, retentionMs: dayMs });
    // First 12 batches two days old, the rest fresh.
    await fill(log, 24, (i) => (i < 12 ? now - 2 * dayMs : now));
    const bases = log.segmentBaseOffsets();
    await log.deleteOldSegments(now);
    assert.ok(log.logStartOffset > 0 && log.logStartOffset <= 24, `start ${log.logStartOffset}`);
    assert.ok(log.segmentCount < bases.length);
    // The segment holding both old and new batches stays, and everything fresh is readable.
    const { records } = await log.read(24, 100, { minOneBatch: true });
    assert.equal(listBatches(records)[0]!.baseOffset, 24);
    await log.close();

    const allOld = await openAt(join(dir, 'old-0'), { segmentBytes: 600, retentionMs: dayMs });
    await fill(allOld, 10, () => now - 3 * dayMs);
    await allOld.deleteOldSegments(now);
    assert.equal(allOld.segmentCount, 1, 'the active segment is kept');
    assert.equal(allOld.logEndOffset, 20);
    await allOld.close();
  });
});

test('retention.ms = -1 keeps everything', async () => {
  await withTempDir(async (dir) => {
    const log = await openAt(join(dir, 't-0'), { segmentBytes: 600, retentionMs: -1 });
    await fill(log, 20, () => 1000);
    const n = log.segmentCount;
    assert.equal(await log.deleteOldSegments(Date.now()), 0);
    assert.equal(log.segmentCount, n);
    await log.close();
  });
});

test('deleteRecordsBefore moves the log start offset, deletes whole segments and persists across reopen', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, { segmentBytes: 600 });
    await fill(log, 20, () => Date.now());
    const bases = log.segmentBaseOffsets();
    const target = bases[2]! + 3;
    assert.equal(await log.deleteRecordsBefore(target), target);
    assert.equal(log.logStartOffset, target);
    assert.equal(log.segmentBaseOffsets()[0], bases[2], 'segments wholly below the start are deleted');
    await assert.rejects(log.read(target - 1, 100, { minOneBatch: true }), outOfRange);
    await assert.rejects(log.deleteRecordsBefore(41), outOfRange);
    await log.close();

    for (const clean of [true, false]) {
      const reopened = await openAt(logDir, { segmentBytes: 600 }, clean);
      assert.equal(reopened.logStartOffset, target, `clean=${clean}`);
      await assert.rejects(reopened.read(target - 1, 100, { minOneBatch: true }), outOfRange);
      await reopened.close();
    }
  });
});
