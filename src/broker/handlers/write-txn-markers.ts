// WriteTxnMarkers (key 27), versions 0-1: a transaction coordinator asks the leader of each
// partition to write a COMMIT or ABORT marker (src/txn/transaction-markers.ts). Per partition:
// NONE once written (and replicated to the ISR in a cluster), UNKNOWN_TOPIC_OR_PARTITION,
// NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR, TRANSACTION_COORDINATOR_FENCED (a marker with a newer
// coordinator epoch was written for the producer). The coordinator on this broker writes its own
// partitions' markers directly; this handler serves coordinators on other brokers (marker-channel.ts).
// v1: flexible.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from '../../protocol/generated/write-txn-markers.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { completeTxnOffsets } from '../../group/txn-offsets.js';
import { appendMarker } from '../../txn/transaction-markers.js';
import { defineHandler } from '../handler.js';

export const writeTxnMarkersHandler = defineHandler<
  WriteTxnMarkersRequest,
  DeepPartial<WriteTxnMarkersResponse>
>({
  apiKey: ApiKey.WriteTxnMarkers,
  versions: [0, 1],
  async handle(ctx, req) {
    const { replicas, groups } = ctx.services;
    const onOffsets = (partition: number, producerId: number, commit: boolean): void =>
      completeTxnOffsets(groups, partition, producerId, commit);
    const markers = await Promise.all(
      req.markers.map(async (m) => {
        const marker = {
          producerId: Number(m.producerId),
          producerEpoch: m.producerEpoch,
          commit: m.transactionResult,
          coordinatorEpoch: m.coordinatorEpoch,
        };
        return {
          producerId: m.producerId,
          topics: await Promise.all(
            m.topics.map(async (t) => ({
              name: t.name,
              partitions: await Promise.all(
                t.partitionIndexes.map(async (p) => ({
                  partitionIndex: p,
                  errorCode: await appendMarker(replicas, t.name, p, marker, onOffsets),
                })),
              ),
            })),
          ),
        };
      }),
    );
    return { markers };
  },
});
