// Transaction markers: the COMMIT or ABORT control batch the coordinator writes to every partition
// of a transaction (Kafka's EndTransactionMarker). One control record: key = version int16 0, type
// int16 (0 abort, 1 commit); value = version int16 0, coordinator epoch int32. The batch carries the
// producer id and epoch and the transactional and control attributes, with no sequence.
// appendMarker() writes one to a partition this broker leads: the coordinator calls it directly for
// partitions it leads, and the WriteTxnMarkers handler for markers sent by a coordinator on another
// broker (marker-channel.ts). A marker in __consumer_offsets also settles the producer's pending
// transactional offset commits there (visible on commit, dropped on abort).
import type { ReplicaManager } from '../broker/replica-manager.js';
import { errorCodeOf } from '../broker/replica-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { encodeBatchSync } from '../protocol/records.js';

export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/** How long a marker waits for the partition's ISR in a cluster (Kafka's request.timeout.ms). */
export const MARKER_REPLICATION_TIMEOUT_MS = 30_000;

export function encodeMarkerBatch(marker: TxnMarker, leaderEpoch: number, nowMs = Date.now()): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(marker.commit ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(marker.coordinatorEpoch, 2);
  return encodeBatchSync({
    records: [{ key, value, timestamp: nowMs }],
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    partitionLeaderEpoch: leaderEpoch,
  });
}

/** The control type of a decoded marker record's key: 0 abort, 1 commit, -1 not a marker. */
export function markerType(key: Buffer | null): number {
  if (key === null || key.length < 4) return -1;
  return key.readInt16BE(2);
}

export type OffsetsMarkerListener = (partition: number, producerId: number, commit: boolean) => void;

/**
 * Writes a marker to a partition this broker leads; resolves with the partition's error code once
 * it is written (and, in a cluster, replicated to the ISR). TRANSACTION_COORDINATOR_FENCED when a
 * marker with a newer coordinator epoch was written for the producer here.
 */
export async function appendMarker(
  replicas: ReplicaManager,
  topic: string,
  partition: number,
  marker: TxnMarker,
  onOffsetsMarker: OffsetsMarkerListener | null,
): Promise<number> {
  const log = replicas.getLog(topic, partition);
  if (!log) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const leaderError = replicas.leaderError(topic, partition, -1);
  if (leaderError !== ErrorCode.NONE) return leaderError;
  // A coordinator that lost its __transaction_state partition (a newer leader epoch wrote markers
  // for this producer here since) is fenced, as Kafka's ProducerAppendInfo does.
  const last = log.producerState.entry(marker.producerId)?.coordinatorEpoch ?? -1;
  if (marker.coordinatorEpoch < last) return ErrorCode.TRANSACTION_COORDINATOR_FENCED;
  const leaderEpoch = replicas.leaderEpochOf(topic, partition);
  try {
    const result = log.append(encodeMarkerBatch(marker, leaderEpoch), {
      leaderEpoch,
      assignOffsets: true,
      fromCoordinator: true,
    });
    await result.durable;
    if (replicas.replicated) {
      await replicas.awaitReplicated(topic, partition, result.lastOffset + 1, MARKER_REPLICATION_TIMEOUT_MS);
    }
  } catch (err) {
    const code = errorCodeOf(err);
    return code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : code;
  }
  if (topic === '__consumer_offsets' && onOffsetsMarker !== null) {
    onOffsetsMarker(partition, marker.producerId, marker.commit);
  }
  return ErrorCode.NONE;
}
