// CreatePartitions (key 37), versions 0-3.
// - Raises a topic's partition count; the new partitions are empty logs and existing data stays
//   where it is (so keyed records may now hash elsewhere, as in Kafka).
// - Errors per topic: UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS (not an increase),
//   INVALID_REPLICA_ASSIGNMENT (the assignment must list exactly the new partitions, each on this
//   broker only), INVALID_REQUEST (the same topic twice in one request).
// - A request that adds more than max.partitions.per.request partitions in all (default 10,000, the
//   bound of Kafka's controller) fails whole with POLICY_VIOLATION and creates nothing.
// - validateOnly checks everything and creates nothing.
// v1: no changes. v2: flexible. v3: no changes.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  CreatePartitionsRequestCreatePartitionsTopic,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from '../../protocol/generated/create-partitions.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { TopicMetadata } from '../../cluster/metadata-store.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { TopicError } from '../topic-manager.js';

export const createPartitionsHandler = defineHandler<
  CreatePartitionsRequest,
  DeepPartial<CreatePartitionsResponse>
>({
  apiKey: ApiKey.CreatePartitions,
  versions: [0, 3],
  async handle(ctx, req) {
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    let added = 0;
    for (const t of req.topics)
      added += Math.max(0, t.count - (ctx.services.topics.get(t.name)?.partitions ?? 0));
    if (added > ctx.services.brokerConfig().maxPartitionsPerRequest) {
      // Kafka's controller bounds the records of one operation and answers every topic with this.
      const errorMessage = 'Unable to perform excessively large batch operation.';
      return {
        throttleTimeMs: 0,
        results: req.topics.map((t) => ({
          name: t.name,
          errorCode: ErrorCode.POLICY_VIOLATION,
          errorMessage,
        })),
      };
    }
    const results = await Promise.all(
      req.topics.map(async (t) => {
        try {
          if (counts.get(t.name)! > 1) {
            throw new TopicError(ErrorCode.INVALID_REQUEST, `Duplicate topic in request: ${t.name}.`);
          }
          await ctx.services.topics.createPartitions(
            t.name,
            t.count,
            req.validateOnly,
            (topic) => checkAssignment(ctx.services, t, topic),
            t.assignments?.map((a) => a.brokerIds),
          );
          return { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
        } catch (err) {
          if (err instanceof TopicError)
            return { name: t.name, errorCode: err.code, errorMessage: err.message };
          ctx.services.logger.error('CreatePartitions failed', { topic: t.name, err: (err as Error).stack });
          return {
            name: t.name,
            errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
            errorMessage: (err as Error).message,
          };
        }
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});

/** Kafka's checks on a manual assignment, against the live brokers (one, on a single node). */
function checkAssignment(
  services: BrokerServices,
  t: CreatePartitionsRequestCreatePartitionsTopic,
  topic: TopicMetadata,
): void {
  if (t.assignments === null) return;
  const added = t.count - topic.partitions;
  const fail = (message: string): never => {
    throw new TopicError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
  };
  if (t.assignments.length !== added) {
    fail(`Increasing the number of partitions by ${added} but ${t.assignments.length} assignments provided.`);
  }
  const live = new Set(services.cluster.liveBrokers().map((b) => b.nodeId));
  const replicationFactor = t.assignments[0]?.brokerIds.length ?? 0;
  t.assignments.forEach((a, i) => {
    const partition = topic.partitions + i;
    if (a.brokerIds.length === 0) fail(`Empty assignment for partition ${partition}.`);
    if (new Set(a.brokerIds).size !== a.brokerIds.length) {
      fail(
        `Duplicate brokers not allowed in replica assignment: ${a.brokerIds.join(', ')} for partition id ${partition}.`,
      );
    }
    const unknown = a.brokerIds.filter((id) => !live.has(id));
    if (unknown.length > 0) fail(`Unknown broker(s) in replica assignment: ${unknown.join(', ')}.`);
    if (a.brokerIds.length !== replicationFactor) {
      fail(
        `Inconsistent replication factor between partitions, partition 0 has ${replicationFactor} while partition ${partition} has replicas of length ${a.brokerIds.length}`,
      );
    }
  });
}
