// KIP-890 part 1, the server-side defence against hanging transactions: a transactional Produce to
// a partition that is not part of the producer's ongoing transaction is refused, so a late retry of
// a produce from an earlier transaction cannot open a transaction nobody will end. Checked against
// this broker's transaction coordinator; when another broker coordinates the id (cluster mode) the
// check is skipped (Kafka asks that coordinator with AddPartitionsToTxn verify-only).
import { ErrorCode } from '../protocol/errors.js';
import { BATCH_HEADER_BYTES, BATCH_OFFSET_MAGIC } from '../protocol/batch-header.js';
import { isTransactionalBatchAt, producerEpochAt, producerIdAt } from '../storage/record-batches.js';
import type { TransactionCoordinator } from './transaction-coordinator.js';

/** NONE when the records may be appended as far as the transaction is concerned. */
export function verifyTransactionalProduce(
  coordinator: TransactionCoordinator,
  transactionalId: string,
  topic: string,
  partition: number,
  records: Buffer | null,
): number {
  if (records === null || records.length < BATCH_HEADER_BYTES || records[BATCH_OFFSET_MAGIC] !== 2) {
    return ErrorCode.NONE;
  }
  if (!isTransactionalBatchAt(records, 0)) return ErrorCode.NONE;
  const code = coordinator.verifyPartition(
    transactionalId,
    producerIdAt(records, 0),
    producerEpochAt(records, 0),
    topic,
    partition,
  );
  if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    return ErrorCode.NONE;
  return code === ErrorCode.INVALID_PRODUCER_ID_MAPPING ? ErrorCode.INVALID_TXN_STATE : code;
}
