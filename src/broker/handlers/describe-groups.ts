// DescribeGroups (key 15), versions 0-5.
// - State, protocol type and chosen protocol, and every member with its client id and host. Member
//   metadata and assignments only for a Stable group (as Kafka).
// - An unknown group is described as Dead with no error (Kafka's answer for these versions).
// v1: throttle. v3: authorized operations (all group operations: this broker has no ACLs).
// v4: group instance id. v5: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from '../../protocol/generated/describe-groups.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';

/** Kafka's "not requested" value for authorized operations. */
export const OPERATIONS_NOT_REQUESTED = -2147483648;
/** READ (3), DESCRIBE (8) and DELETE (6) as AclOperation bits: what a group supports. */
export const GROUP_OPERATIONS = (1 << 3) | (1 << 8) | (1 << 6);

export const describeGroupsHandler = defineHandler<
  DescribeGroupsRequest,
  DeepPartial<DescribeGroupsResponse>
>({
  apiKey: ApiKey.DescribeGroups,
  versions: [0, 5],
  handle(ctx, req) {
    const ops =
      ctx.header.apiVersion >= 3 && req.includeAuthorizedOperations
        ? GROUP_OPERATIONS
        : OPERATIONS_NOT_REQUESTED;
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((id) => ({
        ...ctx.services.groups.describeGroup(id),
        authorizedOperations: ops,
      })),
    };
  },
});
