// A Brook broker: config, metadata store, partition logs, and the Kafka protocol on a TCP port.
//
//   const broker = await Broker.start({ port: 0, dataDir });
//   broker.bootstrapServers   // '127.0.0.1:54321'
//   await broker.stop();
import { resolve } from 'node:path';
import { LocalClusterView, type BrokerEndpoint, type ClusterView } from '../cluster/cluster-view.js';
import { EmbeddedMetadataStore } from '../cluster/embedded-metadata-store.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import type { ZooKeeperMetadataStore } from '../cluster/zookeeper/zookeeper-metadata-store.js';
import type { Controller } from '../cluster/zookeeper/controller.js';
import {
  refuseUnsupported,
  resolveBrokerConfig,
  withDynamicBrokerConfig,
  type BrokerConfig,
} from '../config/broker-config.js';
import { cleanupPolicyOf, topicLogConfig } from '../config/topic-config.js';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { SocketServer } from '../network/socket-server.js';
import { GroupCoordinator } from '../group/group-coordinator.js';
import { OFFSETS_TOPIC } from '../group/offset-manager.js';
import { txnOffsetsReplay } from '../group/txn-offsets.js';
import { createTransactionCoordinator } from '../txn/index.js';
import { mkdirDurable } from '../storage/fsync-dir.js';
import { LogManager } from '../storage/log-manager.js';
import type { LogConfig } from '../storage/log-config.js';
import { defaultOpenFilesMax, readOpenFileLimit } from '../storage/open-file-cache.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { DataDirLock } from './data-dir-lock.js';
import { RequestDispatcher } from './dispatch.js';
import { FetchSessionCache } from './fetch-session.js';
import { HANDLERS } from './handlers/index.js';
import { ProducerIdManager } from './producer-id-manager.js';
import { ReplicaManager } from './replica-manager.js';
import type { BrokerServices, BrokerSettings } from './services.js';
import { TopicManager } from './topic-manager.js';

export interface BrokerOptions {
  /** Port to listen on (0 = any free port). Overrides `listeners`. */
  port?: number;
  /** Interface to listen on. Overrides `listeners`. Default 127.0.0.1. */
  host?: string;
  /** Data directory (log.dirs). */
  dataDir?: string;
  /** Broker configuration by Kafka key, e.g. { 'num.partitions': '3' }. */
  config?: Record<string, string>;
  /** Default 'warn' when embedded (BROOK_LOG_LEVEL overrides). */
  logLevel?: LogLevel;
  logger?: Logger;
  /** Called for each config key Brook does not know. */
  onUnknownConfigKey?: (key: string) => void;
  /**
   * For tests and embedding: supplies the ClusterView (who leads what) instead of the single-node
   * LocalClusterView, making this broker a replica that leads or follows as the view says. Called
   * once at start; `endpoint()` is this broker's advertised address (its port is known once it listens).
   */
  clusterView?: (ctx: ClusterViewContext) => ClusterView;
}

export interface ClusterViewContext {
  nodeId: number;
  endpoint: () => BrokerEndpoint;
  metadata: MetadataStore;
  logger: Logger;
}

