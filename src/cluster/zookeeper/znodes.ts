// Kafka's ZooKeeper layout (ZkData.scala in Kafka 2.8/3.x), so that someone who knows Kafka's
// ZooKeeper mode can read Brook's cluster state with zkCli.sh. Paths, and the JSON each znode holds,
// encoded and decoded here only: the store and the controller never build a path or a JSON by hand.

export const ZNODES = {
  brokerIds: '/brokers/ids',
  brokerTopics: '/brokers/topics',
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  clusterId: '/cluster/id',
  configTopics: '/config/topics',
  configBrokers: '/config/brokers',
  /** Sequential change notifications (config_change_<seq>) every broker watches. */
  configChanges: '/config/changes',
  deleteTopics: '/admin/delete_topics',
  producerIdBlock: '/latest_producer_id_block',
  /** Persistent parents created at startup (Kafka's ZkData.PersistentZkPaths). */
  persistent: [
    '/brokers/ids',
    '/brokers/topics',
    '/brokers/seqid',
    '/config/topics',
    '/config/brokers',
    '/config/changes',
    '/admin/delete_topics',
    '/isr_change_notification',
    '/cluster',
  ],
} as const;

export const brokerPath = (id: number): string => `${ZNODES.brokerIds}/${id}`;
export const topicPath = (t: string): string => `${ZNODES.brokerTopics}/${t}`;
export const partitionsPath = (t: string): string => `${topicPath(t)}/partitions`;
export const partitionPath = (t: string, p: number): string => `${partitionsPath(t)}/${p}`;
export const statePath = (t: string, p: number): string => `${partitionPath(t, p)}/state`;
export const topicConfigPath = (t: string): string => `${ZNODES.configTopics}/${t}`;
export const deleteTopicPath = (t: string): string => `${ZNODES.deleteTopics}/${t}`;
/** Kafka's per-broker dynamic config entity; the cluster-wide defaults are `<default>`. */
export const brokerConfigPath = (entity: number | '<default>'): string => `${ZNODES.configBrokers}/${entity}`;

/** What a sequential create under /config/changes is named before ZooKeeper appends the sequence number. */
export const configChangePrefix = `${ZNODES.configChanges}/config_change_`;

/** The sequence number of a /config/changes child (config_change_0000000042), or null for another name. */
export function configChangeSequence(child: string): number | null {
  const m = /^config_change_(\d+)$/.exec(child);
  return m ? Number(m[1]) : null;
}

export function toJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Parses a znode's JSON; null for an empty, missing or unreadable one (never throws). */
export function fromJson(data: Buffer | null | undefined): Record<string, unknown> | null {
  if (!data || data.length === 0) return null;
  try {
    const v: unknown = JSON.parse(data.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const intList = (v: unknown): number[] | null => (Array.isArray(v) && v.every(isInt) ? v : null);

// ---- /brokers/ids/<id> (ephemeral)

export interface BrokerRegistration {
  id: number;
  host: string;
  port: number;
  rack: string | null;
}

export function encodeBroker(b: BrokerRegistration): Buffer {
  const host = b.host.includes(':') ? `[${b.host}]` : b.host;
  const json: Record<string, unknown> = {
    listener_security_protocol_map: { PLAINTEXT: 'PLAINTEXT' },
    endpoints: [`PLAINTEXT://${host}:${b.port}`],
    jmx_port: -1,
    features: {},
    host: b.host,
    timestamp: String(Date.now()),
    port: b.port,
    version: 5,
  };
  if (b.rack !== null) json.rack = b.rack;
  return toJson(json);
}

export function decodeBroker(id: number, data: Buffer): BrokerRegistration | null {
  const j = fromJson(data);
  if (j === null) return null;
  const rack = typeof j.rack === 'string' ? j.rack : null;
  // The first endpoint is the one clients use (Brook serves one listener).
  const endpoint = Array.isArray(j.endpoints) && typeof j.endpoints[0] === 'string' ? j.endpoints[0] : null;
  const m = endpoint === null ? null : /^[A-Za-z_]+:\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(endpoint);
  if (m) return { id, host: m[1]!, port: Number(m[2]), rack };
  if (typeof j.host === 'string' && isInt(j.port)) return { id, host: j.host, port: j.port, rack };
  return null;
}

// ---- /brokers/topics/<t>

export interface TopicAssignment {
  /** Canonical UUID string (TopicMetadata.topicId). */
  topicId: string;
  /** partition -> replicas, preferred leader first (during a reassignment: target then original). */
  partitions: number[][];
  /**
   * Partitions being reassigned (KIP-455): the replicas being added and removed. Absent or empty
   * for a partition that is not being reassigned.
   */
  adding?: Map<number, number[]>;
  removing?: Map<number, number[]>;
}

/** Kafka writes topic ids as its Uuid.toString(): URL-safe base64 of the 16 bytes, no padding. */
export function uuidToKafkaBase64(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

export function kafkaBase64ToUuid(text: string): string | null {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== 16) return null;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Only partitions with a non-empty list are written, as Kafka writes them. */
function replicaLists(m: Map<number, number[]> | undefined): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [p, list] of [...(m ?? [])].sort((a, b) => a[0] - b[0])) {
    if (list.length > 0) out[String(p)] = list;
  }
  return out;
}

export function encodeAssignment(a: TopicAssignment): Buffer {
  const partitions: Record<string, number[]> = {};
  a.partitions.forEach((replicas, p) => (partitions[String(p)] = replicas));
  return toJson({
    removing_replicas: replicaLists(a.removing),
    partitions,
    topic_id: uuidToKafkaBase64(a.topicId),
    adding_replicas: replicaLists(a.adding),
    version: 3,
  });
}

/** adding_replicas / removing_replicas: partitions outside the topic or unreadable lists are dropped. */
function decodeReplicaLists(v: unknown, partitions: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, list] of Object.entries(v as Record<string, unknown>)) {
    const p = Number(k);
    const ids = intList(list);
    if (Number.isInteger(p) && p >= 0 && p < partitions && ids !== null && ids.length > 0) out.set(p, ids);
  }
  return out;
}

