import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../src/storage/errors.js';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { buildBatch, crcValid, listBatches, testConfig, valueBatch, withTempDir } from './helpers.js';

async function openLog(dir: string, cfg: Partial<LogConfig> = {}, clean = false): Promise<UnifiedLog> {
  const logDir = join(dir, 't-0');
  await mkdir(logDir, { recursive: true });
  return UnifiedLog.open(logDir, 't', 0, testConfig(cfg), { hadCleanShutdown: clean });
}

async function appendAll(log: UnifiedLog, batches: Buffer[]): Promise<void> {
  const results = batches.map((b) => log.append(b, { leaderEpoch: 0, assignOffsets: true }));
  await Promise.all(results.map((r) => r.durable));
}

async function readEverything(log: UnifiedLog, maxBytes = 1 << 20): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, maxBytes, { minOneBatch: true });
    assert.ok(records.length > 0, `no data at ${offset}`);
    let p = 0;
    for (const b of listBatches(records)) {
      out.push(records.subarray(p, p + b.size));
      p += b.size;
      offset = b.lastOffset + 1;
    }
  }
  return out;
}

function assertStorageError(code: string) {
  return (err: unknown) => err instanceof StorageError && err.code === code;
}

test('append/read round-trip across segment rolls keeps offsets contiguous and bytes intact', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytes: 2000 });
    const batches = Array.from({ length: 30 }, (_, i) => valueBatch(5, 40, `b${i}`));
    await appendAll(log, batches);
    assert.ok(log.segmentCount >= 5, `expected several segments, got ${log.segmentCount}`);
    assert.equal(log.logEndOffset, 150);
    assert.equal(log.highWatermark, 150);
    const stored = await readEverything(log, 700);
    assert.equal(stored.length, 30);
    stored.forEach((b, i) => {
      assert.deepEqual(b, batches[i], `batch ${i} differs`);
      assert.equal(Number(b.readBigInt64BE(0)), i * 5);
      assert.equal(b.readInt32BE(12), 0, 'leader epoch stamped');
      assert.ok(crcValid(b));
    });
    await log.close();
  });
});

test('offset index entries point at the batch with that offset, and every offset reads its batch', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { indexIntervalBytes: 100 });
    await appendAll(
      log,
      Array.from({ length: 40 }, (_, i) => valueBatch(3, 30, `b${i}`)),
    );
    for (let k = 0; k < 120; k++) {
      const { records } = await log.read(k, 1, { minOneBatch: true });
      const [first] = listBatches(records);
      assert.ok(
        first && first.baseOffset <= k && k <= first.lastOffset,
        `offset ${k} -> ${JSON.stringify(first)}`,
      );
    }
    await log.close();
    const index = await readFile(join(dir, 't-0', '00000000000000000000.index'));
    const data = await readFile(join(dir, 't-0', '00000000000000000000.log'));
    assert.ok(index.length / 8 > 10, 'sparse index has entries');
    for (let i = 0; i < index.length; i += 8) {
      const rel = index.readInt32BE(i);
      const pos = index.readInt32BE(i + 4);
      assert.equal(Number(data.readBigInt64BE(pos)), rel, `entry ${i / 8} points at its batch`);
    }
  });
});

test('read at an offset inside a batch returns that whole batch', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    await appendAll(log, [valueBatch(10, 20, 'a'), valueBatch(10, 20, 'b')]);
    const { records } = await log.read(15, 1 << 20, { minOneBatch: true });
    assert.deepEqual(
      listBatches(records).map((b) => b.baseOffset),
      [10],
    );
    await log.close();
  });
});

test('maxBytes returns whole batches only; minOneBatch returns one oversized batch; maxOffset bounds', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    const batches = Array.from({ length: 5 }, (_, i) => valueBatch(2, 100, `m${i}`));
    await appendAll(log, batches);
    const size = batches[0]!.length;
    const two = await log.read(0, size * 2 + size - 1, { minOneBatch: false });
    assert.deepEqual(
      listBatches(two.records).map((b) => b.baseOffset),
      [0, 2],
    );
    assert.equal(two.records.length, size * 2);
    const tooSmall = await log.read(0, 10, { minOneBatch: false });
    assert.equal(tooSmall.records.length, 0);
    const one = await log.read(0, 10, { minOneBatch: true });
    assert.deepEqual(
      listBatches(one.records).map((b) => b.baseOffset),
      [0],
    );
    const bounded = await log.read(0, 1 << 20, { minOneBatch: true, maxOffset: 4 });
    assert.deepEqual(
      listBatches(bounded.records).map((b) => b.baseOffset),
      [0, 2],
    );
    const atEnd = await log.read(10, 1 << 20, { minOneBatch: true });
    assert.equal(atEnd.records.length, 0);
    assert.equal(atEnd.logEndOffset, 10);
    await log.close();
  });
});

