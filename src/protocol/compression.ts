// Record batch compression codecs, in the wire formats real Kafka clients write and read.
//
// - gzip:   RFC 1952 (node's zlib, off the event loop on the libuv pool).
// - snappy: Kafka's Java client writes xerial-framed snappy; librdkafka and kafkajs may write raw snappy.
//           We decode both (xerial is detected by its 8-byte magic) and encode xerial, which every client
//           decodes (Java via xerial's SnappyInputStream, librdkafka, kafka-python, kafkajs codecs).
// - lz4:    the standard LZ4 frame format (magic v1+). We write independent 64 KiB-256 KiB blocks with no
//           checksums, which Java's KafkaLZ4BlockInputStream, librdkafka's lz4f and python's lz4.frame read.
//           Magic v0 messages from Kafka < 0.10 carry a wrong frame header checksum (KAFKA-3160), so
//           `decompressLegacyLz4` patches it before decoding.
// - zstd:   standard zstd frames: node's zlib where it has zstd (Node >= 22.15, on the libuv pool),
//           else zstd-napi through its public API.
//
// Every decompressor is bounded by `maxBytes` *while* it runs, so a small batch that would inflate to
// gigabytes costs at most maxBytes of memory and is refused early:
// - gzip:   zlib stops at maxOutputLength.
// - snappy: the uncompressed length is declared up front (per xerial block); checked before decoding.
// - lz4:    the frame's block headers bound the content (compression-frames.ts); over the limit, blocks
//           are decoded one at a time, each bounded by the frame's block maximum size.
// - zstd:   raw/RLE block headers give a lower bound and block sizes an upper bound before decoding;
//           a frame sure to exceed the limit is refused at once, an uncertain one decoded as a stream.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import snappy from 'snappy';
import lz4 from 'lz4-napi';
import zstd from 'zstd-napi';
import { CompressionType } from './batch-header.js';
import { scanLz4Frames, scanZstdFrames } from './compression-frames.js';

/** Default upper bound on the size of one decompressed records section. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** Data a codec cannot decode; `tooLarge` when it decodes to more than the limit allows. */
export class CompressionError extends Error {
  constructor(
    readonly compression: CompressionType,
    message: string,
    readonly tooLarge = false,
  ) {
    super(`${compressionName(compression)}: ${message}`);
    this.name = 'CompressionError';
  }
}

export function compressionName(type: CompressionType): string {
  switch (type) {
    case CompressionType.None:
      return 'none';
    case CompressionType.Gzip:
      return 'gzip';
    case CompressionType.Snappy:
      return 'snappy';
    case CompressionType.Lz4:
      return 'lz4';
    case CompressionType.Zstd:
      return 'zstd';
    default:
      return `unknown(${type as number})`;
  }
}

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

// ---- public API ---------------------------------------------------------------------------------

export async function compress(type: CompressionType, data: Buffer): Promise<Buffer> {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipAsync(data);
    case CompressionType.Snappy:
      return xerialEncodeAsync(data);
    case CompressionType.Lz4:
      return lz4.compressFrame(data);
    case CompressionType.Zstd:
      return zstd.compress(data);
    default:
      throw new CompressionError(type, 'unsupported compression type');
  }
}

export function compressSync(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return zlib.gzipSync(data);
    case CompressionType.Snappy:
      return xerialEncodeSync(data);
    case CompressionType.Lz4:
      return lz4.compressFrameSync(data);
    case CompressionType.Zstd:
      return zstd.compress(data);
    default:
      throw new CompressionError(type, 'unsupported compression type');
  }
}

