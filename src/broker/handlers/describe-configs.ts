// DescribeConfigs (key 32), versions 0-4.
// - Topic resources (type 2): every topic config key with its effective value. IncludeSynonyms lists, as
//   Kafka's ConfigHelper does, the topic override (DYNAMIC_TOPIC_CONFIG), then the broker synonyms that
//   are set: this broker's dynamic values (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic defaults
//   (DYNAMIC_DEFAULT_BROKER_CONFIG), server.properties (STATIC_BROKER_CONFIG), built-in defaults
//   (DEFAULT_CONFIG); ConfigSource is the first synonym's (config-synonyms.ts). A missing topic gets
//   UNKNOWN_TOPIC_OR_PARTITION.
// - Broker resources (type 4): the name must be our node id (every broker key, read-only unless
//   dynamic) or "" (as in Kafka: only the dynamically set cluster-wide defaults, without the
//   per-broker synonyms). Another id gets INVALID_REQUEST. Sensitive values are returned as null.
// - ConfigurationKeys null means all keys; named keys that do not exist are left out, as Kafka does.
// - Other resource types (broker loggers, groups, ...) get INVALID_REQUEST.
// v1: ConfigSource, synonyms (IncludeSynonyms) instead of IsDefault. v2: no changes.
// v3: ConfigType and documentation (IncludeDocumentation). v4: flexible.
import {
  describeBrokerConfig,
  type BrokerConfig,
  type BrokerConfigEntry,
} from '../../config/broker-config.js';
import { ConfigSource } from '../../config/config-def.js';
import { brokerSynonyms, type ConfigSynonym } from '../../config/config-synonyms.js';
import { describeTopicConfig } from '../../config/topic-config.js';
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
      if (!clusterDefault) return describeBrokerConfig(config).map((e) => brokerEntry(config, e, true));
      // The cluster-default resource lists only the keys set there, as Kafka does, without this
      // broker's own values.
      return describeBrokerConfig(config)
        .filter((e) => config.dynamicValues[e.name] !== undefined)
        .map((e) => {
          const entry = brokerEntry(config, e, false);
          return {
            ...entry,
            value: e.sensitive ? null : config.dynamicValues[e.name]!,
            source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
          };
        });
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

function brokerEntry(config: BrokerConfig, e: BrokerConfigEntry, perBroker: boolean): DescribedConfig {
  return {
    name: e.name,
    value: e.value,
    readOnly: e.readOnly,
    source: e.source,
    sensitive: e.sensitive,
    synonyms: brokerSynonyms(config, e.name, e.sensitive, perBroker),
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
