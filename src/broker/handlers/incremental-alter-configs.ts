// IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339): changes named keys and leaves the rest.
// - Operations per key: SET (0), DELETE (1, back to the inherited value), APPEND (2) and
//   SUBTRACT (3) for list keys such as cleanup.policy. APPEND/SUBTRACT start from the key's
//   effective value when it is not set on the resource (Kafka starts from the key's static
//   default; the effective value is what the user sees in DescribeConfigs, so we use that).
// - Topic resources (type 2) and broker resources (type 4, our node id for this broker's own values
//   or "" for the cluster-wide defaults, dynamic keys only), applied and persisted as with AlterConfigs.
// - Errors per resource: INVALID_CONFIG (unknown key, bad value, read-only broker key, APPEND or
//   SUBTRACT on a non-list key), INVALID_REQUEST (unknown operation, SET without a value, a key
//   twice, the same resource twice), UNKNOWN_TOPIC_OR_PARTITION. validateOnly checks only.
// v1: flexible.
import { brokerConfigDef, type BrokerConfig } from '../../config/broker-config.js';
import { TOPIC_CONFIG_DEFS, describeTopicConfig } from '../../config/topic-config.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsRequestAlterConfigsResource,
  IncrementalAlterConfigsRequestAlterableConfig,
  IncrementalAlterConfigsResponse,
} from '../../protocol/generated/incremental-alter-configs.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import {
  AdminError,
  ResourceType,
  checkBrokerResource,
  alterEachResource,
  replaceTopicConfigs,
  topicOverrides,
} from '../config-admin.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';

export const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const TOPIC_LIST_KEYS = new Set(TOPIC_CONFIG_DEFS.filter((d) => d.type === 'list').map((d) => d.name));

export const incrementalAlterConfigsHandler = defineHandler<
  IncrementalAlterConfigsRequest,
  DeepPartial<IncrementalAlterConfigsResponse>
>({
  apiKey: ApiKey.IncrementalAlterConfigs,
  versions: [0, 1],
  async handle(ctx, req) {
    const responses = await alterEachResource(ctx.services, 'IncrementalAlterConfigs', req.resources, (r) =>
      alterResource(ctx.services, r, req.validateOnly),
    );
    return { throttleTimeMs: 0, responses };
  },
});

async function alterResource(
  services: BrokerServices,
  r: IncrementalAlterConfigsRequestAlterConfigsResource,
  validateOnly: boolean,
): Promise<void> {
  const names = new Set<string>();
  for (const c of r.configs) {
    if (names.has(c.name))
      throw new AdminError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`);
    names.add(c.name);
    if (c.configOperation < OpType.SET || c.configOperation > OpType.SUBTRACT) {
      throw new AdminError(
        ErrorCode.INVALID_REQUEST,
        `Unknown config operation ${c.configOperation} for ${c.name}.`,
      );
    }
    if (c.configOperation !== OpType.DELETE && c.value === null) {
      throw new AdminError(ErrorCode.INVALID_REQUEST, `Null value not supported for: ${c.name}`);
    }
  }
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const overrides = { ...topicOverrides(services, r.resourceName) };
      for (const c of r.configs) {
        if (c.configOperation === OpType.SET) overrides[c.name] = c.value!;
        else if (c.configOperation === OpType.DELETE) delete overrides[c.name];
        else {
          if (!TOPIC_LIST_KEYS.has(c.name)) throw notAList(c);
          const current =
            overrides[c.name] ?? effectiveTopicValue(services.brokerConfig(), overrides, c.name);
          overrides[c.name] = applyListOp(current, c);
        }
      }
      await replaceTopicConfigs(services, r.resourceName, overrides, validateOnly);
      return;
    }
    case ResourceType.BROKER: {
      const { clusterDefault } = checkBrokerResource(services, r.resourceName);
      const config = services.brokerConfig();
      const updates: Record<string, string | null> = {};
      for (const c of r.configs) {
        if (c.configOperation === OpType.SET) updates[c.name] = c.value;
        else if (c.configOperation === OpType.DELETE) updates[c.name] = null;
        else {
          const def = brokerConfigDef(c.name);
          if (def?.type !== 'list') throw notAList(c);
          const current =
            config.dynamicBrokerValues[c.name] ??
            config.dynamicValues[c.name] ??
            config.staticValues[c.name] ??
            def.default ??
            '';
          updates[c.name] = applyListOp(current, c);
        }
      }
      await services.reconfigure(updates, validateOnly, clusterDefault ? 'cluster-default' : 'broker');
      return;
    }
    default:
      throw new AdminError(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`);
  }
}

function effectiveTopicValue(broker: BrokerConfig, overrides: Record<string, string>, key: string): string {
  return describeTopicConfig(broker, overrides).find((e) => e.name === key)?.value ?? '';
}

/** APPEND adds the items not yet in the list; SUBTRACT removes the given items. */
function applyListOp(current: string, c: IncrementalAlterConfigsRequestAlterableConfig): string {
  const split = (s: string): string[] =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  const items = split(current);
  const given = split(c.value!);
  const result =
    c.configOperation === OpType.APPEND
      ? [...items, ...given.filter((g) => !items.includes(g))]
      : items.filter((i) => !given.includes(i));
  return result.join(',');
}

function notAList(c: IncrementalAlterConfigsRequestAlterableConfig): AdminError {
  const op = c.configOperation === OpType.APPEND ? 'append' : 'subtract';
  return new AdminError(
    ErrorCode.INVALID_CONFIG,
    `Config value ${op} is not allowed for config key: ${c.name}`,
  );
}
