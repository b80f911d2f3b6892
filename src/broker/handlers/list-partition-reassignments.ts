// ListPartitionReassignments (key 46), version 0 (KIP-455): the ongoing reassignments.
// - Cluster mode: the active controller answers from the topic znodes (replicas, adding and removing
//   replicas of each partition being reassigned); Topics null lists every partition. Any other
//   broker answers NOT_CONTROLLER at the top level, as Kafka's do.
// - Partitions that are unknown or not being reassigned are left out, as Kafka leaves them out.
// - A single node never reassigns anything: the answer is empty.
// v0: flexible.
import { NotControllerError, type OngoingReassignment } from '../../cluster/zookeeper/controller.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from '../../protocol/generated/list-partition-reassignments.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

function response(ongoing: readonly OngoingReassignment[]): ListPartitionReassignmentsResponse {
  const topics = new Map<string, ListPartitionReassignmentsResponse['topics'][number]>();
  for (const r of ongoing) {
    let t = topics.get(r.topic);
    if (!t) topics.set(r.topic, (t = { name: r.topic, partitions: [] }));
    t.partitions.push({
      partitionIndex: r.partition,
      replicas: [...r.replicas],
      addingReplicas: [...r.adding],
      removingReplicas: [...r.removing],
    });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [...topics.values()] };
}

export const listPartitionReassignmentsHandler = defineHandler<
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse
>({
  apiKey: ApiKey.ListPartitionReassignments,
  versions: [0, 0],
  handle(ctx, req) {
    const { services } = ctx;
    if (!services.replicas.replicated) return response([]);
    const notController: ListPartitionReassignmentsResponse = {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NOT_CONTROLLER,
      errorMessage: `Broker ${services.settings.nodeId} is not the controller (the controller is ${services.cluster.controllerId()}).`,
      topics: [],
    };
    const controller = services.controller();
    if (!controller?.isActive) return notController;
    const wanted =
      req.topics === null
        ? undefined
        : req.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
    try {
      return response(controller.listPartitionReassignments(wanted));
    } catch (err) {
      if (err instanceof NotControllerError) return notController;
      throw err;
    }
  },
});
