// ListOffsets for many partitions at once: one request per leader, in parallel.
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import type { Cluster } from './cluster.js';
import { KafkaClientError, check } from './errors.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** 'earliest' = log start offset, 'latest' = log end offset (high watermark), or a timestamp in ms. */
export type OffsetSpec = 'earliest' | 'latest' | number;

const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The offset of each partition at `spec`, keyed by tpKey(); -1 when no record is at or after a timestamp. */
export async function listOffsets(
  cluster: Cluster,
  partitions: readonly TopicPartition[],
  spec: OffsetSpec,
): Promise<Map<string, number>> {
  const timestamp =
    spec === 'latest' ? LATEST_TIMESTAMP : spec === 'earliest' ? EARLIEST_TIMESTAMP : BigInt(spec);
  const byLeader = new Map<number, TopicPartition[]>();
  for (const tp of partitions) {
    const leader = await cluster.leaderOf(tp.topic, tp.partition);
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), tp]);
  }
  const out = new Map<string, number>();
  await Promise.all(
    [...byLeader].map(async ([leader, tps]) => {
      const byTopic = new Map<string, number[]>();
      for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      const conn = await cluster.connectionTo(leader);
      const res = await conn.send(
        ApiKey.ListOffsets,
        {
          replicaId: -1,
          isolationLevel: 0,
          topics: [...byTopic].map(([name, ps]) => ({
            name,
            partitions: ps.map((p) => ({
              partitionIndex: p,
              currentLeaderEpoch: -1,
              timestamp,
              maxNumOffsets: 1,
            })),
          })),
        },
        { minVersion: 1 },
      );
      for (const t of res.topics) {
        for (const p of t.partitions) {
          check(p.errorCode, 'ListOffsets', `${t.name}-${p.partitionIndex}`);
          out.set(tpKey(t.name, p.partitionIndex), Number(p.offset));
        }
      }
    }),
  );
  for (const tp of partitions) {
    if (!out.has(tpKey(tp.topic, tp.partition))) {
      throw new KafkaClientError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        'ListOffsets',
        `${tp.topic}-${tp.partition}`,
        'missing from the response',
      );
    }
  }
  return out;
}
