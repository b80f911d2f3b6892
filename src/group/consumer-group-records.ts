// The __consumer_offsets records of KIP-848 consumer groups, in Kafka 3.9/4.0's own format (the
// group-coordinator module's ConsumerGroup*Key/Value schemas), so that a Kafka engineer or tool
// reading the topic sees what Kafka would write. The key's int16 version is the record type:
//   3 ConsumerGroupMetadata               group              → value: group epoch
//   4 ConsumerGroupPartitionMetadata      group              → value: subscribed topics, partition counts
//   5 ConsumerGroupMemberMetadata         group, member      → value: subscription, client, classic info
//   6 ConsumerGroupTargetAssignmentMetadata group            → value: target assignment epoch
//   7 ConsumerGroupTargetAssignmentMember group, member      → value: the member's target partitions
//   8 ConsumerGroupCurrentMemberAssignment group, member     → value: epochs, state, owned partitions
// Keys are non-flexible; values are version 0, flexible (tagged fields of later Kafka versions are
// skipped on input). A null value is a tombstone. These schemas live in Kafka's group-coordinator
// module, not among the protocol messages that scripts/generate-protocol.ts reads, so they are
// schema tables here (as in offsets-records.ts), compiled by the same codec as the protocol.
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { VERSION_MAX as MAX, type FieldSchema, type MessageSchema } from '../protocol/schema.js';
import { ProtocolError, Reader, Writer } from '../protocol/wire.js';

export const ConsumerRecordType = {
  GroupMetadata: 3,
  PartitionMetadata: 4,
  MemberMetadata: 5,
  TargetAssignmentMetadata: 6,
  TargetAssignmentMember: 7,
  CurrentMemberAssignment: 8,
} as const;
export type ConsumerRecordType = (typeof ConsumerRecordType)[keyof typeof ConsumerRecordType];

function keySchema(name: string, type: number, withMember: boolean): MessageSchema {
  const fields: FieldSchema[] = [{ name: 'groupId', type: 'string', versions: [type, type] }];
  if (withMember) fields.push({ name: 'memberId', type: 'string', versions: [type, type] });
  return { name, kind: 'data', validVersions: [type, type], flexibleVersions: null, fields };
}

const KEY_SCHEMAS = new Map<number, MessageSchema>([
  [3, keySchema('ConsumerGroupMetadataKey', 3, false)],
  [4, keySchema('ConsumerGroupPartitionMetadataKey', 4, false)],
  [5, keySchema('ConsumerGroupMemberMetadataKey', 5, true)],
  [6, keySchema('ConsumerGroupTargetAssignmentMetadataKey', 6, false)],
  [7, keySchema('ConsumerGroupTargetAssignmentMemberKey', 7, true)],
  [8, keySchema('ConsumerGroupCurrentMemberAssignmentKey', 8, true)],
]);

function valueSchema(name: string, fields: FieldSchema[]): MessageSchema {
  return { name, kind: 'data', validVersions: [0, 0], flexibleVersions: [0, MAX], fields };
}

const ALL: [number, number] = [0, MAX];

const TOPIC_PARTITIONS: FieldSchema[] = [
  { name: 'topicId', type: 'uuid', versions: ALL },
  { name: 'partitions', type: 'int32', array: true, versions: ALL },
];

