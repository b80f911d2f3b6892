// Headers-only walks over LZ4 and zstd frames: how large their content can be, found without
// decompressing a byte. A decompression bomb declares its size in these headers (LZ4's block
// maximum, zstd's block sizes), so it can be refused before it costs any memory or time.
//
//   LZ4 frame:  magic 0x184D2204 LE, FLG, BD, [content size: 8], [dict id: 4], header checksum,
//               blocks: size uint32 LE (high bit = stored uncompressed, 0 = end mark), data,
//               [block checksum: 4]; after the end mark [content checksum: 4].
//   zstd frame: magic 0xFD2FB528 LE, frame header descriptor, [window descriptor], [dict id],
//               [content size], blocks: 3-byte LE header (last flag, type, size), data,
//               [checksum: 4]. Skippable frames (magic 0x184D2A5?) carry a uint32 LE size.

const LZ4_MAGIC = 0x184d2204;
const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const ZSTD_BLOCK_MAX_BYTES = 128 * 1024;
const LZ4_BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

/** One LZ4 data block: where its bytes are and whether they are stored as-is. */
export interface Lz4Block {
  start: number;
  end: number;
  stored: boolean;
  /** Largest content the block may decode to (the frame's block maximum size). */
  maxBytes: number;
  /** Blocks of a frame without the block-independence flag may refer to earlier content. */
  linked: boolean;
}

export interface Lz4FrameScan {
  /** Upper bound on the decompressed size: stored blocks exactly, compressed ones at their maximum. */
  maxBytes: number;
  blocks: Lz4Block[];
}

/** Walks the LZ4 frames in `data`; throws on anything that is not a well-formed frame sequence. */
export function scanLz4Frames(data: Buffer): Lz4FrameScan {
  const blocks: Lz4Block[] = [];
  let maxBytes = 0;
  let pos = 0;
  while (pos < data.length) {
    const next = skipToFrame(data, pos, LZ4_MAGIC, 'LZ4');
    if (next !== pos) {
      pos = next;
      continue;
    }
    need(data, pos, 7, 'LZ4 frame header');
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if (flg >> 6 !== 1) throw new Error(`unsupported LZ4 frame version ${flg >> 6}`);
    const blockMax = LZ4_BLOCK_MAX_BYTES[(bd >> 4) & 7]!;
    if (blockMax === 0) throw new Error(`invalid LZ4 block maximum size code ${(bd >> 4) & 7}`);
    const linked = (flg & 0x20) === 0;
    const blockChecksum = (flg & 0x10) !== 0;
    pos += 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
    for (;;) {
      need(data, pos, 4, 'LZ4 block size');
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break; // end mark
      const stored = (word & 0x80000000) !== 0;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw new Error(`LZ4 block of ${size} bytes exceeds the frame's ${blockMax}`);
      need(data, pos, size, 'LZ4 block');
      blocks.push({ start: pos, end: pos + size, stored, maxBytes: blockMax, linked });
      maxBytes += stored ? size : blockMax;
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (flg & 0x04) pos += 4; // content checksum
    if (pos > data.length) throw new Error('truncated LZ4 frame');
  }
  return { maxBytes, blocks };
}

export interface ZstdFrameScan {
  /** Content that raw and RLE blocks are sure to produce: a lower bound on the decompressed size. */
  minBytes: number;
  /** Upper bound: compressed blocks counted at their maximum (min(window, 128 KiB)). */
  maxBytes: number;
  /** The largest window any frame asks for; the decoder must hold this much history. */
  windowBytes: number;
}

/** Walks the zstd frames in `data` by their block headers; throws on a malformed frame sequence. */
export function scanZstdFrames(data: Buffer): ZstdFrameScan {
  let minBytes = 0;
  let maxBytes = 0;
  let windowBytes = 0;
  let pos = 0;
  while (pos < data.length) {
    const next = skipToFrame(data, pos, ZSTD_MAGIC, 'zstd');
    if (next !== pos) {
      pos = next;
      continue;
    }
    need(data, pos, 5, 'zstd frame header');
    const fhd = data[pos + 4]!;
    if (fhd & 0x08) throw new Error('zstd frame header has its reserved bit set');
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    const dictIdBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    pos += 5;
    let window = 0;
    if (!singleSegment) {
      need(data, pos, 1, 'zstd window descriptor');
      const wd = data[pos]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
      pos += 1;
    }
    pos += dictIdBytes;
    need(data, pos, fcsBytes, 'zstd frame content size');
    let contentSize = -1;
    if (fcsBytes === 1) contentSize = data[pos]!;
    else if (fcsBytes === 2) contentSize = data.readUInt16LE(pos) + 256;
    else if (fcsBytes === 4) contentSize = data.readUInt32LE(pos);
    else if (fcsBytes === 8) contentSize = data.readUInt32LE(pos) + data.readUInt32LE(pos + 4) * 2 ** 32;
    pos += fcsBytes;
    if (singleSegment) window = contentSize;
    windowBytes = Math.max(windowBytes, window);
    const blockMax = Math.min(window, ZSTD_BLOCK_MAX_BYTES);
    let frameMin = 0;
    let frameMax = 0;
    for (let last = false; !last;) {
      need(data, pos, 3, 'zstd block header');
      const header = data.readUIntLE(pos, 3);
      pos += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error('zstd block of reserved type');
      if (type !== 2 && size > blockMax) throw new Error(`zstd block of ${size} bytes exceeds ${blockMax}`);
      // Raw (0) and RLE (1) blocks regenerate exactly `size` bytes; compressed ones up to blockMax.
      if (type === 2) {
        frameMax += blockMax;
      } else {
        frameMin += size;
        frameMax += size;
      }
      pos += type === 1 ? 1 : size;
      need(data, pos, 0, 'zstd block');
    }
    if (fhd & 0x04) pos += 4; // content checksum
    if (pos > data.length) throw new Error('truncated zstd frame');
    // A declared content size is what the decoder allocates up front: it bounds the frame both ways.
    if (contentSize >= 0) {
      if (contentSize < frameMin) throw new Error('zstd frame declares less content than its blocks hold');
      frameMin = contentSize;
      frameMax = Math.min(frameMax, contentSize);
    }
    minBytes += frameMin;
    maxBytes += frameMax;
  }
  return { minBytes, maxBytes, windowBytes };
}

/**
 * At a frame of `magic`: returns `pos`. At a skippable frame (both formats share them): returns the
 * position after it. Anything else is not a frame sequence of this codec.
 */
function skipToFrame(data: Buffer, pos: number, magic: number, codec: string): number {
  need(data, pos, 4, `${codec} frame magic`);
  const found = data.readUInt32LE(pos);
  if (found === magic) return pos;
  if ((found & SKIPPABLE_MASK) >>> 0 !== SKIPPABLE_MAGIC) {
    throw new Error(`not a ${codec} frame (magic ${found.toString(16)})`);
  }
  need(data, pos, 8, 'skippable frame header');
  const end = pos + 8 + data.readUInt32LE(pos + 4);
  if (end > data.length) throw new Error('truncated skippable frame');
  return end;
}

function need(data: Buffer, pos: number, bytes: number, what: string): void {
  if (pos + bytes > data.length) throw new Error(`truncated ${what}`);
}
