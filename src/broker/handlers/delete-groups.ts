// DeleteGroups (key 42), versions 0-2.
// - Deletes Empty groups: their committed offsets and membership are tombstoned in
//   __consumer_offsets. GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP while it has members.
// v1: no changes. v2: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

export const deleteGroupsHandler = defineHandler<DeleteGroupsRequest, DeepPartial<DeleteGroupsResponse>>({
  apiKey: ApiKey.DeleteGroups,
  versions: [0, 2],
  async handle(ctx, req) {
    return { throttleTimeMs: 0, results: await ctx.services.groups.deleteGroups(req.groupsNames) };
  },
});
