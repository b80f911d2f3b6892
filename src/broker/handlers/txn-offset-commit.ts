// TxnOffsetCommit (key 28), versions 0-4: a transactional producer commits a group's offsets inside
// its transaction (src/group/txn-offsets.ts); they become visible with the COMMIT marker and are
// dropped on abort. The group's __consumer_offsets partition must have been added to the
// transaction (AddOffsetsToTxn) — checked with this broker's transaction coordinator when it is the
// id's coordinator (KIP-890): INVALID_TXN_STATE otherwise, PRODUCER_FENCED for an old epoch.
// Membership (generation, member id, v3+) is checked as for OffsetCommit when the client sends it.
// v1: same as v0. v2: committed leader epoch. v3: flexible, generation/member/instance id.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from '../../protocol/generated/txn-offset-commit.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { CommitEntry } from '../../group/group-offsets.js';
import { OFFSETS_TOPIC } from '../../group/offset-manager.js';
import { commitTxnOffsets } from '../../group/txn-offsets.js';
import { defineHandler } from '../handler.js';

export const txnOffsetCommitHandler = defineHandler<
  TxnOffsetCommitRequest,
  DeepPartial<TxnOffsetCommitResponse>
>({
  apiKey: ApiKey.TxnOffsetCommit,
  versions: [0, 4],
  async handle(ctx, req) {
    const version = ctx.header.apiVersion;
    const { groups, transactions } = ctx.services;
    const offsets: CommitEntry[] = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: Number(p.committedOffset),
        leaderEpoch: version >= 2 ? p.committedLeaderEpoch : -1,
        metadata: p.committedMetadata,
        commitTimestampMs: -1,
      })),
    );
    let errors: number[];
    const producerId = Number(req.producerId);
    let verified: number = transactions.verifyPartition(
      req.transactionalId,
      producerId,
      req.producerEpoch,
      OFFSETS_TOPIC,
      groups.store.partitionFor(req.groupId),
    );
    // Another broker coordinates the id (cluster mode): nothing to check against here.
    if (verified === ErrorCode.NOT_COORDINATOR) verified = ErrorCode.NONE;
    if (verified === ErrorCode.INVALID_PRODUCER_EPOCH) verified = ErrorCode.PRODUCER_FENCED;
    if (verified !== ErrorCode.NONE) {
      if (verified === ErrorCode.PRODUCER_FENCED && version < 2) verified = ErrorCode.INVALID_PRODUCER_EPOCH;
      errors = offsets.map(() => verified);
    } else {
      errors = await commitTxnOffsets(groups, {
        groupId: req.groupId,
        producerId,
        producerEpoch: req.producerEpoch,
        generationId: version >= 3 && req.memberId !== '' ? req.generationId : -1,
        memberId: version >= 3 ? req.memberId : '',
        groupInstanceId: version >= 3 ? req.groupInstanceId : null,
        offsets,
      });
    }
    let i = 0;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors[i++]! })),
      })),
    };
  },
});
