// Heartbeat (key 12), versions 0-4.
// - Renews the member's session. REBALANCE_IN_PROGRESS while the group rebalances (the member
//   must JoinGroup again), ILLEGAL_GENERATION for an old generation, UNKNOWN_MEMBER_ID for a member
//   the group does not know (expired, or the group is Empty), FENCED_INSTANCE_ID for a static
//   member whose instance id now belongs to a newer member.
// v1: throttle. v3: group instance id. v4: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../../protocol/generated/heartbeat.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

export const heartbeatHandler = defineHandler<HeartbeatRequest, DeepPartial<HeartbeatResponse>>({
  apiKey: ApiKey.Heartbeat,
  versions: [0, 4],
  handle(ctx, req) {
    const groupInstanceId = ctx.header.apiVersion >= 3 ? req.groupInstanceId : null;
    const errorCode = ctx.services.groups.heartbeat(
      req.groupId,
      req.memberId,
      groupInstanceId,
      req.generationId,
    );
    return { throttleTimeMs: 0, errorCode };
  },
});
