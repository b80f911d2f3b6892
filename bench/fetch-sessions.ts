// Fetch sessions (KIP-227) on and off: one raw-protocol consumer over many partitions of one topic.
//   node --import tsx bench/fetch-sessions.ts [--partitions 100] [--messages 200000] [--size 100]
//     [--max-bytes 65536] [--partition-max-bytes 16384]   (small limits: many fetches, as a consumer keeping up)
// Prints, for SessionEpoch -1 (every fetch full, as librdkafka and kafka-python fetch) and for an
// incremental session (as the Java client and franz-go fetch): the bytes of one idle poll (consumer caught
// up), and the time, fetch count and bytes on the wire to consume every message. The broker runs in this
// process; the figures are for comparing the two modes on one machine, not absolute throughput.
import { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Broker, Producer, Admin } from '../src/index.js';
import { decodeResponse, encodeRequest } from '../src/protocol/frames.js';
import { ApiKey } from '../src/protocol/generated/apis.js';
import type { FetchResponse } from '../src/protocol/generated/fetch.js';

const { values: flags } = parseArgs({
  options: {
    partitions: { type: 'string', default: '100' },
    messages: { type: 'string', default: '200000' },
    size: { type: 'string', default: '100' },
    'max-bytes': { type: 'string', default: '65536' },
    'partition-max-bytes': { type: 'string', default: '16384' },
  },
});
const PARTITIONS = Number(flags.partitions);
const MESSAGES = Number(flags.messages);
const SIZE = Number(flags.size);
const MAX_BYTES = Number(flags['max-bytes']);
const PARTITION_MAX_BYTES = Number(flags['partition-max-bytes']);
const VERSION = 12;

/** One connection, one request at a time; counts bytes both ways. */
class RawConnection {
  sent = 0;
  received = 0;
  private buf = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  private correlationId = 0;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      if (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const size = this.buf.readInt32BE(0);
        const frame = this.buf.subarray(4, 4 + size);
        this.buf = this.buf.subarray(4 + size);
        this.received += 4 + size;
        const w = this.waiting;
        this.waiting = null;
        w?.(frame);
      }
    });
  }

  static connect(address: string): Promise<RawConnection> {
    const i = address.lastIndexOf(':');
    const socket = new Socket();
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(Number(address.slice(i + 1)), address.slice(0, i), () =>
        resolve(new RawConnection(socket)),
      );
    });
  }

  async fetch(body: object): Promise<FetchResponse> {
    const id = ++this.correlationId;
    const req = encodeRequest(
      { apiKey: ApiKey.Fetch, apiVersion: VERSION, correlationId: id, clientId: 'bench' },
      body,
    );
    const size = Buffer.alloc(4);
    size.writeInt32BE(req.length);
    const frame = await new Promise<Buffer>((resolve) => {
      this.waiting = resolve;
      this.socket.write(Buffer.concat([size, req]));
      this.sent += 4 + req.length;
    });
    return decodeResponse<FetchResponse>(ApiKey.Fetch, VERSION, frame).body;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A consumer of every partition from offset 0; incremental=true keeps a fetch session. */
async function consume(address: string, topic: string, incremental: boolean, total: number) {
  const conn = await RawConnection.connect(address);
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const changed = new Set<number>(offsets.keys());
  let sessionId = 0;
  let epoch = incremental ? 0 : -1;
  let consumed = 0;
  let fetches = 0;
  const started = process.hrtime.bigint();
  const poll = async (minBytes: number) => {
    const names = incremental && epoch > 0 ? [...changed] : [...offsets.keys()];
    changed.clear();
    const res = await conn.fetch({
      replicaId: -1,
      maxWaitMs: 100,
      minBytes,
      maxBytes: MAX_BYTES,
      isolationLevel: 0,
      sessionId,
      sessionEpoch: epoch,
      topics: [
        {
          topic,
          partitions: names.map((p) => ({
            partition: p,
            currentLeaderEpoch: -1,
            fetchOffset: BigInt(offsets[p]!),
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: PARTITION_MAX_BYTES,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    fetches++;
    if (res.errorCode !== 0) throw new Error(`fetch error ${res.errorCode}`);
    if (incremental) {
      sessionId = res.sessionId;
      epoch = sessionId === 0 ? 0 : epoch === 0 ? 1 : epoch + 1;
    }
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const records = p.records;
        if (!records || records.length === 0) continue;
        // Count records and advance past the last whole batch (batch header: base offset, length, ..., count).
        let o = 0;
        while (o + 61 <= records.length) {
          const base = Number(records.readBigInt64BE(o));
          const len = records.readInt32BE(o + 8);
          if (o + 12 + len > records.length) break;
          const last = base + records.readInt32BE(o + 23);
          if (last >= offsets[p.partitionIndex]!) {
            consumed += last + 1 - Math.max(base, offsets[p.partitionIndex]!);
            offsets[p.partitionIndex] = last + 1;
            changed.add(p.partitionIndex);
          }
          o += 12 + len;
        }
      }
    }
  };
  while (consumed < total) await poll(1);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const consumeBytes = { sent: conn.sent, received: conn.received, fetches };
  // Caught up: ten idle polls (MinBytes 0), bytes per poll.
  const before = { sent: conn.sent, received: conn.received };
  for (let i = 0; i < 10; i++) await poll(0);
  const idle = { sent: (conn.sent - before.sent) / 10, received: (conn.received - before.received) / 10 };
  conn.close();
  return { seconds, fetches, consumeBytes, idle, sessionId };
}

const dataDir = mkdtempSync(join(tmpdir(), 'brook-bench-sessions-'));
const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir });
try {
  const topic = 'sessions-bench';
  const admin = await Admin.connect(broker.bootstrapServers);
  await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
  await admin.close();
  const producer = await Producer.connect(broker.bootstrapServers);
  const value = Buffer.alloc(SIZE, 'x');
  const perBatch = 100;
  for (let sent = 0; sent < MESSAGES; sent += perBatch * PARTITIONS) {
    const messages = [];
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < perBatch && sent + p * perBatch + i < MESSAGES; i++)
        messages.push({ value, partition: p });
    }
    await producer.send({ topic, messages, acks: 1 });
  }
  await producer.close();
  process.stdout.write(`${PARTITIONS} partitions, ${MESSAGES} x ${SIZE} B, Fetch v${VERSION}\n`);
  for (const incremental of [false, true, false, true]) {
    const r = await consume(broker.bootstrapServers, topic, incremental, MESSAGES);
    process.stdout.write(
      `${incremental ? 'session    ' : 'sessionless'}  consume ${r.seconds.toFixed(2)} s ` +
        `(${Math.round(MESSAGES / r.seconds)} msg/s, ${r.consumeBytes.fetches} fetches, requests ${r.consumeBytes.sent} B, ` +
        `responses ${r.consumeBytes.received} B)  idle poll: request ${r.idle.sent} B, response ${r.idle.received} B` +
        `${incremental ? ` (session ${r.sessionId})` : ''}\n`,
    );
  }
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
