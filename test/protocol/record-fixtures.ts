// Hand-built wire data for the record and compression tests. Nothing here uses the code under test:
// CRCs, framing and layouts are written out from Kafka's and LZ4's specifications.

import zlib from 'node:zlib';

/** Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): slow, obviously correct. */
export function crc32cRef(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/**
 * A transactional, uncompressed v2 batch with three records, byte for byte from Kafka's documented layout.
 * Every varint below is zigzag: n >= 0 is written as 2n.
 */
export function knownGoodBatch(): Buffer {
  const records = hex(
    // r0: length 17, attrs 0, tsDelta 0, offsetDelta 0, key "k0", value "hello", 1 header h="x"
    '22 00 00 00 04 6b30 0a 68656c6c6f 02 02 68 02 78' +
      // r1: length 7, attrs 0, tsDelta 123 (zigzag 246 = f6 01), offsetDelta 1, key null, value null, 0 headers
      '0e 00 f601 02 01 01 00' +
      // r2: length 19, attrs 0, tsDelta 300 (zigzag 600 = d8 04), offsetDelta 2, key "k2", value "v",
      //     2 headers: a=null, bb="yz"
      '26 00 d804 04 04 6b32 02 76 04 02 61 01 04 6262 04 797a',
  );
  const header = hex(
    '0000000000000005' + // baseOffset 5
      '0000005f' + // batchLength 95 = 61 + 46 - 12
      '00000007' + // partitionLeaderEpoch 7
      '02' + // magic
      '00000000' + // crc, filled below
      '0010' + // attributes: transactional, CreateTime, no compression
      '00000002' + // lastOffsetDelta
      '0000018bcfe56800' + // baseTimestamp 1700000000000
      '0000018bcfe5692c' + // maxTimestamp 1700000000300
      '00000000000003e8' + // producerId 1000
      '0002' + // producerEpoch
      '0000000a' + // baseSequence 10
      '00000003', // recordsCount
  );
  const batch = Buffer.concat([header, records]);
  batch.writeUInt32BE(crc32cRef(batch.subarray(21)), 17);
  return batch;
}

/** The same batch as encodeBatch input. */
export const knownGoodInput = {
  baseOffset: 5,
  partitionLeaderEpoch: 7,
  producerId: 1000n,
  producerEpoch: 2,
  baseSequence: 10,
  transactional: true,
  records: [
    { key: 'k0', value: 'hello', timestamp: 1700000000000, headers: [{ key: 'h', value: 'x' }] },
    { key: null, value: null, timestamp: 1700000000123 },
    {
      key: 'k2',
      value: 'v',
      timestamp: 1700000000300,
      headers: [
        { key: 'a', value: null },
        { key: 'bb', value: 'yz' },
      ],
    },
  ],
};

/**
 * One v0/v1 message-set entry: offset int64, size int32, then crc(int32, CRC-32 IEEE of the rest), magic,
 * attributes, [timestamp int64 when magic 1], key bytes, value bytes.
 */
export function legacyMessage(
  offset: number,
  magic: 0 | 1,
  attributes: number,
  timestamp: number,
  key: Buffer | null,
  value: Buffer | null,
): Buffer {
  const body: Buffer[] = [Buffer.from([magic, attributes])];
  if (magic === 1) {
    const ts = Buffer.alloc(8);
    ts.writeBigInt64BE(BigInt(timestamp));
    body.push(ts);
  }
  for (const field of [key, value]) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(field === null ? -1 : field.length);
    body.push(len);
    if (field !== null) body.push(field);
  }
  const rest = Buffer.concat(body);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(BigInt(offset), 0);
  head.writeInt32BE(rest.length + 4, 8);
  head.writeUInt32BE(zlib.crc32(rest), 12);
  return Buffer.concat([head, rest]);
}

/** XXH32 known answers (seed 0), from the reference implementation's test suite. */
export const XXH32_VECTORS: Array<[string, number]> = [
  ['', 0x02cc5d05],
  ['a', 0x550d7456],
  ['abc', 0x32d153ff],
];

export interface Lz4FrameOptions {
  blockChecksum?: boolean;
  contentChecksum?: boolean;
  contentSize?: boolean;
  /** Compute the header checksum like Kafka < 0.10 did (over the magic too). */
  brokenHeaderChecksum?: boolean;
}

/**
 * An LZ4 frame (lz4 frame format spec v1.6) holding `blocks` as *uncompressed* blocks (high bit of the
 * block size set), so it needs no compressor. `xxh32` is passed in so that it can be checked on its own.
 */
export function lz4Frame(blocks: Buffer[], opts: Lz4FrameOptions, xxh32: (b: Buffer) => number): Buffer {
  const content = Buffer.concat(blocks);
  let flg = 0x40 | 0x20; // version 01, independent blocks
  if (opts.blockChecksum) flg |= 0x10;
  if (opts.contentSize) flg |= 0x08;
  if (opts.contentChecksum) flg |= 0x04;
  const descriptor: Buffer[] = [Buffer.from([flg, 0x40])]; // BD: 64 KiB max block
  if (opts.contentSize) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(content.length));
    descriptor.push(size);
  }
  const magic = hex('04224d18');
  const desc = Buffer.concat(descriptor);
  const hcInput = opts.brokenHeaderChecksum ? Buffer.concat([magic, desc]) : desc;
  const parts: Buffer[] = [magic, desc, Buffer.from([(xxh32(hcInput) >>> 8) & 0xff])];
  for (const block of blocks) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE((block.length | 0x80000000) >>> 0);
    parts.push(size, block);
    if (opts.blockChecksum) parts.push(u32le(xxh32(block)));
  }
  parts.push(Buffer.alloc(4)); // end mark
  if (opts.contentChecksum) parts.push(u32le(xxh32(content)));
  return Buffer.concat(parts);
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** Deterministic, moderately compressible bytes. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % 16 === 0 ? (x >>> 8) & 0xff : 0x61 + (i % 7);
  }
  return out;
}
