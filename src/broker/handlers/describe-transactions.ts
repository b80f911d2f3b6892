// DescribeTransactions (key 65), version 0: the coordinator's view of each transactional id (state,
// timeout, start time, producer id and epoch, partitions of the ongoing transaction), as
// kafka-transactions.sh describe shows it. TRANSACTIONAL_ID_NOT_FOUND for an unknown id;
// NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for ids this broker does not coordinate now.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
} from '../../protocol/generated/describe-transactions.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { TXN_STATE_NAMES } from '../../txn/transaction-metadata.js';
import { defineHandler } from '../handler.js';

export const describeTransactionsHandler = defineHandler<
  DescribeTransactionsRequest,
  DeepPartial<DescribeTransactionsResponse>
>({
  apiKey: ApiKey.DescribeTransactions,
  versions: [0, 0],
  handle(ctx, req) {
    const coordinator = ctx.services.transactions;
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((id) => {
        const empty = {
          transactionalId: id,
          transactionState: '',
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1n,
          producerId: -1n,
          producerEpoch: -1,
          topics: [],
        };
        const unavailable = coordinator.availability(id);
        if (unavailable !== ErrorCode.NONE) return { ...empty, errorCode: unavailable };
        const m = coordinator.txns.get(id);
        if (m === undefined) return { ...empty, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
        return {
          errorCode: ErrorCode.NONE,
          transactionalId: id,
          transactionState: TXN_STATE_NAMES[m.state]!,
          transactionTimeoutMs: m.timeoutMs,
          transactionStartTimeMs: BigInt(m.startTimestampMs),
          producerId: BigInt(m.producerId),
          producerEpoch: m.producerEpoch,
          topics: [...m.partitions].map(([topic, ps]) => ({
            topic,
            partitions: [...ps].sort((a, b) => a - b),
          })),
        };
      }),
    };
  },
});
