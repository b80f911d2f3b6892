import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { CompressionType } from '../../src/protocol/batch-header.js';
import {
  CorruptRecordError,
  type Record,
  type RecordInput,
  crc32cOf,
  decodeBatch,
  decodeBatchSync,
  encodeBatch,
  encodeBatchSync,
  iterateBatches,
  magicAt,
  readBatchInfo,
  restampLogAppendTime,
  verifyBatchCrc,
} from '../../src/protocol/records.js';
import { convertLegacyMessageSet, isLegacyMessageSet } from '../../src/protocol/legacy-records.js';
import { xxhash32 } from '../../src/protocol/compression.js';
import {
  crc32cRef,
  hex,
  knownGoodBatch,
  knownGoodInput,
  legacyMessage,
  lz4Frame,
  pseudoRandomBytes,
} from './record-fixtures.js';

const CODECS: Array<[string, CompressionType]> = [
  ['none', CompressionType.None],
  ['gzip', CompressionType.Gzip],
  ['snappy', CompressionType.Snappy],
  ['lz4', CompressionType.Lz4],
  ['zstd', CompressionType.Zstd],
];

const T0 = 1_700_000_000_000;

function sampleRecords(): RecordInput[] {
  return [
    { key: 'k1', value: 'v1', timestamp: T0, headers: [{ key: 'trace', value: Buffer.from([0, 1, 2]) }] },
    { key: null, value: 'no key', timestamp: T0 + 1 },
    { key: 'tombstone', value: null, timestamp: T0 + 2 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T0 + 2 },
    {
      key: 'ünïcödé 🔑',
      value: 'välue',
      timestamp: T0 + 50_000,
      headers: [
        { key: 'null-header', value: null },
        { key: '', value: '' },
        { key: 'h2', value: 'x'.repeat(300) },
      ],
    },
  ];
}

function asBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

function assertRecordsMatch(actual: Record[], expected: RecordInput[], baseOffset: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    assert.equal(a.offset, e.offset ?? baseOffset + i, `offset of record ${i}`);
    assert.equal(a.timestamp, e.timestamp, `timestamp of record ${i}`);
    assert.deepEqual(a.key, asBuffer(e.key), `key of record ${i}`);
    assert.deepEqual(a.value, asBuffer(e.value), `value of record ${i}`);
    assert.deepEqual(
      a.headers,
      (e.headers ?? []).map((h) => ({ key: h.key, value: asBuffer(h.value) })),
      `headers of record ${i}`,
    );
  }
}

