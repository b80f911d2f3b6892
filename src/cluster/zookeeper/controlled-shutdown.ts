// The stopping side of a controlled shutdown (Kafka's KafkaServer.controlledShutdown): before a
// cluster member closes, it asks the active controller to move every leadership it holds to another
// ISR member, so clients are sent to the new leaders (NOT_LEADER_OR_FOLLOWER, then Metadata) instead
// of waiting for this broker's session to end. The controller is asked over the Kafka protocol
// (ControlledShutdown, API 7) where the cluster view says it is; when this broker is the controller,
// it runs the moves itself (its /controller znode goes with its session right after).
//
// Bounded as Kafka bounds it: controlled.shutdown.max.retries attempts, controlled.shutdown.retry.backoff.ms
// apart; an attempt fails on an error, with no controller, or while partitions remain that could move
// but did not. Then, successful or not, the broker stops.
import { Connection } from '../../client/connection.js';
import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type { Controller } from './controller.js';
import type { ZooKeeperMetadataStore } from './zookeeper-metadata-store.js';

export interface ControlledShutdownOptions {
  store: ZooKeeperMetadataStore;
  /** This broker's controller candidate. */
  controller: Controller | null;
  maxRetries: number;
  retryBackoffMs: number;
  logger: Logger;
  /** Bound on one attempt's request to the controller. */
  requestTimeoutMs?: number;
}

/** Longest wait, after the moves, for this broker's own view to show them (watches are milliseconds). */
const VIEW_WAIT_MS = 2_000;

/** Resolves true once the controller moved everything it could, false when the attempts ran out. */
export async function controlledShutdown(opts: ControlledShutdownOptions): Promise<boolean> {
  const { store, logger } = opts;
  const me = store.localNodeId;
  for (let attempt = 1; attempt <= opts.maxRetries; attempt++) {
    if (!store.sessionValid || !store.session.connected) {
      // Without ZooKeeper no controller can write the moves (and without a session this broker's
      // registration is already gone): waiting would only delay the stop.
      logger.warn('Controlled shutdown skipped: ZooKeeper is not connected', { brokerId: me });
      return false;
    }
    let failure: string;
    try {
      const remaining = await withTimeout(askController(opts), opts.requestTimeoutMs ?? 10_000);
      if (remaining.length === 0) {
        await waitForView(store);
        logger.info('Controlled shutdown succeeded', { attempt });
        return true;
      }
      failure = `${remaining.length} partition(s) could not move yet (${remaining.slice(0, 5).join(', ')})`;
    } catch (err) {
      failure = (err as Error).message;
    }
    logger.warn('Controlled shutdown attempt failed', {
      attempt,
      of: opts.maxRetries,
      reason: failure,
      brokerId: me,
    });
    if (attempt < opts.maxRetries) await new Promise((r) => setTimeout(r, opts.retryBackoffMs));
  }
  logger.warn('Controlled shutdown did not complete; stopping anyway', { brokerId: me });
  return false;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One attempt: the partitions left (as "topic-partition"), or throws why the attempt failed. */
async function askController(opts: ControlledShutdownOptions): Promise<string[]> {
  const { store } = opts;
  const me = store.localNodeId;
  const controllerId = store.controllerId();
  if (controllerId === -1) throw new Error('there is no active controller');
  if (controllerId === me) {
    if (!opts.controller?.isActive) throw new Error('this broker is not the active controller yet');
    const remaining = await opts.controller.controlledShutdown(me, store.localBrokerEpoch);
    return remaining.map((p) => `${p.topic}-${p.partition}`);
  }
  const ep = store.broker(controllerId);
  if (ep === undefined) throw new Error(`the controller ${controllerId} is not a live broker`);
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const conn = await Connection.connect(ep.host, ep.port, {
    clientId: `brook-controlled-shutdown-${me}`,
    connectTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
  });
  try {
    const res = await conn.send(ApiKey.ControlledShutdown, {
      brokerId: me,
      brokerEpoch: store.localBrokerEpoch,
    });
    if (res.errorCode !== ErrorCode.NONE) {
      throw new Error(`the controller ${controllerId} answered error ${res.errorCode}`);
    }
    return res.remainingPartitions.map((p) => `${p.topicName}-${p.partitionIndex}`);
  } finally {
    conn.close();
  }
}

/**
 * Until no partition this broker's view knows names it leader while another replica is alive (the
 * controller's writes reach this broker through its watches), bounded by VIEW_WAIT_MS.
 */
async function waitForView(store: ZooKeeperMetadataStore): Promise<void> {
  const me = store.localNodeId;
  const leadsMovable = (): boolean => {
    const live = new Set(store.liveBrokers().map((b) => b.nodeId));
    for (const t of store.assignments()) {
      for (let p = 0; p < t.replicas.length; p++) {
        const s = store.partitionState(t.name, p);
        if (s?.leader === me && s.isr.some((b) => b !== me && live.has(b))) return true;
      }
    }
    return false;
  };
  const deadline = Date.now() + VIEW_WAIT_MS;
  while (leadsMovable() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
