// EndTxn (key 26), versions 0-4: commits or aborts the producer's ongoing transaction. Answered once
// the decision is in __transaction_state and its markers are written to every partition (a marker
// that cannot be written is retried in the background; the decision stands). A retry of a completed
// EndTxn answers NONE; the opposite decision INVALID_TXN_STATE; PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2. v5 (KIP-890 part 2, an epoch bump per transaction) is not served.
// v1: same as v0. v2: PRODUCER_FENCED. v3: flexible. v4: TRANSACTION_ABORTABLE (not used here).
import { ApiKey } from '../../protocol/generated/apis.js';
import type { EndTxnRequest, EndTxnResponse } from '../../protocol/generated/end-txn.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

export const endTxnHandler = defineHandler<EndTxnRequest, DeepPartial<EndTxnResponse>>({
  apiKey: ApiKey.EndTxn,
  versions: [0, 4],
  async handle(ctx, req) {
    let code = await ctx.services.transactions.endTransaction(
      req.transactionalId,
      Number(req.producerId),
      req.producerEpoch,
      req.committed,
    );
    if (code === ErrorCode.PRODUCER_FENCED && ctx.header.apiVersion < 2)
      code = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
  },
});