describe('record batch v2 round trips', () => {
  for (const [name, compression] of CODECS) {
    it(`${name}: keys, values, headers, nulls and timestamps survive`, async () => {
      const records = sampleRecords();
      const buf = await encodeBatch({
        baseOffset: 42,
        records,
        compression,
        producerId: 7n,
        producerEpoch: 3,
        baseSequence: 11,
      });
      assert.ok(verifyBatchCrc(buf, 0));
      const { info, records: decoded } = await decodeBatch(buf, 0);
      assert.equal(info.baseOffset, 42);
      assert.equal(info.lastOffset, 46);
      assert.equal(info.magic, 2);
      assert.equal(info.compression, compression);
      assert.equal(info.timestampType, 'CreateTime');
      assert.equal(info.isTransactional, false);
      assert.equal(info.isControl, false);
      assert.equal(info.baseTimestamp, T0);
      assert.equal(info.maxTimestamp, T0 + 50_000);
      assert.equal(info.producerId, 7n);
      assert.equal(info.producerEpoch, 3);
      assert.equal(info.baseSequence, 11);
      assert.equal(info.recordsCount, 5);
      assert.equal(info.partitionLeaderEpoch, -1);
      assert.equal(info.sizeBytes, buf.length);
      assertRecordsMatch(decoded, records, 42);
      assertRecordsMatch(decodeBatchSync(buf, 0).records, records, 42);
      assert.ok(
        buf.equals(
          encodeBatchSync({
            baseOffset: 42,
            records,
            compression,
            producerId: 7,
            producerEpoch: 3,
            baseSequence: 11,
          }),
        ),
      );
    });

    it(`${name}: a 1 MiB batch of 2000 records`, async () => {
      const records: RecordInput[] = [];
      for (let i = 0; i < 2000; i++) {
        records.push({
          key: i % 10 === 0 ? null : `key-${i}`,
          value: pseudoRandomBytes(512, i + 1),
          timestamp: T0 + i,
          headers: i % 3 === 0 ? [{ key: 'i', value: String(i) }] : undefined,
        });
      }
      const buf = await encodeBatch({ baseOffset: 1_000_000, records, compression });
      const { info, records: decoded } = await decodeBatch(buf, 0);
      assert.equal(info.lastOffset, 1_001_999);
      assert.equal(info.maxTimestamp, T0 + 1999);
      assertRecordsMatch(decoded, records, 1_000_000);
    });
  }

  it('timestamp deltas beyond 32 bits and going backwards (zigzag varlong)', async () => {
    const records: RecordInput[] = [
      { value: 'a', timestamp: 5_000_000_000_000 },
      { value: 'b', timestamp: 0 },
      { value: 'c', timestamp: -1 },
      { value: 'd', timestamp: 5_000_000_000_001 },
    ];
    const buf = await encodeBatch({ records });
    const { info, records: decoded } = await decodeBatch(buf, 0);
    assert.equal(info.maxTimestamp, 5_000_000_000_001);
    assertRecordsMatch(decoded, records, 0);
  });

  it('records without a timestamp get the encode time', async () => {
    const before = Date.now();
    const buf = await encodeBatch({ records: [{ value: 'x' }, { value: 'y' }] });
    const { info, records } = await decodeBatch(buf, 0);
    assert.ok(info.baseTimestamp >= before && info.baseTimestamp <= Date.now());
    assert.equal(records[1].timestamp, info.baseTimestamp);
  });

  it('keeps offset gaps, lastOffsetDelta and the delete horizon (log cleaner)', async () => {
    const records: RecordInput[] = [
      { value: 'a', offset: 101, timestamp: T0 },
      { value: 'b', offset: 105, timestamp: T0 + 5 },
    ];
    const buf = await encodeBatch({
      baseOffset: 100,
      records,
      lastOffsetDelta: 9,
      deleteHorizonMs: T0 + 86_400_000,
    });
    const { info, records: decoded } = await decodeBatch(buf, 0);
    assert.equal(info.baseOffset, 100);
    assert.equal(info.lastOffset, 109);
    assert.equal(info.baseTimestamp, T0 + 86_400_000);
    assert.equal(info.attributes & 0x40, 0x40);
    assertRecordsMatch(decoded, records, 100);
  });

  it('encodes an empty batch only with an explicit lastOffsetDelta', async () => {
    await assert.rejects(encodeBatch({ records: [] }), RangeError);
    const buf = await encodeBatch({
      baseOffset: 10,
      records: [],
      lastOffsetDelta: 4,
      producerId: 3,
      baseSequence: 0,
    });
    const { info, records } = await decodeBatch(buf, 0);
    assert.equal(info.lastOffset, 14);
    assert.equal(records.length, 0);
  });

  it('rejects offsets that do not increase', async () => {
    await assert.rejects(
      encodeBatch({
        records: [
          { value: 'a', offset: 3 },
          { value: 'b', offset: 3 },
        ],
      }),
      RangeError,
    );
  });

  it('sets transactional, control and LogAppendTime attributes', async () => {
    const buf = await encodeBatch({
      records: [{ key: hex('00000001'), value: hex('000000000005'), timestamp: T0 }],
      transactional: true,
      control: true,
      timestampType: 'LogAppendTime',
      producerId: 2n ** 40n,
    });
    const info = readBatchInfo(buf, 0);
    assert.equal(info.attributes, 0x10 | 0x20 | 0x08);
    assert.ok(info.isTransactional && info.isControl);
    assert.equal(info.timestampType, 'LogAppendTime');
    assert.equal(info.producerId, 2n ** 40n);
  });
});

