// The log cleaner and transactions, on real files: aborted records go, a transaction marker stays
// while its transaction has data in the log, then gets a delete horizon (delete.retention.ms, KIP-534)
// and goes at the first cleaning after it; the .txnindex loses the aborted transactions whose data is
// gone; read_committed reads of the cleaned log give exactly the committed values, before and after
// a clean reopen and a crash (unclean) reopen.
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ATTR_DELETE_HORIZON } from '../../src/protocol/batch-header.js';
import { decodeBatch, encodeBatchSync, iterateBatches, readBatchInfo } from '../../src/protocol/records.js';
import { LogCleaner } from '../../src/storage/log-cleaner.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { UnifiedLog } from '../../src/storage/unified-log.js';
import { encodeMarkerBatch, markerType } from '../../src/txn/transaction-markers.js';
import { testConfig, withTempDir } from './helpers.js';

const RETENTION_MS = 60_000;
const CONFIG: Partial<LogConfig> = {
  cleanupPolicy: 'compact',
  segmentBytes: 600,
  minCleanableDirtyRatio: 0.01,
  deleteRetentionMs: RETENTION_MS,
};

async function openLog(dir: string, clean: boolean): Promise<UnifiedLog> {
  await mkdir(dir, { recursive: true });
  return UnifiedLog.open(dir, 't', 0, testConfig(CONFIG), { hadCleanShutdown: clean });
}

/** Writes to one log and remembers what a read_committed reader must see. */
class Writer {
  private readonly seqs = new Map<number, number>();
  /** Offsets of aborted records. */
  readonly abortedOffsets = new Set<number>();
  /** offset -> [key, value] of every data record. */
  readonly byOffset = new Map<number, [string, string]>();
  /** key -> latest committed value. */
  readonly committed = new Map<string, string>();
  private readonly open = new Map<number, Array<[number, string, string]>>();

  constructor(private readonly log: UnifiedLog) {}

  async plain(key: string, value: string): Promise<void> {
    const res = this.log.append(encodeBatchSync({ records: [{ key, value }] }), {
      leaderEpoch: 0,
      assignOffsets: true,
    });
    this.byOffset.set(res.baseOffset, [key, value]);
    this.committed.set(key, value);
    await res.durable;
  }

  async txn(pid: number, key: string, value: string): Promise<void> {
    const seq = this.seqs.get(pid) ?? 0;
    this.seqs.set(pid, seq + 1);
    const res = this.log.append(
      encodeBatchSync({
        records: [{ key, value }],
        producerId: pid,
        producerEpoch: 0,
        baseSequence: seq,
        transactional: true,
      }),
      { leaderEpoch: 0, assignOffsets: true },
    );
    this.byOffset.set(res.baseOffset, [key, value]);
    const pending = this.open.get(pid) ?? [];
    pending.push([res.baseOffset, key, value]);
    this.open.set(pid, pending);
    await res.durable;
  }

  async end(pid: number, commit: boolean): Promise<void> {
    const marker = encodeMarkerBatch({ producerId: pid, producerEpoch: 0, commit, coordinatorEpoch: 0 }, 0);
    await this.log.append(marker, { leaderEpoch: 0, assignOffsets: true, fromCoordinator: true }).durable;
    for (const [offset, key, value] of this.open.get(pid) ?? []) {
      if (commit) this.committed.set(key, value);
      else this.abortedOffsets.add(offset);
    }
    this.open.delete(pid);
  }
}

interface Marker {
  offset: number;
  pid: number;
  commit: boolean;
  hasHorizon: boolean;
}

/** Every batch of the log up to its end: the markers, and the data records by offset. */
async function scan(log: UnifiedLog): Promise<{ markers: Marker[]; records: Map<number, string> }> {
  const markers: Marker[] = [];
  const records = new Map<number, string>();
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records: buf } = await log.read(offset, 64 * 1024, { minOneBatch: true });
    if (buf.length === 0) break;
    for (const { pos } of iterateBatches(buf)) {
      const { info, records: recs } = await decodeBatch(buf, pos);
      if (info.isControl) {
        markers.push({
          offset: info.baseOffset,
          pid: Number(info.producerId),
          commit: markerType(recs[0]!.key) === 1,
          hasHorizon: (info.attributes & ATTR_DELETE_HORIZON) !== 0,
        });
      } else {
        for (const r of recs) records.set(r.offset, `${r.key!.toString()}=${r.value!.toString()}`);
      }
      offset = info.lastOffset + 1;
    }
  }
  return { markers, records };
}

