// AlterConfigs (key 33), versions 0-2. The legacy, non-incremental form: each resource's config
// list replaces the whole set of values altered before (keys left out revert), as in Kafka.
// - Topic resources (type 2): the list becomes the topic's overrides, applied to its partition
//   logs at once and kept across restarts. UNKNOWN_TOPIC_OR_PARTITION for a missing topic.
// - Broker resources (type 4): our node id sets this broker's own values (DYNAMIC_BROKER_CONFIG), ""
//   the cluster-wide defaults (DYNAMIC_DEFAULT_BROKER_CONFIG), which the broker's own win over. Dynamic
//   keys only (log.retention.ms, log.segment.bytes, message.max.bytes, ...), applied to every log's
//   defaults at runtime and persisted. A read-only key such as num.partitions gets INVALID_CONFIG.
// - INVALID_CONFIG carries a message naming the key and what is allowed; nothing of a failed
//   resource is applied. The same resource twice gets INVALID_REQUEST. validateOnly checks only.
// v1: no changes. v2: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  AlterConfigsRequest,
  AlterConfigsRequestAlterConfigsResource,
  AlterConfigsResponse,
} from '../../protocol/generated/alter-configs.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import {
  AdminError,
  ResourceType,
  checkBrokerResource,
  alterEachResource,
  replaceTopicConfigs,
} from '../config-admin.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';

export const alterConfigsHandler = defineHandler<AlterConfigsRequest, DeepPartial<AlterConfigsResponse>>({
  apiKey: ApiKey.AlterConfigs,
  versions: [0, 2],
  async handle(ctx, req) {
    const responses = await alterEachResource(ctx.services, 'AlterConfigs', req.resources, (r) =>
      alterResource(ctx.services, r, req.validateOnly),
    );
    return { throttleTimeMs: 0, responses };
  },
});

async function alterResource(
  services: BrokerServices,
  r: AlterConfigsRequestAlterConfigsResource,
  validateOnly: boolean,
): Promise<void> {
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const overrides: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) overrides[c.name] = c.value;
      await replaceTopicConfigs(services, r.resourceName, overrides, validateOnly);
      return;
    }
    case ResourceType.BROKER: {
      const { clusterDefault } = checkBrokerResource(services, r.resourceName);
      const config = services.brokerConfig();
      const current = clusterDefault ? config.dynamicValues : config.dynamicBrokerValues;
      const updates: Record<string, string | null> = {};
      for (const key of Object.keys(current)) updates[key] = null;
      for (const c of r.configs) updates[c.name] = c.value;
      await services.reconfigure(updates, validateOnly, clusterDefault ? 'cluster-default' : 'broker');
      return;
    }
    default:
      throw new AdminError(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`);
  }
}
