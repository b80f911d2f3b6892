// SyncGroup (key 14), versions 0-5.
// - The leader's SyncGroup carries every member's assignment: stored in __consumer_offsets, then
//   handed to every member. A follower's SyncGroup waits for the leader's; in a Stable group it gets
//   its current assignment at once.
// - UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID (replaced static member),
//   REBALANCE_IN_PROGRESS (a new rebalance started), INCONSISTENT_GROUP_PROTOCOL (v5 names differ).
// v1: throttle. v3: group instance id. v4: flexible. v5: protocol type and name in request and response.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/generated/sync-group.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

export const syncGroupHandler = defineHandler<SyncGroupRequest, DeepPartial<SyncGroupResponse>>({
  apiKey: ApiKey.SyncGroup,
  versions: [0, 5],
  async handle(ctx, req) {
    const version = ctx.header.apiVersion;
    const r = await ctx.services.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: version >= 3 ? req.groupInstanceId : null,
      protocolType: version >= 5 ? req.protocolType : null,
      protocolName: version >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({
        memberId: a.memberId,
        assignment: Buffer.from(a.assignment),
      })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: r.assignment,
    };
  },
});
