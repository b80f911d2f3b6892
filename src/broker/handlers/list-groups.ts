// ListGroups (key 16), versions 0-5.
// - Every group this coordinator knows except Dead ones, with its protocol type ("consumer" for
//   Kafka consumers, "" for groups that only store offsets).
// - StatesFilter (v4+) and TypesFilter (v5+) match case-insensitively; an empty filter matches all.
//   Every group here is a "classic" group.
// v1: throttle. v3: flexible. v4: states filter, group state. v5: types filter, group type.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../../protocol/generated/list-groups.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

export const listGroupsHandler = defineHandler<ListGroupsRequest, DeepPartial<ListGroupsResponse>>({
  apiKey: ApiKey.ListGroups,
  versions: [0, 5],
  handle(ctx, req) {
    const version = ctx.header.apiVersion;
    const r = ctx.services.groups.listGroups(
      version >= 4 ? req.statesFilter : [],
      version >= 5 ? req.typesFilter : [],
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: r.groups };
  },
});
