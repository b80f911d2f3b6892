import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeBatch, encodeBatchSync, iterateBatches } from '../../src/protocol/records.js';
import { CLEANER_OFFSET_CHECKPOINT, LogCleaner } from '../../src/storage/log-cleaner.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { offsetFileName } from '../../src/storage/log-segment.js';
import { StorageError } from '../../src/storage/errors.js';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import { testConfig, withTempDir } from './helpers.js';

const COMPACT: Partial<LogConfig> = {
  cleanupPolicy: 'compact',
  segmentBytes: 1200,
  minCleanableDirtyRatio: 0.01,
  deleteRetentionMs: 86_400_000,
};

interface Produced {
  key: string;
  value: string | null;
}

/** Writes records in batches of `perBatch` and remembers what went to each offset. */
class Producer {
  readonly byOffset = new Map<number, Produced>();
  /** key -> latest value (null = tombstone). */
  readonly latest = new Map<string, string | null>();
  constructor(private readonly log: UnifiedLog) {}

  async send(records: Produced[], timestampMs = Date.now()): Promise<void> {
    const batch = encodeBatchSync({
      records: records.map((r) => ({ key: r.key, value: r.value, timestamp: timestampMs })),
    });
    const res = this.log.append(batch, { leaderEpoch: 0, assignOffsets: true });
    records.forEach((r, i) => {
      this.byOffset.set(res.baseOffset + i, r);
      this.latest.set(r.key, r.value);
    });
    await res.durable;
  }

  /** `n` records over `keys` keys, every `tombstoneEvery`-th a tombstone, `perBatch` per batch. */
  async fill(
    n: number,
    keys: number,
    perBatch: number,
    tombstoneEvery = 0,
    timestampMs?: number,
  ): Promise<void> {
    for (let i = 0; i < n; i += perBatch) {
      const recs: Produced[] = [];
      for (let j = i; j < Math.min(n, i + perBatch); j++) {
        const tomb = tombstoneEvery > 0 && j % tombstoneEvery === tombstoneEvery - 1;
        recs.push({ key: `k${(j * 7) % keys}`, value: tomb ? null : `v${j}-${'x'.repeat(20)}` });
      }
      await this.send(recs, timestampMs);
    }
  }
}

interface ReadRecord {
  offset: number;
  key: string;
  value: string | null;
}

/** Reads the whole log from its start, checking CRCs (decodeBatch) and increasing offsets. */
async function readAll(log: UnifiedLog): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let offset = log.logStartOffset;
  let last = -1;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 16 * 1024, { minOneBatch: true });
    if (records.length === 0) break;
    for (const { pos } of iterateBatches(records)) {
      const { info, records: recs } = await decodeBatch(records, pos);
      assert.ok(info.baseOffset > last, `batch ${info.baseOffset} follows ${last}`);
      for (const r of recs) {
        assert.ok(r.offset > last, `offset ${r.offset} follows ${last}`);
        last = r.offset;
        out.push({ offset: r.offset, key: r.key!.toString(), value: r.value?.toString() ?? null });
      }
      offset = info.lastOffset + 1;
    }
  }
  return out;
}

/** Every record read is exactly what was produced at its offset. */
function assertOffsetsPreserved(read: ReadRecord[], p: Producer): void {
  for (const r of read) {
    const produced = p.byOffset.get(r.offset);
    assert.ok(produced !== undefined, `offset ${r.offset} was produced`);
    assert.equal(r.key, produced.key, `key at ${r.offset}`);
    assert.equal(r.value, produced.value, `value at ${r.offset}`);
  }
}

/** The last record per key in the log is the latest produced (tombstones allowed to vanish when `tombstonesGone`). */
function assertLatestPerKey(read: ReadRecord[], p: Producer, tombstonesGone = false): void {
  const seen = new Map<string, string | null>();
  for (const r of read) seen.set(r.key, r.value);
  for (const [key, value] of p.latest) {
    if (value === null && tombstonesGone) {
      assert.ok(!seen.has(key) || seen.get(key) === null, `deleted key ${key} has no live value`);
    } else {
      assert.equal(seen.get(key), value, `latest value of ${key}`);
    }
  }
}

async function openLog(dir: string, cfg: Partial<LogConfig>, clean = false): Promise<UnifiedLog> {
  await mkdir(dir, { recursive: true });
  return UnifiedLog.open(dir, 't', 0, testConfig(cfg), { hadCleanShutdown: clean });
}

