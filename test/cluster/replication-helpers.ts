// Raw protocol helpers for the replication tests: produce with explicit acks and read a log's bytes.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { decodeBatchSync, encodeBatchSync, iterateBatches } from '../../src/protocol/records.js';
import type { Broker } from '../../src/index.js';

export async function connect(broker: Broker): Promise<Connection> {
  return Connection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 60_000 });
}

export interface ProduceAnswer {
  errorCode: number;
  baseOffset: number;
}

/** One Produce of `values` as one batch to one partition. */
export async function produce(
  conn: Connection,
  topic: string,
  partition: number,
  values: string[],
  acks: 0 | 1 | -1,
  timeoutMs = 30_000,
  producer?: { producerId: bigint; producerEpoch: number; baseSequence: number },
): Promise<ProduceAnswer> {
  const batch = encodeBatchSync({
    records: values.map((v) => ({ key: null, value: Buffer.from(v), headers: [], timestamp: Date.now() })),
    ...(producer ?? {}),
  });
  const resp = await conn.send(
    ApiKey.Produce,
    {
      acks,
      timeoutMs,
      transactionalId: null,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    },
    { minVersion: 3, extraTimeoutMs: timeoutMs },
  );
  const p = resp.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

/** Fetch as a consumer from offset 0: the partition's error, high watermark and record bytes. */
export async function consumerFetch(
  conn: Connection,
  topic: string,
  partition: number,
  offset = 0,
  currentLeaderEpoch = -1,
  rackId = '',
  maxVersion = 12,
): Promise<{ errorCode: number; highWatermark: number; records: Buffer; preferredReadReplica: number }> {
  const resp = await conn.send(
    ApiKey.Fetch,
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 10_000_000,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            { partition, fetchOffset: BigInt(offset), partitionMaxBytes: 10_000_000, currentLeaderEpoch },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId,
    },
    { maxVersion },
  );
  const p = resp.responses[0]!.partitions[0]!;
  return {
    preferredReadReplica: p.preferredReadReplica,
    errorCode: p.errorCode,
    highWatermark: Number(p.highWatermark),
    records: p.records ?? Buffer.alloc(0),
  };
}

/** The concatenated bytes of a partition directory's segment files. */
export async function segmentBytes(dataDir: string, topic: string, partition: number): Promise<Buffer> {
  const dir = join(dataDir, `${topic}-${partition}`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
  return Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
}

/** Every record value of a partition from offset 0 to its high watermark, read as a consumer (Fetch v10). */
export async function readValues(conn: Connection, topic: string, partition = 0): Promise<string[]> {
  const out: string[] = [];
  let offset = 0;
  for (;;) {
    const p = await consumerFetch(conn, topic, partition, offset, -1, '', 10);
    assert.equal(p.errorCode, 0, `fetch error ${p.errorCode}`);
    let next = offset;
    for (const { pos } of iterateBatches(p.records)) {
      for (const r of decodeBatchSync(p.records, pos).records) {
        if (r.offset < offset) continue;
        out.push(r.value!.toString());
        next = r.offset + 1;
      }
    }
    if (next === offset) return out;
    offset = next;
  }
}
