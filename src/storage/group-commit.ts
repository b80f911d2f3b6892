// Group commit for log.flush.before.ack: one fsync covers every write that completed before it
// started, and all produce requests waiting on those writes share it. While an fsync runs, new
// waiters queue up and the next fsync takes them all, so fsyncs per second stay bounded by disk
// latency rather than by request rate.

export interface FlushWaiter {
  /** Resolve once everything below this offset is fsynced. */
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class GroupCommit {
  /** Everything below this offset is known to be on stable storage. */
  flushedOffset: number;
  /** fsync rounds run so far (metrics, tests). */
  flushCount = 0;
  private waiters: FlushWaiter[] = [];
  private running = false;

  constructor(
    flushedOffset: number,
    /** Offset below which writes have completed (the log end offset). */
    private readonly completedOffset: () => number,
    /** fsyncs whatever was written; called with no write-order guarantees beyond "completed". */
    private readonly fsync: () => Promise<void>,
    private readonly onFlushed: (flushedOffset: number) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.flushedOffset = flushedOffset;
  }

  get pendingWaiters(): number {
    return this.waiters.length;
  }

  /** Resolves once offsets below `offset` are fsynced; never starts an fsync that covers nothing. */
  waitFor(offset: number): Promise<void> {
    if (offset <= this.flushedOffset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ offset, resolve, reject });
      this.kick();
    });
  }

  /** Called when the completed prefix advances: waiters it now covers can be flushed. */
  kick(): void {
    if (this.running || this.waiters.length === 0) return;
    const upTo = this.completedOffset();
    if (upTo <= this.flushedOffset) return;
    this.running = true;
    this.flushCount++;
    this.fsync().then(
      () => {
        this.running = false;
        if (upTo > this.flushedOffset) this.flushedOffset = upTo;
        const still: FlushWaiter[] = [];
        const done: FlushWaiter[] = [];
        for (const w of this.waiters) (w.offset <= this.flushedOffset ? done : still).push(w);
        this.waiters = still;
        this.onFlushed(this.flushedOffset);
        for (const w of done) w.resolve();
        this.kick();
      },
      (err: Error) => {
        this.running = false;
        this.failAll(err);
        this.onError(err);
      },
    );
  }

  failAll(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }
}
