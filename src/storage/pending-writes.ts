// Writes in flight on one partition, in append (offset) order. Appends reserve file positions
// synchronously and write asynchronously, so writes may complete out of order; the log end offset
// may only advance over the contiguous prefix of completed writes, so a reader never sees a hole.
// This queue finds that prefix; UnifiedLog decides what making a write visible means.

import type { LogSegment } from './log-segment.js';

export interface PendingWrite {
  segment: LogSegment;
  endPosition: number;
  nextOffset: number;
  messages: number;
  done: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  promise: Promise<void>;
}

export class PendingWrites {
  private pending: PendingWrite[] = [];
  private pendingHead = 0;

  /** Writes enqueued and not yet visible. */
  get size(): number {
    return this.pending.length - this.pendingHead;
  }

  enqueue(segment: LogSegment, endPosition: number, nextOffset: number, messages: number): PendingWrite {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that ignore `durable` must not crash the process when the disk fails.
    promise.catch(() => undefined);
    const write: PendingWrite = {
      segment,
      endPosition,
      nextOffset,
      messages,
      done: false,
      resolve,
      reject,
      promise,
    };
    this.pending.push(write);
    return write;
  }

  /**
   * Marks `write` done and passes each write of the now-completed contiguous prefix to `visible`,
   * oldest first. Returns whether any write became visible.
   */
  complete(write: PendingWrite, visible: (w: PendingWrite) => void): boolean {
    write.done = true;
    let advanced = false;
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead]!.done) {
      visible(this.pending[this.pendingHead++]!);
      advanced = true;
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    return advanced;
  }

  /** The promise of the first write in flight that covers offsets below `offset`, or null if none does. */
  promiseFor(offset: number): Promise<void> | null {
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      if (this.pending[i]!.nextOffset >= offset) return this.pending[i]!.promise;
    }
    return null;
  }

  /** Resolves when every write enqueued so far has completed or failed. */
  async drain(): Promise<void> {
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && this.pendingHead < this.pending.length)
      await last.promise.catch(() => undefined);
  }

  /** Rejects every write not yet visible and forgets them all. */
  failAll(err: Error): void {
    for (let i = this.pendingHead; i < this.pending.length; i++) this.pending[i]!.reject(err);
    this.pending = [];
    this.pendingHead = 0;
  }
}
