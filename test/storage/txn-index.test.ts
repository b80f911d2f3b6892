// Partition-level transaction state: the last stable offset (held by ongoing transactions), the
// aborted-transaction index (.txnindex per segment, Kafka's 34-byte entries) and their survival of a
// clean restart, a crash (rebuilt from the log, no duplicates) and segment deletion; compaction of
// transactional data.
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeBatch, encodeBatchSync, iterateBatches } from '../../src/protocol/records.js';
import { LogCleaner } from '../../src/storage/log-cleaner.js';
import { encodeMarkerBatch } from '../../src/txn/transaction-markers.js';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import { testConfig, valueBatch, withTempDir } from './helpers.js';

const ATTR_TRANSACTIONAL = 0x10;

async function openAt(dir: string, clean: boolean, segmentBytes = 100_000): Promise<UnifiedLog> {
  await mkdir(dir, { recursive: true });
  return UnifiedLog.open(dir, 't', 0, testConfig({ segmentBytes }), { hadCleanShutdown: clean });
}

const seqs = new Map<number, number>();
async function txnWrite(log: UnifiedLog, pid: number, count: number, epoch = 0): Promise<void> {
  const seq = seqs.get(pid) ?? 0;
  seqs.set(pid, seq + count);
  await log.append(
    valueBatch(count, 30, `p${pid}`, {
      producerId: pid,
      producerEpoch: epoch,
      baseSequence: seq,
      attributes: ATTR_TRANSACTIONAL,
    }),
    { leaderEpoch: 0, assignOffsets: true },
  ).durable;
}

async function plainWrite(log: UnifiedLog, count: number): Promise<void> {
  await log.append(valueBatch(count, 30, 'plain'), { leaderEpoch: 0, assignOffsets: true }).durable;
}

async function marker(log: UnifiedLog, pid: number, commit: boolean, epoch = 0): Promise<void> {
  await log.append(
    encodeMarkerBatch({ producerId: pid, producerEpoch: epoch, commit, coordinatorEpoch: 0 }, 0),
    {
      leaderEpoch: 0,
      assignOffsets: true,
      fromCoordinator: true,
    },
  ).durable;
}

const aborted = (log: UnifiedLog) =>
  log.abortedTransactions(0, Number.MAX_SAFE_INTEGER).map((t) => [t.producerId, t.firstOffset, t.lastOffset]);

test('ongoing transactions hold the LSO; markers release it; aborts are indexed and survive a clean restart', async () => {
  await withTempDir(async (root) => {
    seqs.clear();
    const dir = join(root, 't-0');
    let log = await openAt(dir, false);
    await txnWrite(log, 1, 3); // 0-2
    assert.equal(log.lastStableOffset, 0);
    await plainWrite(log, 1); // 3
    await txnWrite(log, 2, 2); // 4-5
    assert.equal(log.lastStableOffset, 0);
    await marker(log, 1, false); // 6: abort of producer 1
    assert.equal(log.lastStableOffset, 4, 'producer 2 still open');
    await marker(log, 2, true); // 7: commit of producer 2
    assert.equal(log.lastStableOffset, 8);
    assert.equal(log.highWatermark, 8);
    assert.deepEqual(aborted(log), [[1, 0, 6]]);
    assert.deepEqual(log.abortedTransactions(7, 8), [], 'a fetch past the marker gets none');
    await txnWrite(log, 3, 2); // 8-9, left open
    assert.equal(log.lastStableOffset, 8);
    await log.close();

    const entries = (await readdir(dir)).filter((n) => n.endsWith('.txnindex'));
    assert.deepEqual(entries, ['00000000000000000000.txnindex']);
    const bytes = await readFile(join(dir, entries[0]!));
    assert.equal(bytes.length, 34, "one entry in Kafka's format");
    assert.equal(bytes.readInt16BE(0), 0);
    assert.equal(Number(bytes.readBigInt64BE(2)), 1);

    log = await openAt(dir, true);
    assert.equal(log.lastStableOffset, 8, 'the open transaction survives the restart (producer snapshot)');
    assert.deepEqual(aborted(log), [[1, 0, 6]]);
    await marker(log, 3, false); // 10
    assert.equal(log.lastStableOffset, 11);
    assert.deepEqual(aborted(log), [
      [1, 0, 6],
      [3, 8, 10],
    ]);
    await log.close();
  });
});

