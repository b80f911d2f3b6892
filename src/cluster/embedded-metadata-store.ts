// The single broker's metadata store, after Kafka's own metadata log: every change is one
// CRC-checked record appended to `__cluster_metadata/metadata.log` (group commit: concurrent changes
// share fsyncs), so a change costs O(change), not O(cluster). When the log grows past
// metadata.log.max.record.bytes.between.snapshots, the whole state is written to
// `metadata.snapshot` (tmp, fsync, rename, fsync the directory) and the log starts again after it.
//
// Loading never guesses: a torn last record is cut off with a warning (it was never acknowledged),
// but metadata that is missing while partition directories exist, or a damaged snapshot or log
// header, refuses the start with one sentence (a StartupError), because a broker that trusted
// it would see every partition as unknown. metadata.recovery.rebuild.from.logs=true is the explicit
// recovery: the topic list is rebuilt from the directories (metadata-rebuild.ts).
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StartupError } from '../broker/startup-error.js';
import { fsyncDir } from '../storage/fsync-dir.js';
import { MetadataLog, writeDurably } from './metadata-log.js';
import { decodeRecords, encodeRecord, type MetadataRecord } from './metadata-records.js';
import { listPartitionDirs, rebuildTopicsFromDirs, type MetadataLogger } from './metadata-rebuild.js';
import {
  applyRecord,
  emptyState,
  snapshotRecords,
  stateFromLegacy,
  type LegacyStoredState,
  type MetadataState,
} from './metadata-state.js';
import {
  newClusterId,
  type BrokerConfigScope,
  type MetadataStore,
  type PendingTopicDeletion,
  type TopicMetadata,
} from './metadata-store.js';

export const METADATA_DIR = '__cluster_metadata';
export const LOG_FILE = 'metadata.log';
export const SNAPSHOT_FILE = 'metadata.snapshot';
/** The format before the metadata log: one JSON document rewritten on every change. */
export const LEGACY_FILE = 'cluster-metadata.json';
/** Kafka's metadata.log.max.record.bytes.between.snapshots default. */
export const DEFAULT_SNAPSHOT_INTERVAL_BYTES = 20 * 1024 * 1024;
export const REBUILD_KEY = 'metadata.recovery.rebuild.from.logs';

export interface MetadataStoreOptions {
  logger?: MetadataLogger;
  /** metadata.recovery.rebuild.from.logs: rebuild missing or unreadable metadata from the directories. */
  rebuildFromLogs?: boolean;
  /** metadata.log.max.record.bytes.between.snapshots */
  snapshotIntervalBytes?: number;
  /** cluster.id: the id a new data dir takes; a data dir that holds another id refuses to start. */
  clusterId?: string | null;
}

const silent: MetadataLogger = { info() {}, warn() {} };

/** Thrown while loading when a file exists but cannot be trusted; becomes the refusal sentence. */
class DamagedMetadata extends Error {}

interface Loaded {
  state: MetadataState;
  snapshotId: number;
  /** Valid bytes of the existing log, or null when a new log must be written from the state. */
  logValidBytes: number | null;
}

export class EmbeddedMetadataStore implements MetadataStore {
  private log!: MetadataLog;
  /** Producer IDs handed out in memory run ahead of the durable record; never handed out twice. */
  private reservedProducerId: number;

