// What a produced batch must pass beyond its CRC (record-batches.ts): Kafka's LogValidator checks of
// counts, offsets, producer fields and record structure, for uncompressed and compressed batches, and
// KIP-467 per-record errors for keyless records on compacted topics and for timestamps outside
// message.timestamp.before/after.max.ms. Every forged batch here carries a valid CRC: the CRC alone let
// all of them in before.
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { CompressionType } from '../../src/protocol/batch-header.js';
import { compressSync } from '../../src/protocol/compression.js';
import {
  crc32cOf,
  decodeBatchSync,
  encodeBatchSync,
  scanRecords,
  type RecordInput,
} from '../../src/protocol/records.js';
import { StorageError } from '../../src/storage/errors.js';
import {
  RecordValidationError,
  timestampWindow,
  validateCompressedRecords,
  validateRecords,
  type ValidateOptions,
} from '../../src/storage/record-batches.js';

const CLIENT: ValidateOptions = { compacted: false, origin: 'client', topicPartition: 't-0' };
const COMPACTED: ValidateOptions = { ...CLIENT, compacted: true };
const MAX = 1024 * 1024;

function records(n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value ${i}` }));
}

/** Recomputes the CRC after a forged change, so only the new checks can catch it. */
function reseal(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32cOf(batch, 21, batch.length), 17);
  return batch;
}

/** A compressed batch whose records section is `section` (already uncompressed bytes), sealed. */
function compressedWith(section: Buffer, count: number, type = CompressionType.Gzip): Buffer {
  const header = encodeBatchSync({ records: records(count) }).subarray(0, 61);
  const body = compressSync(type, section);
  const out = Buffer.concat([header, body]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(type, 21);
  return reseal(out);
}

function code(expected: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StorageError, `StorageError expected, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('batch header checks (LogValidator.validateBatch)', () => {
  it('accepts what real clients write', () => {
    const s = validateRecords(encodeBatchSync({ records: records(5) }), MAX, CLIENT);
    assert.equal(s.offsetCount, 5);
    assert.equal(s.recordCount, 5);
    const idempotent = encodeBatchSync({
      records: records(3),
      producerId: 7,
      producerEpoch: 0,
      baseSequence: 0,
    });
    assert.equal(validateRecords(idempotent, MAX, CLIENT).hasProducerBatches, true);
  });

  it('refuses a batch whose lastOffsetDelta claims 2^31 offsets for one record', () => {
    const b = encodeBatchSync({ records: records(1) });
    b.writeInt32BE(0x7ffffffe, 23);
    assert.throws(
      () => validateRecords(reseal(b), MAX, CLIENT),
      code('INVALID_RECORD', /Inconsistent batch offset range/),
    );
  });

  it('refuses a record count that does not match lastOffsetDelta + 1', () => {
    const b = encodeBatchSync({ records: records(3) });
    b.writeInt32BE(2, 57); // recordsCount 2, lastOffsetDelta 2
    assert.throws(() => validateRecords(reseal(b), MAX, CLIENT), code('INVALID_RECORD'));
    const zero = encodeBatchSync({ records: records(1) });
    zero.writeInt32BE(0, 57);
    assert.throws(() => validateRecords(reseal(zero), MAX, CLIENT), code('INVALID_RECORD', /count/));
  });

  it('refuses control batches and producer ids without a sequence from clients', () => {
    const control = encodeBatchSync({ records: records(1), control: true });
    assert.throws(() => validateRecords(control, MAX, CLIENT), code('INVALID_RECORD', /control records/));
    const noSeq = encodeBatchSync({ records: records(1), producerId: 5, producerEpoch: 0, baseSequence: -1 });
    assert.throws(() => validateRecords(noSeq, MAX, CLIENT), code('INVALID_RECORD', /sequence number -1/));
  });

  it('still answers a bad CRC with CORRUPT_MESSAGE and an oversized batch with MESSAGE_TOO_LARGE', () => {
    const b = encodeBatchSync({ records: records(2) });
    b[b.length - 1] ^= 1;
    assert.throws(() => validateRecords(b, MAX, CLIENT), code('CORRUPT_MESSAGE'));
    assert.throws(
      () => validateRecords(encodeBatchSync({ records: records(50) }), 200, CLIENT),
      code('MESSAGE_TOO_LARGE'),
    );
  });
});

describe('record structure inside a CRC-valid batch', () => {
  it('refuses offset deltas that are not 0, 1, 2, ...', () => {
    const b = encodeBatchSync({ records: [{ value: 'a' }, { value: 'b', offset: 5 }] });
    b.writeInt32BE(1, 23); // lastOffsetDelta 1 matches the count: only the records disagree
    assert.throws(() => validateRecords(reseal(b), MAX, CLIENT), code('INVALID_RECORD', /offset delta 5/));
  });

  it('refuses a record length that runs past the batch, and bytes after the last record', () => {
    const b = encodeBatchSync({ records: [{ value: 'hello' }] });
    b[61] = 0x7e; // first record's length varint: 63 bytes, far more than the batch holds
    assert.throws(() => validateRecords(reseal(b), MAX, CLIENT), code('INVALID_RECORD', /record 0/));
    const extra = encodeBatchSync({ records: records(2) });
    extra.writeInt32BE(1, 57); // count 1: the second record is left over
    extra.writeInt32BE(0, 23);
    assert.throws(
      () => validateRecords(reseal(extra), MAX, CLIENT),
      code('INVALID_RECORD', /after the last/),
    );
  });

  it('refuses a key, value or header that overruns its record', () => {
    const b = encodeBatchSync({ records: [{ key: 'kk', value: 'vv', headers: [{ key: 'h', value: 'x' }] }] });
    // record: length, attributes, ts delta, offset delta, key length (zigzag 2 → 4) at byte 65
    assert.equal(b[65], 4);
    const key = Buffer.from(b);
    key[65] = 40; // key of 20 bytes
    assert.throws(() => validateRecords(reseal(key), MAX, CLIENT), code('INVALID_RECORD', /key of 20/));
    const headers = Buffer.from(b);
    headers[71] = 100; // header count 50
    assert.throws(
      () => validateRecords(reseal(headers), MAX, CLIENT),
      code('INVALID_RECORD', /header count 50/),
    );
  });

  it('checks the records of compressed batches after a bounded inflate', async () => {
    const good = encodeBatchSync({ records: records(4), compression: CompressionType.Lz4 });
    assert.equal(validateRecords(good, MAX, CLIENT).compressedBatches, 1);
    await validateCompressedRecords(good, 16 * MAX, CLIENT);
    // The same four records, but the section says the second has offset delta 7.
    const raw = encodeBatchSync({
      records: [{ value: 'a' }, { value: 'b', offset: 7 }, { value: 'c', offset: 8 }],
    });
    const forged = compressedWith(raw.subarray(61), 3);
    forged.writeInt32BE(2, 23);
    reseal(forged);
    validateRecords(forged, MAX, CLIENT); // the header alone is consistent
    await assert.rejects(
      validateCompressedRecords(forged, 16 * MAX, CLIENT),
      code('INVALID_RECORD', /offset delta 7/),
    );
    const garbage = compressedWith(Buffer.alloc(0), 1);
    garbage.fill(0x55, 61 + 10);
    await assert.rejects(
      validateCompressedRecords(reseal(garbage), 16 * MAX, CLIENT),
      code('CORRUPT_MESSAGE'),
    );
  });
});

describe('compacted topics: keyless records (KIP-467)', () => {
  const mixed: RecordInput[] = [
    { key: 'a', value: '1' },
    { key: null, value: '2' },
    { key: 'c', value: '3' },
    { key: null, value: '4' },
  ];

  it('lists each keyless record of an uncompressed batch', () => {
    assert.throws(
      () => validateRecords(encodeBatchSync({ records: mixed }), MAX, COMPACTED),
      (err: unknown) => {
        assert.ok(err instanceof RecordValidationError);
        assert.equal(err.code, 'INVALID_RECORD');
        assert.deepEqual(
          err.recordErrors.map((e) => e.batchIndex),
          [1, 3],
        );
        assert.match(
          err.recordErrors[0]!.message!,
          /Compacted topic cannot accept message without key in topic partition t-0/,
        );
        assert.match(err.message, /2 record errors/);
        return true;
      },
    );
    validateRecords(encodeBatchSync({ records: mixed }), MAX, CLIENT); // fine when not compacted
  });

  it('lists each keyless record of a compressed batch', async () => {
    const b = encodeBatchSync({ records: mixed, compression: CompressionType.Zstd });
    validateRecords(b, MAX, COMPACTED);
    await assert.rejects(validateCompressedRecords(b, 16 * MAX, COMPACTED), (err: unknown) => {
      assert.ok(err instanceof RecordValidationError);
      assert.deepEqual(
        err.recordErrors.map((e) => e.batchIndex),
        [1, 3],
      );
      return true;
    });
  });
});

describe('scanRecords against the decoder', () => {
  it('never throws on damaged records, and whatever it accepts the decoder reads', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const base = encodeBatchSync({
      records: [
        { key: 'k1', value: 'v'.repeat(200), headers: [{ key: 'h', value: 'x' }] },
        { key: null, value: null },
        { key: 'k3', value: 'three', headers: [{ key: 'a', value: null }] },
      ],
    });
    let accepted = 0;
    for (let round = 0; round < 5000; round++) {
      const b = Buffer.from(base);
      for (let flips = 1 + rand(3); flips > 0; flips--) b[61 + rand(b.length - 61)] = rand(256);
      const problem = scanRecords(b, 61, b.length, 3, null);
      // Reading the timestamps (a window) accepts and refuses exactly what skipping them does.
      const window = { baseTimestamp: 0, low: -Infinity, high: Infinity, outOfRange: [] };
      assert.equal(scanRecords(b, 61, b.length, 3, null, window) === null, problem === null);
      if (problem === null) {
        accepted++;
        assert.equal(decodeBatchSync(b, 0, { verifyCrc: false }).records.length, 3);
      }
    }
    assert.ok(accepted < 5000, 'damage is noticed');
  });
});

