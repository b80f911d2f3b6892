// Hands out producer IDs for idempotent producers (InitProducerId). IDs must never be reused, even
// across restarts, because partition logs remember producer state: IDs are reserved in blocks from
// the metadata store (as Kafka's ProducerIdManager does), so the store is written once per block.
import type { MetadataStore } from '../cluster/metadata-store.js';

const BLOCK_SIZE = 1000;

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  /** The block allocation in flight, shared by every caller waiting for an ID. */
  private pending: Promise<void> | null = null;

  constructor(private readonly metadata: MetadataStore) {}

  /** The next unused ID; rejects when the block allocation fails (the next call tries again). */
  async generate(): Promise<number> {
    while (this.next >= this.end) {
      // Cleared whether the allocation succeeds or fails: a cached rejection would fail every
      // InitProducerId until a restart.
      this.pending ??= this.allocateBlock().finally(() => {
        this.pending = null;
      });
      await this.pending;
    }
    return this.next++;
  }

  private async allocateBlock(): Promise<void> {
    const block = await this.metadata.allocateProducerIds(BLOCK_SIZE);
    this.next = block.first;
    this.end = block.first + block.count;
  }
}
