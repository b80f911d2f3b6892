// The cluster's metadata: which topics exist, their stable IDs, partition counts and topic-level
// config overrides, plus dynamic broker config. A single broker keeps it embedded, in one small
// file under the data directory (rewritten atomically on each change: changes are rare admin
// operations, never on the produce/fetch path). A ZooKeeper-backed store will implement the same
// interface for clusters.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';

export interface TopicMetadata {
  readonly name: string;
  /** Stable topic ID (KIP-516), canonical UUID string. */
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic-level config overrides (Kafka key names). */
  readonly configs: Readonly<Record<string, string>>;
}

export interface MetadataStore {
  readonly clusterId: string;
  topics(): IterableIterator<TopicMetadata>;
  getTopic(name: string): TopicMetadata | undefined;
  getTopicById(topicId: string): TopicMetadata | undefined;
  putTopic(topic: TopicMetadata): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  /** Dynamic broker config: the cluster-wide defaults (resource "") or this broker's own (its node id). */
  brokerConfigs(scope?: BrokerConfigScope): Readonly<Record<string, string>>;
  setBrokerConfigs(configs: Record<string, string>, scope?: BrokerConfigScope): Promise<void>;
  /** Reserves `count` producer IDs that no broker has handed out before, even across restarts. */
  allocateProducerIds(count: number): Promise<{ first: number; count: number }>;
  close(): Promise<void>;
}

export type BrokerConfigScope = 'cluster-default' | 'broker';

interface StoredState {
  version: 1;
  clusterId: string;
  topics: TopicMetadata[];
  brokerConfigs: Record<string, string>;
  /** Absent in files written before per-broker dynamic configs existed. */
  perBrokerConfigs?: Record<string, string>;
  nextProducerId: number;
}

const FILE_NAME = 'cluster-metadata.json';

/** Kafka cluster IDs are 22-character URL-safe base64 of a UUID. */
function newClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

export class EmbeddedMetadataStore implements MetadataStore {
  private readonly byName = new Map<string, TopicMetadata>();
  private readonly byId = new Map<string, TopicMetadata>();
  private dynamicBrokerConfigs: Record<string, string> = {};
  private perBrokerConfigs: Record<string, string> = {};
  private nextProducerId = 0;
  /** Writes are chained so that the file always reflects the latest change. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    readonly clusterId: string,
  ) {}

  static async open(dataDir: string): Promise<EmbeddedMetadataStore> {
    const dir = join(dataDir, '__cluster_metadata');
    await mkdir(dir, { recursive: true });
    let state: StoredState | null = null;
    try {
      state = JSON.parse(await readFile(join(dir, FILE_NAME), 'utf8')) as StoredState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const store = new EmbeddedMetadataStore(dir, state?.clusterId ?? newClusterId());
    for (const t of state?.topics ?? []) store.index(t);
    store.dynamicBrokerConfigs = { ...(state?.brokerConfigs ?? {}) };
    store.perBrokerConfigs = { ...(state?.perBrokerConfigs ?? {}) };
    store.nextProducerId = state?.nextProducerId ?? 0;
    if (!state) await store.persist();
    return store;
  }

  private index(t: TopicMetadata): void {
    this.byName.set(t.name, t);
    this.byId.set(t.topicId, t);
  }

  topics(): IterableIterator<TopicMetadata> {
    return this.byName.values();
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.byName.get(name);
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    return this.byId.get(topicId);
  }

  async putTopic(topic: TopicMetadata): Promise<void> {
    const old = this.byName.get(topic.name);
    if (old && old.topicId !== topic.topicId) this.byId.delete(old.topicId);
    this.index(topic);
    await this.persist();
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.byName.get(name);
    if (!t) return;
    this.byName.delete(name);
    this.byId.delete(t.topicId);
    await this.persist();
  }

  brokerConfigs(scope: BrokerConfigScope = 'cluster-default'): Readonly<Record<string, string>> {
    return scope === 'broker' ? this.perBrokerConfigs : this.dynamicBrokerConfigs;
  }

  async setBrokerConfigs(
    configs: Record<string, string>,
    scope: BrokerConfigScope = 'cluster-default',
  ): Promise<void> {
    if (scope === 'broker') this.perBrokerConfigs = { ...configs };
    else this.dynamicBrokerConfigs = { ...configs };
    await this.persist();
  }

  async allocateProducerIds(count: number): Promise<{ first: number; count: number }> {
    const first = this.nextProducerId;
    this.nextProducerId += count;
    await this.persist();
    return { first, count };
  }

  async close(): Promise<void> {
    await this.writing;
  }

  private persist(): Promise<void> {
    const state: StoredState = {
      version: 1,
      clusterId: this.clusterId,
      topics: [...this.byName.values()],
      brokerConfigs: this.dynamicBrokerConfigs,
      perBrokerConfigs: this.perBrokerConfigs,
      nextProducerId: this.nextProducerId,
    };
    const text = JSON.stringify(state, null, 2);
    const next = this.writing.then(() => writeAtomic(join(this.dir, FILE_NAME), text));
    this.writing = next.catch(() => undefined);
    return next;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export function newTopicId(): string {
  return randomUUID();
}
