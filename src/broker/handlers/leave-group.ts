// LeaveGroup (key 13), versions 0-5.
// - The member leaves at once (no session timeout to wait for) and the group rebalances.
// - v0-2 name one member; its error is the response's error. v3+ name a batch of members (by member
//   id and/or group instance id, KIP-345), each with its own error: UNKNOWN_MEMBER_ID, or
//   FENCED_INSTANCE_ID when the instance id belongs to another member id.
// v1: throttle. v3: members batch. v4: flexible. v5: reason.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/generated/leave-group.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

export const leaveGroupHandler = defineHandler<LeaveGroupRequest, DeepPartial<LeaveGroupResponse>>({
  apiKey: ApiKey.LeaveGroup,
  versions: [0, 5],
  handle(ctx, req) {
    const batched = ctx.header.apiVersion >= 3;
    const leaving = batched
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: req.memberId, groupInstanceId: null }];
    const r = ctx.services.groups.leaveGroup(req.groupId, leaving);
    if (batched) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
    const errorCode =
      r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
    return { throttleTimeMs: 0, errorCode };
  },
});
