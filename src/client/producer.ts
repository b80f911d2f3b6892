// Producer: one send() call becomes one record batch per partition and one Produce request per
// leader (all leaders in parallel). Partitions: the message's own, else Java's default partitioner
// for keyed messages (murmur2), else round-robin. No idempotence or transactions: a retriable
// error (leader moved, not yet elected) refreshes metadata and resends, up to `retries` times.
import { CompressionType } from '../protocol/batch-header.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { encodeBatch, type RecordHeaderInput } from '../protocol/records.js';
import { Cluster, type ClientOptions } from './cluster.js';
import { KafkaClientError } from './errors.js';
import { partitionForKey } from './partitioner.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

const COMPRESSION: Record<CompressionName, CompressionType> = {
  none: CompressionType.None,
  gzip: CompressionType.Gzip,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.Lz4,
  zstd: CompressionType.Zstd,
};

export interface ProducerMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Header values may repeat a key, as in Kafka; an object is a shorthand for unique keys. */
  headers?: readonly RecordHeaderInput[] | Record<string, Buffer | string>;
  partition?: number;
  /** Milliseconds since the epoch (CreateTime); defaults to now. */
  timestamp?: number;
}

export interface SendRequest {
  topic: string;
  messages: readonly ProducerMessage[];
  /** 0 = no response, 1 = leader, -1 = all in-sync replicas (default). */
  acks?: 0 | 1 | -1;
  compression?: CompressionName;
  /** Produce TimeoutMs: how long the broker may wait for acks=-1 (default 30 s). */
  timeoutMs?: number;
}

/** Where one message went; `offset` is -1 with acks=0 (the broker does not say). */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export interface ProducerOptions extends ClientOptions {
  /** Resends after a retriable error (default 3). */
  retries?: number;
  retryBackoffMs?: number;
}

export class Producer {
  private readonly cluster: Cluster;
  private readonly roundRobin = new Map<string, number>();
  private readonly retries: number;
  private readonly retryBackoffMs: number;

  private constructor(opts: ProducerOptions) {
    this.cluster = new Cluster(opts);
    this.retries = opts.retries ?? 3;
    this.retryBackoffMs = opts.retryBackoffMs ?? 100;
  }

  static async connect(opts: ProducerOptions | string): Promise<Producer> {
    const p = new Producer(typeof opts === 'string' ? { bootstrap: opts } : opts);
    await p.cluster.connect();
    return p;
  }

  /** Sends the messages and resolves with each message's partition and offset, in input order. */
  async send(req: SendRequest): Promise<RecordMetadata[]> {
    const acks = req.acks ?? -1;
    const compression = COMPRESSION[req.compression ?? 'none'];
    if (compression === undefined) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `Unknown compression "${req.compression}".`,
      );
    }
    const md = await this.cluster.topic(req.topic);
    const count = md.partitions.length;
    const byPartition = new Map<number, number[]>();
    req.messages.forEach((m, i) => {
      const p = this.partitionFor(req.topic, m, count);
      if (!Number.isInteger(p) || p < 0 || p >= count) {
        throw new KafkaClientError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          'Produce',
          `${req.topic}-${p}`,
          `topic '${req.topic}' has ${count} partitions`,
        );
      }
      const list = byPartition.get(p) ?? [];
      list.push(i);
      byPartition.set(p, list);
    });

    const results: RecordMetadata[] = new Array(req.messages.length);
    const now = Date.now();
    const batches = new Map<number, Buffer>();
    for (const [partition, indexes] of byPartition) {
      const records = indexes.map((i) => {
        const m = req.messages[i]!;
        return {
          key: m.key ?? null,
          value: m.value,
          headers: toHeaders(m.headers),
          timestamp: m.timestamp ?? now,
        };
      });
      batches.set(partition, await encodeBatch({ records, compression }));
    }

    let pending = [...batches.keys()];
    for (let attempt = 0; ; attempt++) {
      const failed = await this.sendBatches(req, acks, pending, batches, byPartition, results);
      if (failed.length === 0) return results;
      const retriable = failed.every((f) => f.error.retriable);
      if (!retriable || attempt >= this.retries) throw failed[0]!.error;
      await new Promise((r) => setTimeout(r, this.retryBackoffMs * (attempt + 1)));
      await this.cluster.topic(req.topic, true);
      pending = failed.map((f) => f.partition);
    }
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }

  private partitionFor(topic: string, m: ProducerMessage, count: number): number {
    if (m.partition !== undefined) return m.partition;
    if (m.key !== undefined && m.key !== null) return partitionForKey(m.key, count);
    const next = this.roundRobin.get(topic) ?? Math.floor(Math.random() * count);
    this.roundRobin.set(topic, (next + 1) % count);
    return next % count;
  }

  /** Sends the given partitions' batches, one request per leader; returns the per-partition failures. */
  private async sendBatches(
    req: SendRequest,
    acks: number,
    partitions: number[],
    batches: Map<number, Buffer>,
    byPartition: Map<number, number[]>,
    results: RecordMetadata[],
  ): Promise<{ partition: number; error: KafkaClientError }[]> {
    const byLeader = new Map<number, number[]>();
    const failed: { partition: number; error: KafkaClientError }[] = [];
    for (const p of partitions) {
      try {
        const leader = await this.cluster.leaderOf(req.topic, p);
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      } catch (err) {
        failed.push({ partition: p, error: asPartitionError(err, req.topic, p) });
      }
    }
    const timeoutMs = req.timeoutMs ?? 30_000;
    await Promise.all(
      [...byLeader].map(async ([leader, parts]) => {
        try {
          const conn = await this.cluster.connectionTo(leader);
          const res = await conn.send(
            ApiKey.Produce,
            {
              transactionalId: null,
              acks,
              timeoutMs,
              topicData: [
                {
                  name: req.topic,
                  partitionData: parts.map((p) => ({ index: p, records: batches.get(p)! })),
                },
              ],
            },
            { minVersion: 3, extraTimeoutMs: timeoutMs, noResponse: acks === 0 },
          );
          const answered = new Map(
            (res?.responses.find((t) => t.name === req.topic)?.partitionResponses ?? []).map((r) => [
              r.index,
              r,
            ]),
          );
          for (const p of parts) {
            const r = answered.get(p);
            const base = acks === 0 ? -1 : r ? Number(r.baseOffset) : -1;
            if (acks !== 0 && (!r || r.errorCode !== ErrorCode.NONE)) {
              const code = (r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR) as ErrorCode;
              const error = new KafkaClientError(code, 'Produce', `${req.topic}-${p}`, r?.errorMessage);
              failed.push({ partition: p, error });
              continue;
            }
            byPartition.get(p)!.forEach((msgIndex, j) => {
              results[msgIndex] = { topic: req.topic, partition: p, offset: base < 0 ? -1 : base + j };
            });
          }
        } catch (err) {
          for (const p of parts) failed.push({ partition: p, error: asPartitionError(err, req.topic, p) });
        }
      }),
    );
    return failed;
  }
}

function asPartitionError(err: unknown, topic: string, partition: number): KafkaClientError {
  if (err instanceof KafkaError) {
    return new KafkaClientError(err.code, 'Produce', `${topic}-${partition}`, err.message, { cause: err });
  }
  throw err;
}

function toHeaders(h: ProducerMessage['headers']): RecordHeaderInput[] {
  if (!h) return [];
  if (Array.isArray(h)) return h as RecordHeaderInput[];
  return Object.entries(h as Record<string, Buffer | string>).map(([key, value]) => ({ key, value }));
}