describe('known-good vector built from the documented layout', () => {
  it('decodes to the right values', async () => {
    const vector = knownGoodBatch();
    assert.equal(vector.length, 107);
    assert.ok(verifyBatchCrc(vector, 0));
    const { info, records } = await decodeBatch(vector, 0);
    assert.deepEqual(
      { ...info, crc: 0 },
      {
        baseOffset: 5,
        lastOffset: 7,
        partitionLeaderEpoch: 7,
        magic: 2,
        crc: 0,
        attributes: 0x10,
        compression: CompressionType.None,
        timestampType: 'CreateTime',
        isTransactional: true,
        isControl: false,
        baseTimestamp: 1700000000000,
        maxTimestamp: 1700000000300,
        producerId: 1000n,
        producerEpoch: 2,
        baseSequence: 10,
        recordsCount: 3,
        sizeBytes: 107,
      },
    );
    assertRecordsMatch(records, knownGoodInput.records, 5);
  });

  it('encodeBatch reproduces it byte for byte', async () => {
    const vector = knownGoodBatch();
    assert.equal((await encodeBatch(knownGoodInput)).toString('hex'), vector.toString('hex'));
  });

  it('crc32cOf agrees with a bitwise CRC-32C and the standard check value', () => {
    assert.equal(crc32cRef(Buffer.from('123456789')), 0xe3069283);
    const vector = knownGoodBatch();
    assert.equal(crc32cOf(vector, 21, vector.length), crc32cRef(vector.subarray(21)));
    assert.equal(crc32cOf(vector, 21, vector.length), vector.readUInt32BE(17));
  });
});

describe('CRC and corruption detection', () => {
  it('notices any flipped byte after the CRC field', async () => {
    const buf = await encodeBatch({ records: sampleRecords(), compression: CompressionType.Gzip });
    for (const at of [21, 30, 60, 61, buf.length - 1]) {
      const copy = Buffer.from(buf);
      copy[at] ^= 0x01;
      assert.equal(verifyBatchCrc(copy, 0), false, `byte ${at}`);
      await assert.rejects(decodeBatch(copy, 0), CorruptRecordError);
    }
  });

  it('does not cover partitionLeaderEpoch (the broker rewrites it in place)', async () => {
    const buf = await encodeBatch({ records: sampleRecords() });
    buf.writeInt32BE(99, 12);
    assert.ok(verifyBatchCrc(buf, 0));
  });

  it('finds malformed records even when the CRC is skipped or recomputed', async () => {
    const buf = await encodeBatch({ records: [{ key: 'abc', value: 'def', timestamp: T0 }] });
    // record length varint is the first byte of the records section; make it claim one byte more
    buf[61] += 2;
    buf.writeUInt32BE(crc32cOf(buf, 21, buf.length), 17);
    await assert.rejects(decodeBatch(buf, 0), CorruptRecordError);
    await assert.rejects(decodeBatch(buf, 0, { verifyCrc: false }), CorruptRecordError);
  });

  it('rejects an absurd record count', async () => {
    const buf = await encodeBatch({ records: [{ value: 'x', timestamp: T0 }] });
    buf.writeInt32BE(1_000_000, 57);
    buf.writeUInt32BE(crc32cOf(buf, 21, buf.length), 17);
    await assert.rejects(decodeBatch(buf, 0), /declares 1000000 records/);
  });

  it('readBatchInfo refuses a non-v2 magic', () => {
    const legacy = legacyMessage(0, 1, 0, T0, null, Buffer.from('v'));
    assert.throws(() => readBatchInfo(Buffer.concat([legacy, Buffer.alloc(61)]), 0), /magic 2/);
  });
});

