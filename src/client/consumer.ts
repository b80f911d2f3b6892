// A group-less consumer: the caller assigns partitions and starting offsets; the consumer long-polls
// each partition's leader with Fetch (one request per leader per round, leaders in parallel) and
// yields records in offset order per partition.
// - Fetch answers with whole stored batches: records before the fetch offset (the first batch may start
//   earlier) are skipped, control batches (transaction markers) are skipped, and the position moves to
//   the batch's last offset + 1 so that gaps left by compaction are crossed.
// - A response may end with a partial batch (cut at the byte limit); it is fetched again next round.
//   A partition that returned only a partial batch gets a larger byte limit next time.
// - OFFSET_OUT_OF_RANGE resets to 'earliest' or 'latest' (offsetReset), or throws with 'none'.
// - Leadership errors refresh metadata and retry on the next round.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import type { FetchResponse } from '../protocol/generated/fetch.js';
import { convertLegacyMessageSet, isLegacyMessageSet } from '../protocol/legacy-records.js';
import { decodeBatch, iterateBatches, readBatchInfo, type RecordHeader } from '../protocol/records.js';
import { ZERO_UUID } from '../protocol/wire.js';
import { Cluster, type ClientOptions } from './cluster.js';
import { KafkaClientError } from './errors.js';
import { listOffsets, tpKey, type OffsetSpec } from './offsets.js';

export interface PartitionAssignment {
  topic: string;
  partition: number;
  /** A start offset, or 'earliest' / 'latest' (log start / log end), or a timestamp via { timestamp }. */
  offset: number | 'earliest' | 'latest' | { timestamp: number };
}

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds; the broker's append time for LogAppendTime topics. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface ConsumerOptions extends ClientOptions {
  /** Fetch MaxWaitMs: how long the broker holds a fetch with no new data (default 500). */
  maxWaitMs?: number;
  minBytes?: number;
  /** Per response (default 50 MiB). */
  maxBytes?: number;
  /** Per partition (default 1 MiB); grows up to maxBytes for a batch that does not fit. */
  partitionMaxBytes?: number;
  /** Where to go when the position is outside the log (default 'latest', as Kafka's auto.offset.reset). */
  offsetReset?: 'earliest' | 'latest' | 'none';
}

interface PartitionState {
  topic: string;
  partition: number;
  position: number;
  maxBytes: number;
}

const RETRY_BACKOFF_MS = 100;

export class Consumer implements AsyncIterable<ConsumerRecord> {
  private readonly cluster: Cluster;
  private readonly opts: Required<Omit<ConsumerOptions, keyof ClientOptions>>;
  private readonly assigned = new Map<string, PartitionState>();
  private closed = false;

  private constructor(opts: ConsumerOptions) {
    this.cluster = new Cluster(opts);
    this.opts = {
      maxWaitMs: opts.maxWaitMs ?? 500,
      minBytes: opts.minBytes ?? 1,
      maxBytes: opts.maxBytes ?? 50 * 1024 * 1024,
      partitionMaxBytes: opts.partitionMaxBytes ?? 1024 * 1024,
      offsetReset: opts.offsetReset ?? 'latest',
    };
  }

  static async connect(opts: ConsumerOptions | string): Promise<Consumer> {
    const c = new Consumer(typeof opts === 'string' ? { bootstrap: opts } : opts);
    await c.cluster.connect();
    return c;
  }

  /** Replaces the assignment; symbolic offsets are resolved now (ListOffsets). */
  async assign(assignments: readonly PartitionAssignment[]): Promise<void> {
    const states: PartitionState[] = [];
    for (const a of assignments) {
      await this.cluster.leaderOf(a.topic, a.partition); // the partition must exist
      let position: number;
      if (typeof a.offset === 'number') position = a.offset;
      else {
        const spec: OffsetSpec = typeof a.offset === 'object' ? a.offset.timestamp : a.offset;
        position = (await listOffsets(this.cluster, [a], spec)).get(tpKey(a.topic, a.partition))!;
        if (position < 0)
          position = (await listOffsets(this.cluster, [a], 'latest')).get(tpKey(a.topic, a.partition))!;
      }
      states.push({
        topic: a.topic,
        partition: a.partition,
        position,
        maxBytes: this.opts.partitionMaxBytes,
      });
    }
    this.assigned.clear();
    for (const s of states) this.assigned.set(tpKey(s.topic, s.partition), s);
  }

  /** Partitions of a topic, for assigning all of them. */
  async partitionsOf(topic: string): Promise<number[]> {
    return (await this.cluster.topic(topic, true)).partitions.map((p) => p.partition);
  }

