// DescribeConfigs (key 32), versions 0-4.
// - Topic resources (type 2): every topic config key with its effective value; ConfigSource is
//   DYNAMIC_TOPIC_CONFIG for the topic's overrides, STATIC_BROKER_CONFIG / DYNAMIC_DEFAULT_BROKER_CONFIG
//   when inherited from a broker key that was set, DEFAULT_CONFIG otherwise. A missing topic gets
//   UNKNOWN_TOPIC_OR_PARTITION.
// - Broker resources (type 4): the name must be our node id (every broker key, read-only unless
//   dynamic) or "" (as in Kafka: only the dynamically set cluster-wide defaults). Another id gets
//   INVALID_REQUEST. Sensitive values are returned as null.
// - ConfigurationKeys null means all keys; named keys that do not exist are left out, as Kafka does.
// - Other resource types (broker loggers, groups, ...) get INVALID_REQUEST.
// v1: ConfigSource, synonyms (IncludeSynonyms) instead of IsDefault. v2: no changes.
// v3: ConfigType and documentation (IncludeDocumentation). v4: flexible.
import {
  brokerConfigDef,
  describeBrokerConfig,
  type BrokerConfig,
  type BrokerConfigEntry,
} from '../../config/broker-config.js';
import { ConfigSource } from '../../config/config-def.js';
import { describeTopicConfig, type ConfigSynonym } from '../../config/topic-config.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  DescribeConfigsRequest,
  DescribeConfigsRequestDescribeConfigsResource,
  DescribeConfigsResponse,
  DescribeConfigsResponseDescribeConfigsResourceResult,
  DescribeConfigsResponseDescribeConfigsResult,
} from '../../protocol/generated/describe-configs.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import {
  AdminError,
  ResourceType,
  adminErrorOf,
  checkBrokerResource,
  topicOverrides,
} from '../config-admin.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';

type Entry = DeepPartial<DescribeConfigsResponseDescribeConfigsResourceResult>;

/** One entry of DescribeConfigs (and of CreateTopics v5+), before the request's filters apply. */
export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  source: number;
  sensitive: boolean;
  synonyms: ConfigSynonym[];
  configType: number;
  documentation: string;
}

export const describeConfigsHandler = defineHandler<
  DescribeConfigsRequest,
  DeepPartial<DescribeConfigsResponse>
>({
  apiKey: ApiKey.DescribeConfigs,
  versions: [0, 4],
  handle(ctx, req) {
    const version = ctx.header.apiVersion;
    const results = req.resources.map((r): DeepPartial<DescribeConfigsResponseDescribeConfigsResult> => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      try {
        const wanted = r.configurationKeys === null ? null : new Set(r.configurationKeys);
        const configs = describeResource(ctx.services, r)
          .filter((c) => wanted === null || wanted.has(c.name))
          .map((c): Entry => toEntry(c, version, req.includeSynonyms, req.includeDocumentation));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
      } catch (err) {
        const { code, message } = adminErrorOf(ctx.services, err, 'DescribeConfigs');
        return { ...base, errorCode: code, errorMessage: message, configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
});

function describeResource(
  services: BrokerServices,
  r: DescribeConfigsRequestDescribeConfigsResource,
): DescribedConfig[] {
  switch (r.resourceType) {
    case ResourceType.TOPIC:
      return describeTopic(services, topicOverrides(services, r.resourceName));
    case ResourceType.BROKER: {
      const { clusterDefault } = checkBrokerResource(services, r.resourceName);
      const config = services.brokerConfig();
      const entries = describeBrokerConfig(config).map((e) => brokerEntry(config, e));
      return clusterDefault
        ? entries.filter((e) => e.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
        : entries;
    }
    default:
      throw new AdminError(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`);
  }
}

/** Every topic key for a topic with these overrides (also used by CreateTopics v5+). */
export function describeTopic(
  services: BrokerServices,
  overrides: Readonly<Record<string, string>>,
): DescribedConfig[] {
  return describeTopicConfig(services.brokerConfig(), overrides).map((e) => ({
    name: e.name,
    value: e.sensitive ? null : e.value,
    readOnly: e.readOnly,
    source: e.source,
    sensitive: e.sensitive,
    synonyms: e.synonyms,
    configType: e.configType,
    documentation: e.documentation,
  }));
}

function brokerEntry(config: BrokerConfig, e: BrokerConfigEntry): DescribedConfig {
  // As Kafka lists them, most specific first: the dynamic value, the static one, the default.
  const synonyms: ConfigSynonym[] = [];
  const dynamic = config.dynamicValues[e.name];
  const stat = config.staticValues[e.name];
  const dflt = brokerConfigDef(e.name)?.default ?? null;
  if (dynamic !== undefined)
    synonyms.push({ name: e.name, value: dynamic, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  if (stat !== undefined)
    synonyms.push({ name: e.name, value: stat, source: ConfigSource.STATIC_BROKER_CONFIG });
  if (dflt !== null) synonyms.push({ name: e.name, value: dflt, source: ConfigSource.DEFAULT_CONFIG });
  return {
    name: e.name,
    value: e.value,
    readOnly: e.readOnly,
    source: e.source,
    sensitive: e.sensitive,
    synonyms,
    configType: e.configType,
    documentation: e.documentation,
  };
}

function toEntry(c: DescribedConfig, version: number, includeSynonyms: boolean, includeDocs: boolean): Entry {
  return {
    name: c.name,
    value: c.value,
    readOnly: c.readOnly,
    // v0 has IsDefault instead of ConfigSource.
    isDefault: version === 0 ? c.source === ConfigSource.DEFAULT_CONFIG : false,
    configSource: c.source,
    isSensitive: c.sensitive,
    synonyms: includeSynonyms
      ? c.synonyms.map((s) => ({ name: s.name, value: c.sensitive ? null : s.value, source: s.source }))
      : [],
    configType: c.configType,
    documentation: includeDocs ? c.documentation : null,
  };
}