function activeBase(log: UnifiedLog): number {
  return log.segmentBaseOffsets().at(-1)!;
}

test('compaction keeps the latest value per key, with the original offsets', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(join(dir, 't-0'), COMPACT);
    const p = new Producer(log);
    await p.fill(600, 40, 3, 9);
    const sizeBefore = log.size;
    const cleaner = new LogCleaner(() => [log]);
    await cleaner.runOnce();
    assert.ok(log.size < sizeBefore / 2, `log shrank: ${log.size} < ${sizeBefore}`);
    const read = await readAll(log);
    assertOffsetsPreserved(read, p);
    assertLatestPerKey(read, p);
    // Below the active segment every key appears at most once.
    const cleanedKeys = read.filter((r) => r.offset < activeBase(log)).map((r) => r.key);
    assert.equal(new Set(cleanedKeys).size, cleanedKeys.length, 'one record per key in the cleaned part');
    // Tombstones stay before delete.retention.ms.
    assert.ok(
      read.some((r) => r.value === null && r.offset < activeBase(log)),
      'tombstones kept',
    );
    // Nothing new is dirty: a second pass does nothing.
    assert.equal(await cleaner.cleanLog(log, Date.now()), null);
    await log.close();

    // Reopened (clean shutdown): same content, and the checkpoint spares a re-clean.
    const again = await openLog(join(dir, 't-0'), COMPACT, true);
    assert.deepEqual(await readAll(again), read);
    assert.equal(await new LogCleaner(() => [again]).cleanLog(again, Date.now()), null);
    await again.close();
  });
});

test('tombstones stay until delete.retention.ms after their first cleaning, then go (horizon persisted)', async () => {
  await withTempDir(async (dir) => {
    const cfg = { ...COMPACT, deleteRetentionMs: 60_000 };
    const log = await openLog(join(dir, 't-0'), cfg);
    const p = new Producer(log);
    await p.fill(200, 20, 2);
    // Delete every even key.
    for (let k = 0; k < 20; k += 2) await p.send([{ key: `k${k}`, value: null }]);
    // Unrelated keys, so the tombstones end up in sealed segments.
    for (let i = 0; i < 30; i++)
      await p.send([
        { key: `u${i}`, value: 'x'.repeat(30) },
        { key: `w${i}`, value: 'y' },
      ]);
    const now = Date.now();
    const cleaner = new LogCleaner(() => [log]);
    await cleaner.runOnce(now);
    const tombstonesOf = (read: ReadRecord[]) => read.filter((r) => r.value === null).map((r) => r.key);
    let read = await readAll(log);
    assert.equal(tombstonesOf(read).length, 10, 'tombstones kept at the first cleaning');
    assertLatestPerKey(read, p);
    // Before the horizon: still there.
    await cleaner.runOnce(now + 30_000);
    assert.equal(tombstonesOf(await readAll(log)).length, 10);
    await log.close();

    // After a restart the horizon comes from the batches and the checkpoint.
    const again = await openLog(join(dir, 't-0'), cfg, true);
    const cleaner2 = new LogCleaner(() => [again]);
    await cleaner2.runOnce(now + 30_000);
    assert.equal(tombstonesOf(await readAll(again)).length, 10);
    const stats = await cleaner2.cleanLog(again, now + 61_000);
    assert.ok(
      stats !== null && stats.recordsRemoved >= 10,
      'horizon due triggers a clean without dirty data',
    );
    read = await readAll(again);
    assert.deepEqual(tombstonesOf(read), [], 'tombstones gone after delete.retention.ms');
    assertOffsetsPreserved(read, p);
    assertLatestPerKey(read, p, true);
    for (let k = 0; k < 20; k += 2) assert.ok(!read.some((r) => r.key === `k${k}`), `k${k} fully deleted`);
    await again.close();
  });
});

