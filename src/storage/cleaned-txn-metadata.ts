// What the log cleaner knows about transactions while it walks a log in offset order, after Kafka's
// CleanedTransactionMetadata. It starts from the aborted transactions of the .txnindex and decides:
// - a data batch of an aborted transaction is discardable (its records go);
// - an ABORT marker is kept while a batch of its transaction was seen in this cleaning (the batch is
//   removed by this same cleaning; the marker and its .txnindex entry stay one more cleaning, so a
//   read that started on the old segment still finds the entry), and discardable once none was;
// - a COMMIT marker is kept while a batch of its transaction was seen, discardable once none was.
// A discardable marker is not removed at once: the cleaner gives it a delete horizon
// (delete.retention.ms, KIP-534) and removes it at the first cleaning after that, as with tombstones.
// The aborted transactions whose ABORT marker is kept are the entries the cleaned segments'
// .txnindex keeps; the others disappear from it.
// Cleaning stops at the last stable offset, so every transaction seen here is decided: a
// transactional batch that is not aborted is committed.

import type { BatchInfo } from '../protocol/records.js';
import { CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT } from './producer-state-manager.js';
import type { AbortedTxn } from './txn-index.js';

interface OngoingAbortedTxn {
  txn: AbortedTxn;
  /** Whether a batch of it was seen in this cleaning. */
  batchSeen: boolean;
}

export class CleanedTransactionMetadata {
  /** Aborted transactions not reached yet, by first offset. */
  private readonly pending: AbortedTxn[];
  private next = 0;
  private readonly ongoingAborted = new Map<number, OngoingAbortedTxn>();
  /** Producers with a committed (not aborted) transactional batch seen since their last marker. */
  private readonly ongoingCommitted = new Set<number>();
  /** Marker offsets (lastOffset) of the aborted transactions whose marker this cleaning keeps. */
  readonly keptAbortMarkers = new Set<number>();

  constructor(aborted: readonly AbortedTxn[]) {
    this.pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  private reach(offset: number): void {
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= offset) {
      const txn = this.pending[this.next++]!;
      this.ongoingAborted.set(txn.producerId, { txn, batchSeen: false });
    }
  }

  /** A data batch, in offset order: whether it belongs to an aborted transaction (its records go). */
  onBatchRead(info: BatchInfo): boolean {
    this.reach(info.lastOffset);
    if (!info.isTransactional) return false;
    const producerId = Number(info.producerId);
    const aborted = this.ongoingAborted.get(producerId);
    if (aborted !== undefined) {
      aborted.batchSeen = true;
      return true;
    }
    this.ongoingCommitted.add(producerId);
    return false;
  }

  /**
   * A control batch, in offset order, with the type of its control record (-1: none, e.g. a batch
   * emptied by an earlier cleaning): whether it may be discarded once its delete horizon has passed.
   */
  onControlBatchRead(info: BatchInfo, controlType: number): boolean {
    this.reach(info.lastOffset);
    const producerId = Number(info.producerId);
    if (controlType === CONTROL_TYPE_ABORT) {
      const aborted = this.ongoingAborted.get(producerId);
      this.ongoingAborted.delete(producerId);
      if (aborted !== undefined && aborted.batchSeen) {
        this.keptAbortMarkers.add(info.baseOffset);
        return false;
      }
      return true;
    }
    if (controlType === CONTROL_TYPE_COMMIT) return !this.ongoingCommitted.delete(producerId);
    // An unknown control type is kept, as Kafka does; an empty control batch was cleaned already.
    return info.recordsCount === 0;
  }
}
