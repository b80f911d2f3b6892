// Kafka's value validators beyond type and range, shared by the broker and topic tables (ConfigDef.check).
import type { ConfigValue } from './config-def.js';

// Kafka 3.x MetadataVersion names: 0.8.0 ... 0.11.0 (three parts), then 1.0 ... 3.9, each maybe "-IVn".
const OLD_FORMATS = new Set(['0.8.0', '0.8.1', '0.8.2', '0.9.0', '0.10.0', '0.10.1', '0.10.2', '0.11.0']);
const LAST_MINOR: Readonly<Record<string, number>> = { '1': 1, '2': 8, '3': 9 };

/** message.format.version: a version Kafka's MetadataVersion knows ("0.10.2", "2.8", "3.0-IV1", "2.8.1"). */
export function checkMessageFormatVersion(value: ConfigValue): string | null {
  const text = String(value).replace(/-IV\d+$/, '');
  const parts = text.split('.');
  if (parts.every((p) => /^\d+$/.test(p))) {
    if (parts[0] === '0' && parts.length >= 3 && OLD_FORMATS.has(parts.slice(0, 3).join('.'))) return null;
    const last = LAST_MINOR[parts[0]!];
    if (last !== undefined && parts.length >= 2 && Number(parts[1]) <= last) return null;
  }
  return 'must be a Kafka version such as 0.10.2, 2.8 or 3.0-IV1';
}

/** compression.gzip.level: -1 (zlib's default) or 1 to 9, as Kafka's GzipCompression validator. */
export function checkGzipLevel(value: ConfigValue): string | null {
  const n = Number(value);
  return n === -1 || (n >= 1 && n <= 9) ? null : 'must be -1 or between 1 and 9';
}

/**
 * leader/follower.replication.throttled.replicas: "*" or "partition:brokerId" pairs, as Kafka's
 * ThrottledReplicaListValidator.
 */
export function checkThrottledReplicas(value: ConfigValue): string | null {
  const items = Array.isArray(value) ? value : [String(value)];
  if (items.length === 1 && items[0] === '*') return null;
  if (items.every((i) => /^\d+:\d+$/.test(i))) return null;
  return 'must be "*" or a comma-separated list of partitionId:brokerId pairs';
}