export async function decompress(
  type: CompressionType,
  data: Buffer,
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Promise<Buffer> {
  try {
    switch (type) {
      case CompressionType.None:
        return data;
      case CompressionType.Gzip:
        return await gunzipAsync(data, { maxOutputLength: maxBytes });
      case CompressionType.Snappy:
        return isXerial(data)
          ? await xerialDecodeAsync(data, maxBytes)
          : await rawSnappyDecodeAsync(data, maxBytes);
      case CompressionType.Lz4:
        return await lz4Decode(data, maxBytes);
      case CompressionType.Zstd:
        return await zstdDecode(data, maxBytes);
      default:
        throw new CompressionError(type, 'unsupported compression type');
    }
  } catch (err) {
    throw wrapError(type, err, maxBytes);
  }
}

/** Synchronous variant, for the broker's own small internal batches and for tests. */
export function decompressSync(
  type: CompressionType,
  data: Buffer,
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Buffer {
  try {
    switch (type) {
      case CompressionType.None:
        return data;
      case CompressionType.Gzip:
        return zlib.gunzipSync(data, { maxOutputLength: maxBytes });
      case CompressionType.Snappy:
        return isXerial(data) ? xerialDecodeSync(data, maxBytes) : rawSnappyDecodeSync(data, maxBytes);
      case CompressionType.Lz4:
        return lz4DecodeSync(data, maxBytes);
      case CompressionType.Zstd:
        return zstdDecodeSync(data, maxBytes);
      default:
        throw new CompressionError(type, 'unsupported compression type');
    }
  } catch (err) {
    throw wrapError(type, err, maxBytes);
  }
}

/**
 * Decodes an LZ4 frame written by Kafka < 0.10 inside a magic v0 message, whose header checksum byte was
 * computed over the frame magic too (KAFKA-3160). The byte is recomputed on a copy, so both the broken and
 * the correct variant decode.
 */
export async function decompressLegacyLz4(
  data: Buffer,
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Promise<Buffer> {
  const patched = Buffer.from(data);
  const hcPos = lz4HeaderChecksumPos(patched);
  if (hcPos > 0) patched[hcPos] = (xxhash32(patched, 4, hcPos) >>> 8) & 0xff;
  return decompress(CompressionType.Lz4, patched, maxBytes);
}

// ---- snappy -------------------------------------------------------------------------------------

/** xerial snappy-java stream header: magic, then int32 version 1 and int32 min-compatible version 1. */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size; some decoders size their buffers for it, so we keep it. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

/**
 * A raw snappy stream cannot start with the xerial magic in practice: it would be a ~10 KiB payload whose
 * first element is a literal tag 'N' followed by "APPY\0" — librdkafka and kafka-python detect it this way.
 */
export function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.compare(XERIAL_MAGIC, 0, 8, 0, 8) === 0;
}

function xerialHeader(): Buffer {
  const header = Buffer.allocUnsafe(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  return header;
}

function xerialAssemble(blocks: Buffer[]): Buffer {
  let total = XERIAL_HEADER_BYTES;
  for (const b of blocks) total += 4 + b.length;
  const out = Buffer.allocUnsafe(total);
  xerialHeader().copy(out, 0);
  let pos = XERIAL_HEADER_BYTES;
  for (const b of blocks) {
    out.writeInt32BE(b.length, pos);
    b.copy(out, pos + 4);
    pos += 4 + b.length;
  }
  return out;
}

function xerialEncodeSync(data: Buffer): Buffer {
  const blocks: Buffer[] = [];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_BYTES) {
    blocks.push(snappy.compressSync(data.subarray(pos, pos + XERIAL_BLOCK_BYTES)));
  }
  return xerialAssemble(blocks);
}

async function xerialEncodeAsync(data: Buffer): Promise<Buffer> {
  // Small payloads: a thread-pool round trip costs more than compressing inline.
  if (data.length <= XERIAL_BLOCK_BYTES) return xerialEncodeSync(data);
  const pending: Promise<Buffer>[] = [];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_BYTES) {
    pending.push(snappy.compress(data.subarray(pos, pos + XERIAL_BLOCK_BYTES)));
  }
  return xerialAssemble(await Promise.all(pending));
}

/** Splits a xerial stream into its snappy blocks (subarrays, no copies). */
function xerialBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('truncated xerial block length');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length)
      throw new Error(`xerial block of ${len} bytes overruns the stream`);
    blocks.push(data.subarray(pos, pos + len));
    pos += len;
  }
  return blocks;
}

/** Raw snappy starts with the uncompressed length as a varint: check it before allocating. */
function snappyDeclaredLength(block: Buffer): number {
  let result = 0;
  for (let i = 0, shift = 1; i < 5 && i < block.length; i++, shift *= 128) {
    const b = block[i];
    result += (b & 0x7f) * shift;
    if (b < 0x80) return result;
  }
  throw new Error('invalid snappy length header');
}

function checkSnappyBlocks(blocks: Buffer[], maxBytes: number): void {
  let total = 0;
  for (const b of blocks) total += snappyDeclaredLength(b);
  if (total > maxBytes) throw new LimitError(total, maxBytes);
}

function asBuffer(out: string | Buffer): Buffer {
  return typeof out === 'string' ? Buffer.from(out) : out;
}

function rawSnappyDecodeSync(data: Buffer, maxBytes: number): Buffer {
  checkSnappyBlocks([data], maxBytes);
  return asBuffer(snappy.uncompressSync(data, { asBuffer: true }));
}

async function rawSnappyDecodeAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  checkSnappyBlocks([data], maxBytes);
  return asBuffer(await snappy.uncompress(data, { asBuffer: true }));
}

