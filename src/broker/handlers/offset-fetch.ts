// OffsetFetch (key 9), versions 0-9.
// - Committed offset, leader epoch and metadata per partition; a partition without a commit gets
//   offset -1, metadata "" and no error (as Kafka).
// - Topics null (v2+) = every partition the group committed.
// - RequireStable (v7+, KIP-447): a partition with offsets committed by a transaction that is not
//   decided yet answers UNSTABLE_OFFSET_COMMIT (the consumer retries); without it, the last
//   committed offset is answered.
// - v9 member id / epoch of a consumer-protocol group's member: UNKNOWN_MEMBER_ID or
//   STALE_MEMBER_EPOCH when they are not current (none sent = an admin fetch, always allowed).
// v1: offsets from __consumer_offsets. v2: null topics, top-level error. v3: throttle.
// v5: leader epoch. v6: flexible. v7: RequireStable. v8: batched groups. v9: member id / epoch
// (consumer-protocol groups only; classic groups ignore them).
import { ApiKey } from '../../protocol/generated/apis.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

type TopicsIn = { name: string; partitionIndexes: number[] }[] | null;
type Member = { memberId: string | null; memberEpoch: number };

export const offsetFetchHandler = defineHandler<OffsetFetchRequest, DeepPartial<OffsetFetchResponse>>({
  apiKey: ApiKey.OffsetFetch,
  versions: [0, 9],
  handle(ctx, req) {
    const { groups } = ctx.services;
    const version = ctx.header.apiVersion;
    const requireStable = version >= 7 && req.requireStable;
    const fetch = (groupId: string, topics: TopicsIn, member: Member | null = null) => {
      const r = groups.fetchOffsets(
        groupId,
        topics && topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })),
        member,
      );
      // Before v2 there is no group-level error: each requested partition carries it.
      const perPartition = version < 2 && r.errorCode !== ErrorCode.NONE;
      const out = perPartition
        ? (topics ?? []).map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((partition) => ({
              partition,
              offset: -1,
              leaderEpoch: -1,
              metadata: '',
              errorCode: r.errorCode,
            })),
          }))
        : r.topics;
      return {
        errorCode: r.errorCode,
        topics: out.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) =>
            requireStable && groups.txnOffsets.isPending(groupId, t.name, p.partition)
              ? {
                  partitionIndex: p.partition,
                  committedOffset: -1n,
                  committedLeaderEpoch: -1,
                  metadata: '',
                  errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
                }
              : {
                  partitionIndex: p.partition,
                  committedOffset: BigInt(p.offset),
                  committedLeaderEpoch: p.leaderEpoch,
                  metadata: p.metadata,
                  errorCode: p.errorCode,
                },
          ),
        })),
      };
    };
    if (version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => ({
          groupId: g.groupId,
          ...fetch(
            g.groupId,
            g.topics,
            version >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : null,
          ),
        })),
      };
    }
    const r = fetch(req.groupId, req.topics);
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});
