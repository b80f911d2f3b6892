// Produce (key 0), versions 0-11.
// - acks 0: written, no response at all; acks 1 and -1 (all): answered once the batch is written
//   to the log (and fsynced first when log.flush.before.ack is on). With one replica, "all" is
//   this broker. In a cluster, acks=-1 also waits until the high watermark covers the batch (the
//   whole ISR has it), up to TimeoutMs (REQUEST_TIMED_OUT); NOT_ENOUGH_REPLICAS when the ISR is
//   below min.insync.replicas before the append, NOT_ENOUGH_REPLICAS_AFTER_APPEND when it shrank
//   below it meanwhile; NOT_LEADER_OR_FOLLOWER on a broker that does not lead the partition.
// - Each partition gets its own error code: UNKNOWN_TOPIC_OR_PARTITION, CORRUPT_MESSAGE (bad CRC or
//   framing), MESSAGE_TOO_LARGE (max.message.bytes, or records inflating past their bound),
//   INVALID_RECORD (records that do not parse, counts or offsets that disagree; keyless records on a
//   compacted topic, listed one by one in RecordErrors), OUT_OF_ORDER_SEQUENCE_NUMBER (idempotence),
//   INVALID_TOPIC_EXCEPTION (internal topics such as __consumer_offsets: only the broker writes them,
//   or a client whose client.id is Kafka's "__admin_client", as Kafka allows).
// - Transactional producers (TransactionalId): a partition not added to the ongoing transaction is
//   refused with INVALID_TXN_STATE, an older epoch with INVALID_PRODUCER_EPOCH (KIP-890 part 1,
//   src/txn/produce-verification.ts); the log itself fences epochs older than its last marker's.
// - Batches are stored as the client sent them; only baseOffset and the leader epoch are rewritten.
//   v0-2 carry magic 0/1 message sets, converted to v2 batches on append.
// v1: throttle. v2: LogAppendTime. v3: transactional id, magic 2. v5: log start offset.
// v8: record errors. v9: flexible. v10: current leader (tagged). v11: no changes for us.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  ProduceRequest,
  ProduceResponse,
  ProduceResponseTopicProduceResponse,
} from '../../protocol/generated/produce.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import { INTERNAL_TOPICS } from '../topic-manager.js';
import { verifyTransactionalProduce } from '../../txn/produce-verification.js';

/** Kafka's AdminUtils.ADMIN_CLIENT_ID: the one client.id KafkaApis lets append to internal topics. */
const ADMIN_CLIENT_ID = '__admin_client';

export const produceHandler = defineHandler<ProduceRequest, DeepPartial<ProduceResponse>>({
  apiKey: ApiKey.Produce,
  versions: [0, 11],
  async handle(ctx, req) {
    const { replicas } = ctx.services;
    const acks = req.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const internalAllowed = ctx.header.clientId === ADMIN_CLIENT_ID;
    const responses: DeepPartial<ProduceResponseTopicProduceResponse>[] = await Promise.all(
      req.topicData.map(async (topic) => ({
        name: topic.name,
        partitionResponses: await Promise.all(
          topic.partitionData.map(async (p) => {
            if (!validAcks) {
              return { index: p.index, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1n };
            }
            if (req.transactionalId !== null) {
              const code = verifyTransactionalProduce(
                ctx.services.transactions,
                req.transactionalId,
                topic.name,
                p.index,
                p.records,
              );
              if (code !== ErrorCode.NONE) {
                return {
                  index: p.index,
                  errorCode: code,
                  errorMessage: 'The partition is not part of an ongoing transaction of this producer.',
                  baseOffset: -1n,
                };
              }
            }
            if (INTERNAL_TOPICS.has(topic.name) && !internalAllowed) {
              // Forged commits in __consumer_offsets would be replayed as other groups' offsets.
              return {
                index: p.index,
                errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
                errorMessage: `Cannot append to internal topic ${topic.name}`,
                baseOffset: -1n,
              };
            }
            const r = await replicas.appendRecords(topic.name, p.index, p.records, {
              acks,
              timeoutMs: req.timeoutMs,
            });
            return {
              index: p.index,
              errorCode: r.errorCode,
              errorMessage: r.errorMessage,
              recordErrors: r.recordErrors.map((e) => ({
                batchIndex: e.batchIndex,
                batchIndexErrorMessage: e.message,
              })),
              baseOffset: BigInt(r.baseOffset),
              logAppendTimeMs: BigInt(r.logAppendTimeMs),
              logStartOffset: BigInt(r.logStartOffset),
            };
          }),
        ),
      })),
    );
    if (acks === 0) return null;
    return { responses, throttleTimeMs: 0 };
  },
});
