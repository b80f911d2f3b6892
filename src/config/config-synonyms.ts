// DescribeConfigs synonyms, as Kafka's ConfigHelper builds them: for a key and its broker synonym chain
// (log.retention.ms, .minutes, .hours), every value that is set, grouped by where it comes from in
// precedence order — per-broker dynamic (DYNAMIC_BROKER_CONFIG), cluster-wide dynamic
// (DYNAMIC_DEFAULT_BROKER_CONFIG), server.properties (STATIC_BROKER_CONFIG), built-in default
// (DEFAULT_CONFIG) — then, as Kafka does, everything before the first entry for the key itself dropped.
// A topic key puts its own override (DYNAMIC_TOPIC_CONFIG) in front. The entry's ConfigSource is the
// first synonym's, or DEFAULT_CONFIG when there is none.
import { BROKER_CONFIG_DEFS } from './broker-config-keys.js';
import type { BrokerConfig } from './broker-config.js';
import { ConfigSource } from './config-def.js';

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: ConfigSource;
}

/** Kafka's DynamicBrokerConfig.brokerConfigSynonyms: the keys that set one broker value, most specific first. */
const CHAINS: readonly (readonly string[])[] = [
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  ['log.roll.ms', 'log.roll.hours'],
  ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
  // log.flush.scheduler.interval.ms is the default of log.flush.interval.ms, not the other way round.
  ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
];

/** The synonym chain Kafka walks for broker key `name`. */
export function brokerSynonymChain(name: string): readonly string[] {
  if (name === 'log.flush.scheduler.interval.ms') return [name];
  return CHAINS.find((c) => c.includes(name)) ?? [name];
}

const DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(
  BROKER_CONFIG_DEFS.filter((d) => d.default !== null).map((d) => [d.name, d.default!]),
);

/**
 * The broker-level synonyms of `name` (a broker key), in Kafka's order. `perBroker` false leaves out
 * per-broker dynamic values, as Kafka does when describing the cluster-default resource ("").
 */
export function brokerSynonyms(
  config: BrokerConfig,
  name: string,
  sensitive: boolean,
  perBroker = true,
): ConfigSynonym[] {
  const chain = brokerSynonymChain(name);
  const layers: [Readonly<Record<string, string>>, ConfigSource][] = [
    [perBroker ? config.dynamicBrokerValues : {}, ConfigSource.DYNAMIC_BROKER_CONFIG],
    [config.dynamicValues, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    [config.staticValues, ConfigSource.STATIC_BROKER_CONFIG],
    [DEFAULTS, ConfigSource.DEFAULT_CONFIG],
  ];
  const all: ConfigSynonym[] = [];
  for (const [values, source] of layers) {
    for (const key of chain) {
      const value = values[key];
      if (value !== undefined) all.push({ name: key, value: sensitive ? null : value, source });
    }
  }
  // Kafka's dropWhile(s => s.name != name): a value set only through a longer-unit synonym (retention
  // minutes or hours) is not listed for the millisecond key.
  const first = all.findIndex((s) => s.name === name);
  return first < 0 ? [] : all.slice(first);
}