test('a reader looping from offset 0 while the cleaner runs sees a consistent log', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(join(dir, 't-0'), { ...COMPACT, segmentBytes: 2000 });
    const p = new Producer(log);
    await p.fill(1500, 30, 5);
    const cleaner = new LogCleaner(() => [log]);
    let cleaning = true;
    let reads = 0;
    const reader = (async () => {
      while (cleaning || reads < 3) {
        const read = await readAll(log); // asserts CRCs and increasing offsets
        assertOffsetsPreserved(read, p);
        reads++;
        // Reads at the log's tail are served from memory without I/O, so a loop of them would never
        // let the cleaner's file I/O run; a real consumer waits on its socket between fetches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let round = 0; round < 5; round++) {
      await p.fill(150, 30, 5);
      await cleaner.runOnce();
    }
    cleaning = false;
    await reader;
    assert.ok(reads >= 3, `reader made ${reads} full passes`);
    const read = await readAll(log);
    assertOffsetsPreserved(read, p);
    assertLatestPerKey(read, p);
    await log.close();
  });
});

test('a crash mid-clean is recovered: committed swaps finish, uncommitted ones are discarded', async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, 'a', 't-0');
    const b = join(dir, 'b', 't-0');
    const log = await openLog(a, COMPACT);
    const p = new Producer(log);
    await p.fill(500, 25, 2, 11);
    await log.close();
    await cp(a, b, { recursive: true });

    const cleanedLog = await openLog(a, COMPACT, true);
    await new LogCleaner(() => [cleanedLog]).runOnce();
    const bases = cleanedLog.segmentBaseOffsets();
    await cleanedLog.close();
    const rewritten: number[] = [];
    for (const base of bases.slice(0, -1)) {
      const name = offsetFileName(base, '.log');
      if ((await stat(join(a, name))).size !== (await stat(join(b, name))).size) rewritten.push(base);
    }
    assert.ok(rewritten.length >= 2, 'at least two segments were rewritten');
    const [committed, uncommitted] = [rewritten[0]!, rewritten[1]!];
    // Crash after the commit point: <base>.log.swap exists (indexes already renamed into place).
    for (const ext of ['.log', '.index', '.timeindex']) {
      const target = join(b, offsetFileName(committed, ext) + (ext === '.log' ? '.swap' : ''));
      await copyFile(join(a, offsetFileName(committed, ext)), target);
    }
    // Crash before it: the index was renamed to .swap, the log is still .cleaned.
    await copyFile(
      join(a, offsetFileName(uncommitted, '.index')),
      join(b, offsetFileName(uncommitted, '.index.swap')),
    );
    await copyFile(
      join(a, offsetFileName(uncommitted, '.log')),
      join(b, offsetFileName(uncommitted, '.log.cleaned')),
    );
    const originalUncommitted = await readFile(join(b, offsetFileName(uncommitted, '.log')));

    const recovered = await openLog(b, COMPACT, false);
    const names = await readdir(b);
    assert.deepEqual(
      names.filter((n) => n.endsWith('.swap') || n.endsWith('.cleaned')),
      [],
      'no swap leftovers',
    );
    assert.deepEqual(
      await readFile(join(b, offsetFileName(committed, '.log'))),
      await readFile(join(a, offsetFileName(committed, '.log'))),
      'committed swap finished',
    );
    assert.deepEqual(await readFile(join(b, offsetFileName(uncommitted, '.log'))), originalUncommitted);
    assert.equal(recovered.logEndOffset, 500);
    let read = await readAll(recovered);
    assertOffsetsPreserved(read, p);
    assertLatestPerKey(read, p);
    // And the cleaner finishes the job on the recovered log.
    await new LogCleaner(() => [recovered]).runOnce();
    read = await readAll(recovered);
    assertOffsetsPreserved(read, p);
    assertLatestPerKey(read, p);
    await recovered.close();
  });
});

test('compact,delete compacts and also deletes by retention.ms', async () => {
  await withTempDir(async (dir) => {
    const dayMs = 86_400_000;
    const now = Date.now();
    const log = await openLog(join(dir, 't-0'), {
      ...COMPACT,
      cleanupPolicy: 'compact,delete',
      retentionMs: dayMs,
    });
    const p = new Producer(log);
    await p.fill(200, 1000, 2, 0, now - 2 * dayMs); // old, unique keys
    const oldEnd = log.logEndOffset;
    await p.fill(300, 20, 2, 0, now);
    await new LogCleaner(() => [log]).runOnce(now);
    const deleted = await log.deleteOldSegments(now);
    assert.ok(deleted > 0, 'old segments deleted by retention');
    // The segment holding the last old records may go too once compaction removed its new ones.
    assert.ok(log.logStartOffset > 0, 'log start moved');
    assert.ok(log.logStartOffset <= oldEnd + 20, `log start ${log.logStartOffset} near ${oldEnd}`);
    const read = await readAll(log);
    assert.ok(read.every((r) => r.offset >= log.logStartOffset));
    assertOffsetsPreserved(read, p);
    const recent = read.filter((r) => r.offset >= oldEnd && r.offset < activeBase(log)).map((r) => r.key);
    assert.equal(new Set(recent).size, recent.length, 'recent part compacted');
    await log.close();
  });
});

