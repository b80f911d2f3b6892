// OffsetCommit (key 8), versions 0-9.
// - Stored in __consumer_offsets (src/group/group-offsets.ts) and answered once durable.
// - Per partition: UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes);
//   for the whole request: ILLEGAL_GENERATION (stale generation), UNKNOWN_MEMBER_ID,
//   FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS (before the member got its assignment).
// - Generation -1 with member "" is a standalone consumer's commit: allowed while the group has no members.
// v1: generation, member id, commit timestamp. v2-4: retention time. v3: throttle. v6: leader epoch.
// v7: group instance id. v8: flexible. v9: generation or member epoch (classic groups: generation).
import { ApiKey } from '../../protocol/generated/apis.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/generated/offset-commit.js';
import type { DeepPartial } from '../../protocol/schema.js';
import type { CommitEntry } from '../../group/group-offsets.js';
import { defineHandler } from '../handler.js';

export const offsetCommitHandler = defineHandler<OffsetCommitRequest, DeepPartial<OffsetCommitResponse>>({
  apiKey: ApiKey.OffsetCommit,
  versions: [0, 9],
  async handle(ctx, req) {
    const version = ctx.header.apiVersion;
    const offsets: CommitEntry[] = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: Number(p.committedOffset),
        leaderEpoch: version >= 6 ? p.committedLeaderEpoch : -1,
        metadata: p.committedMetadata,
        commitTimestampMs: version === 1 ? Number(p.commitTimestamp) : -1,
      })),
    );
    const errors = await ctx.services.groups.commitOffsets({
      groupId: req.groupId,
      generationId: version >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: version >= 1 ? req.memberId : '',
      groupInstanceId: version >= 7 ? req.groupInstanceId : null,
      retentionTimeMs: version >= 2 && version <= 4 ? Number(req.retentionTimeMs) : -1,
      offsets,
    });
    let i = 0;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors[i++]! })),
      })),
    };
  },
});
