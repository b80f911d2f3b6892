// Cross-checks against kafka-python's own record code (python3-kafka, Debian's system python):
// its DefaultRecordBatchBuilder / LegacyRecordBatchBuilder write batches we must read, and its
// DefaultRecordBatch must read ours. Codecs come from python3-snappy, python3-lz4, python3-zstandard and
// python3-xxhash (for lz4 in magic v0); a missing one skips only that codec, loudly.
// Without python3-kafka the whole file is skipped, unless BROOK_TEST_STRICT=1.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CompressionType } from '../../src/protocol/batch-header.js';
import { compress, decompress } from '../../src/protocol/compression.js';
import { convertLegacyMessageSet } from '../../src/protocol/legacy-records.js';
import { decodeBatch, encodeBatch, type Record } from '../../src/protocol/records.js';
import { knownGoodBatch, pseudoRandomBytes } from './record-fixtures.js';

// The pyenv python3 on PATH does not see Debian's python3-kafka.
const PYTHON = '/usr/bin/python3';
const STRICT = process.env.BROOK_TEST_STRICT === '1';

const HELPER = String.raw`
import base64, json, sys
b64 = lambda b: None if b is None else base64.b64encode(bytes(b)).decode()
unb64 = lambda s: None if s is None else base64.b64decode(s)
from kafka.record.default_records import DefaultRecordBatchBuilder, DefaultRecordBatch
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka import codec

def available(c):
    return {0: True, 1: codec.has_gzip(), 2: codec.has_snappy(), 3: codec.has_lz4(), 4: codec.has_zstd()}[c]

def build(req):
    out = {}
    recs = req['records']
    for c in req['codecs']:
        if not available(c):
            out[str(c)] = None
            continue
        b = DefaultRecordBatchBuilder(magic=2, compression_type=c, is_transactional=True,
                                      producer_id=12345, producer_epoch=1, base_sequence=7, batch_size=2**30)
        for i, r in enumerate(recs):
            hs = [(k, unb64(v)) for k, v in r['headers']]
            b.append(i, r['timestamp'], unb64(r['key']), unb64(r['value']), hs)
        out[str(c)] = b64(b.build())
    return out

def build_legacy(req):
    out = {}
    for magic in (0, 1):
        for c in req['codecs']:
            name = '%d/%d' % (magic, c)
            if c == 4 or not available(c):
                out[name] = None
                continue
            try:
                b = LegacyRecordBatchBuilder(magic=magic, compression_type=c, batch_size=2**30)
                for i, r in enumerate(req['records']):
                    b.append(i, r['timestamp'], unb64(r['key']), unb64(r['value']))
                out[name] = b64(b.build())
            except (AssertionError, NotImplementedError) as e:
                out[name] = None
    return out

def read(req):
    out = {}
    for name, data in req['batches'].items():
        batch = DefaultRecordBatch(unb64(data))
        out[name] = {
            'crc_ok': batch.validate_crc(), 'base_offset': batch.base_offset,
            'compression': batch.compression_type, 'transactional': batch.is_transactional,
            'max_timestamp': batch.max_timestamp,
            'records': [[r.offset, r.timestamp, b64(r.key), b64(r.value), [[k, b64(v)] for k, v in r.headers]]
                        for r in batch],
        }
    return out

def codecs_out(req):
    import gzip
    data = unb64(req['data'])
    out = {'snappy_xerial': b64(codec.snappy_encode(data, xerial_compatible=True)),
           'snappy_raw': b64(codec.snappy_encode(data, xerial_compatible=False))}
    import lz4.frame as f
    for linked in (False, True):
        for bc in (False, True):
            for cc in (False, True):
                for size in (False, True):
                    out['lz4/%d%d%d%d' % (linked, bc, cc, size)] = b64(f.compress(
                        data, block_linked=linked, block_checksum=bc, content_checksum=cc, store_size=size))
    import zstandard
    out['zstd'] = b64(zstandard.ZstdCompressor().compress(data))
    out['zstd_stream'] = b64(zstandard.ZstdCompressor(write_content_size=False).compress(data))
    return out

def codecs_in(req):
    import gzip, lz4.frame, zstandard
    return {
        'gzip': b64(gzip.decompress(unb64(req['gzip']))),
        'snappy': b64(codec.snappy_decode(unb64(req['snappy']))),
        'lz4': b64(lz4.frame.decompress(unb64(req['lz4']))),
        'zstd': b64(zstandard.ZstdDecompressor().decompress(unb64(req['zstd']), max_output_size=2**28)),
    }

req = json.load(sys.stdin)
print(json.dumps({'build': build, 'build_legacy': build_legacy, 'read': read,
                  'codecs_out': codecs_out, 'codecs_in': codecs_in}[req['op']](req)))
`;