  private constructor(
    private readonly dir: string,
    private readonly state: MetadataState,
    private snapshotId: number,
    private readonly logger: MetadataLogger,
    private readonly snapshotIntervalBytes: number,
  ) {
    this.reservedProducerId = state.nextProducerId;
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  static async open(dataDir: string, options: MetadataStoreOptions = {}): Promise<EmbeddedMetadataStore> {
    const logger = options.logger ?? silent;
    const dir = join(dataDir, METADATA_DIR);
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    await mkdir(dir, { recursive: true });
    if (!existed) await fsyncDir(dataDir);
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
    }
    let loaded: Loaded | null = null;
    let damage: string | null = null;
    let legacy: Buffer | null = null;
    try {
      const [snapshotText, logText, legacyText] = await Promise.all(
        [SNAPSHOT_FILE, LOG_FILE, LEGACY_FILE].map((f) => readIfExists(join(dir, f))),
      );
      const snapshot = snapshotText ?? null;
      const log = logText ?? null;
      legacy = legacyText ?? null;
      if (snapshot !== null || log !== null) loaded = loadFiles(snapshot, log, logger);
      else if (legacy !== null) loaded = loadLegacy(legacy);
    } catch (err) {
      if (!(err instanceof DamagedMetadata)) throw err;
      damage = err.message;
    }
    const interval = options.snapshotIntervalBytes ?? DEFAULT_SNAPSHOT_INTERVAL_BYTES;

    const configuredId = options.clusterId ?? null;
    if (loaded !== null) {
      if (configuredId !== null && configuredId !== loaded.state.clusterId) {
        // Kafka's InconsistentClusterIdException: this data dir belongs to another cluster.
        throw new StartupError(
          `The cluster id ${JSON.stringify(configuredId)} in cluster.id does not match the cluster id ` +
            `${JSON.stringify(loaded.state.clusterId)} stored in ${dir}, so the broker refuses to start: this data ` +
            `directory belongs to another cluster; fix cluster.id or point log.dirs at this cluster's data.`,
        );
      }
      if (options.rebuildFromLogs) {
        logger.warn(
          `${REBUILD_KEY} is set but the cluster metadata is readable: nothing is rebuilt; remove the setting`,
        );
      }
      const store = new EmbeddedMetadataStore(dir, loaded.state, loaded.snapshotId, logger, interval);
      if (loaded.logValidBytes !== null) {
        store.log = await MetadataLog.open(join(dir, LOG_FILE), loaded.logValidBytes, (l) =>
          store.maybeSnapshot(l),
        );
      } else {
        await store.writeInitialLog();
      }
      if (legacy !== null) {
        // Upgraded (now, or by an earlier start that stopped before removing it).
        await rm(join(dir, LEGACY_FILE), { force: true });
        await fsyncDir(dir);
        if (loaded.logValidBytes === null)
          logger.info('Cluster metadata upgraded to the metadata log', { dir });
      }
      return store;
    }

    const partitionDirs = await listPartitionDirs(dataDir);
    if (damage === null && partitionDirs.length === 0) {
      const store = new EmbeddedMetadataStore(
        dir,
        emptyState(configuredId ?? newClusterId()),
        0,
        logger,
        interval,
      );
      await store.writeInitialLog();
      return store;
    }
    const example = partitionDirs.slice(0, 3).join(', ');
    if (!options.rebuildFromLogs) {
      throw new StartupError(
        damage === null
          ? `The cluster metadata in ${dir} is missing but ${dataDir} holds ${partitionDirs.length} partition ` +
              `director${partitionDirs.length === 1 ? 'y' : 'ies'} (${example}), so the broker refuses to start ` +
              `rather than treat them as deleted topics: restore the metadata, or start once with ` +
              `${REBUILD_KEY}=true to rebuild the topic list from the partition directories.`
          : `The cluster metadata in ${dir} is unreadable (${damage}), so the broker refuses to start rather ` +
              `than risk deleting the ${partitionDirs.length} partition director${partitionDirs.length === 1 ? 'y' : 'ies'} ` +
              `it holds: restore the metadata, or start once with ${REBUILD_KEY}=true to rebuild the topic list ` +
              `from the partition directories.`,
      );
    }

    // The explicit recovery: damaged files are kept aside (never deleted), the topics rebuilt.
    const suffix = `.damaged-${Date.now()}`;
    for (const f of [SNAPSHOT_FILE, LOG_FILE, LEGACY_FILE]) {
      await rename(join(dir, f), join(dir, f + suffix)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    logger.warn(`Rebuilding the cluster metadata from the partition directories (${REBUILD_KEY}=true)`, {
      dir,
      reason: damage ?? 'the metadata is missing',
      partitionDirs: partitionDirs.length,
      damagedFilesKeptAs: damage === null ? undefined : `*${suffix}`,
    });
    const state = emptyState(configuredId ?? newClusterId());
    for (const topic of await rebuildTopicsFromDirs(dataDir, partitionDirs, logger)) {
      applyRecord(state, { type: 'topic', topic });
    }
    const store = new EmbeddedMetadataStore(dir, state, 0, logger, interval);
    await store.writeInitialLog();
    logger.warn('Cluster metadata rebuilt; topic config overrides were reset to the broker defaults', {
      topics: state.byName.size,
    });
    return store;
  }

  topics(): IterableIterator<TopicMetadata> {
    return this.state.byName.values();
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.state.byName.get(name);
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    return this.state.byId.get(topicId);
  }

  putTopic(topic: TopicMetadata): Promise<void> {
    return this.change({ type: 'topic', topic });
  }

  deleteTopic(name: string): Promise<void> {
    const t = this.state.byName.get(name);
    if (!t) return Promise.resolve();
    return this.change({ type: 'topic-deleted', name, topicId: t.topicId, partitions: t.partitions });
  }

  pendingTopicDeletions(): IterableIterator<PendingTopicDeletion> {
    return this.state.deletions.values();
  }

  completeTopicDeletion(topicId: string): Promise<void> {
    if (!this.state.deletions.has(topicId)) return Promise.resolve();
    return this.change({ type: 'topic-deletion-done', topicId });
  }

  brokerConfigs(scope: BrokerConfigScope = 'cluster-default'): Readonly<Record<string, string>> {
    return scope === 'broker' ? this.state.perBrokerConfigs : this.state.brokerConfigs;
  }

  setBrokerConfigs(
    configs: Record<string, string>,
    scope: BrokerConfigScope = 'cluster-default',
  ): Promise<void> {
    return this.change({ type: 'broker-configs', configs: { ...configs }, scope });
  }

  async allocateProducerIds(count: number): Promise<{ first: number; count: number }> {
    // Reserved before the write, so concurrent allocations never overlap; a failed write only
    // leaves a gap of IDs nobody uses.
    const first = this.reservedProducerId;
    this.reservedProducerId += count;
    await this.change({ type: 'producer-ids', next: this.reservedProducerId });
    return { first, count };
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  /** Appends the record and applies it once durable: what the store shows is always on disk. */
  private change(record: MetadataRecord): Promise<void> {
    return this.log.append(record, () => applyRecord(this.state, record));
  }

  /** A log holding the whole state (first start, upgrade, rebuild): written as one file, atomically. */
  private async writeInitialLog(): Promise<void> {
    const path = join(this.dir, LOG_FILE);
    const records = snapshotRecords(this.state, this.snapshotId);
    records.pop(); // a log has no `end` record: it ends wherever the last append did
    await writeDurably(path, records.map(encodeRecord));
    const size = (await stat(path)).size;
    this.log = await MetadataLog.open(path, size, (l) => this.maybeSnapshot(l));
  }

  /** Runs between group commits: compacts the log into a snapshot once it is big enough. */
  private async maybeSnapshot(log: MetadataLog): Promise<void> {
    if (log.sizeBytes < this.snapshotIntervalBytes) return;
    const id = this.snapshotId + 1;
    const startMs = Date.now();
    try {
      await writeDurably(join(this.dir, SNAPSHOT_FILE), snapshotRecords(this.state, id).map(encodeRecord));
    } catch (err) {
      // The log still holds everything: try again after a later change.
      this.logger.warn('Metadata snapshot failed; the metadata log keeps growing until one succeeds', {
        error: String(err),
      });
      return;
    }
    this.snapshotId = id;
    // A crash here leaves snapshot N+1 and the log after snapshot N: replaying that log on top of
    // the newer snapshot changes nothing (records are absolute).
    await log.replace({ type: 'header', version: 1, clusterId: this.state.clusterId, snapshotId: id });
    this.logger.info('Metadata snapshot written', {
      snapshotId: id,
      topics: this.state.byName.size,
      ms: Date.now() - startMs,
    });
  }
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DamagedMetadata(
      `${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

function isHeader(r: MetadataRecord | undefined): r is Extract<MetadataRecord, { type: 'header' }> {
  return r?.type === 'header' && r.version === 1 && typeof r.clusterId === 'string';
}

function loadFiles(snapshot: Buffer | null, log: Buffer | null, logger: MetadataLogger): Loaded {
  let state: MetadataState | null = null;
  let snapshotId = 0;
  if (snapshot !== null) {
    const decoded = decodeRecords(snapshot);
    const records = decoded.records;
    const header = records[0];
    const end = records[records.length - 1];
    if (decoded.problem !== null) throw new DamagedMetadata(`${SNAPSHOT_FILE} has ${decoded.problem}`);
    if (!isHeader(header)) throw new DamagedMetadata(`${SNAPSHOT_FILE} does not start with a header`);
    if (end?.type !== 'end' || end.records !== records.length - 2) {
      throw new DamagedMetadata(`${SNAPSHOT_FILE} is incomplete`);
    }
    state = emptyState(header.clusterId);
    for (const r of records) applyRecord(state, r);
    snapshotId = header.snapshotId;
  }
  if (log === null) {
    // The log is replaced by rename after each snapshot, never removed: its absence is damage.
    throw new DamagedMetadata(`${LOG_FILE} is missing beside ${SNAPSHOT_FILE}`);
  }
  const decoded = decodeRecords(log);
  const header = decoded.records[0];
  if (!isHeader(header)) {
    throw new DamagedMetadata(
      `${LOG_FILE} does not start with a header (${decoded.problem ?? 'wrong first record'})`,
    );
  }
  if (header.snapshotId > snapshotId) {
    throw new DamagedMetadata(
      `${LOG_FILE} follows snapshot ${header.snapshotId} but ${snapshot === null ? `${SNAPSHOT_FILE} is missing` : `${SNAPSHOT_FILE} is snapshot ${snapshotId}`}`,
    );
  }
  if (state !== null && header.clusterId !== state.clusterId) {
    throw new DamagedMetadata(`${LOG_FILE} and ${SNAPSHOT_FILE} belong to different clusters`);
  }
  state ??= emptyState(header.clusterId);
  if (decoded.problem !== null) {
    // A crash mid-append leaves a torn last record that was never acknowledged (Kafka's own
    // metadata log truncates the same way).
    logger.warn('Truncating the metadata log after its last valid record', {
      problem: decoded.problem,
      validBytes: decoded.validBytes,
      droppedBytes: log.length - decoded.validBytes,
    });
  }
  for (const r of decoded.records) applyRecord(state, r);
  return { state, snapshotId, logValidBytes: decoded.validBytes };
}

function loadLegacy(text: Buffer): Loaded {
  let state: MetadataState;
  try {
    state = stateFromLegacy(JSON.parse(text.toString('utf8')) as LegacyStoredState);
  } catch (err) {
    throw new DamagedMetadata(`${LEGACY_FILE}: ${(err as Error).message}`);
  }
  return { state, snapshotId: 0, logValidBytes: null };
}