function xerialDecodeSync(data: Buffer, maxBytes: number): Buffer {
  const blocks = xerialBlocks(data);
  checkSnappyBlocks(blocks, maxBytes);
  const parts: Buffer[] = [];
  for (const b of blocks) parts.push(asBuffer(snappy.uncompressSync(b, { asBuffer: true })));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

async function xerialDecodeAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  const blocks = xerialBlocks(data);
  checkSnappyBlocks(blocks, maxBytes);
  if (data.length <= XERIAL_BLOCK_BYTES) return xerialDecodeSync(data, maxBytes);
  const pending: Promise<string | Buffer>[] = [];
  for (const b of blocks) pending.push(snappy.uncompress(b, { asBuffer: true }));
  const parts = (await Promise.all(pending)).map(asBuffer);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

// ---- zstd ----------------------------------------------------------------------------------------

/** node:zlib's zstd (Node >= 22.15); absent from Node 20's zlib and from its type definitions. */
interface ZlibZstd {
  zstdDecompress(
    data: Buffer,
    options: { maxOutputLength: number },
    callback: (err: Error | null, out: Buffer) => void,
  ): void;
  zstdDecompressSync(data: Buffer, options: { maxOutputLength: number }): Buffer;
}
const zlibZstd: ZlibZstd | null =
  typeof (zlib as unknown as Partial<ZlibZstd>).zstdDecompress === 'function'
    ? (zlib as unknown as ZlibZstd)
    : null;
/** Below this, a one-shot decode on the event loop costs less than a trip to the thread pool. */
const ZSTD_INLINE_BYTES = 1024 * 1024;
/** Input slice fed to zstd-napi's stream: bounds what one synchronous step can produce. */
const ZSTD_SLICE_BYTES = 4096;
/** A window larger than this (and than the limit) is a memory claim no Kafka client makes. */
const ZSTD_MAX_WINDOW_BYTES = 8 * 1024 * 1024;

/** Checks the frames' headers against the limit; returns the upper bound of the content size. */
function zstdPrecheck(data: Buffer, maxBytes: number): number {
  const scan = scanZstdFrames(data);
  if (scan.minBytes > maxBytes) throw new LimitError(scan.minBytes, maxBytes);
  if (scan.windowBytes > Math.max(maxBytes, ZSTD_MAX_WINDOW_BYTES)) {
    throw new Error(`window of ${scan.windowBytes} bytes exceeds the limit ${maxBytes}`);
  }
  return scan.maxBytes;
}

async function zstdDecode(data: Buffer, maxBytes: number): Promise<Buffer> {
  const upperBytes = zstdPrecheck(data, maxBytes);
  // Headers bound it below the limit and it is small: one synchronous decode is both safe and fastest.
  if (upperBytes <= Math.min(maxBytes, ZSTD_INLINE_BYTES)) return zstd.decompress(data);
  if (zlibZstd !== null) {
    const z = zlibZstd;
    return new Promise((resolve, reject) =>
      z.zstdDecompress(data, { maxOutputLength: maxBytes }, (err, out) => (err ? reject(err) : resolve(out))),
    );
  }
  return zstdStreamDecode(data, maxBytes);
}

function zstdDecodeSync(data: Buffer, maxBytes: number): Buffer {
  const upperBytes = zstdPrecheck(data, maxBytes);
  if (zlibZstd !== null && upperBytes > maxBytes) {
    return zlibZstd.zstdDecompressSync(data, { maxOutputLength: maxBytes });
  }
  // Without zlib's bound, only a frame whose headers bound it below the limit is decoded in one go.
  if (upperBytes > maxBytes) throw new LimitError(upperBytes, maxBytes);
  return zstd.decompress(data);
}

/**
 * zstd-napi's DecompressStream fed small input slices, yielding to the event loop between them:
 * counting stops the decode once the limit is passed, and one slice can only inflate so far.
 */
function zstdStreamDecode(data: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = new zstd.DecompressStream();
    const parts: Buffer[] = [];
    let total = 0;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      stream.destroy();
      parts.length = 0;
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) fail(new LimitError(total, maxBytes));
      else if (!failed) parts.push(chunk);
    });
    stream.on('error', fail);
    stream.on('end', () => {
      if (!failed) resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, total));
    });
    let pos = 0;
    const feed = (): void => {
      if (failed) return;
      if (pos >= data.length) {
        stream.end();
        return;
      }
      const slice = data.subarray(pos, pos + ZSTD_SLICE_BYTES);
      pos += slice.length;
      stream.write(slice, () => setImmediate(feed));
    };
    feed();
  });
}

// ---- lz4 ----------------------------------------------------------------------------------------

/** Content an LZ4 block may refer back to (the format's 64 KiB window), for frames with linked blocks. */
const LZ4_WINDOW_BYTES = 64 * 1024;

