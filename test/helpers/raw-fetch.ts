// A tiny, independent Fetch v4 client that shows what the broker really stores and serves: the record batch
// headers (magic, compression codec, offsets, timestamps). Client libraries decompress silently, so this is how a
// test proves that a batch sent with, say, zstd is kept and served as zstd (Kafka never re-encodes batches).
// Written by hand on purpose: it must not share code with the broker it checks.
import { Socket } from 'node:net';

/** Compression codec names by the low 3 bits of a v2 batch's attributes. */
export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** One record batch header as served by Fetch. */
export interface BatchInfo {
  baseOffset: bigint;
  lastOffset: bigint;
  magic: number;
  /** 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd', or 'codec-N' for an unknown value. */
  codec: string;
  /** 0 = CreateTime, 1 = LogAppendTime. */
  timestampType: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  recordCount: number;
}

/** What one partition's Fetch v4 answer said. */
export interface FetchedPartition {
  errorCode: number;
  highWatermark: bigint;
  batches: BatchInfo[];
}

function encodeFetchV4(correlationId: number, topic: string, partition: number, offset: bigint): Buffer {
  const clientId = Buffer.from('brook-raw-fetch');
  const topicName = Buffer.from(topic);
  const body = Buffer.alloc(
    2 + 2 + 4 + 2 + clientId.length + (4 + 4 + 4 + 4 + 1) + 4 + 2 + topicName.length + 4 + (4 + 8 + 4),
  );
  let o = 0;
  o = body.writeInt16BE(1, o); // api key: Fetch
  o = body.writeInt16BE(4, o); // api version
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(-1, o); // replica_id
  o = body.writeInt32BE(100, o); // max_wait_ms
  o = body.writeInt32BE(0, o); // min_bytes: answer at once
  o = body.writeInt32BE(16 * 1024 * 1024, o); // max_bytes
  o = body.writeInt8(0, o); // isolation_level: read_uncommitted
  o = body.writeInt32BE(1, o); // [topics]
  o = body.writeInt16BE(topicName.length, o);
  o += topicName.copy(body, o);
  o = body.writeInt32BE(1, o); // [partitions]
  o = body.writeInt32BE(partition, o);
  o = body.writeBigInt64BE(offset, o);
  o = body.writeInt32BE(16 * 1024 * 1024, o); // partition_max_bytes
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(o);
  return Buffer.concat([frame, body.subarray(0, o)]);
}

function decodeFetchV4(buf: Buffer, topic: string, partition: number): FetchedPartition {
  let o = 4; // correlation id already checked
  o += 4; // throttle_time_ms
  const topicCount = buf.readInt32BE(o);
  o += 4;
  for (let t = 0; t < topicCount; t++) {
    const nameLen = buf.readInt16BE(o);
    o += 2;
    const name = buf.toString('utf8', o, o + nameLen);
    o += nameLen;
    const partCount = buf.readInt32BE(o);
    o += 4;
    for (let p = 0; p < partCount; p++) {
      const index = buf.readInt32BE(o);
      const errorCode = buf.readInt16BE(o + 4);
      const highWatermark = buf.readBigInt64BE(o + 6);
      o += 4 + 2 + 8 + 8; // partition, error, high watermark, last stable offset
      const aborted = buf.readInt32BE(o);
      o += 4 + Math.max(aborted, 0) * 16;
      const recordsLen = buf.readInt32BE(o);
      o += 4;
      const records = recordsLen < 0 ? Buffer.alloc(0) : buf.subarray(o, o + recordsLen);
      o += Math.max(recordsLen, 0);
      if (name === topic && index === partition)
        return { errorCode, highWatermark, batches: parseBatches(records) };
    }
  }
  throw new Error(`Fetch v4 response has no ${topic}-${partition}`);
}

/** Parses the batch headers of a v2 record set (a trailing partial batch is ignored, as clients do). */
export function parseBatches(records: Buffer): BatchInfo[] {
  const out: BatchInfo[] = [];
  let o = 0;
  while (o + 12 <= records.length) {
    const batchLength = records.readInt32BE(o + 8);
    if (o + 12 + batchLength > records.length) break;
    const magic = records.readInt8(o + 16);
    if (magic !== 2) throw new Error(`batch at byte ${o} has magic ${magic}, expected 2`);
    const attributes = records.readInt16BE(o + 21);
    const baseOffset = records.readBigInt64BE(o);
    out.push({
      baseOffset,
      lastOffset: baseOffset + BigInt(records.readInt32BE(o + 23)),
      magic,
      codec: CODECS[attributes & 7] ?? `codec-${attributes & 7}`,
      timestampType: (attributes >> 3) & 1,
      firstTimestamp: records.readBigInt64BE(o + 27),
      maxTimestamp: records.readBigInt64BE(o + 35),
      recordCount: records.readInt32BE(o + 57),
    });
    o += 12 + batchLength;
  }
  return out;
}

/** Sends one Fetch v4 for topic/partition from `offset` to a broker ('host:port') and returns the batch headers. */
export function fetchOnce(
  bootstrapServers: string,
  topic: string,
  partition: number,
  offset = 0n,
  timeoutMs = 10_000,
): Promise<FetchedPartition> {
  const [host, portText] = bootstrapServers.split(':');
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(
      () => fail(new Error(`raw Fetch v4 to ${bootstrapServers} timed out`)),
      timeoutMs,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('broker closed the connection before answering Fetch v4')));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got < 4) return;
      const all = Buffer.concat(chunks);
      const size = all.readInt32BE(0);
      if (all.length < 4 + size) return;
      clearTimeout(timer);
      sock.removeAllListeners('close');
      sock.destroy();
      const frame = all.subarray(4, 4 + size);
      if (frame.readInt32BE(0) !== 7) return reject(new Error('wrong correlation id in Fetch v4 response'));
      try {
        resolve(decodeFetchV4(frame, topic, partition));
      } catch (e) {
        reject(e as Error);
      }
    });
    sock.connect(Number(portText), host!, () => sock.write(encodeFetchV4(7, topic, partition, offset)));
  });
}

/** All batch headers of a partition from `offset` up to its high watermark (several Fetches if needed). */
export async function fetchAllBatches(
  bootstrapServers: string,
  topic: string,
  partition: number,
  offset = 0n,
): Promise<BatchInfo[]> {
  const all: BatchInfo[] = [];
  let next = offset;
  for (let i = 0; i < 1000; i++) {
    const r = await fetchOnce(bootstrapServers, topic, partition, next);
    if (r.errorCode !== 0)
      throw new Error(`Fetch v4 ${topic}-${partition}@${next}: error code ${r.errorCode}`);
    all.push(...r.batches);
    const last = r.batches[r.batches.length - 1];
    if (!last || last.lastOffset + 1n >= r.highWatermark) return all;
    next = last.lastOffset + 1n;
  }
  throw new Error('fetchAllBatches: too many rounds');
}