describe('iterateBatches', () => {
  it('walks complete batches and stops at a partial trailing one', async () => {
    const a = await encodeBatch({ baseOffset: 0, records: [{ value: 'a', timestamp: T0 }] });
    const b = await encodeBatch({
      baseOffset: 1,
      records: [{ value: 'bb', timestamp: T0 }],
      compression: CompressionType.Lz4,
    });
    const c = await encodeBatch({ baseOffset: 2, records: [{ value: 'ccc', timestamp: T0 }] });
    const all = Buffer.concat([a, b, c]);
    assert.deepEqual(
      [...iterateBatches(all)],
      [
        { pos: 0, size: a.length },
        { pos: a.length, size: b.length },
        { pos: a.length + b.length, size: c.length },
      ],
    );
    for (const cut of [1, 11, 12, 30, c.length - 1]) {
      const partial = all.subarray(0, all.length - cut);
      assert.deepEqual(
        [...iterateBatches(partial)].map((x) => x.pos),
        [0, a.length],
        `cut ${cut}`,
      );
    }
    assert.deepEqual([...iterateBatches(Buffer.alloc(0))], []);
  });

  it('throws on a length that cannot be a batch', () => {
    const bad = Buffer.alloc(40);
    bad.writeInt32BE(3, 8);
    assert.throws(() => [...iterateBatches(bad)], CorruptRecordError);
  });
});

describe('restampLogAppendTime', () => {
  it('sets the attribute bit and maxTimestamp, keeps the CRC valid, and readers use it for every record', async () => {
    for (const [, compression] of CODECS) {
      const buf = Buffer.concat([
        Buffer.alloc(5),
        await encodeBatch({ records: sampleRecords(), compression, transactional: true }),
      ]);
      restampLogAppendTime(buf, 5, T0 + 999_999);
      assert.ok(verifyBatchCrc(buf, 5));
      const { info, records } = await decodeBatch(buf, 5);
      assert.equal(info.timestampType, 'LogAppendTime');
      assert.equal(info.isTransactional, true);
      assert.equal(info.compression, compression);
      assert.equal(info.maxTimestamp, T0 + 999_999);
      assert.ok(records.every((r) => r.timestamp === T0 + 999_999));
    }
  });
});

