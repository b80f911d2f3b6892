import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import snappy from 'snappy';
import lz4 from 'lz4-napi';
import zstd from 'zstd-napi';
import { CompressionType } from '../../src/protocol/batch-header.js';
import {
  CompressionError,
  XERIAL_MAGIC,
  compress,
  compressSync,
  decompress,
  decompressLegacyLz4,
  decompressSync,
  isXerial,
  xxhash32,
} from '../../src/protocol/compression.js';
import { XXH32_VECTORS, hex, lz4Frame, pseudoRandomBytes } from './record-fixtures.js';
import { hasPythonKafkaCodecs, requireTool } from '../helpers/external.js';
import { runPythonJson } from '../helpers/run.js';

const CODECS: Array<[string, CompressionType]> = [
  ['none', CompressionType.None],
  ['gzip', CompressionType.Gzip],
  ['snappy', CompressionType.Snappy],
  ['lz4', CompressionType.Lz4],
  ['zstd', CompressionType.Zstd],
];

describe('compression round trips', () => {
  const payloads: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['small', Buffer.from('hello, kafka')],
    ['1 MiB', pseudoRandomBytes(1024 * 1024)],
  ];
  for (const [name, type] of CODECS) {
    for (const [label, data] of payloads) {
      it(`${name}: ${label}, async and sync in both directions`, async () => {
        const packed = await compress(type, data);
        assert.ok(data.equals(await decompress(type, packed)));
        assert.ok(data.equals(decompressSync(type, packed)));
        const packedSync = compressSync(type, data);
        assert.ok(data.equals(await decompress(type, packedSync)));
      });
    }
  }

  for (const [name, type] of CODECS.slice(1)) {
    it(`${name}: refuses output above maxBytes`, async () => {
      const packed = await compress(type, Buffer.alloc(100_000, 0x61));
      await assert.rejects(decompress(type, packed, 50_000), CompressionError);
      assert.throws(() => decompressSync(type, packed, 50_000), CompressionError);
      assert.equal((await decompress(type, packed, 100_000)).length, 100_000);
    });

    it(`${name}: garbage input fails with CompressionError`, async () => {
      await assert.rejects(
        decompress(type, hex('0102030405060708090a0b0c0d0e0f10ffffffff')),
        CompressionError,
      );
    });
  }

  it('rejects an unknown compression type', async () => {
    await assert.rejects(compress(7 as CompressionType, Buffer.alloc(1)), CompressionError);
    await assert.rejects(decompress(5 as CompressionType, Buffer.alloc(1)), CompressionError);
  });
});

describe('gzip', () => {
  it('decodes concatenated gzip members', async () => {
    const data = Buffer.concat([zlib.gzipSync('abc'), zlib.gzipSync('def')]);
    assert.equal((await decompress(CompressionType.Gzip, data)).toString(), 'abcdef');
  });
});

