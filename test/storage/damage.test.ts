// Damaged files at startup (issue 15, "Starting after damage"): a torn tail under a clean-shutdown marker,
// shifted or garbage indexes, a corrupt batch in the middle of a segment, nonsense checkpoints. Each test damages a
// real file, reopens the log, and checks that the log opens, nothing was deleted and every batch the damage did
// not touch is still readable at its offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import { StorageError } from '../../src/storage/errors.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import type { StorageLogger } from '../../src/storage/log-loader.js';
import { flipByte, listBatches, testConfig, valueBatch, withTempDir } from './helpers.js';

const SEG0 = '00000000000000000000.log';
const BATCHES = 20;
const RECORDS_PER_BATCH = 2;
/** Small segments and a dense index so that a log has sealed segments and many index entries. */
const CFG: Partial<LogConfig> = { segmentBytes: 1200, indexIntervalBytes: 100 };

interface Captured extends StorageLogger {
  lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }>;
}

function captureLogger(): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
  };
}

async function openLog(logDir: string, clean: boolean, logger?: StorageLogger): Promise<UnifiedLog> {
  return UnifiedLog.open(logDir, 't', 0, testConfig(CFG), { hadCleanShutdown: clean, logger });
}

/** A closed log of BATCHES batches (offsets 0..39) spread over several segments; returns its directory. */
async function writtenLog(dir: string): Promise<string> {
  const logDir = join(dir, 't-0');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(logDir, { recursive: true });
  const log = await openLog(logDir, false);
  for (let i = 0; i < BATCHES; i++) {
    await log.append(valueBatch(RECORDS_PER_BATCH, 40, `b${i}`), { leaderEpoch: 0, assignOffsets: true })
      .durable;
  }
  await log.close();
  return logDir;
}

/** Base offsets of every batch readable from the log start, fetching each offset on its own. */
async function readableBases(log: UnifiedLog): Promise<number[]> {
  const bases: number[] = [];
  for (let k = log.logStartOffset; k < log.logEndOffset; k++) {
    let records: Buffer;
    try {
      records = (await log.read(k, 1 << 16, { minOneBatch: true })).records;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'CORRUPT_MESSAGE') continue;
      throw err;
    }
    const first = listBatches(records)[0];
    assert.ok(first !== undefined, `a read at offset ${k} must return a batch`);
    assert.ok(first.baseOffset <= k && k <= first.lastOffset, `read at ${k} gave batch ${first.baseOffset}`);
    if (!bases.includes(first.baseOffset)) bases.push(first.baseOffset);
  }
  return bases;
}

const allBases = Array.from({ length: BATCHES }, (_, i) => i * RECORDS_PER_BATCH);

async function segmentNames(logDir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(logDir)).filter((n) => n.endsWith('.log')).sort();
}

test('a clean-shutdown marker over a truncated last segment falls back to recovery of that partition', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const last = (await segmentNames(logDir)).at(-1)!;
    const lastBatches = listBatches(await readFile(join(logDir, last)));
    assert.ok(lastBatches.length >= 2);
    const size = (await stat(join(logDir, last))).size;
    await truncate(join(logDir, last), size - 7); // the last batch loses its end
    const logger = captureLogger();
    const log = await openLog(logDir, true, logger);
    const lostBase = lastBatches.at(-1)!.baseOffset;
    assert.equal(log.logEndOffset, lostBase);
    assert.deepEqual(
      await readableBases(log),
      allBases.filter((b) => b < lostBase),
    );
    assert.ok(
      logger.lines.some((l) => l.level === 'warn' && /recover/i.test(l.msg)),
      'the fallback is logged',
    );
    const r = log.append(valueBatch(1, 10, 'next'), { leaderEpoch: 0, assignOffsets: true });
    await r.durable;
    assert.equal(r.baseOffset, lostBase);
    await log.close();
  });
});

/** Moves every position of an .index file a few bytes on: still sorted and inside the file, but wrong. */
async function shiftIndex(path: string): Promise<number> {
  const buf = await readFile(path);
  assert.ok(buf.length >= 16, `${path} needs entries to shift`);
  for (let at = 0; at < buf.length; at += 8) buf.writeInt32BE(buf.readInt32BE(at + 4) + 5, at + 4);
  await writeFile(path, buf);
  return buf.length / 8;
}

