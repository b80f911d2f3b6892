// Hands out producer IDs for idempotent producers (InitProducerId). IDs must never be reused, even
// across restarts, because partition logs remember producer state: IDs are reserved in blocks from
// the metadata store (as Kafka's ProducerIdManager does), so the store is written once per block.
import type { MetadataStore } from '../cluster/metadata-store.js';

const BLOCK_SIZE = 1000;

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | null = null;

  constructor(private readonly metadata: MetadataStore) {}

  async generate(): Promise<number> {
    while (this.next >= this.end) {
      if (!this.pending) {
        this.pending = this.metadata.allocateProducerIds(BLOCK_SIZE).then((block) => {
          this.next = block.first;
          this.end = block.first + block.count;
          this.pending = null;
        });
      }
      await this.pending;
    }
    return this.next++;
  }
}