describe('snappy', () => {
  it('encodes xerial framing: magic, version 1, compatible version 1, 32 KiB blocks', async () => {
    const data = pseudoRandomBytes(100_000);
    const out = await compress(CompressionType.Snappy, data);
    assert.ok(out.subarray(0, 8).equals(hex('82534e4150505900')));
    assert.equal(out.readInt32BE(8), 1);
    assert.equal(out.readInt32BE(12), 1);
    // Walk the blocks by hand: 100_000 bytes = 3 full 32 KiB blocks + a 1_696 byte tail.
    const sizes: number[] = [];
    for (let pos = 16; pos < out.length;) {
      const len = out.readInt32BE(pos);
      sizes.push((snappy.uncompressSync(out.subarray(pos + 4, pos + 4 + len)) as Buffer).length);
      pos += 4 + len;
    }
    assert.deepEqual(sizes, [32768, 32768, 32768, 1696]);
  });

  it('decodes a hand-built xerial stream with two blocks', async () => {
    // Raw snappy block = varint uncompressed length, then a literal tag ((len - 1) << 2) and the bytes.
    const block1 = hex('05 10 68656c6c6f'); // "hello"
    const block2 = hex('06 14 20776f726c64'); // " world"
    const stream = Buffer.concat([
      XERIAL_MAGIC,
      hex('00000001 00000001'),
      hex('00000007'),
      block1,
      hex('00000008'),
      block2,
    ]);
    assert.ok(isXerial(stream));
    assert.equal((await decompress(CompressionType.Snappy, stream)).toString(), 'hello world');
    assert.equal(decompressSync(CompressionType.Snappy, stream).toString(), 'hello world');
  });

  it('decodes raw (unframed) snappy as librdkafka and kafkajs may send', async () => {
    assert.equal((await decompress(CompressionType.Snappy, hex('05 10 68656c6c6f'))).toString(), 'hello');
    const big = pseudoRandomBytes(200_000, 9);
    const raw = snappy.compressSync(big);
    assert.ok(!isXerial(raw));
    assert.ok(big.equals(await decompress(CompressionType.Snappy, raw)));
  });

  it('decodes a xerial stream with a single block larger than 32 KiB (other writers pick other sizes)', async () => {
    const big = pseudoRandomBytes(300_000, 3);
    const block = snappy.compressSync(big);
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    const stream = Buffer.concat([XERIAL_MAGIC, hex('00000001 00000001'), len, block]);
    assert.ok(big.equals(await decompress(CompressionType.Snappy, stream)));
  });

  it('rejects a truncated xerial stream', async () => {
    const out = await compress(CompressionType.Snappy, pseudoRandomBytes(50_000));
    await assert.rejects(
      decompress(CompressionType.Snappy, out.subarray(0, out.length - 3)),
      CompressionError,
    );
  });
});

describe('lz4', () => {
  it('xxhash32 matches the reference known answers', () => {
    for (const [input, expected] of XXH32_VECTORS)
      assert.equal(xxhash32(Buffer.from(input)), expected, input);
    // and lz4-napi's own content checksum of "hello"
    const framed = lz4.compressFrameSync(Buffer.from('hello'), { contentChecksum: true });
    assert.equal(xxhash32(Buffer.from('hello')), framed.readUInt32LE(framed.length - 4));
  });

  it('writes a standard LZ4 frame: magic, version 01, independent blocks, valid header checksum', async () => {
    const out = await compress(CompressionType.Lz4, pseudoRandomBytes(10_000));
    assert.equal(out.readUInt32LE(0), 0x184d2204);
    const flg = out[4];
    assert.equal(flg >> 6, 0b01, 'version');
    assert.ok(flg & 0x20, 'block independence (Java KafkaLZ4BlockInputStream requires it)');
    assert.equal(flg & 0x08, 0, 'no content size');
    assert.equal(flg & 0x01, 0, 'no dictionary id');
    assert.equal(out[6], (xxhash32(out, 4, 6) >>> 8) & 0xff, 'header checksum');
    assert.equal(out.readUInt32LE(out.length - 4), 0, 'end mark (no content checksum)');
  });

  const variants: Array<
    [string, { blockChecksum?: boolean; contentChecksum?: boolean; contentSize?: boolean }]
  > = [
    ['no checksums', {}],
    ['block checksums', { blockChecksum: true }],
    ['content checksum', { contentChecksum: true }],
    ['content size', { contentSize: true }],
    ['everything', { blockChecksum: true, contentChecksum: true, contentSize: true }],
  ];
  for (const [name, opts] of variants) {
    it(`decodes a hand-built frame with ${name}`, async () => {
      const blocks = [Buffer.from('first block '), Buffer.from('second block')];
      const frame = lz4Frame(blocks, opts, xxhash32);
      assert.equal((await decompress(CompressionType.Lz4, frame)).toString(), 'first block second block');
    });
  }

  it('detects a corrupted block when block checksums are on', async () => {
    const frame = lz4Frame([Buffer.from('checksummed data')], { blockChecksum: true }, xxhash32);
    frame[12] ^= 0xff; // inside the block data
    await assert.rejects(decompress(CompressionType.Lz4, frame), CompressionError);
  });

  it('decodes the broken header checksum of Kafka < 0.10 (magic v0) only through decompressLegacyLz4', async () => {
    const frame = lz4Frame([Buffer.from('old kafka')], { brokenHeaderChecksum: true }, xxhash32);
    await assert.rejects(decompress(CompressionType.Lz4, frame), CompressionError);
    assert.equal((await decompressLegacyLz4(frame)).toString(), 'old kafka');
    // and the correct variant still decodes through the legacy path
    const good = lz4Frame([Buffer.from('new kafka')], {}, xxhash32);
    assert.equal((await decompressLegacyLz4(good)).toString(), 'new kafka');
  });
});

