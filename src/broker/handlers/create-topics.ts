// CreateTopics (key 19), versions 0-7.
// - NumPartitions / ReplicationFactor of -1 (v4+) take num.partitions / default.replication.factor;
//   a manual assignment defines both and may name only live brokers (this one, on a single node).
// - Errors per topic: INVALID_TOPIC_EXCEPTION (name rules), TOPIC_ALREADY_EXISTS,
//   INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR (more replicas than brokers),
//   INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG (unknown key or bad value), INVALID_REQUEST
//   (the same topic twice in one request).
// - A request whose topics add up to more than max.partitions.per.request partitions (default
//   10,000, Kafka's controller bound) fails whole: POLICY_VIOLATION for every topic, nothing created.
// - validateOnly (v1+) checks everything and creates nothing.
// v1: validateOnly, error messages. v2: throttle. v4: defaults (-1). v5: flexible, the created
// topic's partitions, replication factor and every config (effective value and source, as in
// DescribeConfigs) in the response. v7: topic ids.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  CreateTopicsRequest,
  CreateTopicsRequestCreatableTopic,
  CreateTopicsResponse,
  CreateTopicsResponseCreatableTopicResult,
} from '../../protocol/generated/create-topics.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { TopicError } from '../topic-manager.js';
import { describeTopic } from './describe-configs.js';

export const createTopicsHandler = defineHandler<CreateTopicsRequest, DeepPartial<CreateTopicsResponse>>({
  apiKey: ApiKey.CreateTopics,
  versions: [0, 7],
  async handle(ctx, req) {
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    if (requestedPartitions(req, ctx.services) > ctx.services.brokerConfig().maxPartitionsPerRequest) {
      // As Kafka's validateTotalNumberOfPartitions: the whole request is refused.
      const message = 'Excessively large number of partitions per request.';
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => failed(t.name, ErrorCode.POLICY_VIOLATION, message)),
      };
    }
    const topics = await Promise.all(
      req.topics.map((t) => {
        if (counts.get(t.name)! > 1) {
          return failed(
            t.name,
            ErrorCode.INVALID_REQUEST,
            `Create topics request has topic '${t.name}' more than once.`,
          );
        }
        return createOne(ctx.services, t, req.validateOnly);
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});

/** Kafka's checks on explicit replica assignments (against the live brokers), or null when valid. */
function invalidAssignment(services: BrokerServices, t: CreateTopicsRequestCreatableTopic): string | null {
  const live = new Set(services.cluster.liveBrokers().map((b) => b.nodeId));
  const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
  if (indexes.some((p, i) => p !== i)) {
    return 'Partitions should be a consecutive 0-based integer sequence.';
  }
  const rf = t.assignments[0]!.brokerIds.length;
  for (const a of t.assignments) {
    if (a.brokerIds.length === 0) return `Empty assignment for partition ${a.partitionIndex}.`;
    if (new Set(a.brokerIds).size !== a.brokerIds.length) {
      return `Duplicate brokers not allowed in replica assignment: ${a.brokerIds.join(', ')} for partition id ${a.partitionIndex}.`;
    }
    if (a.brokerIds.length !== rf) {
      return 'All partitions should have the same number of replicas.';
    }
    const unknown = a.brokerIds.find((id) => !live.has(id));
    if (unknown !== undefined)
      return `Partition ${a.partitionIndex} is assigned to an unknown broker ${unknown}.`;
  }
  return null;
}

/** Partitions the request asks for: an assignment's length, else NumPartitions (-1: num.partitions). */
function requestedPartitions(req: CreateTopicsRequest, services: BrokerServices): number {
  let total = 0;
  for (const t of req.topics) {
    if (t.assignments.length > 0) total += t.assignments.length;
    else total += t.numPartitions === -1 ? services.settings.numPartitions : Math.max(0, t.numPartitions);
  }
  return total;
}

async function createOne(
  services: BrokerServices,
  t: CreateTopicsRequestCreatableTopic,
  validateOnly: boolean,
): Promise<DeepPartial<CreateTopicsResponseCreatableTopicResult>> {
  const { settings } = services;
  let numPartitions = t.numPartitions === -1 ? settings.numPartitions : t.numPartitions;
  let replicationFactor =
    t.replicationFactor === -1 ? settings.defaultReplicationFactor : t.replicationFactor;
  let assignment: number[][] | undefined;
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      return failed(
        t.name,
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set.',
      );
    }
    const invalid = invalidAssignment(services, t);
    if (invalid !== null) return failed(t.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, invalid);
    numPartitions = t.assignments.length;
    replicationFactor = t.assignments[0]!.brokerIds.length;
    assignment = [...t.assignments]
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((a) => a.brokerIds);
  }
  const configs: Record<string, string> = {};
  for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
  try {
    const topic = await services.topics.create({
      name: t.name,
      numPartitions,
      replicationFactor,
      configs,
      validateOnly,
      // Used in cluster mode; a single broker holds every partition itself.
      assignment,
    });
    return {
      name: t.name,
      topicId: topic.topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: topic.partitions,
      replicationFactor: topic.replicationFactor,
      // Every topic key with its effective value and source, as DescribeConfigs shows them.
      configs: describeTopic(services, topic.configs).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        configSource: c.source,
        isSensitive: c.sensitive,
      })),
    };
  } catch (err) {
    if (err instanceof TopicError) return failed(t.name, err.code, err.message);
    services.logger.error('CreateTopics failed', { topic: t.name, err: (err as Error).stack });
    return failed(t.name, ErrorCode.UNKNOWN_SERVER_ERROR, (err as Error).message);
  }
}

function failed(
  name: string,
  errorCode: number,
  errorMessage: string,
): DeepPartial<CreateTopicsResponseCreatableTopicResult> {
  return { name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
}
