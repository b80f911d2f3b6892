// One transactional id's state at the coordinator (Kafka's TransactionMetadata) and the states of
// its state machine, with the ids Kafka writes into TransactionLogValue.TransactionStatus:
//
//   Empty ──AddPartitions──▶ Ongoing ──EndTxn──▶ PrepareCommit ──markers──▶ CompleteCommit
//                              │                 PrepareAbort  ──markers──▶ CompleteAbort
//                              └─ timeout / InitProducerId of a new instance: PrepareEpochFence
//                                 (epoch bumped), then PrepareAbort
//   Complete* ──AddPartitions──▶ Ongoing;  Empty/Complete* ──InitProducerId──▶ Empty (epoch + 1)
//   Empty/Complete* past transactional.id.expiration.ms ──▶ Dead (tombstone)

export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnStateId = (typeof TxnState)[keyof typeof TxnState];

/** Names as DescribeTransactions and ListTransactions report them (Kafka's TransactionState.name). */
export const TXN_STATE_NAMES: readonly string[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
];

export function txnStateOf(id: number): TxnStateId | null {
  return id >= 0 && id <= 7 ? (id as TxnStateId) : null;
}

export interface TxnMetadata {
  readonly transactionalId: string;
  producerId: number;
  /** The producer id before the last one (epoch exhaustion gave a new id), -1 if none. */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch before the last bump, so a retried InitProducerId (KIP-360) is recognised; -1 if none. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStateId;
  /** The partitions of the ongoing transaction, topic → partitions. */
  partitions: Map<string, Set<number>>;
  /** When the ongoing transaction started (its first AddPartitions), -1 when none. */
  startTimestampMs: number;
  lastUpdateTimestampMs: number;
}

export function copyMetadata(m: TxnMetadata): TxnMetadata {
  return {
    ...m,
    partitions: new Map([...m.partitions].map(([t, ps]) => [t, new Set(ps)])),
  };
}

export function hasPartition(m: TxnMetadata, topic: string, partition: number): boolean {
  return m.partitions.get(topic)?.has(partition) === true;
}

export function partitionList(m: TxnMetadata): { topic: string; partition: number }[] {
  const out: { topic: string; partition: number }[] = [];
  for (const [topic, ps] of m.partitions) for (const partition of ps) out.push({ topic, partition });
  return out;
}