export function decodeAssignment(data: Buffer): TopicAssignment | null {
  const j = fromJson(data);
  if (j === null || typeof j.topic_id !== 'string') return null;
  const topicId = kafkaBase64ToUuid(j.topic_id);
  const parts = j.partitions;
  if (topicId === null || typeof parts !== 'object' || parts === null) return null;
  const partitions: number[][] = [];
  for (const [k, v] of Object.entries(parts as Record<string, unknown>)) {
    const p = Number(k);
    const replicas = intList(v);
    if (!Number.isInteger(p) || p < 0 || replicas === null) return null;
    partitions[p] = replicas;
  }
  // Partitions are numbered 0..n-1 without gaps.
  for (let p = 0; p < partitions.length; p++) if (partitions[p] === undefined) return null;
  return {
    topicId,
    partitions,
    adding: decodeReplicaLists(j.adding_replicas, partitions.length),
    removing: decodeReplicaLists(j.removing_replicas, partitions.length),
  };
}

// ---- /brokers/topics/<t>/partitions/<p>/state

export interface LeaderAndIsr {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
}

export function encodeState(s: LeaderAndIsr): Buffer {
  return toJson({
    controller_epoch: s.controllerEpoch,
    leader: s.leader,
    version: 1,
    leader_epoch: s.leaderEpoch,
    isr: s.isr,
  });
}

export function decodeState(data: Buffer): LeaderAndIsr | null {
  const j = fromJson(data);
  const isr = intList(j?.isr);
  if (j === null || !isInt(j.leader) || !isInt(j.leader_epoch) || isr === null) return null;
  return {
    leader: j.leader,
    leaderEpoch: j.leader_epoch,
    isr,
    controllerEpoch: isInt(j.controller_epoch) ? j.controller_epoch : 0,
  };
}

// ---- /controller (ephemeral), /cluster/id, /config/*, /latest_producer_id_block

export function encodeController(brokerId: number): Buffer {
  return toJson({ version: 2, brokerid: brokerId, timestamp: String(Date.now()) });
}

export function decodeController(data: Buffer): number {
  const j = fromJson(data);
  return j !== null && isInt(j.brokerid) ? j.brokerid : -1;
}

export function encodeClusterId(id: string): Buffer {
  return toJson({ version: '1', id });
}

export function decodeClusterId(data: Buffer): string | null {
  const j = fromJson(data);
  return j !== null && typeof j.id === 'string' && j.id !== '' ? j.id : null;
}

export function encodeConfig(config: Readonly<Record<string, string>>): Buffer {
  return toJson({ version: 1, config });
}

export function decodeConfig(data: Buffer | null): Record<string, string> {
  const c = fromJson(data)?.config;
  const out: Record<string, string> = {};
  if (typeof c !== 'object' || c === null) return out;
  for (const [k, v] of Object.entries(c as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

// ---- /config/changes/config_change_<seq> (Kafka's ConfigEntityChangeNotificationZNode)

/** A notification that the config of an entity changed: `topics/<t>` or `brokers/<id|<default>>`. */
export function encodeConfigChange(entityPath: string): Buffer {
  return toJson({ version: 2, entity_path: entityPath });
}

/** The changed entity's path (`topics/<t>`); version 1 notifications name type and name apart. */
export function decodeConfigChange(data: Buffer): string | null {
  const j = fromJson(data);
  if (j === null) return null;
  if (typeof j.entity_path === 'string') return j.entity_path;
  if (typeof j.entity_type === 'string' && typeof j.entity_name === 'string') {
    return `${j.entity_type}/${j.entity_name}`;
  }
  return null;
}

export interface ProducerIdBlock {
  broker: number;
  blockStart: number;
  /** Inclusive, as Kafka's block_end. */
  blockEnd: number;
}

export function encodeProducerIdBlock(b: ProducerIdBlock): Buffer {
  return toJson({
    version: 1,
    broker: b.broker,
    block_start: String(b.blockStart),
    block_end: String(b.blockEnd),
  });
}

export function decodeProducerIdBlock(data: Buffer | null): ProducerIdBlock | null {
  const j = fromJson(data);
  if (j === null) return null;
  const start = Number(j.block_start);
  const end = Number(j.block_end);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  return { broker: isInt(j.broker) ? j.broker : -1, blockStart: start, blockEnd: end };
}
