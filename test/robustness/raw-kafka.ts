// A small hand-written Kafka wire client for the robustness tests: request framing, a few request encoders
// (ApiVersions v0/v3, Metadata v1, Produce v7/v8, Fetch v4), record batch build/parse with its own CRC-32C, and a
// raw socket that reads size-prefixed response frames. Written independently of src/ on purpose: it must not
// share code (or bugs) with the broker it checks.
import { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------- CRC-32C

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as used by v2 record batches. */
export function crc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = CRC32C_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------- writing

/** Appends big-endian fields to a growing list of chunks. */
export class Out {
  private chunks: Buffer[] = [];
  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.raw(b);
  }
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.raw(b);
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.raw(b);
  }
  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.raw(b);
  }
  int64(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return this.raw(b);
  }
  /** INT16-length string; null → -1. */
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }
  /** INT32-length bytes; null → -1. */
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    return this.int32(b.length).raw(b);
  }
  uvarint(v: number): this {
    const out: number[] = [];
    let n = v >>> 0;
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return this.raw(Buffer.from(out));
  }
  /** Zig-zag varint (also used for varlong: values here stay well inside 2^31). */
  varint(v: number): this {
    let z = (BigInt(v) << 1n) ^ (BigInt(v) < 0n ? -1n : 0n);
    const out: number[] = [];
    while (z > 0x7fn) {
      out.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    out.push(Number(z));
    return this.raw(Buffer.from(out));
  }
  /** Compact (uvarint length+1) string; null → 0. */
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }
  /** Empty tagged-field section. */
  tags(): this {
    return this.uvarint(0);
  }
  raw(b: Buffer): this {
    this.chunks.push(b);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// ---------------------------------------------------------------------------------------------- framing

/**
 * A complete request frame: INT32 size, then request header v1 (api key, version, correlation id, client id) —
 * or v2 (the same plus an empty tag buffer) when `flexible` — then the body.
 */
export function frame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: Buffer,
  flexible = false,
  clientId = 'brook-robustness',
): Buffer {
  const header = new Out().int16(apiKey).int16(apiVersion).int32(correlationId).string(clientId);
  if (flexible) header.tags();
  const payload = Buffer.concat([header.build(), body]);
  return new Out().int32(payload.length).raw(payload).build();
}

export const API_PRODUCE = 0;
export const API_FETCH = 1;
export const API_METADATA = 3;
export const API_API_VERSIONS = 18;

export function apiVersionsV0(correlationId: number): Buffer {
  return frame(API_API_VERSIONS, 0, correlationId, Buffer.alloc(0));
}

/** ApiVersions at `version` with a v3-shaped flexible body (client software name/version). */
export function apiVersionsFlexible(correlationId: number, version = 3): Buffer {
  const body = new Out().compactString('brook-robustness').compactString('1.0').tags().build();
  return frame(API_API_VERSIONS, version, correlationId, body, true);
}

/** Metadata v1: topics null = all topics. */
export function metadataV1(correlationId: number, topics: string[] | null): Buffer {
  const body = new Out();
  if (topics === null) body.int32(-1);
  else {
    body.int32(topics.length);
    for (const t of topics) body.string(t);
  }
  return frame(API_METADATA, 1, correlationId, body.build());
}

/** Metadata at an arbitrary version with a v1-shaped body (for "unsupported version" probes). */
export function metadataAtVersion(correlationId: number, version: number): Buffer {
  return frame(API_METADATA, version, correlationId, new Out().int32(-1).build());
}

/** Produce v7 of one record set to one partition. */
export function produceV7(
  correlationId: number,
  topic: string,
  partition: number,
  records: Buffer,
  acks = -1,
  timeoutMs = 10_000,
): Buffer {
  const body = new Out()
    .string(null) // transactional_id
    .int16(acks)
    .int32(timeoutMs)
    .int32(1)
    .string(topic)
    .int32(1)
    .int32(partition)
    .bytes(records)
    .build();
  return frame(API_PRODUCE, 7, correlationId, body);
}

/** Produce v8 (same request body as v7; its response adds KIP-467 record errors and an error message). */
export function produceV8(...args: Parameters<typeof produceV7>): Buffer {
  const request = produceV7(...args);
  request.writeInt16BE(8, 6); // INT32 size, INT16 api key, then INT16 api version
  return request;
}