test('an active segment whose .index has shifted entries opens after a clean shutdown', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const last = (await segmentNames(logDir)).at(-1)!;
    await shiftIndex(join(logDir, last.replace('.log', '.index')));
    const log = await openLog(logDir, true);
    assert.equal(log.logEndOffset, BATCHES * RECORDS_PER_BATCH);
    assert.deepEqual(await readableBases(log), allBases);
    await log.close();
  });
});

test('a sealed segment whose .index has shifted entries still serves every offset', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const first = (await segmentNames(logDir))[0]!;
    assert.equal(first, SEG0);
    await shiftIndex(join(logDir, '00000000000000000000.index'));
    const log = await openLog(logDir, true);
    assert.deepEqual(await readableBases(log), allBases);
    await log.close();
  });
});

test('garbage .index and .timeindex files of a sealed segment are rebuilt, nothing is deleted', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const garbage = Buffer.alloc(96);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 73 + 11) & 0xff;
    await writeFile(join(logDir, '00000000000000000000.index'), garbage);
    await writeFile(join(logDir, '00000000000000000000.timeindex'), garbage);
    const log = await openLog(logDir, true);
    // Retention by time must not see a garbage timestamp: nothing is older than a day in this log's view.
    await log.deleteOldSegments(1_700_000_000_000 + 86_400_000);
    assert.deepEqual(await readableBases(log), allBases);
    const byTime = await log.offsetForTimestamp(0);
    assert.equal(byTime?.offset, 0);
    await log.close();
  });
});

test('a corrupt batch in the middle of a sealed segment answers CORRUPT_MESSAGE there, data around it is served', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const batches = listBatches(await readFile(join(logDir, SEG0)));
    assert.ok(batches.length >= 4);
    const victim = batches[2]!;
    const victimPos = batches.slice(0, 2).reduce((n, b) => n + b.size, 0);
    await flipByte(join(logDir, SEG0), victimPos + victim.size - 10); // inside the records, header intact
    const logger = captureLogger();
    const log = await openLog(logDir, true, logger);
    // Reading from before the damage stops in front of it: the records around it, not the damaged ones.
    const before = await log.read(0, 1 << 16, { minOneBatch: true });
    assert.deepEqual(
      listBatches(before.records).map((b) => b.baseOffset),
      [0, 2],
    );
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        log.read(victim.baseOffset, 1 << 16, { minOneBatch: true }),
        (err: unknown) => err instanceof StorageError && err.code === 'CORRUPT_MESSAGE',
      );
    }
    assert.deepEqual(
      await readableBases(log),
      allBases.filter((b) => b !== victim.baseOffset),
    );
    assert.equal(log.corruptBatchCount, 1, 'the damage is counted once');
    assert.equal(
      logger.lines.filter((l) => l.level === 'error' && /corrupt/i.test(l.msg)).length,
      1,
      'and logged once, not per fetch',
    );
    await log.close();
  });
});

test('recovery after a crash keeps the batches after a corrupt one in the middle of a segment', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const batches = listBatches(await readFile(join(logDir, SEG0)));
    const victim = batches[1]!;
    await flipByte(join(logDir, SEG0), batches[0]!.size + victim.size - 3);
    await writeFile(join(logDir, 'recovery-point-offset-checkpoint'), '0\n0\n');
    const logger = captureLogger();
    const log = await openLog(logDir, false, logger);
    assert.equal(log.logEndOffset, BATCHES * RECORDS_PER_BATCH, 'nothing after the damage is cut off');
    assert.deepEqual(
      await readableBases(log),
      allBases.filter((b) => b !== victim.baseOffset),
    );
    assert.equal((await segmentNames(logDir)).length > 1, true, 'later segments are kept');
    assert.ok(logger.lines.some((l) => /corrupt/i.test(l.msg)));
    await log.close();
  });
});

test('a log-start-offset checkpoint beyond the log end is ignored with a warning, not acted on', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    for (const clean of [true, false]) {
      await writeFile(join(logDir, 'log-start-offset'), '0\n1000000\n');
      const logger = captureLogger();
      const log = await openLog(logDir, clean, logger);
      assert.equal(log.logStartOffset, 0);
      assert.equal(log.logEndOffset, BATCHES * RECORDS_PER_BATCH);
      assert.deepEqual(await readableBases(log), allBases);
      assert.ok(logger.lines.some((l) => l.level === 'warn' && /log-start-offset/.test(l.msg)));
      await log.close();
    }
  });
});