test('after a crash the index is rebuilt from the log: nothing lost, nothing twice', async () => {
  await withTempDir(async (root) => {
    seqs.clear();
    const dir = join(root, 't-0');
    const log = await openAt(dir, false, 600);
    for (let i = 0; i < 6; i++) {
      await txnWrite(log, 10 + i, 4);
      await marker(log, 10 + i, i % 2 === 0);
    }
    await txnWrite(log, 99, 2); // open at the crash
    const before = aborted(log);
    assert.equal(before.length, 3);
    assert.ok(log.segmentCount > 1, 'several segments');
    // A copy of the directory as a kill -9 leaves it: no clean close, no final snapshot.
    const crashed = join(root, 'crashed', 't-0');
    await mkdir(join(root, 'crashed'), { recursive: true });
    // Without the .tmp files of writes in flight (a snapshot): one may be renamed away mid-copy
    // (ENOENT), and a crash may as well have come before it was written.
    await cp(dir, crashed, { recursive: true, filter: (src) => !src.endsWith('.tmp') });
    await log.close();
    const recovered = await openAt(crashed, false, 600);
    assert.deepEqual(aborted(recovered), before);
    assert.equal(
      recovered.lastStableOffset,
      recovered.logEndOffset - 2,
      'the open transaction holds the LSO',
    );
    await recovered.close();
  });
});

test('deleting a segment deletes its aborted transactions and its .txnindex', async () => {
  await withTempDir(async (root) => {
    seqs.clear();
    const dir = join(root, 't-0');
    const log = await openAt(dir, false, 400);
    await txnWrite(log, 7, 3);
    await marker(log, 7, false);
    const first = log.segmentBaseOffsets()[0]!;
    while (log.segmentCount < 3) await plainWrite(log, 3);
    assert.equal(aborted(log).length, 1);
    await log.deleteRecordsBefore(log.segmentBaseOffsets()[1]!);
    assert.ok(!log.segmentBaseOffsets().includes(first));
    assert.deepEqual(aborted(log), []);
    await log.close();
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.txnindex')),
      [],
      'the deleted segment took its .txnindex with it',
    );
  });
});

test('compaction removes aborted records and never lets them replace the committed value of a key', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 't-0');
    await mkdir(dir, { recursive: true });
    const log = await UnifiedLog.open(
      dir,
      't',
      0,
      testConfig({ cleanupPolicy: 'compact', segmentBytes: 600, minCleanableDirtyRatio: 0.01 }),
      { hadCleanShutdown: false },
    );
    const write = (key: string, value: string, txn?: { pid: number; seq: number }) =>
      log.append(
        encodeBatchSync({
          records: [{ key, value }],
          ...(txn
            ? { producerId: txn.pid, producerEpoch: 0, baseSequence: txn.seq, transactional: true }
            : {}),
        }),
        { leaderEpoch: 0, assignOffsets: true },
      ).durable;
    await write('k', 'committed');
    await write('k', 'aborted', { pid: 5, seq: 0 });
    await marker(log, 5, false);
    for (let i = 0; log.segmentCount < 4; i++) await write(`filler-${i % 3}`, 'x'.repeat(40));
    const stats = await new LogCleaner(() => [log]).cleanLog(log, Date.now());
    assert.ok(stats !== null && stats.recordsRemoved > 0, 'the cleaner ran');
    const values: string[] = [];
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const { records } = await log.read(offset, 64 * 1024, { minOneBatch: true });
      if (records.length === 0) break;
      for (const { pos } of iterateBatches(records)) {
        const { info, records: recs } = await decodeBatch(records, pos);
        for (const r of recs) if (r.key?.toString() === 'k') values.push(r.value!.toString());
        offset = info.lastOffset + 1;
      }
    }
    assert.deepEqual(values, ['committed']);
    await log.close();
  });
});
