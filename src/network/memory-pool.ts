// The broker-wide budget of bytes held for requests and responses (queued.max.request.bytes), after Kafka's
// MemoryPool: connections report what they hold (request bytes read and not yet answered, the full declared size
// of a request being read, responses not yet handed to the kernel) and stop reading from their socket while the
// budget is used up; a release wakes the connections that wait. A request is admitted whole, before its body is
// read, so requests half-read never deadlock the budget; one larger than the budget still passes when nothing
// else is held.

/** What the pool calls back when memory was released. */
export interface MemoryWaiter {
  onMemoryReleased(): void;
}

export class MemoryPool {
  private usedBytes = 0;
  private readonly waiters = new Set<MemoryWaiter>();
  private wakeScheduled = false;

  /** `capacityBytes` < 0: no bound (every check passes). */
  constructor(readonly capacityBytes: number) {}

  get used(): number {
    return this.usedBytes;
  }

  get bounded(): boolean {
    return this.capacityBytes >= 0;
  }

  /** True when `extraBytes` more fit, or when `ownBytes` (the asker's) are all that is held. */
  fits(extraBytes: number, ownBytes: number): boolean {
    if (!this.bounded) return true;
    return this.usedBytes + extraBytes <= this.capacityBytes || this.usedBytes - ownBytes <= 0;
  }

  /** True while the budget is not used up: reading the start of a new request is allowed. */
  get available(): boolean {
    return !this.bounded || this.usedBytes < this.capacityBytes;
  }

  adjust(deltaBytes: number): void {
    if (deltaBytes === 0) return;
    this.usedBytes += deltaBytes;
    if (deltaBytes < 0 && this.waiters.size > 0) this.scheduleWake();
  }

  wait(waiter: MemoryWaiter): void {
    this.waiters.add(waiter);
  }

  forget(waiter: MemoryWaiter): void {
    this.waiters.delete(waiter);
  }

  /** Once per event-loop turn, however many releases happened in it. */
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      const waiters = [...this.waiters];
      this.waiters.clear();
      for (const w of waiters) {
        if (!this.available) {
          this.waiters.add(w);
          continue;
        }
        w.onMemoryReleased();
      }
    });
  }
}
