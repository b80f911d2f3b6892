import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdir, open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { listBatches, testConfig, valueBatch, withTempDir } from './helpers.js';

const SEG = '00000000000000000000.log';

async function openAt(logDir: string, clean: boolean, cfg: Partial<LogConfig> = {}): Promise<UnifiedLog> {
  await mkdir(logDir, { recursive: true });
  return UnifiedLog.open(logDir, 't', 0, testConfig(cfg), { hadCleanShutdown: clean });
}

async function fill(log: UnifiedLog, n: number, recordsPerBatch = 2, size = 30): Promise<Buffer[]> {
  const batches = Array.from({ length: n }, (_, i) => valueBatch(recordsPerBatch, size, `r${i}`));
  await Promise.all(batches.map((b) => log.append(b, { leaderEpoch: 0, assignOffsets: true }).durable));
  return batches;
}

async function offsetsOf(log: UnifiedLog): Promise<number[]> {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20, { minOneBatch: true });
    for (const b of listBatches(records)) {
      out.push(b.baseOffset);
      offset = b.lastOffset + 1;
    }
  }
  return out;
}

test('garbage after the last batch is truncated on reopen without the clean marker', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, false);
    await fill(log, 5);
    await log.close();
    const goodSize = (await stat(join(logDir, SEG))).size;
    await appendFile(join(logDir, SEG), Buffer.from('this is not a record batch, just junk bytes'));
    const reopened = await openAt(logDir, false);
    assert.equal(reopened.logEndOffset, 10);
    assert.deepEqual(await offsetsOf(reopened), [0, 2, 4, 6, 8]);
    assert.equal((await stat(join(logDir, SEG))).size, goodSize);
    const r = reopened.append(valueBatch(1, 10, 'next'), { leaderEpoch: 0, assignOffsets: true });
    await r.durable;
    assert.equal(r.baseOffset, 10);
    await reopened.close();
  });
});

test('a batch cut in half is dropped on recovery while earlier batches survive', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, false);
    const batches = await fill(log, 4);
    await log.close();
    const size = (await stat(join(logDir, SEG))).size;
    await truncate(join(logDir, SEG), size - Math.floor(batches[3]!.length / 2));
    const reopened = await openAt(logDir, false);
    assert.equal(reopened.logEndOffset, 6);
    assert.deepEqual(await offsetsOf(reopened), [0, 2, 4]);
    await reopened.close();
  });
});

test('a CRC mismatch inside the last batch is cut off on recovery', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, false);
    await fill(log, 4);
    await log.close();
    const size = (await stat(join(logDir, SEG))).size;
    const fh = await open(join(logDir, SEG), 'r+');
    await fh.write(Buffer.from([0xaa]), 0, 1, size - 5);
    await fh.close();
    const reopened = await openAt(logDir, false);
    assert.deepEqual(await offsetsOf(reopened), [0, 2, 4]);
    await reopened.close();
  });
});

test('a crash without close (copy of a live log) recovers all written data and rebuilds indexes', async () => {
  await withTempDir(async (dir) => {
    const live = join(dir, 'live', 't-0');
    const log = await openAt(live, false, { segmentBytes: 800, indexIntervalBytes: 100 });
    await fill(log, 20);
    await log.flush();
    const crashed = join(dir, 'crashed', 't-0');
    await cp(live, crashed, { recursive: true });
    await log.close();
    const reopened = await openAt(crashed, false, { segmentBytes: 800, indexIntervalBytes: 100 });
    assert.equal(reopened.logEndOffset, 40);
    assert.deepEqual(
      await offsetsOf(reopened),
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
    for (let k = 0; k < 40; k++) {
      const [first] = listBatches((await reopened.read(k, 1, { minOneBatch: true })).records);
      assert.ok(first!.baseOffset <= k && k <= first!.lastOffset);
    }
    await reopened.close();
  });
});

test('clean reopen trusts the indexes: fast, correct, and it does not rescan the segment', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, false);
    // ~24 MiB in 3000 batches of ~8 KiB.
    const value = 'v'.repeat(8000);
    const chunk = 100;
    for (let i = 0; i < 3000; i += chunk) {
      const batches = Array.from({ length: chunk }, (_, j) =>
        valueBatch(1, value.length, `c${i + j}`, { baseTimestamp: 1_700_000_000_000 + i + j }),
      );
      await Promise.all(batches.map((b) => log.append(b, { leaderEpoch: 0, assignOffsets: true }).durable));
    }
    await log.close();
    // Damage an early batch: only a full recovery scan would notice.
    const fh = await open(join(logDir, SEG), 'r+');
    await fh.write(Buffer.from([0x55]), 0, 1, 8100 * 10 + 200);
    await fh.close();

    const startMs = performance.now();
    const clean = await openAt(logDir, true);
    const elapsedMs = performance.now() - startMs;
    assert.ok(elapsedMs < 500, `clean open took ${elapsedMs} ms`);
    assert.equal(clean.logEndOffset, 3000);
    const tail = await clean.read(2999, 1 << 20, { minOneBatch: true });
    assert.equal(listBatches(tail.records)[0]!.baseOffset, 2999);
    const r = clean.append(valueBatch(1, 10, 'more'), { leaderEpoch: 0, assignOffsets: true });
    await r.durable;
    assert.equal(r.baseOffset, 3000);
    await clean.close();

    // Contrast: recovery does scan and finds the damaged batch. Valid batches follow it, so it is
    // kept and counted (reads of it answer CORRUPT_MESSAGE) instead of cutting the log there.
    await writeFile(join(logDir, 'recovery-point-offset-checkpoint'), '0\n0\n');
    const recovered = await openAt(logDir, false);
    assert.equal(recovered.corruptBatchCount, 1, 'recovery found the damaged batch');
    assert.equal(recovered.logEndOffset, 3001);
    await recovered.close();
  });
});

test('after a clean close the index files are on disk and the producer snapshot exists', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, false, { indexIntervalBytes: 50 });
    await fill(log, 10);
    await log.close();
    assert.ok((await readFile(join(logDir, '00000000000000000000.index'))).length > 0);
    assert.ok((await readFile(join(logDir, '00000000000000000000.timeindex'))).length > 0);
    assert.ok((await stat(join(logDir, '00000000000000000020.snapshot'))).isFile());
    assert.equal((await readFile(join(logDir, 'recovery-point-offset-checkpoint'), 'utf8')).trim(), '0\n20');
  });
});
