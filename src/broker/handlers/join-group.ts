// JoinGroup (key 11), versions 0-9.
// - Classic group membership (src/group/group-coordinator.ts): the answer comes when the rebalance
//   completes; the leader gets every member's metadata for the chosen protocol.
// - INVALID_SESSION_TIMEOUT outside group.min/max.session.timeout.ms; INCONSISTENT_GROUP_PROTOCOL when
//   the protocol type differs or no protocol is supported by every member; GROUP_MAX_SIZE_REACHED.
// v1: rebalance timeout (v0 uses the session timeout). v2: throttle. v4: a new member gets
// MEMBER_ID_REQUIRED with its id and must join again with it (KIP-394). v5: group instance id
// (static membership). v6: flexible. v7: protocol type in the response, nullable protocol name.
// v8: reason. v9: skipAssignment for a static leader rejoining a Stable group (KIP-814).
import { ApiKey } from '../../protocol/generated/apis.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../../protocol/generated/join-group.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

export const joinGroupHandler = defineHandler<JoinGroupRequest, DeepPartial<JoinGroupResponse>>({
  apiKey: ApiKey.JoinGroup,
  versions: [0, 9],
  async handle(ctx, req) {
    const version = ctx.header.apiVersion;
    const r = await ctx.services.groups.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: version >= 5 ? req.groupInstanceId : null,
      requireKnownMemberId: version >= 4,
      supportSkipAssignment: version >= 9,
      clientId: ctx.header.clientId ?? '',
      clientHost: `/${ctx.connection.remoteAddress}`,
      rebalanceTimeoutMs: version >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Before v7 the protocol name is not nullable.
      protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members,
    };
  },
});
