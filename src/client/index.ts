// Brook's own small typed Kafka client: Admin, Producer and a group-less Consumer over one shared
// connection layer (pipelined requests, ApiVersions negotiation). No dependencies beyond Brook's codec.
export { Admin } from './admin.js';
export type {
  ClusterBroker,
  ClusterDescription,
  CommittedOffset,
  ConfigEntry,
  ConfigResource,
  ConfigResourceType,
  GroupDescription,
  GroupListing,
  GroupMemberDescription,
  LogDirDescription,
  LogDirPartition,
  NewTopic,
  PartitionDescription,
  PartitionLag,
  TopicDescription,
} from './admin.js';
export type { BrokerNode, ClientOptions } from './cluster.js';
export { Connection, type ConnectionOptions, type SendOptions } from './connection.js';
export { Consumer, type ConsumerOptions, type ConsumerRecord, type PartitionAssignment } from './consumer.js';
export { KafkaClientError } from './errors.js';
export type { TopicPartition } from './offsets.js';
export { murmur2, partitionForKey } from './partitioner.js';
export {
  Producer,
  type CompressionName,
  type ProducerMessage,
  type ProducerOptions,
  type RecordMetadata,
  type SendRequest,
} from './producer.js';
