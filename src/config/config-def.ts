// The shape of one configuration key and how its text value is parsed and validated, shared by the broker
// and topic tables. Values are kept as Kafka's text form (what server.properties and AlterConfigs carry and
// DescribeConfigs returns) and parsed into typed values once, when a config is resolved.
import { ConfigError } from './config-error.js';

export type ConfigType = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list' | 'enum' | 'password';

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** Default in text form; null means unset (another key or the code supplies the value). */
  readonly default: string | null;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of an enum, or allowed items of a list. */
  readonly values?: readonly string[];
  /** Alterable at runtime with AlterConfigs / IncrementalAlterConfigs (cluster-wide default). */
  readonly dynamic?: boolean;
  readonly sensitive?: boolean;
  /** Kafka's default, when Brook's differs; `note` says why. */
  readonly kafkaDefault?: string | null;
  readonly note?: string;
  /** Accepted so a stock Kafka server.properties loads, but Brook has no use for it. */
  readonly ignored?: boolean;
  /** Kafka's own validator beyond type and range: the reason a parsed value is refused, or null. */
  readonly check?: (value: ConfigValue) => string | null;
}

/** Kafka's DescribeConfigs ConfigSource. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

/** Kafka's DescribeConfigs (v3+) ConfigType. */
export const DescribeConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;

export function describeConfigType(type: ConfigType): number {
  switch (type) {
    case 'int':
      return DescribeConfigType.INT;
    case 'long':
      return DescribeConfigType.LONG;
    case 'double':
      return DescribeConfigType.DOUBLE;
    case 'boolean':
      return DescribeConfigType.BOOLEAN;
    case 'list':
      return DescribeConfigType.LIST;
    case 'password':
      return DescribeConfigType.PASSWORD;
    default:
      return DescribeConfigType.STRING;
  }
}

export type ConfigValue = number | boolean | string | string[];

export const INT_MAX = 2147483647;
export const INT_MIN = -2147483648;
export const LONG_MAX_TEXT = '9223372036854775807';
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;

/**
 * Parses and validates `raw` (already trimmed by the caller or not) for `def`. Longs become JS numbers,
 * clamped to Number.MAX_SAFE_INTEGER: every long key is a size or a duration, where 2^53 means "never".
 */
export function parseConfigValue(def: ConfigDef, raw: string): ConfigValue {
  const value = parseTyped(def, raw);
  const reason = def.check?.(value) ?? null;
  if (reason !== null) throw invalid(def, raw, reason);
  return value;
}

function parseTyped(def: ConfigDef, raw: string): ConfigValue {
  const text = def.type === 'password' ? raw : raw.trim();
  switch (def.type) {
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === 'false') return lower === 'true';
      throw invalid(def, raw, 'must be true or false');
    }
    case 'int':
    case 'long': {
      if (!/^[-+]?\d+$/.test(text)) throw invalid(def, raw, `must be ${rangeText(def)}`);
      const big = BigInt(text);
      const [lo, hi] = def.type === 'int' ? [BigInt(INT_MIN), BigInt(INT_MAX)] : [LONG_MIN, LONG_MAX];
      if (big < lo || big > hi) throw invalid(def, raw, `must be ${rangeText(def)}`);
      const value =
        big > BigInt(Number.MAX_SAFE_INTEGER)
          ? Number.MAX_SAFE_INTEGER
          : big < BigInt(Number.MIN_SAFE_INTEGER)
            ? Number.MIN_SAFE_INTEGER
            : Number(big);
      checkRange(def, raw, value);
      return value;
    }
    case 'double': {
      const value = text === '' ? NaN : Number(text);
      if (!Number.isFinite(value)) throw invalid(def, raw, `must be ${rangeText(def)}`);
      checkRange(def, raw, value);
      return value;
    }
    case 'enum': {
      const match = def.values?.find((v) => v.toLowerCase() === text.toLowerCase());
      if (match === undefined) throw invalid(def, raw, `must be one of ${def.values?.join(', ')}`);
      return match;
    }
    case 'list': {
      const items = text === '' ? [] : text.split(',').map((s) => s.trim());
      if (items.some((s) => s === ''))
        throw invalid(def, raw, 'must be a comma-separated list without empty items');
      if (def.values) {
        const allowed = def.values;
        const normalized = items.map((item) => allowed.find((v) => v.toLowerCase() === item.toLowerCase()));
        if (normalized.some((v) => v === undefined)) {
          throw invalid(def, raw, `must be a comma-separated list of ${allowed.join(', ')}`);
        }
        return normalized as string[];
      }
      return items;
    }
    case 'string':
    case 'password':
      return text;
  }
}

function checkRange(def: ConfigDef, raw: string, value: number): void {
  if ((def.min !== undefined && value < def.min) || (def.max !== undefined && value > def.max)) {
    throw invalid(def, raw, `must be ${rangeText(def)}`);
  }
}

function rangeText(def: ConfigDef): string {
  const kind = def.type === 'int' ? 'an integer' : def.type === 'long' ? 'a long integer' : 'a number';
  const min = def.min;
  const max = def.max ?? (def.type === 'int' ? INT_MAX : def.type === 'long' ? LONG_MAX_TEXT : undefined);
  if (min !== undefined && max !== undefined) return `${kind} between ${min} and ${max}`;
  if (min !== undefined) return `${kind} of at least ${min}`;
  if (max !== undefined) return `${kind} of at most ${max}`;
  return kind;
}

function invalid(def: ConfigDef, raw: string, allowed: string): ConfigError {
  const shown = def.sensitive || def.type === 'password' ? '[hidden]' : JSON.stringify(raw);
  return new ConfigError(`Invalid value ${shown} for configuration ${def.name}: ${allowed}.`, def.name, raw);
}

/** The text form of a typed value, as DescribeConfigs reports it. */
export function formatConfigValue(value: ConfigValue): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