test('OFFSET_OUT_OF_RANGE below the log start and beyond the log end', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    await appendAll(log, [valueBatch(3, 10, 'x')]);
    await assert.rejects(log.read(4, 100, { minOneBatch: true }), assertStorageError('OFFSET_OUT_OF_RANGE'));
    await assert.rejects(log.read(-1, 100, { minOneBatch: true }), assertStorageError('OFFSET_OUT_OF_RANGE'));
    await log.close();
  });
});

test('corrupt, malformed and oversized batches are rejected and nothing is appended', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { maxMessageBytes: 500 });
    const bad = valueBatch(2, 20, 'c');
    bad[bad.length - 3] ^= 0xff;
    assert.throws(
      () => log.append(bad, { leaderEpoch: 0, assignOffsets: true }),
      assertStorageError('CORRUPT_MESSAGE'),
    );
    const magic = valueBatch(2, 20, 'c');
    magic[16] = 1;
    assert.throws(
      () => log.append(magic, { leaderEpoch: 0, assignOffsets: true }),
      assertStorageError('CORRUPT_MESSAGE'),
    );
    const cut = valueBatch(2, 20, 'c').subarray(0, 50);
    assert.throws(
      () => log.append(cut, { leaderEpoch: 0, assignOffsets: true }),
      assertStorageError('CORRUPT_MESSAGE'),
    );
    const trailing = Buffer.concat([valueBatch(2, 20, 'c'), Buffer.from([1, 2, 3])]);
    assert.throws(
      () => log.append(trailing, { leaderEpoch: 0, assignOffsets: true }),
      assertStorageError('CORRUPT_MESSAGE'),
    );
    const big = valueBatch(10, 100, 'big');
    assert.throws(
      () => log.append(big, { leaderEpoch: 0, assignOffsets: true }),
      assertStorageError('MESSAGE_TOO_LARGE'),
    );
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.size, 0);
    await log.close();
  });
});

test('LogAppendTime stamps maxTimestamp and the attribute bit and keeps the CRC valid', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { messageTimestampType: 'LogAppendTime' });
    const r = log.append(valueBatch(2, 20, 'l'), {
      leaderEpoch: 7,
      assignOffsets: true,
      nowMs: 1_800_000_000_000,
    });
    assert.equal(r.logAppendTimeMs, 1_800_000_000_000);
    await r.durable;
    const { records } = await log.read(0, 1 << 20, { minOneBatch: true });
    assert.equal(listBatches(records)[0]!.maxTimestamp, 1_800_000_000_000);
    assert.equal(records.readInt16BE(21) & 0x08, 0x08);
    assert.equal(records.readInt32BE(12), 7);
    assert.ok(crcValid(records));
    await log.close();
  });
});

test('log end offset advances only after the write completes', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    const seen: number[] = [];
    log.onAppend((leo) => seen.push(leo));
    const r = log.append(valueBatch(4, 20, 'v'), { leaderEpoch: 0, assignOffsets: true });
    assert.equal(r.baseOffset, 0);
    assert.equal(r.lastOffset, 3);
    assert.equal(log.logEndOffset, 0, 'not visible before the write completes');
    assert.equal((await log.read(0, 1 << 20, { minOneBatch: true })).records.length, 0);
    await r.durable;
    assert.equal(log.logEndOffset, 4);
    assert.deepEqual(seen, [4]);
    await log.close();
  });
});

