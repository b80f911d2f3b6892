// Group commit for directory entries (each directory fsync itself is storage/fsync-dir.ts's, where a
// failure is an error, never ignored).
import { fsyncDir } from '../storage/fsync-dir.js';

/**
 * Shares directory fsyncs between concurrent callers (group commit for directory entries): a
 * caller that arrives while an fsync runs waits for the next one, which covers every entry made
 * before it started. 10,000 topics created at once cost a handful of fsyncs of the data
 * directory instead of 10,000.
 */
export class DirectorySyncer {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly dir: string) {}

  sync(): Promise<void> {
    if (this.running === null) {
      this.running = fsyncDir(this.dir).finally(() => {
        this.running = null;
      });
      return this.running;
    }
    // One fsync is in flight and may have started before the caller's entry: wait for the next.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.sync();
      });
    return this.next;
  }
}