/** Builds the raw Kafka-key config from options: explicit port/host/dataDir win over `config`. */
export function rawConfigFromOptions(opts: BrokerOptions): Record<string, string> {
  const raw: Record<string, string> = { ...(opts.config ?? {}) };
  if (opts.port !== undefined || opts.host !== undefined || raw.listeners === undefined) {
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? 9092;
    raw.listeners = `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  if (opts.dataDir !== undefined) {
    delete raw['log.dir'];
    raw['log.dirs'] = opts.dataDir;
  }
  return raw;
}

/** Broker-wide log defaults; topic overrides apply on top (TopicManager.logConfigFor). */
export function logDefaultsFrom(config: BrokerConfig): LogConfig {
  return {
    segmentBytes: config.segmentBytes,
    segmentMs: config.rollMs,
    retentionMs: config.retentionMs,
    retentionBytes: config.retentionBytes,
    flushIntervalMessages: config.flushIntervalMessages,
    flushIntervalMs: config.flushIntervalMs,
    indexIntervalBytes: config.indexIntervalBytes,
    maxMessageBytes: config.messageMaxBytes,
    cleanupPolicy: cleanupPolicyOf(config.cleanupPolicy),
    flushBeforeAck: config.flushBeforeAck,
    messageTimestampType: config.messageTimestampType,
    messageTimestampBeforeMaxMs: config.messageTimestampBeforeMaxMs,
    messageTimestampAfterMaxMs: config.messageTimestampAfterMaxMs,
    deleteRetentionMs: config.cleanerDeleteRetentionMs,
    minCompactionLagMs: config.minCompactionLagMs,
    minCleanableDirtyRatio: config.minCleanableDirtyRatio,
    retentionCheckIntervalMs: config.retentionCheckIntervalMs,
  };
}

/** offsets.commit.timeout.ms (Kafka's default): how long a commit waits for the offsets partition's ISR. */
const OFFSETS_COMMIT_TIMEOUT_MS = 5000;

/** The cleaner holds two segment files at once and reads wait for a free one: a floor keeps them moving. */
const MIN_OPEN_FILES = 16;

/** Descriptors kept free for sockets, checkpoint and index files and the process itself. */
const NON_SEGMENT_FILES = 256;

/** One line at startup when the process may run out of descriptors under the configured bounds. */
function warnIfFileLimitLow(logger: Logger, softLimit: number | null, openFilesMax: number): void {
  if (softLimit === null || softLimit - openFilesMax >= NON_SEGMENT_FILES) return;
  logger.warn('Open-file limit is low', {
    limit: softLimit,
    'log.open.files.max': openFilesMax,
    advice: `raise ulimit -n to at least ${openFilesMax + NON_SEGMENT_FILES} or lower log.open.files.max`,
  });
}

function numberOrUndefined(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** Cluster mode: the ZooKeeper-backed store (loaded only then, so a single broker never loads the client). */
async function openZooKeeperStore(config: BrokerConfig, logger: Logger): Promise<ZooKeeperMetadataStore> {
  const { ZooKeeperMetadataStore } = await import('../cluster/zookeeper/zookeeper-metadata-store.js');
  return ZooKeeperMetadataStore.open({
    connect: config.zookeeperConnect,
    sessionTimeoutMs: config.zookeeperSessionTimeoutMs,
    connectionTimeoutMs: config.zookeeperConnectionTimeoutMs,
    nodeId: config.nodeId,
    clusterId: config.clusterId,
    logger: logger.child({ name: 'zookeeper' }),
  });
}

export class Broker {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly logger: Logger,
    private readonly server: SocketServer,
    private readonly logs: LogManager,
    private readonly metadata: MetadataStore,
    readonly services: BrokerServices,
    readonly port: number,
    readonly host: string,
    private readonly lock: DataDirLock,
    /** Cluster mode only: the controller candidate. */
    private readonly controller: Controller | null,
    /** Cluster mode only: the ZooKeeper-backed store (also `metadata`). */
    private readonly zk: ZooKeeperMetadataStore | null,
  ) {}

  /** Starts a broker; resolves once it accepts connections. */
  static async start(opts: BrokerOptions = {}): Promise<Broker> {
    const config = resolveBrokerConfig(rawConfigFromOptions(opts), { onUnknownKey: opts.onUnknownConfigKey });
    refuseUnsupported(config);
    const logger = opts.logger ?? createLogger({ level: opts.logLevel ?? 'warn', name: 'broker' });
    const dataDir = resolve(config.logDirs[0]!);
    await mkdirDurable(dataDir);
    // Before anything in the directory is read or written: a second broker on it refuses here.
    const lock = await DataDirLock.acquire(dataDir);
    try {
      return await Broker.startLocked(config, logger, dataDir, lock, opts.clusterView);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async startLocked(
    staticConfig: BrokerConfig,
    logger: Logger,
    dataDir: string,
    lock: DataDirLock,
    clusterViewFactory: BrokerOptions['clusterView'],
  ): Promise<Broker> {
    // zookeeper.connect makes this broker a cluster member: metadata and cluster view from ZooKeeper.
    const zk = staticConfig.zookeeperConnect === '' ? null : await openZooKeeperStore(staticConfig, logger);
    const metadata: MetadataStore =
      zk ??
      (await EmbeddedMetadataStore.open(dataDir, {
        logger: logger.child({ name: 'metadata' }),
        rebuildFromLogs: staticConfig.metadataRebuildFromLogs,
        snapshotIntervalBytes: staticConfig.metadataSnapshotIntervalBytes,
        clusterId: staticConfig.clusterId,
      }));
    try {
      return await Broker.startWithMetadata(
        staticConfig,
        logger,
        dataDir,
        lock,
        clusterViewFactory,
        metadata,
        zk,
      );
    } catch (err) {
      await metadata.close();
      throw err;
    }
  }

  private static async startWithMetadata(
    staticConfig: BrokerConfig,
    logger: Logger,
    dataDir: string,
    lock: DataDirLock,
    clusterViewFactory: BrokerOptions['clusterView'],
    metadata: MetadataStore,
    zk: ZooKeeperMetadataStore | null,
  ): Promise<Broker> {
    let config = staticConfig;
    for (const scope of ['cluster-default', 'broker'] as const) {
      const dynamic = metadata.brokerConfigs(scope);
      if (Object.keys(dynamic).length > 0) config = withDynamicBrokerConfig(config, dynamic, scope);
    }

    const fileLimit = await readOpenFileLimit();
    const openFilesMax =
      config.logOpenFilesMax > 0
        ? Math.max(MIN_OPEN_FILES, config.logOpenFilesMax)
        : defaultOpenFilesMax(fileLimit?.soft ?? null);
    warnIfFileLimitLow(logger, fileLimit?.soft ?? null, openFilesMax);
    const logs = await LogManager.open(dataDir, logDefaultsFrom(config), logger.child({ name: 'storage' }), {
      openFilesMax,
      cleanerDedupeBufferBytes: config.cleanerDedupeBufferBytes,
      cleanerEnable: config.cleanerEnable,
      // log.cleaner.backoff.ms is static and validated by the config layer; undefined = the default.
      cleanerBackoffMs: numberOrUndefined(config.staticValues['log.cleaner.backoff.ms']),
    });
    const listener = config.listeners[0]!;
    const advertised = config.advertisedListeners[0] ?? listener;
    const settings: BrokerSettings = {
      nodeId: config.nodeId,
      advertisedHost: advertised.host,
      advertisedPort: advertised.port,
      numPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      autoCreateTopicsEnable: config.autoCreateTopicsEnable,
      deleteTopicEnable: config.deleteTopicEnable,
      messageMaxBytes: config.messageMaxBytes,
      raw: { ...config.staticValues, ...config.dynamicValues, ...config.dynamicBrokerValues },
    };
    const topics = new TopicManager(metadata, logs, settings, logger.child({ name: 'topics' }), zk);
    await topics.reconcile();
    const endpoint = (): BrokerEndpoint => ({
      nodeId: settings.nodeId,
      host: settings.advertisedHost,
      port: settings.advertisedPort,
      rack: config.brokerRack,
    });
    const cluster =
      zk ??
      clusterViewFactory?.({ nodeId: config.nodeId, endpoint, metadata, logger }) ??
      new LocalClusterView(config.nodeId, endpoint, (topic) => metadata.getTopic(topic)?.partitions);
    const replicas = new ReplicaManager(logs, logger.child({ name: 'replicas' }), {
      cluster,
      metadata,
      dataDir,
      config: () => config,
    });
    // Reads __consumer_offsets back before the broker takes its first request (a cluster member: per
    // partition, when it becomes the partition's leader).
    const groups = GroupCoordinator.forBroker(config, topics, logs, logger.child({ name: 'groups' }));
    if (replicas.replicated) {
      groups.enableClusterMode();
      groups.store.replication = {
        leaderEpochOf: (partition) => replicas.leaderEpochOf(OFFSETS_TOPIC, partition),
        isLeader: (partition) => replicas.replica(OFFSETS_TOPIC, partition)?.isLeader === true,
        awaitReplicated: (partition, offset) =>
          replicas.awaitReplicated(OFFSETS_TOPIC, partition, offset, OFFSETS_COMMIT_TIMEOUT_MS),
      };
      replicas.onLeadershipChange((topic, partition, leader) => {
        if (topic === OFFSETS_TOPIC) void groups.onOffsetsLeadership(partition, leader);
      });
    }
    groups.store.txnReplay = txnOffsetsReplay(groups);
    // A ZooKeeper cluster member starts its groups once registered: __consumer_offsets' replicas are
    // assigned among registered brokers.
    if (!zk) await groups.start();
    const producerIds = new ProducerIdManager(metadata);
    // Creates __transaction_state on first use (then among the registered brokers in a cluster).
    const transactions = createTransactionCoordinator(
      config,
      topics,
      logs,
      replicas,
      groups,
      producerIds,
      logger.child({ name: 'transactions' }),
    );
    await transactions.start();
    const dispatcher = new RequestDispatcher(HANDLERS);
    // Set once the broker joined the cluster (below); ElectLeaders reaches it through services.
    let controller: Controller | null = null;
    const services: BrokerServices = {
      controller: () => controller,
      settings,
      logger,
      metadata,
      cluster,
      topics,
      replicas,
      producerIds,
      groups,
      transactions,
      fetchSessions: new FetchSessionCache(config.maxIncrementalFetchSessionCacheSlots),
      supportedApis: dispatcher.supportedApis(),
      brokerConfig: () => config,
      async reconfigure(updates, validateOnly = false, scope = 'cluster-default') {
        const next = withDynamicBrokerConfig(config, updates, scope);
        const install = prepareConfig(next);
        if (validateOnly) return next;
        // Applied synchronously (no await in between), then persisted: concurrent requests see
        // one order, and the metadata store's chained writes leave the file at the latest state.
        install();
        await metadata.setBrokerConfigs(
          { ...(scope === 'broker' ? next.dynamicBrokerValues : next.dynamicValues) },
          scope,
        );
        logger.info('Broker config altered', { keys: Object.keys(updates).join(',') });
        return next;
      },
    };
    /**
     * Every topic's log config is rebuilt on the new defaults before anything changes, so a
     * combination that storage rejects throws and leaves the broker as it was; the returned function
     * puts `next` in force.
     */
    function prepareConfig(next: BrokerConfig): () => void {
      const defaults = logDefaultsFrom(next);
      const perLog = [...topics.all()].map((t) => ({ t, logConfig: topicLogConfig(defaults, t.configs) }));
      return () => {
        config = next;
        Object.assign(logs.defaults, defaults);
        settings.messageMaxBytes = next.messageMaxBytes;
        settings.raw = { ...next.staticValues, ...next.dynamicValues, ...next.dynamicBrokerValues };
        for (const { t, logConfig } of perLog) {
          for (let p = 0; p < t.partitions; p++) replicas.getLog(t.name, p)?.updateConfig(logConfig);
        }
      };
    }
    // Cluster mode: dynamic broker configs altered through any broker (in /config/brokers) apply here
    // too, so every broker answers DescribeConfigs the same way.
    zk?.on('brokerConfigs', () => {
      for (const scope of ['cluster-default', 'broker'] as const) {
        const stored = zk.brokerConfigs(scope);
        const current = scope === 'broker' ? config.dynamicBrokerValues : config.dynamicValues;
        const updates: Record<string, string | null> = {};
        for (const k of Object.keys(current)) if (!(k in stored)) updates[k] = null;
        for (const [k, v] of Object.entries(stored)) if (current[k] !== v) updates[k] = v;
        if (Object.keys(updates).length === 0) continue;
        try {
          prepareConfig(withDynamicBrokerConfig(config, updates, scope))();
          logger.info('Broker config altered through ZooKeeper', {
            scope,
            keys: Object.keys(updates).join(','),
          });
        } catch (err) {
          logger.warn('Ignoring a dynamic broker config from ZooKeeper this broker cannot apply', {
            scope,
            error: String(err),
          });
        }
      }
    });

    const server = new SocketServer({
      host: listener.host === '' ? '0.0.0.0' : listener.host,
      port: listener.port,
      maxRequestBytes: config.socketRequestMaxBytes,
      idleTimeoutMs: config.connectionsMaxIdleMs,
      maxInFlightPerConnection: config.queuedMaxRequests,
      maxQueuedBytes: config.queuedMaxRequestBytes,
      logger: logger.child({ name: 'network' }),
      handler: (frame, conn) => dispatcher.dispatch(frame, services, conn),
      // Fetch answers can be megabytes: one at a time per connection (see SocketServer).
      isLargeResponse: (frame) => frame.length >= 2 && frame.readInt16BE(0) === ApiKey.Fetch,
    });
    let port: number;
    try {
      port = await server.listen();
    } catch (err) {
      await transactions.stop();
      await groups.stop();
      await logs.close();
      throw err;
    }
    // With port 0 the advertised port is the one the OS picked.
    if (settings.advertisedPort === 0) settings.advertisedPort = port;
    // Cluster mode: take the partition states (lead, follow) now that the advertised port is known.
    try {
      // A cluster member registers first: a broker refused for a duplicate id must never act on the
      // partition states of the live broker that holds the id.
      if (zk) await Broker.register(zk, config, settings);
      await replicas.start();
      if (zk) {
        controller = await Broker.joinCluster(zk, config, topics, logs, replicas, logger);
        await groups.start();
      }
    } catch (err) {
      controller?.stop();
      await replicas.stop();
      await server.close();
      await groups.stop();
      await logs.close();
      throw err;
    }
    const host = listener.host === '' ? '0.0.0.0' : listener.host;
    logger.info('Brook broker started', {
      nodeId: config.nodeId,
      listener: `${host}:${port}`,
      dataDir,
      ...(zk ? { zookeeper: config.zookeeperConnect, clusterId: zk.clusterId } : {}),
    });
    return new Broker(logger, server, logs, metadata, services, port, host, lock, controller, zk);
  }

  /** Registers in ZooKeeper once the advertised port is known; a live broker with the same id refuses. */
  private static async register(
    zk: ZooKeeperMetadataStore,
    config: BrokerConfig,
    settings: BrokerSettings,
  ): Promise<void> {
    await zk.register({
      host: settings.advertisedHost,
      port: settings.advertisedPort,
      rack: config.brokerRack,
    });
  }

  /**
   * Cluster mode, once registered and following the partition states: stand for controller, remove
   * the logs of deleted topics, and apply topic configs changed through other brokers. (ReplicaManager
   * creates the logs that partition states name this broker for.)
   */
  private static async joinCluster(
    zk: ZooKeeperMetadataStore,
    config: BrokerConfig,
    topics: TopicManager,
    logs: LogManager,
    replicas: ReplicaManager,
    logger: Logger,
  ): Promise<Controller> {
    const { followTopicConfigs, removeLogsOfDeletedTopics } =
      await import('../cluster/local-replica-logs.js');
    const { Controller } = await import('../cluster/zookeeper/controller.js');
    removeLogsOfDeletedTopics(zk, logs, replicas, logger.child({ name: 'replica-logs' }));
    zk.on(
      'topics',
      followTopicConfigs(zk, logs, (t) => topics.logConfigFor(t)),
    );
    const controller = new Controller(zk, {
      uncleanLeaderElection: () => config.uncleanLeaderElectionEnable,
      autoRebalance: config.autoLeaderRebalanceEnable
        ? {
            intervalMs: config.leaderImbalanceCheckIntervalMs,
            imbalancePercentage: config.leaderImbalancePerBrokerPercentage,
          }
        : undefined,
      logger: logger.child({ name: 'controller' }),
    });
    controller.start();
    return controller;
  }

  /** Cluster mode: this broker's controller candidate (active when it won the election), else null. */
  get clusterController(): Controller | null {
    return this.controller;
  }

  /** The config in force: static values plus what AlterConfigs changed since. */
  get config(): BrokerConfig {
    return this.services.brokerConfig();
  }

  /** `host:port` for a client's bootstrap.servers. */
  get bootstrapServers(): string {
    const s = this.services.settings;
    return `${s.advertisedHost.includes(':') ? `[${s.advertisedHost}]` : s.advertisedHost}:${s.advertisedPort}`;
  }

  /**
   * Cluster mode: stops fetching (a stopping follower must not rejoin ISRs), then asks the controller
   * to move every leadership of this broker (bounded by controlled.shutdown.max.retries and
   * controlled.shutdown.retry.backoff.ms; the broker stops either way).
   */
  private async controlledShutdown(zk: ZooKeeperMetadataStore): Promise<void> {
    const { controlledShutdown } = await import('../cluster/zookeeper/controlled-shutdown.js');
    const config = this.config;
    await this.services.replicas.stopFollowing();
    await controlledShutdown({
      store: zk,
      controller: this.controller,
      maxRetries: config.controlledShutdownMaxRetries,
      retryBackoffMs: config.controlledShutdownRetryBackoffMs,
      logger: this.logger.child({ name: 'controlled-shutdown' }),
    });
  }

  /** Stops accepting, finishes in-flight requests, flushes and closes every log. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // A cluster member hands its leaderships to other ISR members first, while it still serves.
      if (this.zk !== null && this.config.controlledShutdownEnable) await this.controlledShutdown(this.zk);
      // JoinGroup/SyncGroup requests parked in a rebalance are answered first, so close() need not wait.
      this.services.groups.shutdown();
      // A cluster member stops standing for controller; closing the metadata store below closes its
      // ZooKeeper session, which removes its registration at once.
      this.controller?.stop();
      // Fetchers stop and acks=all waits are answered before the connections drain.
      await this.services.replicas.stop();
      await this.server.close();
      await this.services.transactions.stop();
      await this.services.groups.stop();
      await this.logs.close();
      await this.metadata.close();
      await this.lock.release();
      this.logger.info('Brook broker stopped');
    })();
    return this.stopping;
  }
}
