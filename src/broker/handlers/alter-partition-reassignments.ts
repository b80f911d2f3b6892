// AlterPartitionReassignments (key 45), version 0 (KIP-455): moves partitions to other brokers.
// - Cluster mode: the active controller records each reassignment in the topic znode (replicas =
//   target + original, adding_replicas, removing_replicas) and completes it once every target
//   replica is in the ISR (Controller.alterPartitionReassignments). Replicas null cancels an ongoing
//   reassignment. Any other broker answers NOT_CONTROLLER at the top level, as Kafka's do; the
//   client asks Metadata for the controller and retries there.
// - Per partition: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty list, duplicate or
//   negative ids, added brokers that are not alive), NO_REASSIGNMENT_IN_PROGRESS (cancel of nothing).
// - Answered once recorded, not once complete (as Kafka): ListPartitionReassignments shows progress.
// - A single node is every partition's only replica: a target of itself is NONE (nothing to move),
//   any other broker id is not alive, and there is never anything to cancel.
// v0: flexible.
import { NotControllerError, type ReassignmentResult } from '../../cluster/zookeeper/controller.js';
import { validateTarget } from '../../cluster/zookeeper/reassignment.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from '../../protocol/generated/alter-partition-reassignments.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';

type Request = { topic: string; partition: number; replicas: readonly number[] | null };

function response(results: readonly ReassignmentResult[]): AlterPartitionReassignmentsResponse {
  const topics = new Map<string, AlterPartitionReassignmentsResponse['responses'][number]>();
  for (const r of results) {
    let t = topics.get(r.topic);
    if (!t) topics.set(r.topic, (t = { name: r.topic, partitions: [] }));
    t.partitions.push({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    responses: [...topics.values()],
  };
}

function topLevel(errorCode: number, errorMessage: string): AlterPartitionReassignmentsResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, responses: [] };
}

function singleNode(services: BrokerServices, requests: readonly Request[]): ReassignmentResult[] {
  const self = services.cluster.localNodeId;
  return requests.map(({ topic, partition, replicas }) => {
    const result = (errorCode: number, errorMessage: string | null) => ({
      topic,
      partition,
      errorCode,
      errorMessage,
    });
    if (services.cluster.partitionState(topic, partition) === undefined) {
      return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${topic}-${partition} does not exist.`);
    }
    if (replicas === null) {
      return result(
        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
        `No reassignment of ${topic}-${partition} is in progress.`,
      );
    }
    const invalid = validateTarget({ replicas: [self], adding: [], removing: [] }, replicas, new Set([self]));
    return invalid === null ? result(ErrorCode.NONE, null) : result(invalid.errorCode, invalid.errorMessage);
  });
}

export const alterPartitionReassignmentsHandler = defineHandler<
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse
>({
  apiKey: ApiKey.AlterPartitionReassignments,
  versions: [0, 0],
  async handle(ctx, req) {
    const { services } = ctx;
    const requests: Request[] = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })),
    );
    if (!services.replicas.replicated) return response(singleNode(services, requests));
    const controller = services.controller();
    const notController = `Broker ${services.settings.nodeId} is not the controller (the controller is ${services.cluster.controllerId()}).`;
    if (!controller?.isActive) return topLevel(ErrorCode.NOT_CONTROLLER, notController);
    try {
      return response(await controller.alterPartitionReassignments(requests));
    } catch (err) {
      if (err instanceof NotControllerError) return topLevel(ErrorCode.NOT_CONTROLLER, notController);
      services.logger.warn('AlterPartitionReassignments failed', { error: String(err) });
      return topLevel(
        ErrorCode.UNKNOWN_SERVER_ERROR,
        `The reassignment could not be written: ${String(err)}`,
      );
    }
  },
});
