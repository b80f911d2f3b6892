// ListTransactions (key 66), versions 0-1: the transactional ids this broker coordinates, filtered by
// state names (unknown names are echoed in UnknownStateFilters), producer ids and (v1) by running
// longer than DurationFilter ms. An empty filter matches everything.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  ListTransactionsRequest,
  ListTransactionsResponse,
} from '../../protocol/generated/list-transactions.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { TXN_STATE_NAMES, TxnState } from '../../txn/transaction-metadata.js';
import { defineHandler } from '../handler.js';

export const listTransactionsHandler = defineHandler<
  ListTransactionsRequest,
  DeepPartial<ListTransactionsResponse>
>({
  apiKey: ApiKey.ListTransactions,
  versions: [0, 1],
  handle(ctx, req) {
    const coordinator = ctx.services.transactions;
    const known = new Set(TXN_STATE_NAMES);
    const states = new Set(req.stateFilters.filter((s) => known.has(s)));
    const producers = new Set(req.producerIdFilters.map((p) => Number(p)));
    const minDuration = ctx.header.apiVersion >= 1 ? Number(req.durationFilter) : -1;
    const now = coordinator.now();
    const transactionStates = [...coordinator.txns.values()]
      .filter((m) => coordinator.availability(m.transactionalId) === ErrorCode.NONE)
      .filter((m) => m.state !== TxnState.Dead)
      .filter((m) => states.size === 0 || states.has(TXN_STATE_NAMES[m.state]!))
      .filter((m) => producers.size === 0 || producers.has(m.producerId))
      .filter(
        (m) =>
          minDuration < 0 ||
          (m.state === TxnState.Ongoing &&
            m.startTimestampMs >= 0 &&
            now - m.startTimestampMs >= minDuration),
      )
      .map((m) => ({
        transactionalId: m.transactionalId,
        producerId: BigInt(m.producerId),
        transactionState: TXN_STATE_NAMES[m.state]!,
      }));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: req.stateFilters.filter((s) => !known.has(s)),
      transactionStates,
    };
  },
});
