// AddOffsetsToTxn (key 25), versions 0-4: adds the group's __consumer_offsets partition to the
// producer's transaction, so a following TxnOffsetCommit is part of it (sendOffsetsToTransaction).
// Errors as AddPartitionsToTxn; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
// v1: same as v0. v2: PRODUCER_FENCED. v3: flexible. v4: same as v3.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
} from '../../protocol/generated/add-offsets-to-txn.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OFFSETS_TOPIC } from '../../group/offset-manager.js';
import { defineHandler } from '../handler.js';

export const addOffsetsToTxnHandler = defineHandler<
  AddOffsetsToTxnRequest,
  DeepPartial<AddOffsetsToTxnResponse>
>({
  apiKey: ApiKey.AddOffsetsToTxn,
  versions: [0, 4],
  async handle(ctx, req) {
    const { transactions, groups } = ctx.services;
    let code = await transactions.addPartitions(
      req.transactionalId,
      Number(req.producerId),
      req.producerEpoch,
      [{ topic: OFFSETS_TOPIC, partition: groups.store.partitionFor(req.groupId) }],
    );
    if (code === ErrorCode.PRODUCER_FENCED && ctx.header.apiVersion < 2)
      code = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, errorCode: code };
  },
});
