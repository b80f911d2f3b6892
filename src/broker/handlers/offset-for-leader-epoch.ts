// OffsetForLeaderEpoch (key 23), versions 0-4 (KIP-101/KIP-320): the end offset of a leader epoch,
// so a consumer (librdkafka 2.x, after a metadata epoch change) can detect log truncation.
// - A single node has one leader epoch (0), stamped into every batch; in a cluster each leader
//   stamps its own epoch and records where it started. Asking for the current epoch answers the
//   log end offset; an older epoch the log saw answers where the next one started (the
//   leader epoch cache); an epoch newer than ours, or -1, answers epoch -1 / offset -1, as in Kafka.
// - Errors per partition: UNKNOWN_TOPIC_OR_PARTITION; FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH
//   when CurrentLeaderEpoch (v2+) is older / newer than ours (-1 skips the check).
// - Only the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere): followers ask it before fetching,
//   to truncate records the leader does not have (KIP-279).
// v1: LeaderEpoch in the response. v2: CurrentLeaderEpoch, throttle. v3: ReplicaId. v4: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
  OffsetForLeaderEpochResponseEpochEndOffset,
} from '../../protocol/generated/offset-for-leader-epoch.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

export const offsetForLeaderEpochHandler = defineHandler<
  OffsetForLeaderEpochRequest,
  DeepPartial<OffsetForLeaderEpochResponse>
>({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  versions: [0, 4],
  handle(ctx, req) {
    const { replicas } = ctx.services;
    const topics = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p): DeepPartial<OffsetForLeaderEpochResponseEpochEndOffset> => {
        const fail = (errorCode: number) => ({
          partition: p.partition,
          errorCode,
          leaderEpoch: -1,
          endOffset: -1n,
        });
        const log = replicas.getLog(t.topic, p.partition);
        if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const leaderError = replicas.leaderError(t.topic, p.partition, p.currentLeaderEpoch);
        if (leaderError !== ErrorCode.NONE) return fail(leaderError);
        const current = replicas.leaderEpochOf(t.topic, p.partition);
        let answer = log.endOffsetForEpoch(p.leaderEpoch);
        // Our epoch is current even before the log stored a batch in it (an empty log has no
        // cache entry yet); Kafka's leader records its epoch when elected, so it answers the LEO.
        if (answer.endOffset < 0 && p.leaderEpoch === current && log.latestEpoch <= current) {
          answer = { leaderEpoch: current, endOffset: log.logEndOffset };
        }
        return {
          partition: p.partition,
          errorCode: ErrorCode.NONE,
          leaderEpoch: answer.leaderEpoch,
          endOffset: BigInt(answer.endOffset),
        };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
