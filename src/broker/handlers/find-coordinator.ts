// FindCoordinator (key 10), versions 0-6.
// - Key type 0 (group): a single node coordinates every group; in a cluster the coordinator is the
//   leader of the group's __consumer_offsets partition (COORDINATOR_NOT_AVAILABLE while it has none).
// - Key type 1 (transaction): a single node coordinates every transactional id (creating
//   __transaction_state on first use); in a cluster the leader of the id's __transaction_state
//   partition. Any other key type: INVALID_REQUEST.
// - Errors carry node -1, host "" and port -1, as Kafka answers them.
// v1: key type, throttle, error message. v3: flexible. v4: batched CoordinatorKeys (one answer per key).
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  FindCoordinatorResponseCoordinator,
} from '../../protocol/generated/find-coordinator.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { OFFSETS_TOPIC } from '../../group/offset-manager.js';
import { TRANSACTION_STATE_TOPIC } from '../../txn/transaction-state-store.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export const findCoordinatorHandler = defineHandler<
  FindCoordinatorRequest,
  DeepPartial<FindCoordinatorResponse>
>({
  apiKey: ApiKey.FindCoordinator,
  versions: [0, 6],
  async handle(ctx, req) {
    const { services } = ctx;
    if (req.keyType === KEY_TYPE_TRANSACTION) {
      // The first transactional client creates __transaction_state, as in Kafka.
      await services.transactions.ensureTopic().catch(() => undefined);
    }
    if (ctx.header.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        coordinators: req.coordinatorKeys.map((key) => lookup(services, key, req.keyType)),
      };
    }
    const c = lookup(services, req.key, req.keyType);
    return {
      throttleTimeMs: 0,
      errorCode: c.errorCode,
      errorMessage: c.errorMessage,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
    };
  },
});

function lookup(services: BrokerServices, key: string, keyType: number): FindCoordinatorResponseCoordinator {
  const fail = (errorCode: number, errorMessage: string) => ({
    key,
    nodeId: -1,
    host: '',
    port: -1,
    errorCode,
    errorMessage,
  });
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION)
    return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}.`);
  if (services.replicas.replicated) {
    // The coordinator is the leader of the group's __consumer_offsets partition, or of the
    // transactional id's __transaction_state partition.
    const { cluster } = services;
    const state =
      keyType === KEY_TYPE_GROUP
        ? cluster.partitionState(OFFSETS_TOPIC, services.groups.store.partitionFor(key))
        : cluster.partitionState(TRANSACTION_STATE_TOPIC, services.transactions.store.partitionFor(key));
    const leader = state === undefined || state.leader < 0 ? undefined : cluster.broker(state.leader);
    if (leader === undefined) {
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator's partition has no live leader.");
    }
    return {
      key,
      nodeId: leader.nodeId,
      host: leader.host,
      port: leader.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
  }
  const settings = services.settings;
  return {
    key,
    nodeId: settings.nodeId,
    host: settings.advertisedHost,
    port: settings.advertisedPort,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
  };
}
