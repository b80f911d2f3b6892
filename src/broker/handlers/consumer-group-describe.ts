// ConsumerGroupDescribe (key 69), version 0: KIP-848 groups with their epochs, assignor, and per
// member its epoch, subscription, current assignment and target assignment.
// - GROUP_ID_NOT_FOUND for an unknown group or a classic one (DescribeGroups describes those).
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
} from '../../protocol/generated/consumer-group-describe.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';
import { GROUP_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './describe-groups.js';

export const consumerGroupDescribeHandler = defineHandler<
  ConsumerGroupDescribeRequest,
  DeepPartial<ConsumerGroupDescribeResponse>
>({
  apiKey: ApiKey.ConsumerGroupDescribe,
  versions: [0, 0],
  handle(ctx, req) {
    const ops = req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((id) => ({
        ...ctx.services.groups.consumerGroupDescribe(id),
        authorizedOperations: ops,
      })),
    };
  },
});