/** Fetch v4 of one partition from `offset`. */
export function fetchV4(
  correlationId: number,
  topic: string,
  partition: number,
  offset: bigint,
  maxBytes = 4 * 1024 * 1024,
  maxWaitMs = 100,
): Buffer {
  const body = new Out()
    .int32(-1) // replica_id
    .int32(maxWaitMs)
    .int32(0) // min_bytes
    .int32(maxBytes)
    .int8(0) // read_uncommitted
    .int32(1)
    .string(topic)
    .int32(1)
    .int32(partition)
    .int64(offset)
    .int32(maxBytes)
    .build();
  return frame(API_FETCH, 4, correlationId, body);
}

// ---------------------------------------------------------------------------------------------- record batches

export interface RecordIn {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Array<[string, Buffer | null]>;
}

/** A v2 record batch (uncompressed, non-transactional, no producer id) with a correct CRC-32C. */
export function recordBatch(records: RecordIn[], baseTimestamp = Date.now()): Buffer {
  const recs = records.map((r, i) => {
    const body = new Out().int8(0).varint(0).varint(i);
    if (r.key === null) body.varint(-1);
    else body.varint(r.key.length).raw(r.key);
    if (r.value === null) body.varint(-1);
    else body.varint(r.value.length).raw(r.value);
    const headers = r.headers ?? [];
    body.varint(headers.length);
    for (const [hk, hv] of headers) {
      const kb = Buffer.from(hk, 'utf8');
      body.varint(kb.length).raw(kb);
      if (hv === null) body.varint(-1);
      else body.varint(hv.length).raw(hv);
    }
    const b = body.build();
    return new Out().varint(b.length).raw(b).build();
  });
  const afterCrc = new Out()
    .int16(0) // attributes
    .int32(records.length - 1) // lastOffsetDelta
    .int64(baseTimestamp)
    .int64(baseTimestamp) // maxTimestamp (all deltas are 0)
    .int64(-1) // producerId
    .int16(-1) // producerEpoch
    .int32(-1) // baseSequence
    .int32(records.length)
    .raw(Buffer.concat(recs))
    .build();
  const afterLength = new Out()
    .int32(0) // partitionLeaderEpoch
    .int8(2) // magic
    .uint32(crc32c(afterCrc))
    .raw(afterCrc)
    .build();
  return new Out().int64(0).int32(afterLength.length).raw(afterLength).build();
}

export interface RecordOut {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer | null]>;
}

