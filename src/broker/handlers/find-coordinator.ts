// FindCoordinator (key 10), versions 0-6.
// - This node coordinates every group: key type 0 (group) always answers with this broker.
// - Key type 1 (transaction): COORDINATOR_NOT_AVAILABLE, since this broker has no transaction
//   coordinator yet; any other key type: INVALID_REQUEST.
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
import type { BrokerSettings } from '../services.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export const findCoordinatorHandler = defineHandler<
  FindCoordinatorRequest,
  DeepPartial<FindCoordinatorResponse>
>({
  apiKey: ApiKey.FindCoordinator,
  versions: [0, 6],
  handle(ctx, req) {
    const { settings } = ctx.services;
    if (ctx.header.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        coordinators: req.coordinatorKeys.map((key) => lookup(settings, key, req.keyType)),
      };
    }
    const c = lookup(settings, req.key, req.keyType);
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

function lookup(settings: BrokerSettings, key: string, keyType: number): FindCoordinatorResponseCoordinator {
  const fail = (errorCode: number, errorMessage: string) => ({
    key,
    nodeId: -1,
    host: '',
    port: -1,
    errorCode,
    errorMessage,
  });
  if (keyType === KEY_TYPE_TRANSACTION) {
    return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'This broker has no transaction coordinator.');
  }
  if (keyType !== KEY_TYPE_GROUP)
    return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}.`);
  return {
    key,
    nodeId: settings.nodeId,
    host: settings.advertisedHost,
    port: settings.advertisedPort,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
  };
}
