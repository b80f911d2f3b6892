// OffsetDelete (key 47), version 0.
// - Deletes committed offsets of a group (tombstones in __consumer_offsets). Allowed for an Empty
//   group, and for a consumer group's partitions of topics none of its members subscribes to;
//   those partitions get GROUP_SUBSCRIBED_TO_TOPIC.
// - GROUP_ID_NOT_FOUND for an unknown group; NON_EMPTY_GROUP for a non-consumer group with members;
//   UNKNOWN_TOPIC_OR_PARTITION per partition that does not exist.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/generated/offset-delete.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

export const offsetDeleteHandler = defineHandler<OffsetDeleteRequest, DeepPartial<OffsetDeleteResponse>>({
  apiKey: ApiKey.OffsetDelete,
  versions: [0, 0],
  async handle(ctx, req) {
    const r = await ctx.services.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return {
      errorCode: r.errorCode,
      throttleTimeMs: 0,
      topics: r.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })),
      })),
    };
  },
});