class In {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}
  int8(): number {
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('varint runs past the end');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
    return (result >> 1n) ^ -(result & 1n);
  }
  varint(): number {
    return Number(this.varlong());
  }
  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error(`need ${n} bytes at ${this.pos}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/**
 * Parses every complete v2 batch of a record set into records (gzip or none; other codecs throw), checking each
 * batch's CRC-32C. A trailing partial batch is ignored, as clients do.
 */
export function parseRecords(records: Buffer): RecordOut[] {
  const out: RecordOut[] = [];
  let o = 0;
  while (o + 12 <= records.length) {
    const batchLength = records.readInt32BE(o + 8);
    if (o + 12 + batchLength > records.length) break;
    const batch = records.subarray(o, o + 12 + batchLength);
    o += 12 + batchLength;
    const magic = batch.readInt8(16);
    if (magic !== 2) throw new Error(`batch magic ${magic}, expected 2`);
    const crc = batch.readUInt32BE(17);
    if (crc32c(batch.subarray(21)) !== crc) throw new Error('served batch has a bad CRC-32C');
    const baseOffset = batch.readBigInt64BE(0);
    const attributes = batch.readInt16BE(21);
    if (attributes & 0x20) continue; // control batch (transaction markers)
    const baseTimestamp = batch.readBigInt64BE(27);
    const count = batch.readInt32BE(57);
    let body = batch.subarray(61);
    const codec = attributes & 7;
    if (codec === 1) body = gunzipSync(body);
    else if (codec !== 0) throw new Error(`parseRecords: codec ${codec} not supported by this test reader`);
    const r = new In(body);
    for (let i = 0; i < count; i++) {
      const len = r.varint();
      const end = r.pos + len;
      r.int8(); // attributes
      const tsDelta = r.varlong();
      const offsetDelta = r.varint();
      const keyLen = r.varint();
      const key = keyLen < 0 ? null : Buffer.from(r.take(keyLen));
      const valueLen = r.varint();
      const value = valueLen < 0 ? null : Buffer.from(r.take(valueLen));
      const hc = r.varint();
      const headers: Array<[string, Buffer | null]> = [];
      for (let h = 0; h < hc; h++) {
        const hk = r.take(r.varint()).toString('utf8');
        const hvLen = r.varint();
        headers.push([hk, hvLen < 0 ? null : Buffer.from(r.take(hvLen))]);
      }
      if (r.pos !== end) throw new Error(`record length mismatch (${r.pos} != ${end})`);
      out.push({
        offset: baseOffset + BigInt(offsetDelta),
        timestamp: baseTimestamp + tsDelta,
        key,
        value,
        headers,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- responses

export interface ApiVersionsV0Response {
  errorCode: number;
  apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
}

/** Body of an ApiVersions v0 response (after the 4-byte correlation id). */
export function decodeApiVersionsV0(body: Buffer): ApiVersionsV0Response {
  const r = new In(body);
  const errorCode = r.int16();
  const n = r.int32();
  const apiKeys: ApiVersionsV0Response['apiKeys'] = [];
  for (let i = 0; i < n; i++)
    apiKeys.push({ apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() });
  return { errorCode, apiKeys };
}

export interface ProducePartitionResponse {
  topic: string;
  partition: number;
  errorCode: number;
  baseOffset: bigint;
}

export interface ProduceV8PartitionResponse extends ProducePartitionResponse {
  recordErrors: Array<{ batchIndex: number; message: string | null }>;
  errorMessage: string | null;
}

/** Body of a Produce v7 response. */
export function decodeProduceV7(body: Buffer): ProducePartitionResponse[] {
  return decodeProduce(body, 7);
}

/** Body of a Produce v8 response: v7's fields, then each partition's record errors and error message. */
export function decodeProduceV8(body: Buffer): ProduceV8PartitionResponse[] {
  return decodeProduce(body, 8) as ProduceV8PartitionResponse[];
}

function decodeProduce(body: Buffer, version: 7 | 8): ProducePartitionResponse[] {
  const r = new In(body);
  const out: ProducePartitionResponse[] = [];
  const nt = r.int32();
  for (let t = 0; t < nt; t++) {
    const topic = r.string() ?? '';
    const np = r.int32();
    for (let p = 0; p < np; p++) {
      const partition = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      r.int64(); // log_append_time_ms
      r.int64(); // log_start_offset
      if (version < 8) {
        out.push({ topic, partition, errorCode, baseOffset });
        continue;
      }
      const recordErrors: ProduceV8PartitionResponse['recordErrors'] = [];
      const ne = r.int32();
      for (let e = 0; e < ne; e++) recordErrors.push({ batchIndex: r.int32(), message: r.string() });
      const v8: ProduceV8PartitionResponse = {
        topic,
        partition,
        errorCode,
        baseOffset,
        recordErrors,
        errorMessage: r.string(),
      };
      out.push(v8);
    }
  }
  return out;
}

export interface FetchPartitionResponse {
  errorCode: number;
  highWatermark: bigint;
  records: Buffer;
}

/** Body of a Fetch v4 response, for one topic-partition. */
export function decodeFetchV4(body: Buffer, topic: string, partition: number): FetchPartitionResponse {
  const r = new In(body);
  r.int32(); // throttle
  const nt = r.int32();
  for (let t = 0; t < nt; t++) {
    const name = r.string();
    const np = r.int32();
    for (let p = 0; p < np; p++) {
      const index = r.int32();
      const errorCode = r.int16();
      const highWatermark = r.int64();
      r.int64(); // last stable offset
      const aborted = r.int32();
      for (let a = 0; a < aborted; a++) r.take(16);
      const records = r.bytes() ?? Buffer.alloc(0);
      if (name === topic && index === partition) return { errorCode, highWatermark, records };
    }
  }
  throw new Error(`Fetch v4 response has no ${topic}-${partition}`);
}

// ---------------------------------------------------------------------------------------------- connection

export interface ResponseFrame {
  correlationId: number;
  /** Everything after the correlation id (response header v0). */
  body: Buffer;
}

/**
 * Splits a byte stream into INT32-size-prefixed frames. Chunks are kept as they arrive and each byte is
 * copied at most once, into its frame: a large response arriving in many socket chunks costs time linear in
 * its size (concatenating the whole buffer on every chunk was quadratic).
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private held = 0;

  /** Adds a chunk; returns the frames it completes (without their size prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.held += chunk.length;
    const out: Buffer[] = [];
    while (this.held >= 4) {
      const size = this.take(4, false).readInt32BE(0);
      if (size < 0) throw new Error(`frame size ${size}`);
      if (this.held < 4 + size) break;
      this.take(4, true);
      out.push(this.take(size, true));
    }
    return out;
  }

  /** The next n held bytes (n <= held): a view when one chunk holds them, else one copy. */
  private take(n: number, consume: boolean): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let bytes: Buffer;
    let whole = 0; // chunks used up entirely
    if (first.length >= n) {
      bytes = first.subarray(0, n);
      if (consume && first.length === n) whole = 1;
      else if (consume) this.chunks[0] = first.subarray(n);
    } else {
      bytes = Buffer.allocUnsafe(n);
      let filled = 0;
      for (let i = 0; filled < n; i++) {
        const c = this.chunks[i]!;
        const used = Math.min(c.length, n - filled);
        c.copy(bytes, filled, 0, used);
        filled += used;
        if (used === c.length) whole = i + 1;
        else if (consume) this.chunks[i] = c.subarray(used);
      }
    }
    if (consume) {
      // One splice per frame: shifting chunk by chunk would be quadratic in the chunk count.
      if (whole > 0) this.chunks.splice(0, whole);
      this.held -= n;
    }
    return bytes;
  }
}

/** A raw TCP connection that splits the broker's byte stream into size-prefixed response frames. */
export class RawConnection {
  readonly socket: Socket;
  private readonly splitter = new FrameSplitter();
  private frames: ResponseFrame[] = [];
  private waiters = new Set<() => void>();
  closed = false;
  error: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      let frames: Buffer[];
      try {
        frames = this.splitter.push(d);
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      for (const f of frames) this.frames.push({ correlationId: f.readInt32BE(0), body: f.subarray(4) });
      this.notify();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static connect(bootstrapServers: string, timeoutMs = 5_000): Promise<RawConnection> {
    const [host, port] = bootstrapServers.split(':');
    return new Promise((resolve, reject) => {
      const s = new Socket();
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${bootstrapServers} timed out`));
      }, timeoutMs);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.connect(Number(port), host!, () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        s.setNoDelay(true);
        resolve(new RawConnection(s));
      });
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  write(b: Buffer): void {
    if (!this.closed) this.socket.write(b);
  }

  /** Waits until cond() holds (re-checked on every data/close event); false on timeout. */
  private waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(true);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The response with this correlation id (earlier frames are discarded); undefined on close or timeout. */
  async response(correlationId: number, timeoutMs = 10_000): Promise<ResponseFrame | undefined> {
    let found: ResponseFrame | undefined;
    await this.waitFor(() => {
      while (this.frames.length > 0) {
        const f = this.frames.shift()!;
        if (f.correlationId === correlationId) {
          found = f;
          return true;
        }
      }
      return this.closed;
    }, timeoutMs);
    return found;
  }

  /** Sends a frame and waits for its response; throws if the connection closes or nothing comes. */
  async request(b: Buffer, correlationId: number, timeoutMs = 10_000): Promise<Buffer> {
    this.write(b);
    const f = await this.response(correlationId, timeoutMs);
    if (!f)
      throw new Error(this.closed ? 'broker closed the connection' : `no response within ${timeoutMs} ms`);
    return f.body;
  }

  /** True if the broker closes the connection within timeoutMs. */
  waitClosed(timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.closed, timeoutMs);
  }

  /** Frames received and not yet consumed by response(). */
  pending(): ResponseFrame[] {
    return this.frames;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Reads a whole partition (Fetch v4 from offset 0 up to the high watermark) and parses its records. */
export async function readPartition(
  bootstrapServers: string,
  topic: string,
  partition: number,
): Promise<RecordOut[]> {
  const conn = await RawConnection.connect(bootstrapServers);
  try {
    const out: RecordOut[] = [];
    let next = 0n;
    for (let round = 0; round < 100_000; round++) {
      const corr = 1000 + round;
      const body = await conn.request(fetchV4(corr, topic, partition, next), corr);
      const r = decodeFetchV4(body, topic, partition);
      if (r.errorCode !== 0)
        throw new Error(`Fetch v4 ${topic}-${partition}@${next}: error code ${r.errorCode}`);
      const recs = parseRecords(r.records).filter((x) => x.offset >= next);
      out.push(...recs);
      if (recs.length > 0) next = recs[recs.length - 1]!.offset + 1n;
      if (next >= r.highWatermark) return out;
      if (recs.length === 0) throw new Error(`Fetch v4 ${topic}-${partition}@${next}: no progress below HWM`);
    }
    throw new Error('readPartition: too many rounds');
  } finally {
    conn.destroy();
  }
}