test('unreadable or negative checkpoints are ignored with a warning', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    await writeFile(join(logDir, 'log-start-offset'), '0\n-5\n');
    await writeFile(join(logDir, 'recovery-point-offset-checkpoint'), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const logger = captureLogger();
    const log = await openLog(logDir, false, logger);
    assert.equal(log.logStartOffset, 0);
    assert.deepEqual(await readableBases(log), allBases);
    const warned = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    assert.ok(
      warned.some((m) => /log-start-offset/.test(m)),
      warned.join(' | '),
    );
    assert.ok(
      warned.some((m) => /recovery-point/.test(m)),
      warned.join(' | '),
    );
    await log.close();
  });
});

test('a recovery-point checkpoint beyond the log end does not skip the recovery of a torn tail', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const last = (await segmentNames(logDir)).at(-1)!;
    const lastBatches = listBatches(await readFile(join(logDir, last)));
    await truncate(join(logDir, last), (await stat(join(logDir, last))).size - 3);
    await writeFile(join(logDir, 'recovery-point-offset-checkpoint'), '0\n99999999\n');
    const logger = captureLogger();
    const log = await openLog(logDir, false, logger);
    assert.equal(log.logEndOffset, lastBatches.at(-1)!.baseOffset);
    assert.ok(logger.lines.some((l) => l.level === 'warn' && /recovery-point/.test(l.msg)));
    await log.close();
  });
});

test('recovery of a sealed segment with a torn tail keeps the segments after it', async () => {
  await withTempDir(async (dir) => {
    const logDir = await writtenLog(dir);
    const names = await segmentNames(logDir);
    assert.ok(names.length >= 3);
    const victim = names[0]!;
    const batches = listBatches(await readFile(join(logDir, victim)));
    await truncate(join(logDir, victim), (await stat(join(logDir, victim))).size - 4);
    await writeFile(join(logDir, 'recovery-point-offset-checkpoint'), '0\n0\n');
    const log = await openLog(logDir, false);
    const lost = batches.at(-1)!.baseOffset;
    assert.equal(log.logEndOffset, BATCHES * RECORDS_PER_BATCH, 'later segments are kept');
    assert.deepEqual(await segmentNames(logDir), names);
    // The cut batch is a gap: a read there is served from the next segment.
    const read = await log.read(lost, 1 << 16, { minOneBatch: true });
    assert.equal(listBatches(read.records)[0]!.baseOffset, lost + RECORDS_PER_BATCH);
    await log.close();
  });
});

test(
  'an index rebuilt over a batch with a damaged length stops there: no hang, nothing deleted',
  { timeout: 20_000 },
  async () => {
    await withTempDir(async (dir) => {
      const logDir = await writtenLog(dir);
      const batches = listBatches(await readFile(join(logDir, SEG0)));
      const victim = batches[2]!;
      const victimPos = batches.slice(0, 2).reduce((n, b) => n + b.size, 0);
      await flipByte(join(logDir, SEG0), victimPos + 8, 0x80); // batchLength turns negative
      await writeFile(join(logDir, '00000000000000000000.index'), Buffer.alloc(5, 0xee)); // forces a rebuild
      const sizeBefore = (await stat(join(logDir, SEG0))).size;
      const log = await openLog(logDir, true);
      const before = await log.read(0, 1 << 16, { minOneBatch: true });
      assert.deepEqual(
        listBatches(before.records).map((b) => b.baseOffset),
        [0, 2],
      );
      await assert.rejects(
        log.read(victim.baseOffset, 1 << 16, { minOneBatch: true }),
        (err: unknown) => err instanceof StorageError && err.code === 'CORRUPT_MESSAGE',
      );
      const nextSegment = Number((await segmentNames(logDir))[1]!.slice(0, 20));
      const after = await log.read(nextSegment, 1 << 16, { minOneBatch: true });
      assert.equal(listBatches(after.records)[0]!.baseOffset, nextSegment);
      assert.equal((await stat(join(logDir, SEG0))).size, sizeBefore, 'nothing is cut off a sealed segment');
      await log.close();
    });
  },
);