describe('zstd', () => {
  it('writes a standard zstd frame', async () => {
    const out = await compress(CompressionType.Zstd, Buffer.from('zstd!'));
    assert.equal(out.readUInt32LE(0), 0xfd2fb528);
  });

  it('refuses a frame whose declared content size exceeds the limit before allocating', async () => {
    // Frame header: magic, FHD 0xe0 (8-byte content size, single segment), content size 2^40, one empty
    // last raw block.
    const frame = Buffer.concat([hex('28b52ffd e0'), hex('0000000000010000'), hex('010000')]);
    await assert.rejects(decompress(CompressionType.Zstd, frame), /exceeds limit/);
  });
});

describe('decoding near the limit: headers cannot decide, the decoder counts', () => {
  it('lz4: a frame whose block maxima exceed the limit but whose content fits decodes block by block', async () => {
    const data = pseudoRandomBytes(100_000); // two 64 KiB blocks: headers allow 128 KiB
    const frame = lz4.compressFrameSync(data);
    assert.ok(data.equals(await decompress(CompressionType.Lz4, frame, 110_000)));
    assert.ok(data.equals(decompressSync(CompressionType.Lz4, frame, 110_000)));
    await assert.rejects(decompress(CompressionType.Lz4, frame, 90_000), /exceeds limit/);
  });

  it('zstd: a streamed frame (no content size) decodes through the bounded stream', async () => {
    const data = Buffer.concat([pseudoRandomBytes(150_000), Buffer.alloc(50_000, 7)]);
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const stream = new zstd.CompressStream();
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => resolve(Buffer.concat(parts)));
      stream.on('error', reject);
      stream.end(data);
    });
    assert.equal(frame[4]! & 0xc0, 0, 'no content size in a streamed frame');
    assert.ok(data.equals(await decompress(CompressionType.Zstd, frame, 220_000)));
    await assert.rejects(decompress(CompressionType.Zstd, frame, 180_000), /exceeds limit/);
  });
});

describe('lz4 linked blocks (python-lz4, as kafka-python writes them)', () => {
  it('decode block by block with the previous 64 KiB as dictionary', async (t) => {
    if (!(await requireTool(t, 'python3-lz4', hasPythonKafkaCodecs, 'apt-get install python3-lz4'))) return;
    const out = await runPythonJson<{ raw: string; frame: string }>(`
import base64, json, random, lz4.frame
random.seed(1)
data = bytes(random.getrandbits(8) for _ in range(60000)) * 3 + b'tail' * 5000
f = lz4.frame.compress(data, block_size=lz4.frame.BLOCKSIZE_MAX64KB, block_linked=True)
print(json.dumps({'raw': base64.b64encode(data).decode(), 'frame': base64.b64encode(f).decode()}))
`);
    const raw = Buffer.from(out.raw, 'base64');
    const frame = Buffer.from(out.frame, 'base64');
    assert.equal(frame[4]! & 0x20, 0, 'linked blocks');
    // Four 64 KiB blocks: the headers allow 256 KiB, the content is 200,000 bytes.
    assert.ok(raw.equals(await decompress(CompressionType.Lz4, frame, 210_000)));
    assert.ok(raw.equals(decompressSync(CompressionType.Lz4, frame, 210_000)));
  });
});