  /** The offset of the next record to be returned for the partition. */
  position(topic: string, partition: number): number | undefined {
    return this.assigned.get(tpKey(topic, partition))?.position;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One fetch round over every assigned partition; [] after MaxWaitMs without data, or once closed. */
  async poll(): Promise<ConsumerRecord[]> {
    if (this.closed) return [];
    const byLeader = new Map<number, PartitionState[]>();
    for (const s of this.assigned.values()) {
      let leader: number;
      try {
        leader = await this.cluster.leaderOf(s.topic, s.partition);
      } catch (err) {
        await this.onRetriable(err);
        continue;
      }
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), s]);
    }
    if (byLeader.size === 0) {
      await sleep(this.opts.maxWaitMs);
      return [];
    }
    const perLeader = await Promise.all(
      [...byLeader].map(([leader, states]) => this.fetchFrom(leader, states)),
    );
    return perLeader.flat();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    try {
      while (!this.closed) {
        let records: ConsumerRecord[];
        try {
          records = await this.poll();
        } catch (err) {
          if (this.closed) return;
          throw err;
        }
        for (const r of records) {
          if (this.closed) return;
          yield r;
        }
      }
    } finally {
      // `break` out of for-await lands here: the caller is done with this consumer.
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cluster.close();
  }

  private async fetchFrom(leader: number, states: PartitionState[]): Promise<ConsumerRecord[]> {
    const topics = new Map<string, PartitionState[]>();
    for (const s of states) topics.set(s.topic, [...(topics.get(s.topic) ?? []), s]);
    const ids = new Map<string, string>();
    for (const t of topics.keys()) ids.set(t, (await this.cluster.topic(t)).topicId);
    // Fetch v13+ names topics by id: only usable when the broker gave every topic one.
    const byId = [...ids.values()].every((id) => id !== ZERO_UUID);
    let res: FetchResponse;
    try {
      const conn = await this.cluster.connectionTo(leader);
      res = await conn.send(
        ApiKey.Fetch,
        {
          replicaId: -1,
          maxWaitMs: this.opts.maxWaitMs,
          minBytes: this.opts.minBytes,
          maxBytes: this.opts.maxBytes,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...topics].map(([topic, ss]) => ({
            topic,
            topicId: ids.get(topic)!,
            partitions: ss.map((s) => ({
              partition: s.partition,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(s.position),
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: s.maxBytes,
            })),
          })),
          forgottenTopicsData: [],
          rackId: '',
        },
        { minVersion: 4, maxVersion: byId ? undefined : 12, extraTimeoutMs: this.opts.maxWaitMs },
      );
    } catch (err) {
      if (this.closed) return [];
      await this.onRetriable(err);
      return [];
    }
    if (res.errorCode !== ErrorCode.NONE) {
      await this.onRetriable(
        new KafkaClientError(res.errorCode as ErrorCode, 'Fetch', `from broker ${leader}`),
      );
      return [];
    }
    const nameById = new Map([...ids].map(([name, id]) => [id, name]));
    const out: ConsumerRecord[] = [];
    for (const t of res.responses) {
      const topic = t.topic || nameById.get(t.topicId) || '';
      for (const p of t.partitions) {
        const s = this.assigned.get(tpKey(topic, p.partitionIndex));
        if (!s) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.resetOffset(s);
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          await this.onRetriable(
            new KafkaClientError(p.errorCode as ErrorCode, 'Fetch', `${topic}-${s.partition}`),
          );
          continue;
        }
        if (p.records && p.records.length > 0) await this.readRecords(s, p.records, out);
      }
    }
    return out;
  }

  private async readRecords(s: PartitionState, data: Buffer, out: ConsumerRecord[]): Promise<void> {
    const before = s.position;
    for (const { pos, size } of iterateBatches(data)) {
      let buf = data;
      let at = pos;
      if (isLegacyMessageSet(data, pos)) {
        buf = await convertLegacyMessageSet(data.subarray(pos, pos + size));
        at = 0;
      }
      const info = readBatchInfo(buf, at);
      if (info.lastOffset < s.position) continue;
      if (!info.isControl) {
        const { records } = await decodeBatch(buf, at);
        for (const r of records) {
          if (r.offset < s.position) continue;
          out.push({ topic: s.topic, partition: s.partition, ...r });
        }
      }
      s.position = info.lastOffset + 1;
    }
    if (s.position === before) {
      // Only a partial batch came back: it is bigger than this partition's byte limit.
      s.maxBytes = Math.min(s.maxBytes * 2, this.opts.maxBytes);
    } else {
      s.maxBytes = this.opts.partitionMaxBytes;
    }
  }

  private async resetOffset(s: PartitionState): Promise<void> {
    const policy = this.opts.offsetReset;
    if (policy === 'none') {
      throw new KafkaClientError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        'Fetch',
        `${s.topic}-${s.partition}`,
        `offset ${s.position} is outside the log`,
      );
    }
    s.position = (await listOffsets(this.cluster, [s], policy)).get(tpKey(s.topic, s.partition))!;
  }

  /** Retriable errors refresh metadata and back off; anything else is the caller's to see. */
  private async onRetriable(err: unknown): Promise<void> {
    if (!(err instanceof KafkaError) || !err.retriable) throw err;
    await sleep(RETRY_BACKOFF_MS);
    try {
      await this.cluster.refreshMetadata([...new Set([...this.assigned.values()].map((s) => s.topic))]);
    } catch (e) {
      if (!(e instanceof KafkaError) || !e.retriable) throw e;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