function python<T>(request: object): T {
  const res = spawnSync(PYTHON, ['-c', HELPER], {
    input: JSON.stringify(request),
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`python helper failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}

function probe(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

const hasKafkaPython = probe('kafka');
const hasCodecModules = probe('lz4.frame') && probe('zstandard') && probe('snappy');
let skipReason: string | false = false;
if (!hasKafkaPython) {
  skipReason = `python3-kafka is not installed for ${PYTHON}: kafka-python interop NOT TESTED`;
  if (!STRICT) console.error(`\n${'!'.repeat(80)}\n!! ${skipReason}\n${'!'.repeat(80)}\n`);
}

const b64 = (b: Buffer | null): string | null => (b === null ? null : b.toString('base64'));
const unb64 = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'base64'));

interface SpecRecord {
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Array<[string, string | null]>;
}

const T0 = 1_700_000_000_000;

/** 300 records: null keys and values, headers with null values, a few 70 KB values (multi-block codecs). */
function spec(withHeaders = true): SpecRecord[] {
  const out: SpecRecord[] = [];
  for (let i = 0; i < 300; i++) {
    out.push({
      key: i % 5 === 0 ? null : b64(Buffer.from(`key-${i}`)),
      value: i % 7 === 3 ? null : b64(pseudoRandomBytes(i % 50 === 0 ? 70_000 : 100 + i, i + 1)),
      timestamp: T0 + i * 3,
      headers:
        withHeaders && i % 3 === 0
          ? [
              ['h', b64(Buffer.from(`hv-${i}`))],
              ['null', null],
            ]
          : [],
    });
  }
  return out;
}

function assertMatchesSpec(records: Record[], expected: SpecRecord[], timestamps = true): void {
  assert.equal(records.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const r = records[i];
    const e = expected[i];
    assert.equal(r.offset, i);
    if (timestamps) assert.equal(r.timestamp, e.timestamp);
    assert.equal(b64(r.key), e.key, `key ${i}`);
    assert.equal(b64(r.value), e.value, `value ${i}`);
    assert.deepEqual(
      r.headers.map((h) => [h.key, b64(h.value)]),
      e.headers,
      `headers ${i}`,
    );
  }
}

const CODECS: Array<[string, CompressionType]> = [
  ['none', CompressionType.None],
  ['gzip', CompressionType.Gzip],
  ['snappy', CompressionType.Snappy],
  ['lz4', CompressionType.Lz4],
  ['zstd', CompressionType.Zstd],
];

function codecMissing(name: string, what: string): void {
  const msg = `kafka-python has no ${name} codec: ${what} NOT TESTED`;
  if (STRICT) assert.fail(msg);
  console.error(`!! ${msg}`);
}

describe('kafka-python interop', { skip: STRICT ? false : skipReason }, () => {
  it('python3-kafka is installed (BROOK_TEST_STRICT=1)', () => {
    assert.ok(hasKafkaPython, skipReason || '');
  });

  it("we decode kafka-python's DefaultRecordBatchBuilder output for every codec", async () => {
    const records = spec();
    const built = python<{ [codec: string]: string | null }>({
      op: 'build',
      records,
      codecs: CODECS.map(([, c]) => c),
    });
    for (const [name, c] of CODECS) {
      const data = built[String(c)];
      if (data === null) {
        codecMissing(name, 'decoding its v2 batches');
        continue;
      }
      const { info, records: decoded } = await decodeBatch(Buffer.from(data, 'base64'), 0);
      assert.equal(info.compression, c, name);
      assert.equal(info.isTransactional, true);
      assert.equal(info.producerId, 12345n);
      assert.equal(info.producerEpoch, 1);
      assert.equal(info.baseSequence, 7);
      assert.equal(info.maxTimestamp, T0 + 299 * 3);
      assertMatchesSpec(decoded, records);
    }
  });

  it("kafka-python's DefaultRecordBatch reads our batches for every codec, and the hand-built vector", async () => {
    const records = spec();
    const batches: { [name: string]: string } = { vector: knownGoodBatch().toString('base64') };
    for (const [name, c] of CODECS) {
      const buf = await encodeBatch({
        records: records.map((r) => ({
          key: unb64(r.key),
          value: unb64(r.value),
          timestamp: r.timestamp,
          headers: r.headers.map(([key, value]) => ({ key, value: unb64(value) })),
        })),
        compression: c,
      });
      batches[name] = buf.toString('base64');
    }
    type Read = {
      crc_ok: boolean;
      base_offset: number;
      compression: number;
      transactional: boolean;
      max_timestamp: number;
      records: Array<[number, number, string | null, string | null, Array<[string, string | null]>]>;
    };
    const read = python<{ [name: string]: Read }>({ op: 'read', batches });
    for (const [name, c] of CODECS) {
      const r = read[name];
      assert.equal(r.crc_ok, true, name);
      assert.equal(r.compression, c);
      assert.equal(r.max_timestamp, T0 + 299 * 3);
      assert.deepEqual(
        r.records,
        records.map((e, i) => [i, e.timestamp, e.key, e.value, e.headers]),
        name,
      );
    }
    const v = read.vector;
    assert.equal(v.crc_ok, true);
    assert.equal(v.base_offset, 5);
    assert.equal(v.transactional, true);
    assert.deepEqual(v.records, [
      [5, 1700000000000, b64(Buffer.from('k0')), b64(Buffer.from('hello')), [['h', b64(Buffer.from('x'))]]],
      [6, 1700000000123, null, null, []],
      [
        7,
        1700000000300,
        b64(Buffer.from('k2')),
        b64(Buffer.from('v')),
        [
          ['a', null],
          ['bb', b64(Buffer.from('yz'))],
        ],
      ],
    ]);
  });

  it("we convert kafka-python's legacy v0/v1 message sets (plain, gzip, snappy, lz4 incl. v0's broken checksum)", async () => {
    const records = spec(false).slice(0, 120);
    const built = python<{ [name: string]: string | null }>({
      op: 'build_legacy',
      records,
      codecs: [0, 1, 2, 3],
    });
    for (const [name, data] of Object.entries(built)) {
      if (data === null) {
        codecMissing(name, `legacy message set magic/codec ${name}`);
        continue;
      }
      const [magic, codec] = name.split('/').map(Number);
      const v2 = await convertLegacyMessageSet(Buffer.from(data, 'base64'));
      const { info, records: decoded } = await decodeBatch(v2, 0);
      assert.equal(info.compression, codec, name);
      assertMatchesSpec(decoded, records, magic === 1);
      if (magic === 0) assert.ok(decoded.every((r) => r.timestamp === -1));
    }
  });

  it('compression frames: python-snappy, lz4.frame (linked, checksums, size) and zstandard decode both ways', async (t) => {
    if (!hasCodecModules) {
      if (STRICT) assert.fail('python3-snappy / python3-lz4 / python3-zstandard missing');
      t.skip('python3-snappy / python3-lz4 / python3-zstandard missing');
      return;
    }
    const data = pseudoRandomBytes(300_000, 77);
    const fromPython = python<{ [name: string]: string }>({
      op: 'codecs_out',
      data: data.toString('base64'),
    });
    for (const [name, frame] of Object.entries(fromPython)) {
      const type = name.startsWith('snappy')
        ? CompressionType.Snappy
        : name.startsWith('lz4')
          ? CompressionType.Lz4
          : CompressionType.Zstd;
      assert.ok(data.equals(await decompress(type, Buffer.from(frame, 'base64'))), name);
    }
    const ours = {
      op: 'codecs_in',
      gzip: (await compress(CompressionType.Gzip, data)).toString('base64'),
      snappy: (await compress(CompressionType.Snappy, data)).toString('base64'),
      lz4: (await compress(CompressionType.Lz4, data)).toString('base64'),
      zstd: (await compress(CompressionType.Zstd, data)).toString('base64'),
    };
    const back = python<{ [name: string]: string }>(ours);
    for (const [name, decoded] of Object.entries(back))
      assert.ok(data.equals(Buffer.from(decoded, 'base64')), name);
  });
});
