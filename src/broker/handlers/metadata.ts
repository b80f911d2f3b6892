// Metadata (key 3), versions 0-12.
// - Topics: v0 `[]` means all topics; v1+ `null` means all, `[]` none (librdkafka's brokers-only
//   refresh). v10+ requests may name a topic by ID instead (name null).
// - Auto-creation: a requested topic that does not exist is created with num.partitions when
//   auto.create.topics.enable is on and the request allows it (always for v0-3, the flag for v4+).
// - Brokers, controller and each partition's leader, leader epoch, replicas, ISR and offline
//   replicas come from the ClusterView: on a single node this broker leads everything at epoch 0
//   and is the controller (kafka-python and sarama send CreateTopics to it); topic IDs are stable.
// v1: controller, rack, internal flag. v2: cluster id. v5: offline replicas. v7: leader epoch.
// v8: authorized operations. v9: flexible. v10: topic ids. v11: no cluster authorized ops.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  MetadataRequest,
  MetadataResponse,
  MetadataResponseTopic,
} from '../../protocol/generated/metadata.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ZERO_UUID } from '../../protocol/wire.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { TopicMetadata } from '../../cluster/metadata-store.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { INTERNAL_TOPICS, TopicError, invalidTopicNameReason } from '../topic-manager.js';

const NO_OPERATIONS = -2147483648;

export const metadataHandler = defineHandler<MetadataRequest, DeepPartial<MetadataResponse>>({
  apiKey: ApiKey.Metadata,
  versions: [0, 12],
  async handle(ctx, req) {
    const { services } = ctx;
    const version = ctx.header.apiVersion;
    const s = services.settings;
    const allTopics = req.topics === null || (version === 0 && req.topics.length === 0);
    const topics: DeepPartial<MetadataResponseTopic>[] = [];
    if (allTopics) {
      for (const t of services.topics.all()) topics.push(describeTopic(services, t));
    } else {
      const allowAuto = s.autoCreateTopicsEnable && (version < 4 || req.allowAutoTopicCreation);
      // The client sizes this list (a request may name a million topics): answer in one loop, await only
      // the auto-creations, and never spread it into arguments (that overflows the call stack).
      const creating: Promise<void>[] = [];
      for (const t of req.topics!) {
        const answer = resolveTopic(services, t.name, t.topicId, allowAuto);
        if (answer instanceof Promise) {
          const i = topics.length;
          topics.push({});
          creating.push(answer.then((a) => void (topics[i] = a)));
        } else {
          topics.push(answer);
        }
      }
      await Promise.all(creating);
    }
    return {
      throttleTimeMs: 0,
      brokers: services.cluster
        .liveBrokers()
        .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: services.metadata.clusterId,
      controllerId: services.cluster.controllerId(),
      topics,
      clusterAuthorizedOperations: NO_OPERATIONS,
    };
  },
});

/** The answer for one requested topic; a promise only when the topic is being auto-created. */
function resolveTopic(
  services: BrokerServices,
  name: string | null,
  topicId: string,
  allowAuto: boolean,
): DeepPartial<MetadataResponseTopic> | Promise<DeepPartial<MetadataResponseTopic>> {
  if (name === null || name === '') {
    const byId = topicId !== ZERO_UUID ? services.topics.getById(topicId) : undefined;
    if (!byId) return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId, partitions: [] };
    return describeTopic(services, byId);
  }
  const existing = services.topics.get(name);
  if (existing) return describeTopic(services, existing);
  if (invalidTopicNameReason(name)) {
    return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] };
  }
  if (!allowAuto) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] };
  return autoCreate(services, name);
}

async function autoCreate(
  services: BrokerServices,
  name: string,
): Promise<DeepPartial<MetadataResponseTopic>> {
  try {
    return describeTopic(services, await services.topics.getOrCreate(name));
  } catch (err) {
    const code = err instanceof TopicError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code === ErrorCode.TOPIC_ALREADY_EXISTS) {
      const raced = services.topics.get(name);
      if (raced) return describeTopic(services, raced);
    }
    services.logger.warn('Auto-creating a topic failed', { topic: name, err: (err as Error).message });
    return {
      errorCode: code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : code,
      name,
      partitions: [],
    };
  }
}

function describeTopic(services: BrokerServices, t: TopicMetadata): DeepPartial<MetadataResponseTopic> {
  const { cluster } = services;
  const self = cluster.localNodeId;
  // A single node's one broker is always live; in a cluster, replicas on dead brokers are offline.
  const live = services.replicas.replicated ? new Set(cluster.liveBrokers().map((b) => b.nodeId)) : null;
  const partitions = [];
  for (let p = 0; p < t.partitions; p++) {
    const state = cluster.partitionState(t.name, p);
    if (state === undefined) {
      partitions.push({
        errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: p,
        leaderId: -1,
        leaderEpoch: -1,
        replicaNodes: [],
        isrNodes: [],
        offlineReplicas: [],
      });
      continue;
    }
    const offline = (id: number): boolean =>
      live !== null ? !live.has(id) : id === self && services.replicas.getLog(t.name, p) === undefined;
    const leaderOnline = state.leader >= 0 && !offline(state.leader);
    partitions.push({
      errorCode: leaderOnline ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p,
      leaderId: leaderOnline ? state.leader : -1,
      leaderEpoch: state.leaderEpoch,
      replicaNodes: state.replicas as number[],
      isrNodes: state.isr.filter((id) => !offline(id)),
      offlineReplicas: state.replicas.filter(offline),
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: INTERNAL_TOPICS.has(t.name),
    partitions,
    topicAuthorizedOperations: NO_OPERATIONS,
  };
}
