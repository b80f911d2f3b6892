// AddPartitionsToTxn (key 24), versions 0-5.
// - v0-3 (producers): adds partitions to the producer's ongoing transaction, starting one. A partition
//   that does not exist fails with UNKNOWN_TOPIC_OR_PARTITION and the others with
//   OPERATION_NOT_ATTEMPTED, nothing added; otherwise every partition carries the coordinator's answer
//   (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED — INVALID_PRODUCER_EPOCH before v2 —,
//   CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, ...).
// - v4+ (brokers, KIP-890): several transactions per request, each with VerifyOnly: a verify-only
//   transaction adds nothing and answers, per partition, NONE when it is in the ongoing transaction
//   and INVALID_TXN_STATE otherwise.
// v1: same as v0. v2: PRODUCER_FENCED. v3: flexible. v4: batched. v5: same as v4.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  AddPartitionsToTxnResponse,
  AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from '../../protocol/generated/add-partitions-to-txn.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';

type TopicResult = DeepPartial<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>;

export const addPartitionsToTxnHandler = defineHandler<
  AddPartitionsToTxnRequest,
  DeepPartial<AddPartitionsToTxnResponse>
>({
  apiKey: ApiKey.AddPartitionsToTxn,
  versions: [0, 5],
  async handle(ctx, req) {
    const version = ctx.header.apiVersion;
    if (version <= 3) {
      const results = await addOne(
        ctx.services,
        req.v3AndBelowTransactionalId,
        req.v3AndBelowProducerId,
        req.v3AndBelowProducerEpoch,
        req.v3AndBelowTopics,
        false,
        version,
      );
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
    }
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (t) => ({
        transactionalId: t.transactionalId,
        topicResults: await addOne(
          ctx.services,
          t.transactionalId,
          t.producerId,
          t.producerEpoch,
          t.topics,
          t.verifyOnly,
          version,
        ),
      })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  },
});

async function addOne(
  services: BrokerServices,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[],
  verifyOnly: boolean,
  version: number,
): Promise<TopicResult[]> {
  const coordinator = services.transactions;
  const answer = (code: (topic: string, partition: number) => number): TopicResult[] =>
    topics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((p) => ({
        partitionIndex: p,
        partitionErrorCode: code(t.name, p),
      })),
    }));
  if (verifyOnly) {
    return answer((topic, partition) =>
      coordinator.verifyPartition(transactionalId, Number(producerId), producerEpoch, topic, partition),
    );
  }
  const unknown = new Set<string>();
  for (const t of topics) {
    const meta = services.topics.get(t.name);
    for (const p of t.partitions) {
      if (meta === undefined || p < 0 || p >= meta.partitions) unknown.add(`${t.name}\0${p}`);
    }
  }
  if (unknown.size > 0) {
    return answer((topic, partition) =>
      unknown.has(`${topic}\0${partition}`)
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.OPERATION_NOT_ATTEMPTED,
    );
  }
  let code = await coordinator.addPartitions(
    transactionalId,
    Number(producerId),
    producerEpoch,
    topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition }))),
  );
  if (code === ErrorCode.PRODUCER_FENCED && version < 2) code = ErrorCode.INVALID_PRODUCER_EPOCH;
  return answer(() => code);
}