describe('legacy message sets (magic 0 and 1)', () => {
  it('finds the magic at byte 16 in both formats', async () => {
    const v2 = await encodeBatch({ records: [{ value: 'x' }] });
    const v0 = legacyMessage(0, 0, 0, -1, null, Buffer.from('x'));
    const v1 = legacyMessage(0, 1, 0, T0, null, Buffer.from('x'));
    assert.deepEqual([magicAt(v2, 0), magicAt(v0, 0), magicAt(v1, 0)], [2, 0, 1]);
    assert.deepEqual(
      [isLegacyMessageSet(v2), isLegacyMessageSet(v0), isLegacyMessageSet(v1)],
      [false, true, true],
    );
    // iterateBatches frames both formats the same way
    assert.deepEqual(
      [...iterateBatches(Buffer.concat([v0, v0]))].map((b) => b.size),
      [v0.length, v0.length],
    );
  });

  it('converts an uncompressed v0 set (no timestamps: -1)', async () => {
    const set = Buffer.concat([
      legacyMessage(0, 0, 0, -1, Buffer.from('k0'), Buffer.from('v0')),
      legacyMessage(1, 0, 0, -1, null, Buffer.from('v1')),
      legacyMessage(2, 0, 0, -1, Buffer.from('k2'), null),
    ]);
    const { info, records } = await decodeBatch(await convertLegacyMessageSet(set), 0);
    assert.equal(info.compression, CompressionType.None);
    assertRecordsMatch(
      records,
      [
        { key: 'k0', value: 'v0', timestamp: -1 },
        { key: null, value: 'v1', timestamp: -1 },
        { key: 'k2', value: null, timestamp: -1 },
      ],
      0,
    );
  });

  it('converts an uncompressed v1 set, renumbering placeholder offsets', async () => {
    const set = Buffer.concat([
      legacyMessage(0, 1, 0, T0, Buffer.from('a'), Buffer.from('1')),
      legacyMessage(0, 1, 0, T0 + 7, Buffer.from('b'), Buffer.from('2')),
    ]);
    const { records } = await decodeBatch(await convertLegacyMessageSet(set), 0);
    assertRecordsMatch(
      records,
      [
        { key: 'a', value: '1', timestamp: T0 },
        { key: 'b', value: '2', timestamp: T0 + 7 },
      ],
      0,
    );
  });

  it('converts a gzip-wrapped v1 set: relative inner offsets, inner timestamps, gzip kept', async () => {
    const inner = Buffer.concat([
      legacyMessage(0, 1, 0, T0 + 1, Buffer.from('x'), Buffer.from('one')),
      legacyMessage(1, 1, 0, T0 + 2, null, Buffer.from('two')),
      legacyMessage(2, 1, 0, T0 + 3, Buffer.from('z'), Buffer.from('three')),
    ]);
    // the wrapper's offset is that of the last inner message
    const wrapper = legacyMessage(12, 1, 1, T0 + 3, null, zlib.gzipSync(inner));
    const { info, records } = await decodeBatch(await convertLegacyMessageSet(wrapper), 0);
    assert.equal(info.compression, CompressionType.Gzip);
    assert.equal(info.baseOffset, 10);
    assertRecordsMatch(
      records,
      [
        { key: 'x', value: 'one', timestamp: T0 + 1 },
        { key: null, value: 'two', timestamp: T0 + 2 },
        { key: 'z', value: 'three', timestamp: T0 + 3 },
      ],
      10,
    );
  });

  it('converts a gzip-wrapped v1 set with LogAppendTime: inner timestamps come from the wrapper', async () => {
    const inner = Buffer.concat([
      legacyMessage(0, 1, 0, 1, null, Buffer.from('a')),
      legacyMessage(1, 1, 0, 2, null, Buffer.from('b')),
    ]);
    const wrapper = legacyMessage(1, 1, 1 | 0x08, T0, null, zlib.gzipSync(inner));
    const { records } = await decodeBatch(await convertLegacyMessageSet(wrapper), 0);
    assert.deepEqual(
      records.map((r) => r.timestamp),
      [T0, T0],
    );
  });

  it('converts a gzip-wrapped v0 set and two wrappers in a row', async () => {
    const inner1 = Buffer.concat([
      legacyMessage(0, 0, 0, -1, null, Buffer.from('a')),
      legacyMessage(1, 0, 0, -1, null, Buffer.from('b')),
    ]);
    const inner2 = legacyMessage(2, 0, 0, -1, Buffer.from('k'), Buffer.from('c'));
    const set = Buffer.concat([
      legacyMessage(1, 0, 1, -1, null, zlib.gzipSync(inner1)),
      legacyMessage(2, 0, 1, -1, null, zlib.gzipSync(inner2)),
    ]);
    const { info, records } = await decodeBatch(
      await convertLegacyMessageSet(set, { compression: CompressionType.Zstd }),
      0,
    );
    assert.equal(info.compression, CompressionType.Zstd);
    assertRecordsMatch(
      records,
      [
        { value: 'a', timestamp: -1 },
        { value: 'b', timestamp: -1 },
        { key: 'k', value: 'c', timestamp: -1 },
      ],
      0,
    );
  });

  it('converts a v0 lz4 wrapper with the pre-0.10 header checksum', async () => {
    const inner = legacyMessage(0, 0, 0, -1, null, Buffer.from('lz4 of old'));
    const frame = lz4Frame([inner], { brokenHeaderChecksum: true }, xxhash32);
    const { records } = await decodeBatch(
      await convertLegacyMessageSet(legacyMessage(0, 0, 3, -1, null, frame)),
      0,
    );
    assert.equal(records[0].value?.toString(), 'lz4 of old');
  });

  it('rejects a bad CRC, a partial message, nested compression and v2 data', async () => {
    const msg = legacyMessage(0, 1, 0, T0, null, Buffer.from('value'));
    const flipped = Buffer.from(msg);
    flipped[msg.length - 1] ^= 1;
    await assert.rejects(convertLegacyMessageSet(flipped), /CRC/);
    await assert.rejects(convertLegacyMessageSet(msg.subarray(0, msg.length - 2)), CorruptRecordError);
    const nested = legacyMessage(
      0,
      1,
      1,
      T0,
      null,
      zlib.gzipSync(legacyMessage(0, 1, 1, T0, null, zlib.gzipSync(msg))),
    );
    await assert.rejects(convertLegacyMessageSet(nested), /nested/);
    await assert.rejects(
      convertLegacyMessageSet(await encodeBatch({ records: [{ value: 'x' }] })),
      CorruptRecordError,
    );
    await assert.rejects(convertLegacyMessageSet(Buffer.alloc(0)), /empty/);
  });
});
