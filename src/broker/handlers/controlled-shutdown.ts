// ControlledShutdown (key 7), versions 1-3: a cluster member about to stop asks the controller to move
// the leaderships it holds to other ISR members first, so that a rolling restart fails no request.
// - Only the active controller runs it (Controller.controlledShutdown: conditional writes of the
//   partition states in ZooKeeper); any other broker answers NOT_CONTROLLER and the stopping broker
//   asks again where the cluster view says the controller is.
// - RemainingPartitions: the partitions the broker still leads that could have moved but did not
//   (no other live ISR member yet); the broker retries (controlled.shutdown.max.retries) after
//   controlled.shutdown.retry.backoff.ms.
// - An unregistered broker id gets BROKER_NOT_AVAILABLE. v2+: BrokerEpoch (KIP-380, the czxid of the
//   broker's /brokers/ids/<id> registration) older than the broker's current registration gets
//   STALE_BROKER_EPOCH (a request from a previous incarnation of the broker); -1 is not checked.
// - v0 uses a request header without a client id in Kafka; Brook serves v1 and later only.
// - A single node has nobody to hand leadership to: NONE, nothing remaining.
import {
  BrokerNotAvailableError,
  NotControllerError,
  StaleBrokerEpochError,
} from '../../cluster/zookeeper/controller.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  ControlledShutdownRequest,
  ControlledShutdownResponse,
} from '../../protocol/generated/controlled-shutdown.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

export const controlledShutdownHandler = defineHandler<ControlledShutdownRequest, ControlledShutdownResponse>(
  {
    apiKey: ApiKey.ControlledShutdown,
    versions: [1, 3],
    async handle(ctx, req) {
      const { services } = ctx;
      const failed = (errorCode: number): ControlledShutdownResponse => ({
        errorCode,
        remainingPartitions: [],
      });
      if (!services.replicas.replicated) return failed(ErrorCode.NONE);
      const controller = services.controller();
      if (!controller?.isActive) return failed(ErrorCode.NOT_CONTROLLER);
      try {
        const remaining = await controller.controlledShutdown(req.brokerId, req.brokerEpoch);
        return {
          errorCode: ErrorCode.NONE,
          remainingPartitions: remaining.map((p) => ({ topicName: p.topic, partitionIndex: p.partition })),
        };
      } catch (err) {
        if (err instanceof NotControllerError) return failed(ErrorCode.NOT_CONTROLLER);
        if (err instanceof BrokerNotAvailableError) return failed(ErrorCode.BROKER_NOT_AVAILABLE);
        if (err instanceof StaleBrokerEpochError) return failed(ErrorCode.STALE_BROKER_EPOCH);
        services.logger.warn('Controlled shutdown failed', { brokerId: req.brokerId, error: String(err) });
        return failed(ErrorCode.UNKNOWN_SERVER_ERROR);
      }
    },
  },
);