/**
 * What a read_committed consumer sees (Kafka's consumer algorithm): fetches up to the last stable
 * offset with the aborted transactions of the range, and skips a producer's transactional batches
 * from an aborted transaction's first offset to its ABORT marker. Returns key -> last value, and
 * checks every record it keeps is a committed one at its original offset.
 */
async function readCommitted(log: UnifiedLog, w: Writer): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const aborted = log
    .abortedTransactions(log.logStartOffset, log.lastStableOffset)
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedPids = new Set<number>();
  let offset = log.logStartOffset;
  while (offset < log.lastStableOffset) {
    const { records: buf } = await log.read(offset, 64 * 1024, { minOneBatch: true });
    if (buf.length === 0) break;
    for (const { pos } of iterateBatches(buf)) {
      const info = readBatchInfo(buf, pos);
      offset = info.lastOffset + 1;
      if (info.baseOffset >= log.lastStableOffset) break;
      while (aborted.length > 0 && aborted[0]!.firstOffset <= info.lastOffset) {
        abortedPids.add(aborted.shift()!.producerId);
      }
      const pid = Number(info.producerId);
      const { records } = await decodeBatch(buf, pos);
      if (info.isControl) {
        if (markerType(records[0]?.key ?? null) === 0) abortedPids.delete(pid);
        continue;
      }
      if (info.isTransactional && abortedPids.has(pid)) continue;
      for (const r of records) {
        const [key, value] = [r.key!.toString(), r.value!.toString()];
        assert.deepEqual(w.byOffset.get(r.offset), [key, value], `record at ${r.offset}`);
        assert.ok(!w.abortedOffsets.has(r.offset), `aborted record at ${r.offset} read as committed`);
        seen.set(key, value);
      }
    }
  }
  return seen;
}

const abortedEntries = (log: UnifiedLog) =>
  log.abortedTransactions(0, Number.MAX_SAFE_INTEGER).map((t) => [t.producerId, t.firstOffset, t.lastOffset]);

/** The .txnindex entries on disk: [segment base, producer id, first offset, marker offset]. */
async function txnIndexFiles(dir: string): Promise<number[][]> {
  const out: number[][] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.txnindex')).sort()) {
    const buf = await readFile(join(dir, name));
    for (let p = 0; p + 34 <= buf.length; p += 34) {
      out.push([
        Number(name.slice(0, 20)),
        Number(buf.readBigInt64BE(p + 2)),
        Number(buf.readBigInt64BE(p + 10)),
        Number(buf.readBigInt64BE(p + 18)),
      ]);
    }
  }
  return out;
}

async function fill(w: Writer, log: UnifiedLog, round: number, segments: number): Promise<void> {
  const target = log.segmentCount + segments;
  for (let i = 0; log.segmentCount < target; i++)
    await w.plain(`f${i % 4}`, `${round}-${i}-${'x'.repeat(40)}`);
}