describe('timestamp limits (message.timestamp.before/after.max.ms, LogValidator.validateTimestamp)', () => {
  const NOW = 1_700_000_000_000;
  const HOUR = 3_600_000;
  const NO_LIMIT = Number.MAX_SAFE_INTEGER;
  const LIMITED = {
    messageTimestampType: 'CreateTime',
    messageTimestampBeforeMaxMs: HOUR,
    messageTimestampAfterMaxMs: HOUR,
  } as const;
  const limited = (base: ValidateOptions = CLIENT): ValidateOptions => ({
    ...base,
    timestamps: timestampWindow(LIMITED, NOW),
  });
  const range = `[${NOW - HOUR}, ${NOW + HOUR}]`;

  function batch(timestamps: number[], compression = CompressionType.None): Buffer {
    return encodeBatchSync({
      records: timestamps.map((timestamp, i) => ({ key: `k${i}`, value: 'v', timestamp })),
      compression,
    });
  }

  function timestampErrors(expected: Array<[number, string]>) {
    return (err: unknown): boolean => {
      assert.ok(err instanceof RecordValidationError, `RecordValidationError expected, got ${String(err)}`);
      assert.equal(err.code, 'INVALID_TIMESTAMP', err.message);
      assert.deepEqual(
        err.recordErrors.map((e) => [e.batchIndex, e.message]),
        expected,
      );
      assert.match(err.message, /^One or more records have been rejected due to invalid timestamp/);
      return true;
    };
  }

  it('refuses an uncompressed batch whose third record is too old, naming that record', () => {
    validateRecords(batch([NOW, NOW - HOUR, NOW + HOUR]), MAX, limited());
    assert.throws(
      () => validateRecords(batch([NOW, NOW, NOW - HOUR - 1]), MAX, limited()),
      timestampErrors([
        [
          2,
          `Timestamp ${NOW - HOUR - 1} of message with offset 2 is out of range. The timestamp should be within ${range}`,
        ],
      ]),
    );
  });

  it('refuses a gzip batch after inflating it, not before: the header alone cannot tell', async () => {
    const b = batch([NOW, NOW, NOW - 2 * HOUR], CompressionType.Gzip);
    const opts = limited();
    assert.equal(validateRecords(b, MAX, opts).compressedBatches, 1);
    await assert.rejects(
      validateCompressedRecords(b, 16 * MAX, opts),
      timestampErrors([
        [
          2,
          `Timestamp ${NOW - 2 * HOUR} of message with offset 2 is out of range. The timestamp should be within ${range}`,
        ],
      ]),
    );
    await validateCompressedRecords(batch([NOW - HOUR, NOW + HOUR], CompressionType.Zstd), 16 * MAX, opts);
  });

  it('lists every refused record, future ones too, with the offsets the client sent', () => {
    const b = batch([NOW + 2 * HOUR, NOW, NOW + HOUR + 1, 1234]);
    b.writeBigInt64BE(100n, 0); // a client's baseOffset (Kafka words offsets as sent)
    assert.throws(
      () => validateRecords(b, MAX, limited()),
      timestampErrors([
        [
          0,
          `Timestamp ${NOW + 2 * HOUR} of message with offset 100 is out of range. The timestamp should be within ${range}`,
        ],
        [
          2,
          `Timestamp ${NOW + HOUR + 1} of message with offset 102 is out of range. The timestamp should be within ${range}`,
        ],
        [
          3,
          `Timestamp 1234 of message with offset 103 is out of range. The timestamp should be within ${range}`,
        ],
      ]),
    );
  });

  it('reads timestamp deltas of any size, and skips records without a timestamp (-1)', () => {
    // 1234 then a far later record: the delta takes six varlong bytes.
    const wide = {
      messageTimestampType: 'CreateTime',
      messageTimestampBeforeMaxMs: NO_LIMIT,
      messageTimestampAfterMaxMs: 0,
    } as const;
    const opts = { ...CLIENT, timestamps: timestampWindow(wide, 999_999_999_998) };
    assert.throws(
      () => validateRecords(batch([1234, 999_999_999_999]), MAX, opts),
      timestampErrors([
        [
          1,
          'Timestamp 999999999999 of message with offset 1 is out of range. The timestamp should be within [-Infinity, 999999999998]',
        ],
      ]),
    );
    validateRecords(batch([1234, 999_999_999_998]), MAX, opts);
    validateRecords(batch([-1, -1]), MAX, limited());
  });

  it('checks nothing without limits or on LogAppendTime topics', () => {
    assert.equal(
      timestampWindow(
        { ...LIMITED, messageTimestampBeforeMaxMs: NO_LIMIT, messageTimestampAfterMaxMs: NO_LIMIT },
        NOW,
      ),
      null,
    );
    assert.equal(timestampWindow({ ...LIMITED, messageTimestampType: 'LogAppendTime' }, NOW), null);
    validateRecords(batch([0, NOW * 2]), MAX, CLIENT);
  });

  it('keeps the key error of a keyless record on a compacted topic (Kafka checks the key first)', () => {
    const b = encodeBatchSync({
      records: [
        { key: 'a', value: '1', timestamp: NOW },
        { key: null, value: '2', timestamp: 0 },
        { key: 'c', value: '3', timestamp: 0 },
      ],
    });
    assert.throws(
      () => validateRecords(b, MAX, limited(COMPACTED)),
      timestampErrors([
        [1, 'Compacted topic cannot accept message without key in topic partition t-0.'],
        [2, `Timestamp 0 of message with offset 2 is out of range. The timestamp should be within ${range}`],
      ]),
    );
  });

  it('allocates nothing per record while checking a valid batch (no garbage to collect)', async () => {
    const b = encodeBatchSync({
      records: Array.from({ length: 10_000 }, (_, i) => ({
        key: `k${i}`,
        value: 'v'.repeat(50),
        timestamp: NOW + (i % 500),
      })),
    });
    const window = timestampWindow(LIMITED, NOW)!;
    window.baseTimestamp = NOW;
    const scan = (): void => assert.equal(scanRecords(b, 61, b.length, 10_000, null, window), null);
    for (let r = 0; r < 200; r++) scan(); // warm-up: compilation allocates
    let collections = 0;
    const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
    observer.observe({ entryTypes: ['gc'] });
    for (let r = 0; r < 500; r++) scan();
    await new Promise((resolve) => setTimeout(resolve, 20)); // GC entries are delivered asynchronously
    observer.disconnect();
    // 5 million records: boxing each absolute timestamp (a double) cost about 20 scavenges here.
    assert.ok(collections < 3, `${collections} garbage collections while scanning`);
    assert.equal(window.outOfRange.length, 0);
  });

  it('refuses a client batch marked LogAppendTime, every record of it', async () => {
    const marked = encodeBatchSync({ records: records(2), timestampType: 'LogAppendTime' });
    const message = (o: number) =>
      `Invalid timestamp type in message with offset ${o}. Producer should not set timestamp type to LogAppendTime.`;
    const expected = timestampErrors([
      [0, message(0)],
      [1, message(1)],
    ]);
    assert.throws(() => validateRecords(marked, MAX, CLIENT), expected);
    const gzip = encodeBatchSync({
      records: records(2),
      timestampType: 'LogAppendTime',
      compression: CompressionType.Gzip,
    });
    validateRecords(gzip, MAX, CLIENT);
    await assert.rejects(validateCompressedRecords(gzip, 16 * MAX, CLIENT), expected);
  });
});
