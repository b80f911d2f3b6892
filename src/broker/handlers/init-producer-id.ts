// InitProducerId (key 22), versions 0-5.
// - Idempotent producers (no transactional id) get a fresh producer ID with epoch 0; IDs are never
//   reused, even across restarts (ProducerIdManager).
// - v3+: a producer that already has an ID may ask to bump its epoch (KIP-360) to recover from a
//   sequence error; it keeps its ID and gets epoch + 1 (a new ID when the epoch would overflow).
// - Transactional producers (a transactional id) are the transaction coordinator's
//   (src/txn/transaction-coordinator.ts): epoch bump, fencing, abort of the old instance's
//   transaction, INVALID_TRANSACTION_TIMEOUT past transaction.max.timeout.ms. Before v4 a fenced
//   producer gets INVALID_PRODUCER_EPOCH (PRODUCER_FENCED did not exist yet).
// - A failed ID block reservation answers COORDINATOR_LOAD_IN_PROGRESS (retriable); the next request retries it.
// v2: flexible. v3: producerId/producerEpoch in the request. v4: PRODUCER_FENCED.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from '../../protocol/generated/init-producer-id.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

const MAX_EPOCH = 32766;

export const initProducerIdHandler = defineHandler<
  InitProducerIdRequest,
  DeepPartial<InitProducerIdResponse>
>({
  apiKey: ApiKey.InitProducerId,
  versions: [0, 5],
  async handle(ctx, req) {
    if (req.transactionalId !== null) {
      const r = await ctx.services.transactions.initProducerId(
        req.transactionalId,
        req.transactionTimeoutMs,
        Number(req.producerId),
        req.producerEpoch,
      );
      const fencedOld = r.errorCode === ErrorCode.PRODUCER_FENCED && ctx.header.apiVersion < 4;
      return {
        errorCode: fencedOld ? ErrorCode.INVALID_PRODUCER_EPOCH : r.errorCode,
        producerId: BigInt(r.producerId),
        producerEpoch: r.producerEpoch,
      };
    }
    if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < MAX_EPOCH) {
      return { errorCode: ErrorCode.NONE, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
    }
    let id: number;
    try {
      id = await ctx.services.producerIds.generate();
    } catch (err) {
      // No ID block could be reserved (the metadata store failed to write). Kafka answers
      // COORDINATOR_LOAD_IN_PROGRESS while it has no block: retriable, so clients try again.
      ctx.services.logger.warn('producer id block allocation failed', { error: (err as Error).message });
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1n, producerEpoch: -1 };
    }
    return { errorCode: ErrorCode.NONE, producerId: BigInt(id), producerEpoch: 0 };
  },
});