test('transaction markers stay while their data is in the log, go delete.retention.ms after; the .txnindex and read_committed follow', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 't-0');
    let log = await openLog(dir, false);
    const w = new Writer(log);
    await w.txn(1, 'k1', 'committed-1'); // stays: nothing overwrites k1
    await w.end(1, true);
    await w.txn(2, 'k1', 'aborted-2'); // an aborted write never replaces k1's committed value
    await w.txn(2, 'k2', 'aborted-2');
    await w.end(2, false);
    await w.txn(3, 'k3', 'old-3'); // committed, then overwritten below
    await w.end(3, true);
    // Later transactions of producers 2 and 3: their earlier batches are not their producer's last
    // one, which cleaning keeps (empty) for the producer's sequence numbers, as Kafka does.
    await w.txn(2, 'z2', 'committed-2b');
    await w.end(2, true);
    await w.txn(3, 'z3', 'committed-3b');
    await w.end(3, true);
    await w.plain('k3', 'new');
    await fill(w, log, 0, 3);
    const markerOf = (m: Marker[], pid: number, commit: boolean) =>
      m.filter((x) => x.pid === pid && x.commit === commit);
    const before = await scan(log);
    const [abort2] = markerOf(before.markers, 2, false);
    const [commit3] = markerOf(before.markers, 3, true);
    assert.ok(abort2 !== undefined && commit3 !== undefined, 'markers written');
    assert.deepEqual(abortedEntries(log), [[2, abort2.offset - 2, abort2.offset]]);
    const expected = new Map(w.committed);
    assert.deepEqual(await readCommitted(log, w), expected, 'read_committed before cleaning');

    const now = Date.now();
    const cleaner = new LogCleaner(() => [log]);
    // 1st cleaning: the aborted records and k3's old value go; the markers of those transactions
    // stay (their data was in the log when it started), as does the .txnindex entry.
    assert.ok((await cleaner.cleanLog(log, now)) !== null, '1st cleaning ran');
    let state = await scan(log);
    assert.ok(
      ![...state.records.values()].some((r) => r.includes('aborted') || r.includes('old-3')),
      'aborted and overwritten records gone',
    );
    assert.deepEqual(state.markers.length, before.markers.length, 'every marker stays');
    assert.ok(
      state.markers.every((m) => !m.hasHorizon),
      'no horizon while the data was there when cleaning started',
    );
    assert.deepEqual(abortedEntries(log), [[2, abort2.offset - 2, abort2.offset]]);
    assert.deepEqual(await readCommitted(log, w), expected, 'read_committed after the 1st cleaning');

    // 2nd cleaning (new dirty data): the transactions of ABORT 2 and COMMIT 3 have no data left,
    // so their markers get a delete horizon and the aborted transaction leaves the .txnindex.
    await fill(w, log, 1, 2);
    assert.ok((await cleaner.cleanLog(log, now + 1000)) !== null, '2nd cleaning ran');
    state = await scan(log);
    const withHorizon = state.markers.filter((m) => m.hasHorizon).map((m) => m.offset);
    assert.deepEqual(withHorizon, [abort2.offset, commit3.offset]);
    assert.equal(state.markers.length, before.markers.length, 'markers stay until the horizon');
    assert.deepEqual(abortedEntries(log), []);
    assert.deepEqual(await txnIndexFiles(dir), [], 'no .txnindex entry on disk');
    assert.deepEqual(
      await readCommitted(log, w),
      new Map(w.committed),
      'read_committed after the 2nd cleaning',
    );

    // A cleaning before the horizon (new dirty data) keeps them.
    await fill(w, log, 2, 2);
    assert.ok((await cleaner.cleanLog(log, now + 30_000)) !== null, '3rd cleaning ran');
    assert.deepEqual((await scan(log)).markers, state.markers, 'markers kept before their horizon');

    // An aborted transaction in the active segment (never cleaned) keeps its entry throughout.
    await w.txn(5, 'k5', 'aborted-5');
    await w.end(5, false);
    const [abort5] = markerOf((await scan(log)).markers, 5, false);
    const active = log.segmentBaseOffsets().at(-1)!;
    assert.ok(abort5 !== undefined && abort5.offset >= active, 'ABORT 5 in the active segment');
    await log.close();

    // Reopened: the horizon comes from the batches and the cleaner checkpoint.
    log = await openLog(dir, true);
    const stats = await new LogCleaner(() => [log]).cleanLog(log, now + 1000 + RETENTION_MS + 1);
    assert.ok(stats !== null && stats.recordsRemoved >= 2, 'the horizon due starts a cleaning');
    state = await scan(log);
    assert.deepEqual(
      state.markers.map((m) => [m.pid, m.commit]),
      [
        [1, true],
        [2, true],
        [3, true],
        [5, false],
      ],
      'ABORT 2 and COMMIT 3 are gone; markers with data stay',
    );
    assert.ok(!state.markers.some((m) => m.hasHorizon), 'no marker with a horizon is left');
    assert.deepEqual(abortedEntries(log), [[5, abort5.offset - 1, abort5.offset]]);
    assert.deepEqual(await txnIndexFiles(dir), [[active, 5, abort5.offset - 1, abort5.offset]]);
    const final = await readCommitted(log, w);
    assert.deepEqual(final, new Map(w.committed));
    assert.equal(final.get('k1'), 'committed-1');
    assert.equal(final.get('k3'), 'new');
    assert.ok(!final.has('k2') && !final.has('k5'), 'aborted keys never read');

    // A crash now (no clean shutdown) and a clean restart both give the same log and index.
    const crashed = join(root, 'crashed', 't-0');
    await mkdir(join(root, 'crashed'), { recursive: true });
    // Without the .tmp files of writes in flight (a snapshot): one may be renamed away mid-copy
    // (ENOENT), and a crash may as well have come before it was written.
    await cp(dir, crashed, { recursive: true, filter: (src) => !src.endsWith('.tmp') });
    const scanned = await scan(log);
    await log.close();
    for (const [path, clean] of [
      [dir, true],
      [crashed, false],
    ] as const) {
      const again = await openLog(path, clean);
      assert.deepEqual(await scan(again), scanned, `scan after ${clean ? 'clean' : 'crash'} reopen`);
      assert.deepEqual(abortedEntries(again), [[5, abort5.offset - 1, abort5.offset]]);
      assert.equal(again.lastStableOffset, again.logEndOffset);
      assert.deepEqual(await readCommitted(again, w), final);
      await again.close();
    }
  });
});