const VALUE_SCHEMAS = new Map<number, MessageSchema>([
  [3, valueSchema('ConsumerGroupMetadataValue', [{ name: 'epoch', type: 'int32', versions: ALL }])],
  [
    4,
    valueSchema('ConsumerGroupPartitionMetadataValue', [
      {
        name: 'topics',
        type: 'struct',
        array: true,
        versions: ALL,
        fields: [
          { name: 'topicId', type: 'uuid', versions: ALL },
          { name: 'topicName', type: 'string', versions: ALL },
          { name: 'numPartitions', type: 'int32', versions: ALL },
          {
            name: 'partitionMetadata',
            type: 'struct',
            array: true,
            versions: ALL,
            fields: [
              { name: 'partition', type: 'int32', versions: ALL },
              { name: 'racks', type: 'string', array: true, versions: ALL },
            ],
          },
        ],
      },
    ]),
  ],
  [
    5,
    valueSchema('ConsumerGroupMemberMetadataValue', [
      { name: 'instanceId', type: 'string', versions: ALL, nullable: ALL },
      { name: 'rackId', type: 'string', versions: ALL, nullable: ALL },
      { name: 'clientId', type: 'string', versions: ALL },
      { name: 'clientHost', type: 'string', versions: ALL },
      { name: 'subscribedTopicNames', type: 'string', array: true, versions: ALL },
      { name: 'subscribedTopicRegex', type: 'string', versions: ALL, nullable: ALL },
      { name: 'rebalanceTimeoutMs', type: 'int32', versions: ALL, default: -1 },
      { name: 'serverAssignor', type: 'string', versions: ALL, nullable: ALL },
      {
        name: 'classicMemberMetadata',
        type: 'struct',
        versions: ALL,
        nullable: ALL,
        tagged: ALL,
        tag: 0,
        default: null,
        fields: [
          { name: 'sessionTimeoutMs', type: 'int32', versions: ALL },
          {
            name: 'supportedProtocols',
            type: 'struct',
            array: true,
            versions: ALL,
            fields: [
              { name: 'name', type: 'string', versions: ALL },
              { name: 'metadata', type: 'bytes', versions: ALL },
            ],
          },
        ],
      },
    ]),
  ],
  [
    6,
    valueSchema('ConsumerGroupTargetAssignmentMetadataValue', [
      { name: 'assignmentEpoch', type: 'int32', versions: ALL },
    ]),
  ],
  [
    7,
    valueSchema('ConsumerGroupTargetAssignmentMemberValue', [
      { name: 'topicPartitions', type: 'struct', array: true, versions: ALL, fields: TOPIC_PARTITIONS },
    ]),
  ],
  [
    8,
    valueSchema('ConsumerGroupCurrentMemberAssignmentValue', [
      { name: 'memberEpoch', type: 'int32', versions: ALL },
      { name: 'previousMemberEpoch', type: 'int32', versions: ALL },
      { name: 'state', type: 'int8', versions: ALL },
      { name: 'assignedPartitions', type: 'struct', array: true, versions: ALL, fields: TOPIC_PARTITIONS },
      {
        name: 'partitionsPendingRevocation',
        type: 'struct',
        array: true,
        versions: ALL,
        fields: TOPIC_PARTITIONS,
      },
    ]),
  ],
]);

export interface WireTopicPartitions {
  topicId: string;
  partitions: number[];
}

export interface GroupMetadataRecord {
  epoch: number;
}
export interface PartitionMetadataRecord {
  topics: {
    topicId: string;
    topicName: string;
    numPartitions: number;
    partitionMetadata: { partition: number; racks: string[] }[];
  }[];
}
export interface MemberMetadataRecord {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  classicMemberMetadata: {
    sessionTimeoutMs: number;
    supportedProtocols: { name: string; metadata: Buffer }[];
  } | null;
}
export interface TargetAssignmentMetadataRecord {
  assignmentEpoch: number;
}
export interface TargetAssignmentMemberRecord {
  topicPartitions: WireTopicPartitions[];
}
export interface CurrentMemberAssignmentRecord {
  memberEpoch: number;
  previousMemberEpoch: number;
  /** Kafka's MemberState: 0 STABLE, 1 UNREVOKED_PARTITIONS, 2 UNRELEASED_PARTITIONS. */
  state: number;
  assignedPartitions: WireTopicPartitions[];
  partitionsPendingRevocation: WireTopicPartitions[];
}

/** A parsed consumer-group key; memberId is '' for the group-level records. */
export interface ConsumerRecordKey {
  type: ConsumerRecordType;
  groupId: string;
  memberId: string;
}

export function isConsumerRecordType(version: number): version is ConsumerRecordType {
  return KEY_SCHEMAS.has(version);
}

export function consumerKey(type: ConsumerRecordType, groupId: string, memberId = ''): Buffer {
  const w = new Writer();
  w.int16(type);
  encodeMessage(KEY_SCHEMAS.get(type)!, type, w, { groupId, memberId });
  return w.toBuffer();
}

/** The rest of a key whose int16 type `r` has already read. */
export function readConsumerKey(type: ConsumerRecordType, r: Reader): ConsumerRecordKey {
  const k = decodeMessage<{ groupId: string; memberId?: string }>(KEY_SCHEMAS.get(type)!, type, r);
  return { type, groupId: k.groupId, memberId: k.memberId ?? '' };
}

export function consumerValue(type: ConsumerRecordType, value: object): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeMessage(VALUE_SCHEMAS.get(type)!, 0, w, value);
  return w.toBuffer();
}

/** The value of a record of `type` (version 0, the only one Kafka 3.9 and 4.0 write). */
export function parseConsumerValue<T>(type: ConsumerRecordType, buf: Buffer): T {
  const r = new Reader(buf);
  const version = r.int16();
  const schema = VALUE_SCHEMAS.get(type)!;
  if (version !== 0) throw new ProtocolError(`unknown ${schema.name} version ${version}`);
  return decodeMessage<T>(schema, 0, r);
}