test('min.compaction.lag.ms keeps young segments uncompacted', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(join(dir, 't-0'), { ...COMPACT, minCompactionLagMs: 3_600_000 });
    const p = new Producer(log);
    await p.fill(300, 10, 3);
    const size = log.size;
    await new LogCleaner(() => [log]).runOnce();
    assert.equal(log.size, size, 'nothing compacted yet');
    await new LogCleaner(() => [log]).runOnce(Date.now() + 7_200_000);
    assert.ok(log.size < size, 'compacted once old enough');
    await log.close();
  });
});

test('a record without a key is rejected on a compacted topic with INVALID_RECORD', async () => {
  await withTempDir(async (dir) => {
    const compact = await openLog(join(dir, 'c-0'), COMPACT);
    const keyless = () =>
      encodeBatchSync({
        records: [
          { key: 'a', value: '1' },
          { key: null, value: '2' },
        ],
      });
    assert.throws(
      () => compact.append(keyless(), { leaderEpoch: 0, assignOffsets: true }),
      (err: unknown) => err instanceof StorageError && err.code === 'INVALID_RECORD',
    );
    assert.equal(compact.logEndOffset, 0);
    await compact.close();
    const plain = await openLog(join(dir, 'd-0'), {});
    await plain.append(keyless(), { leaderEpoch: 0, assignOffsets: true }).durable;
    assert.equal(plain.logEndOffset, 2);
    await plain.close();
  });
});

test('LogManager runs the cleaner in the background and persists its checkpoint', async () => {
  await withTempDir(async (dir) => {
    const manager = await LogManager.open(dir, testConfig(), undefined, { cleanerBackoffMs: 20 });
    const log = await manager.createLog('compacted', 0, COMPACT);
    const plain = await manager.createLog('plain', 0, { segmentBytes: 1200 });
    const p = new Producer(log);
    await p.fill(400, 10, 2);
    await new Producer(plain).fill(400, 10, 2);
    const plainSize = plain.size;
    const size = log.size;
    const checkpointPath = join(log.dir, CLEANER_OFFSET_CHECKPOINT);
    const hasCheckpoint = () =>
      stat(checkpointPath).then(
        () => true,
        () => false,
      );
    const deadline = Date.now() + 10_000;
    while ((log.size > size / 2 || !(await hasCheckpoint())) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(log.size <= size / 2, `compacted in the background: ${log.size} of ${size}`);
    assert.equal(plain.size, plainSize, 'a delete-policy topic is never compacted');
    const checkpoint = await readFile(checkpointPath, 'utf8');
    assert.match(checkpoint, /^0\n\d+\n-?\d+\n$/);
    assertLatestPerKey(await readAll(log), p);
    await manager.close();
  });
});

test('log.cleaner.dedupe.buffer.size bounds the key map in bytes: a pass cleans what fits, the next continues', async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(join(dir, 't-0'), COMPACT);
    const p = new Producer(log);
    await p.fill(600, 300, 3);
    // Room for two segments' worst case (1200 bytes of records plus per-key overhead) per pass.
    const cleaner = new LogCleaner(() => [log], { dedupeBufferBytes: 6000 });
    const first = await cleaner.cleanLog(log, Date.now());
    assert.ok(first !== null);
    assert.ok(
      first.endOffset < activeBase(log),
      `first pass stopped at ${first.endOffset}, before the active segment at ${activeBase(log)}`,
    );
    let passes = 1;
    while ((await cleaner.cleanLog(log, Date.now())) !== null && passes < 100) passes++;
    assert.ok(passes > 2, `took ${passes} passes`);
    const read = await readAll(log);
    assertOffsetsPreserved(read, p);
    assertLatestPerKey(read, p);
    await log.close();
  });
});
