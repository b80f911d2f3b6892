// The records of __consumer_offsets, in Kafka's own format, so that a Kafka engineer (or a Kafka tool
// reading the topic) sees what Kafka would write. Every key and value starts with an int16 version:
//   key v0/v1  OffsetCommitKey     group, topic, partition      → value OffsetCommitValue (v1 or v3)
//   key v2     GroupMetadataKey    group                        → value GroupMetadataValue (v3)
//   key v3-v8  the KIP-848 consumer group records (consumer-group-records.ts)
// Other key versions (share and streams groups) are not Brook's: the loader skips them.
// A null value is a tombstone: the offset, or the whole group, is gone.
// Schemas from Kafka's group-coordinator module (OffsetCommitKey.json, OffsetCommitValue.json,
// GroupMetadataKey.json, GroupMetadataValue.json); encoded with the same schema-driven codec as the protocol.
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { VERSION_MAX as MAX, type MessageSchema } from '../protocol/schema.js';
import { ProtocolError, Reader, Writer } from '../protocol/wire.js';
import { isConsumerRecordType, readConsumerKey, type ConsumerRecordKey } from './consumer-group-records.js';

const OffsetCommitKeySchema: MessageSchema = {
  name: 'OffsetCommitKey',
  kind: 'data',
  validVersions: [0, 1],
  flexibleVersions: null,
  fields: [
    { name: 'group', type: 'string', versions: [0, MAX] },
    { name: 'topic', type: 'string', versions: [0, MAX] },
    { name: 'partition', type: 'int32', versions: [0, MAX] },
  ],
};

const OffsetCommitValueSchema: MessageSchema = {
  name: 'OffsetCommitValue',
  kind: 'data',
  validVersions: [0, 4],
  flexibleVersions: [4, MAX],
  fields: [
    { name: 'offset', type: 'int64', versions: [0, MAX] },
    { name: 'leaderEpoch', type: 'int32', versions: [3, MAX], default: -1 },
    { name: 'metadata', type: 'string', versions: [0, MAX] },
    { name: 'commitTimestamp', type: 'int64', versions: [0, MAX] },
    { name: 'expireTimestamp', type: 'int64', versions: [1, 1], default: -1n },
  ],
};

const GroupMetadataKeySchema: MessageSchema = {
  name: 'GroupMetadataKey',
  kind: 'data',
  validVersions: [2, 2],
  flexibleVersions: null,
  fields: [{ name: 'group', type: 'string', versions: [2, MAX] }],
};

const GroupMetadataValueSchema: MessageSchema = {
  name: 'GroupMetadataValue',
  kind: 'data',
  validVersions: [0, 4],
  flexibleVersions: [4, MAX],
  fields: [
    { name: 'protocolType', type: 'string', versions: [0, MAX] },
    { name: 'generation', type: 'int32', versions: [0, MAX] },
    { name: 'protocol', type: 'string', versions: [0, MAX], nullable: [0, MAX] },
    { name: 'leader', type: 'string', versions: [0, MAX], nullable: [0, MAX] },
    { name: 'currentStateTimestamp', type: 'int64', versions: [2, MAX], default: -1n },
    {
      name: 'members',
      type: 'struct',
      array: true,
      versions: [0, MAX],
      fields: [
        { name: 'memberId', type: 'string', versions: [0, MAX] },
        { name: 'groupInstanceId', type: 'string', versions: [3, MAX], nullable: [3, MAX], default: null },
        { name: 'clientId', type: 'string', versions: [0, MAX] },
        { name: 'clientHost', type: 'string', versions: [0, MAX] },
        { name: 'rebalanceTimeout', type: 'int32', versions: [1, MAX], default: -1 },
        { name: 'sessionTimeout', type: 'int32', versions: [0, MAX] },
        { name: 'subscription', type: 'bytes', versions: [0, MAX] },
        { name: 'assignment', type: 'bytes', versions: [0, MAX] },
      ],
    },
  ],
};

export interface OffsetCommitValue {
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: bigint;
  /** Only in value v1 (OffsetCommit v2-4 retention time); -1 when unset. */
  expireTimestamp: bigint;
}

export interface GroupMetadataMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeout: number;
  sessionTimeout: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: bigint;
  members: GroupMetadataMember[];
}

export type OffsetsKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string }
  | { kind: 'consumer'; key: ConsumerRecordKey }
  /** A record type this broker does not keep (share and streams groups, later Kafka versions). */
  | { kind: 'unknown'; version: number };

function versioned(schema: MessageSchema, version: number, value: object): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeMessage(schema, version, w, value);
  return w.toBuffer();
}

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  return versioned(OffsetCommitKeySchema, 1, { group, topic, partition });
}

export function offsetValue(v: OffsetCommitValue): Buffer {
  // v3 carries the leader epoch; v1 is the only version with an expire timestamp.
  return versioned(OffsetCommitValueSchema, v.expireTimestamp >= 0n ? 1 : 3, v);
}

export function groupKey(group: string): Buffer {
  return versioned(GroupMetadataKeySchema, 2, { group });
}

export function groupValue(v: GroupMetadataValue): Buffer {
  return versioned(GroupMetadataValueSchema, 3, v);
}

export function parseKey(buf: Buffer): OffsetsKey {
  const r = new Reader(buf);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const k = decodeMessage<{ group: string; topic: string; partition: number }>(
      OffsetCommitKeySchema,
      version,
      r,
    );
    return { kind: 'offset', ...k };
  }
  if (version === 2) {
    return { kind: 'group', group: decodeMessage<{ group: string }>(GroupMetadataKeySchema, 2, r).group };
  }
  if (isConsumerRecordType(version)) return { kind: 'consumer', key: readConsumerKey(version, r) };
  return { kind: 'unknown', version };
}

export function parseOffsetValue(buf: Buffer): OffsetCommitValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new ProtocolError(`unknown OffsetCommitValue version ${version}`);
  return decodeMessage<OffsetCommitValue>(OffsetCommitValueSchema, version, r);
}

export function parseGroupValue(buf: Buffer): GroupMetadataValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new ProtocolError(`unknown GroupMetadataValue version ${version}`);
  return decodeMessage<GroupMetadataValue>(GroupMetadataValueSchema, version, r);
}

/** Kafka's partitionFor(groupId): Utils.abs(groupId.hashCode) % n, with Java's String.hashCode over UTF-16 units. */
export function partitionForGroup(groupId: string, numPartitions: number): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % numPartitions;
}