test('flushBeforeAck group commit: many concurrent appends share fewer fsyncs', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { flushBeforeAck: true });
    const before = log.flushCount;
    const results = Array.from({ length: 200 }, (_, i) =>
      log.append(valueBatch(2, 30, `g${i}`), { leaderEpoch: 0, assignOffsets: true }),
    );
    await Promise.all(results.map((r) => r.durable));
    const fsyncs = log.flushCount - before;
    assert.ok(fsyncs >= 1, 'at least one fsync');
    assert.ok(fsyncs < 200, `expected group commit, got ${fsyncs} fsyncs for 200 appends`);
    assert.equal(log.logEndOffset, 400);
    assert.equal(log.recoveryPoint, 400);
    assert.equal(log.highWatermark, 400);
    await log.close();
  });
});

test('offsetForTimestamp finds the first batch at or after the timestamp; latestTimestamp the max', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytes: 1000, indexIntervalBytes: 150 });
    const t0 = 1_700_000_000_000;
    await appendAll(
      log,
      Array.from({ length: 30 }, (_, i) => valueBatch(2, 30, `t${i}`, { baseTimestamp: t0 + i * 1000 })),
    );
    assert.ok(log.segmentCount > 2);
    const hit = await log.offsetForTimestamp(t0 + 5500);
    assert.deepEqual(hit, { offset: 12, timestampMs: t0 + 6000, leaderEpoch: 0 });
    assert.equal((await log.offsetForTimestamp(t0 + 17000))?.offset, 34);
    assert.equal((await log.offsetForTimestamp(0))?.offset, 0);
    assert.equal(await log.offsetForTimestamp(t0 + 30_000), null);
    assert.deepEqual(await log.latestTimestamp(), { offset: 58, timestampMs: t0 + 29_000, leaderEpoch: 0 });
    await log.close();
    const reopened = await openLog(dir, { segmentBytes: 1000, indexIntervalBytes: 150 }, true);
    assert.equal((await reopened.offsetForTimestamp(t0 + 5500))?.offset, 12);
    await reopened.close();
  });
});

test('offsetForTimestamp and latestTimestamp look inside the batch, as Kafka does', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    const t0 = 1_700_000_000_000;
    // One batch: offsets 0..3 with timestamps t0, t0+50, t0+10, t0+50 (max t0+50, first at offset 1).
    const deltas = [0, 50, 10, 50];
    await appendAll(log, [
      buildBatch(
        deltas.map((d) => ({ value: Buffer.from('v'), timestampDelta: d })),
        { baseTimestamp: t0 },
      ),
    ]);
    assert.deepEqual(await log.offsetForTimestamp(t0 + 5), {
      offset: 1,
      timestampMs: t0 + 50,
      leaderEpoch: 0,
    });
    assert.deepEqual(await log.offsetForTimestamp(t0), { offset: 0, timestampMs: t0, leaderEpoch: 0 });
    assert.deepEqual(await log.latestTimestamp(), { offset: 1, timestampMs: t0 + 50, leaderEpoch: 0 });
    assert.equal(log.epochForOffset(0), 0);
    await log.close();
  });
});

test('leader epoch cache answers OffsetForLeaderEpoch and survives reopen', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    await Promise.all([
      log.append(valueBatch(3, 10, 'e0'), { leaderEpoch: 0, assignOffsets: true }).durable,
      log.append(valueBatch(2, 10, 'e3'), { leaderEpoch: 3, assignOffsets: true }).durable,
    ]);
    assert.deepEqual(log.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 3 });
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 0, endOffset: 3 });
    assert.deepEqual(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 5 });
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: -1, endOffset: -1 });
    await log.close();
    const reopened = await openLog(dir, {}, true);
    assert.deepEqual(reopened.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 3 });
    await reopened.close();
  });
});

test('truncateTo drops later batches and segments, then appends continue from there', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytes: 600 });
    await appendAll(
      log,
      Array.from({ length: 12 }, (_, i) => valueBatch(2, 40, `r${i}`)),
    );
    assert.ok(log.segmentCount > 2);
    await log.truncateTo(10);
    assert.equal(log.logEndOffset, 10);
    const r = log.append(valueBatch(1, 10, 'after'), { leaderEpoch: 1, assignOffsets: true });
    await r.durable;
    assert.equal(r.baseOffset, 10);
    const all = await readEverything(log);
    assert.deepEqual(
      all.map((b) => Number(b.readBigInt64BE(0))),
      [0, 2, 4, 6, 8, 10],
    );
    await log.close();
  });
});
