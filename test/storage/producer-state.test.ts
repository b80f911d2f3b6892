import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../src/storage/errors.js';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import { testConfig, valueBatch, withTempDir } from './helpers.js';

const PID = 4242;

async function openAt(logDir: string, clean: boolean): Promise<UnifiedLog> {
  await mkdir(logDir, { recursive: true });
  return UnifiedLog.open(logDir, 't', 0, testConfig({ segmentBytes: 1000 }), { hadCleanShutdown: clean });
}

function produce(log: UnifiedLog, seq: number, count: number, epoch = 0, pid = PID) {
  return log.append(
    valueBatch(count, 20, `s${seq}`, { producerId: pid, producerEpoch: epoch, baseSequence: seq }),
    {
      leaderEpoch: 0,
      assignOffsets: true,
    },
  );
}

const code = (c: string) => (err: unknown) => err instanceof StorageError && err.code === c;

test('a retried batch is a duplicate: not appended, original offsets returned', async () => {
  await withTempDir(async (dir) => {
    const log = await openAt(join(dir, 't-0'), false);
    const first = produce(log, 0, 3);
    const second = produce(log, 3, 3);
    await Promise.all([first.durable, second.durable]);
    const retry = produce(log, 0, 3);
    assert.equal(retry.duplicate, true);
    assert.deepEqual([retry.baseOffset, retry.lastOffset], [0, 2]);
    await retry.durable;
    assert.equal(log.logEndOffset, 6);
    const retryInFlight = produce(log, 6, 1);
    const dupInFlight = produce(log, 6, 1);
    assert.equal(dupInFlight.duplicate, true);
    assert.equal(dupInFlight.baseOffset, retryInFlight.baseOffset);
    await dupInFlight.durable;
    assert.equal(log.logEndOffset, 7, 'durable of a duplicate waits for the original write');
    await log.close();
  });
});

test('sequence gaps, fenced epochs and new producers', async () => {
  await withTempDir(async (dir) => {
    const log = await openAt(join(dir, 't-0'), false);
    await produce(log, 0, 2, 1).durable;
    assert.throws(() => produce(log, 5, 1, 1), code('OUT_OF_ORDER_SEQUENCE_NUMBER'));
    assert.throws(() => produce(log, 2, 1, 0), code('INVALID_PRODUCER_EPOCH'));
    assert.throws(
      () => produce(log, 3, 1, 2),
      code('OUT_OF_ORDER_SEQUENCE_NUMBER'),
      'new epoch must start at 0',
    );
    await produce(log, 0, 1, 2).durable; // epoch bump restarts sequences
    await produce(log, 7, 1, 0, 999).durable; // unknown producer, any sequence (Kafka >= 2.5)
    assert.throws(() => produce(log, 9, 1, 0, 999), code('OUT_OF_ORDER_SEQUENCE_NUMBER'));
    assert.equal(log.logEndOffset, 4);
    await log.close();
  });
});

test('two batches of one producer in one append are checked in order', async () => {
  await withTempDir(async (dir) => {
    const log = await openAt(join(dir, 't-0'), false);
    const ok = Buffer.concat([
      valueBatch(2, 10, 'a', { producerId: PID, producerEpoch: 0, baseSequence: 0 }),
      valueBatch(2, 10, 'b', { producerId: PID, producerEpoch: 0, baseSequence: 2 }),
    ]);
    await log.append(ok, { leaderEpoch: 0, assignOffsets: true }).durable;
    const gap = Buffer.concat([
      valueBatch(1, 10, 'c', { producerId: PID, producerEpoch: 0, baseSequence: 4 }),
      valueBatch(1, 10, 'd', { producerId: PID, producerEpoch: 0, baseSequence: 6 }),
    ]);
    assert.throws(
      () => log.append(gap, { leaderEpoch: 0, assignOffsets: true }),
      code('OUT_OF_ORDER_SEQUENCE_NUMBER'),
    );
    assert.equal(log.logEndOffset, 4);
    await log.close();
  });
});

test('producer state survives a clean reopen (snapshot) and a crash (rebuilt from the log)', async () => {
  await withTempDir(async (dir) => {
    const logDir = join(dir, 't-0');
    const log = await openAt(logDir, false);
    for (let seq = 0; seq < 30; seq += 2) await produce(log, seq, 2).durable;
    assert.ok(log.segmentCount > 1);
    await log.flush();
    const crashed = join(dir, 'crashed', 't-0');
    await cp(logDir, crashed, { recursive: true });
    await log.close();

    const clean = await openAt(logDir, true);
    const dupClean = produce(clean, 28, 2);
    assert.equal(dupClean.duplicate, true);
    assert.equal(dupClean.baseOffset, 28);
    assert.throws(() => produce(clean, 31, 1), code('OUT_OF_ORDER_SEQUENCE_NUMBER'));
    await clean.close();

    // No snapshot at all: the state comes from scanning batch headers.
    for (const n of await readdir(crashed)) if (n.endsWith('.snapshot')) await rm(join(crashed, n));
    const recovered = await openAt(crashed, false);
    assert.equal(recovered.producerState.entry(PID)?.batches.length, 5);
    const dup = produce(recovered, 26, 2);
    assert.equal(dup.duplicate, true);
    assert.equal(dup.baseOffset, 26);
    const next = produce(recovered, 30, 1);
    assert.equal(next.duplicate, false);
    await next.durable;
    assert.equal(next.baseOffset, 30);
    await recovered.close();
  });
});