async function lz4Decode(data: Buffer, maxBytes: number): Promise<Buffer> {
  const scan = scanLz4Frames(data);
  // Block maxima bound the whole frame: under the limit, one decode on the thread pool is safe.
  if (scan.maxBytes <= maxBytes) return lz4.decompressFrame(data);
  const parts: Buffer[] = [];
  let total = 0;
  for (const block of scan.blocks) {
    const out = block.stored
      ? data.subarray(block.start, block.end)
      : await lz4.uncompress(sizePrefixed(data, block), linkedDict(block, parts));
    total = addPart(parts, out, total, maxBytes);
  }
  return Buffer.concat(parts, total);
}

function lz4DecodeSync(data: Buffer, maxBytes: number): Buffer {
  const scan = scanLz4Frames(data);
  if (scan.maxBytes <= maxBytes) return lz4.decompressFrameSync(data);
  const parts: Buffer[] = [];
  let total = 0;
  for (const block of scan.blocks) {
    const out = block.stored
      ? data.subarray(block.start, block.end)
      : lz4.uncompressSync(sizePrefixed(data, block), linkedDict(block, parts));
    total = addPart(parts, out, total, maxBytes);
  }
  return Buffer.concat(parts, total);
}

/**
 * lz4-napi's block API takes the content size as a 4-byte prefix and refuses to write past it: the
 * frame's block maximum size there bounds what one block can inflate to.
 */
function sizePrefixed(data: Buffer, block: { start: number; end: number; maxBytes: number }): Buffer {
  const out = Buffer.allocUnsafe(4 + block.end - block.start);
  out.writeUInt32LE(block.maxBytes, 0);
  data.copy(out, 4, block.start, block.end);
  return out;
}

/** The last 64 KiB of output, which a linked block may refer to; copies only those bytes. */
function linkedDict(block: { linked: boolean }, parts: Buffer[]): Buffer | undefined {
  if (!block.linked || parts.length === 0) return undefined;
  let first = parts.length - 1;
  for (let bytes = parts[first]!.length; bytes < LZ4_WINDOW_BYTES && first > 0;)
    bytes += parts[--first]!.length;
  const tail = first === parts.length - 1 ? parts[first]! : Buffer.concat(parts.slice(first));
  return tail.subarray(Math.max(0, tail.length - LZ4_WINDOW_BYTES));
}

function addPart(parts: Buffer[], out: Buffer, total: number, maxBytes: number): number {
  const next = total + out.length;
  if (next > maxBytes) throw new LimitError(next, maxBytes);
  parts.push(out);
  return next;
}

/** Position of the header checksum byte of an LZ4 frame, or -1 when `data` is not an LZ4 frame. */
function lz4HeaderChecksumPos(data: Buffer): number {
  if (data.length < 7 || data.readUInt32LE(0) !== 0x184d2204) return -1;
  const flg = data[4];
  let pos = 6; // after magic, FLG, BD
  if (flg & 0x08) pos += 8; // content size
  if (flg & 0x01) pos += 4; // dictionary id
  return pos < data.length ? pos : -1;
}

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

/** XXH32 with seed 0 over data[start, end): LZ4 frame header and block/content checksums. */
export function xxhash32(data: Buffer, start = 0, end = data.length): number {
  const len = end - start;
  let pos = start;
  let h: number;
  if (len >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2 | 0;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (const limit = end - 16; pos <= limit; pos += 16) {
      v1 = round(v1, data.readUInt32LE(pos));
      v2 = round(v2, data.readUInt32LE(pos + 4));
      v3 = round(v3, data.readUInt32LE(pos + 8));
      v4 = round(v4, data.readUInt32LE(pos + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = P5 | 0;
  }
  h = (h + len) | 0;
  for (; pos + 4 <= end; pos += 4) {
    h = Math.imul(rotl((h + Math.imul(data.readUInt32LE(pos), P3)) | 0, 17), P4);
  }
  for (; pos < end; pos++) {
    h = Math.imul(rotl((h + Math.imul(data[pos], P5)) | 0, 11), P1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- helpers ----------------------------------------------------------------------------------

/** Output that would pass the limit: refused while decoding (CompressionError.tooLarge). */
class LimitError extends Error {
  constructor(bytes: number, maxBytes: number) {
    super(`decompressed size ${bytes} exceeds limit ${maxBytes}`);
  }
}

function wrapError(type: CompressionType, err: unknown, maxBytes: number): Error {
  if (err instanceof CompressionError) return err;
  if (err instanceof LimitError) return new CompressionError(type, err.message, true);
  // zlib's own bound (maxOutputLength) reports itself as ERR_BUFFER_TOO_LARGE or a RangeError.
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
    return new CompressionError(type, `decompressed size exceeds limit ${maxBytes}`, true);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CompressionError(type, `cannot decompress: ${message}`);
}
