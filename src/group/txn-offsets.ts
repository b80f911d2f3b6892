// Transactional offset commits (TxnOffsetCommit, KIP-98/KIP-447): a producer commits a group's
// offsets inside its transaction. They are written to __consumer_offsets as a transactional batch of
// that producer and stay pending (invisible to OffsetFetch) until the producer's COMMIT marker
// reaches that partition; an ABORT marker discards them. Loading replays the same rule in log
// order, so pending offsets survive a restart and are settled by a marker written later.
// A group consumer asking OffsetFetch with RequireStable gets UNSTABLE_OFFSET_COMMIT for a
// partition with pending offsets, and retries until the transaction is decided.
import { ErrorCode } from '../protocol/errors.js';
import type { CommittedOffset } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { checkCommitter, prepareCommit, setOffset, type CommitEntry } from './group-offsets.js';
import { parseKey, parseOffsetValue } from './offsets-records.js';
import type { TxnOffsetsReplay } from './offset-manager.js';

type GroupOffsets = Map<string, Map<number, CommittedOffset>>;

export class PendingTxnOffsets {
  /** producer id → group → topic → partition → offset. */
  private readonly byProducer = new Map<number, Map<string, GroupOffsets>>();

  add(producerId: number, groupId: string, topic: string, partition: number, value: CommittedOffset): void {
    let groups = this.byProducer.get(producerId);
    if (groups === undefined) this.byProducer.set(producerId, (groups = new Map()));
    let topics = groups.get(groupId);
    if (topics === undefined) groups.set(groupId, (topics = new Map()));
    let partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, value);
  }

  /** Removes and returns the producer's pending offsets of the groups `inPartition` accepts. */
  take(producerId: number, inPartition: (groupId: string) => boolean): Map<string, GroupOffsets> {
    const out = new Map<string, GroupOffsets>();
    const groups = this.byProducer.get(producerId);
    if (groups === undefined) return out;
    for (const [groupId, offsets] of groups) {
      if (!inPartition(groupId)) continue;
      out.set(groupId, offsets);
      groups.delete(groupId);
    }
    if (groups.size === 0) this.byProducer.delete(producerId);
    return out;
  }

  isPending(groupId: string, topic: string, partition: number): boolean {
    for (const groups of this.byProducer.values()) {
      if (groups.get(groupId)?.get(topic)?.has(partition) === true) return true;
    }
    return false;
  }
}

export interface TxnCommitParams {
  groupId: string;
  producerId: number;
  producerEpoch: number;
  /** -1 (TxnOffsetCommit v0-2, or no group membership): membership is not checked. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  offsets: CommitEntry[];
}

/** TxnOffsetCommit: one error code per entry of `p.offsets`. */
export async function commitTxnOffsets(coord: GroupCoordinator, p: TxnCommitParams): Promise<number[]> {
  const all = (code: number) => p.offsets.map(() => code);
  const unavailable = coord.availability(p.groupId);
  if (unavailable !== ErrorCode.NONE) return all(unavailable);
  const existing = coord.groups.get(p.groupId);
  if (existing !== undefined && p.generationId >= 0) {
    const error = checkCommitter(coord, existing, { ...p, retentionTimeMs: -1 });
    if (error !== ErrorCode.NONE) return all(error);
  }
  const nowMs = coord.now();
  const { errors, accepted, records } = prepareCommit(coord, p.groupId, p.offsets, (e) => ({
    offset: e.offset,
    leaderEpoch: e.leaderEpoch,
    metadata: e.metadata ?? '',
    commitTimestampMs: nowMs,
    expireTimestampMs: -1,
  }));
  if (accepted.length === 0) return errors;
  try {
    await coord.store.write(p.groupId, records, { producerId: p.producerId, producerEpoch: p.producerEpoch });
  } catch (err) {
    coord.logger.error('Transactional offset commit could not be written', {
      group: p.groupId,
      err: String(err),
    });
    const code = /epoch/i.test(String(err))
      ? ErrorCode.INVALID_PRODUCER_EPOCH
      : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return errors.map((c) => (c === ErrorCode.NONE ? code : c));
  }
  for (const { entry, value } of accepted) {
    coord.txnOffsets.add(p.producerId, p.groupId, entry.topic, entry.partition, value);
  }
  return errors;
}

/** A marker of `producerId` reached __consumer_offsets partition `partition`: settle its offsets there. */
export function completeTxnOffsets(
  coord: GroupCoordinator,
  partition: number,
  producerId: number,
  commit: boolean,
): void {
  const settled = coord.txnOffsets.take(producerId, (g) => coord.store.partitionFor(g) === partition);
  if (!commit) return;
  for (const [groupId, topics] of settled) {
    const group = coord.getOrCreateGroup(groupId);
    for (const [topic, partitions] of topics) {
      for (const [p, value] of partitions) setOffset(group, topic, p, value);
    }
  }
}

/** How loading __consumer_offsets replays transactional commits (OffsetManager.txnReplay). */
export function txnOffsetsReplay(coord: GroupCoordinator): TxnOffsetsReplay {
  return {
    record(_partition, producerId, record) {
      const key = parseKey(record.key);
      if (key.kind !== 'offset' || record.value === null) return;
      const v = parseOffsetValue(record.value);
      coord.txnOffsets.add(producerId, key.group, key.topic, key.partition, {
        offset: Number(v.offset),
        leaderEpoch: v.leaderEpoch,
        metadata: v.metadata,
        commitTimestampMs: Number(v.commitTimestamp),
        expireTimestampMs: Number(v.expireTimestamp),
      });
    },
    marker(partition, producerId, commit) {
      completeTxnOffsets(coord, partition, producerId, commit);
    },
  };
}
