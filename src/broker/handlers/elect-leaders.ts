// ElectLeaders (key 43), versions 0-2 (KIP-183 preferred, KIP-460 unclean): moves leadership back to
// the preferred replica, or elects a leader for a partition that has none.
// - Cluster mode: the active controller runs the elections (Controller.electLeaders: conditional
//   writes of the partition states in ZooKeeper). As in Kafka, Admin clients send the request to the
//   controller that Metadata names; any other broker answers NOT_CONTROLLER, and the client asks
//   Metadata again and retries there.
// - ElectionType (v1): 0 = preferred, 1 = unclean. An explicit unclean request is allowed whatever
//   unclean.leader.election.enable says (that key governs automatic elections only). v0 is preferred.
// - TopicPartitions null = every partition; then, as Kafka does, partitions that needed no election
//   are left out of the answer.
// - Once the states are written, waits (up to TimeoutMs, at most a few seconds) until this broker's
//   view shows the new leaders, so a Metadata request right after the answer names them.
// - A single node is every partition's only (preferred) replica: ELECTION_NOT_NEEDED.
// v1: ElectionType, top-level ErrorCode. v2: flexible.
import { NotControllerError, type ElectionResult } from '../../cluster/zookeeper/controller.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type { ElectLeadersRequest, ElectLeadersResponse } from '../../protocol/generated/elect-leaders.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';

const PREFERRED = 0;
const UNCLEAN = 1;
/** The longest an answer waits for this broker's view to show the elected leaders. */
const MAX_VIEW_WAIT_MS = 5_000;

type Response = DeepPartial<ElectLeadersResponse>;

function byTopic(results: readonly ElectionResult[]): Response['replicaElectionResults'] {
  const topics = new Map<string, { partitionId: number; errorCode: number; errorMessage: string | null }[]>();
  for (const r of results) {
    let list = topics.get(r.topic);
    if (!list) topics.set(r.topic, (list = []));
    list.push({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
  }
  return [...topics].map(([topic, partitionResult]) => ({ topic, partitionResult }));
}

function requested(req: ElectLeadersRequest): { topic: string; partition: number }[] | undefined {
  if (req.topicPartitions === null) return undefined;
  return req.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

/** Every requested partition answered with one error (NOT_CONTROLLER, INVALID_REQUEST, ...). */
function allFailed(
  wanted: { topic: string; partition: number }[] | undefined,
  errorCode: number,
  errorMessage: string,
): Response {
  return {
    throttleTimeMs: 0,
    errorCode: wanted === undefined ? errorCode : ErrorCode.NONE,
    replicaElectionResults: byTopic(
      (wanted ?? []).map(({ topic, partition }) => ({ topic, partition, errorCode, errorMessage })),
    ),
  };
}

async function waitForView(
  services: BrokerServices,
  elected: readonly ElectionResult[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + Math.min(Math.max(timeoutMs, 0), MAX_VIEW_WAIT_MS);
  const pending = elected.filter((r) => r.errorCode === ErrorCode.NONE);
  const written = new Map(pending.map((r) => [`${r.topic}\u0000${r.partition}`, r]));
  const shown = (): boolean =>
    [...written.values()].every((r) => {
      const s = services.cluster.partitionState(r.topic, r.partition);
      return s === undefined || (r.leader !== undefined && s.leader === r.leader);
    });
  while (!shown() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

export const electLeadersHandler = defineHandler<ElectLeadersRequest, Response>({
  apiKey: ApiKey.ElectLeaders,
  versions: [0, 2],
  async handle(ctx, req) {
    const { services } = ctx;
    const wanted = requested(req);
    const type = ctx.header.apiVersion >= 1 ? req.electionType : PREFERRED;
    if (type !== PREFERRED && type !== UNCLEAN) {
      return allFailed(wanted, ErrorCode.INVALID_REQUEST, `Unknown election type ${type}.`);
    }
    if (!services.replicas.replicated) {
      // A single node leads every partition it has, and is each one's only replica.
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        replicaElectionResults: byTopic(
          (wanted ?? []).map(({ topic, partition }) =>
            services.cluster.partitionState(topic, partition)
              ? { topic, partition, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null }
              : {
                  topic,
                  partition,
                  errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                  errorMessage: `Partition ${topic}-${partition} is unknown.`,
                },
          ),
        ),
      };
    }
    const controller = services.controller();
    const notController = `Broker ${services.settings.nodeId} is not the controller (the controller is ${services.cluster.controllerId()}).`;
    if (!controller?.isActive) return allFailed(wanted, ErrorCode.NOT_CONTROLLER, notController);
    let results: ElectionResult[];
    try {
      results = await controller.electLeaders(type === PREFERRED ? 'preferred' : 'unclean', wanted);
    } catch (err) {
      if (err instanceof NotControllerError)
        return allFailed(wanted, ErrorCode.NOT_CONTROLLER, notController);
      services.logger.warn('ElectLeaders failed', { error: String(err) });
      return allFailed(
        wanted,
        ErrorCode.UNKNOWN_SERVER_ERROR,
        `The election could not be written: ${String(err)}`,
      );
    }
    await waitForView(services, results, req.timeoutMs);
    const answered =
      wanted === undefined ? results.filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) : results;
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: byTopic(answered) };
  },
});
