// The cluster member's metadata store and ClusterView, kept in ZooKeeper in Kafka's znode layout
// (znodes.ts). Watches keep an in-memory view current, so reads (topics, partition states, live
// brokers) never wait on ZooKeeper; writes go to ZooKeeper and are applied to the view once
// acknowledged. Partition states change only through writes conditional on the znode's version
// (the partition epoch), so a stale leader or controller never overwrites newer state.
//
// When the ZooKeeper session is lost, `sessionValid` turns false and session listeners hear it: the
// broker's registration and any leadership may already belong to someone else, so ReplicaManager
// stops acting as leader until the session is back. After an expiry the store opens a new session,
// re-registers, re-reads everything (re-arming the watches) and tells every listener.
import { EventEmitter } from 'node:events';
import { StartupError } from '../../broker/startup-error.js';
import type { Logger } from '../../logger.js';
import type { BrokerEndpoint, ClusterView, PartitionChanges, PartitionState } from '../cluster-view.js';
import {
  newClusterId,
  StaleWriteError,
  TopicExistsError,
  type BrokerConfigScope,
  type MetadataStore,
  type PendingTopicDeletion,
  type TopicMetadata,
} from '../metadata-store.js';
import { assignReplicas } from './replica-assignment.js';
import { CreateMode, isZkCode, ZkCode, ZkSession, type ZkOp } from './zk-session.js';
import {
  brokerConfigPath,
  brokerPath,
  configChangePrefix,
  configChangeSequence,
  decodeAssignment,
  decodeBroker,
  decodeClusterId,
  decodeConfig,
  decodeConfigChange,
  decodeController,
  decodeProducerIdBlock,
  decodeState,
  deleteTopicPath,
  encodeAssignment,
  encodeBroker,
  encodeClusterId,
  encodeConfig,
  encodeConfigChange,
  encodeProducerIdBlock,
  encodeState,
  partitionPath,
  partitionsPath,
  statePath,
  topicConfigPath,
  topicPath,
  ZNODES,
  type BrokerRegistration,
  type TopicAssignment,
} from './znodes.js';

export interface ZooKeeperStoreOptions {
  /** zookeeper.connect */
  connect: string;
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
  nodeId: number;
  /** cluster.id from the config: the id a new cluster takes; another cluster's ZooKeeper refuses the start. */
  clusterId: string | null;
  logger: Logger;
}

/** Notifications under /config/changes older than this are removed (Kafka's changeExpirationMs). */
const CONFIG_CHANGE_EXPIRATION_MS = 15 * 60_000;

interface TopicEntry {
  meta: TopicMetadata;
  replicas: number[][];
  /** Partitions being reassigned (KIP-455): replicas being added and removed. */
  adding: Map<number, number[]>;
  removing: Map<number, number[]>;
  version: number;
  /** Per partition: the state and the controller epoch that wrote it, or undefined before the controller did. */
  states: (StateEntry | undefined)[];
}

/** A topic znode as the controller rewrites it (partition reassignment). */
export interface TopicAssignmentWrite {
  topic: string;
  topicId: string;
  partitions: number[][];
  adding: Map<number, number[]>;
  removing: Map<number, number[]>;
  /** The topic znode's version the decision was made on. */
  version: number;
}

/** A partition state write of the controller; version null creates the state znode. */
export interface StateWrite {
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  version: number | null;
}

export interface StateEntry {
  state: PartitionState;
  controllerEpoch: number;
  /**
   * The zxid of the write that made this state (read from ZooKeeper); undefined for a state this broker
   * wrote and applied before its watch read it back (written by this broker, so after it registered).
   */
  mzxid?: bigint;
}

export class ZooKeeperMetadataStore extends EventEmitter implements MetadataStore, ClusterView {
  readonly localNodeId: number;
  private clusterIdValue = '';
  private readonly brokers = new Map<number, BrokerEndpoint>();
  /**
   * Broker epochs (KIP-380): the czxid of each live broker's /brokers/ids/<id>. A broker that restarts
   * registers a new znode, so its epoch changes even when nobody saw the old znode go.
   */
  private readonly brokerEpochs = new Map<number, bigint>();
  /** This broker's own epoch (its registration's czxid); -1 while not registered. */
  private ownEpoch = -1n;
  private controller = -1;
  private readonly topicsByName = new Map<string, TopicEntry>();
  private readonly topicsById = new Map<string, TopicEntry>();
  private readonly deleting = new Set<string>();
  private defaultConfigs: Record<string, string> = {};
  private ownConfigs: Record<string, string> = {};
  private registration: BrokerRegistration | null = null;
  /** Bumped on every new session: watchers armed on an older one are ignored. */
  private generation = 0;
  private readonly watchedTopics = new Set<string>();
  private readonly watchedStates = new Set<string>();
  private readonly watchedBrokers = new Set<number>();
  private readonly partitionListeners = new Set<(c: PartitionChanges) => void>();
  private readonly brokerListeners = new Set<() => void>();
  private readonly sessionListeners = new Set<(valid: boolean) => void>();
  private closed = false;
  /** The last /config/changes sequence number handled; -1 before the first read of the notifications. */
  private lastConfigChange = -1;
  private configChangesRead = false;
  /** Notifications are handled one run at a time, in order: a slower older read never wins. */
  private configChangeChain: Promise<void> = Promise.resolve();
  /** Topics named by a notification while their first read was in flight: their config is read again. */
  private readonly configRereads = new Set<string>();

  private constructor(
    readonly session: ZkSession,
    private readonly opts: ZooKeeperStoreOptions,
  ) {
    super();
    this.localNodeId = opts.nodeId;
  }

  static async open(opts: ZooKeeperStoreOptions): Promise<ZooKeeperMetadataStore> {
    const session = await ZkSession.open({
      connect: opts.connect,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      connectionTimeoutMs: opts.connectionTimeoutMs,
      logger: opts.logger,
    });
    const store = new ZooKeeperMetadataStore(session, opts);
    try {
      await store.init();
    } catch (err) {
      session.close();
      throw err;
    }
    return store;
  }

  get clusterId(): string {
    return this.clusterIdValue;
  }

  /** False while the ZooKeeper session cannot be proven ours (see the file comment). */
  get sessionValid(): boolean {
    return this.session.valid;
  }

  /** Called with false when the session is lost and true when it is back (state re-read). */
  onSessionChange(listener: (valid: boolean) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  private async init(): Promise<void> {
    for (const path of ZNODES.persistent) await this.session.mkdirp(path);
    await this.initClusterId();
    this.session.on('lost', () => this.notifySession(false));
    this.session.on('reconnected', () => void this.reload('reconnected'));
    this.session.on('renewed', () => void this.reload('renewed'));
    await this.loadAll();
  }

  private async initClusterId(): Promise<void> {
    let stored = await this.session.get(ZNODES.clusterId);
    if (stored === null) {
      const id = this.opts.clusterId ?? newClusterId();
      try {
        await this.session.create(ZNODES.clusterId, encodeClusterId(id));
      } catch (err) {
        if (!isZkCode(err, ZkCode.NODE_EXISTS)) throw err;
      }
      stored = await this.session.get(ZNODES.clusterId);
    }
    const id = stored === null ? null : decodeClusterId(stored.data);
    if (id === null) {
      throw new StartupError(
        `The cluster id in ZooKeeper (${this.opts.connect}${ZNODES.clusterId}) is unreadable, so the broker refuses to start.`,
      );
    }
    if (this.opts.clusterId !== null && this.opts.clusterId !== id) {
      throw new StartupError(
        `The cluster id ${JSON.stringify(this.opts.clusterId)} in cluster.id does not match the cluster id ` +
          `${JSON.stringify(id)} in ZooKeeper at ${this.opts.connect}, so the broker refuses to start: this ` +
          `ZooKeeper holds another cluster; fix cluster.id or zookeeper.connect.`,
      );
    }
    this.clusterIdValue = id;
  }

  private notifySession(valid: boolean): void {
    for (const l of this.sessionListeners) l(valid);
  }

  /** After a new session (or the old one back): register again, re-read everything, tell listeners. */
  private async reload(why: 'renewed' | 'reconnected'): Promise<void> {
    if (this.closed) return;
    try {
      if (why === 'renewed') {
        this.generation++;
        this.watchedTopics.clear();
        this.watchedStates.clear();
        this.watchedBrokers.clear();
        if (this.registration !== null) await this.registerNow(this.registration);
      }
      await this.loadAll();
      const updated: PartitionState[] = [];
      for (const t of this.topicsByName.values()) for (const s of t.states) if (s) updated.push(s.state);
      this.notifySession(true);
      this.firePartitions({ updated, removed: [] });
      this.fireBrokers();
      this.emit('reloaded');
    } catch (err) {
      this.opts.logger.error('Re-reading the cluster state from ZooKeeper failed', { error: String(err) });
    }
  }

  private async loadAll(): Promise<void> {
    const g = this.generation;
    // Notifications first: a config change after this read is handled from its notification, one before
    // it is in the topic configs read next.
    await this.watchConfigChanges(g);
    await Promise.all([
      this.watchBrokers(g),
      this.watchController(g),
      this.watchTopicList(g),
      this.watchDeletes(g),
      this.watchBrokerConfigs(g),
    ]);
  }

  /** Runs a watch handler unless the store closed or the session it was armed on is gone. */
  private rearm(g: number, fn: (g: number) => Promise<void>): () => void {
    return () => {
      if (this.closed || g !== this.generation) return;
      fn(g).catch((err: unknown) => {
        if (this.closed) return;
        this.opts.logger.warn('Reading ZooKeeper after a watch fired failed; retrying', {
          error: String(err),
        });
        setTimeout(() => this.rearm(g, fn)(), 1000).unref();
      });
    };
  }

  // ---- brokers and controller

  private async watchBrokers(g: number): Promise<void> {
    const ids = await this.session.children(
      ZNODES.brokerIds,
      this.rearm(g, (g2) => this.watchBrokers(g2)),
    );
    const live = new Set((ids ?? []).map(Number).filter((n) => Number.isInteger(n)));
    let changed = false;
    for (const id of [...this.brokers.keys()]) {
      if (!live.has(id)) {
        this.brokers.delete(id);
        this.brokerEpochs.delete(id);
        this.watchedBrokers.delete(id);
        changed = true;
      }
    }
    await Promise.all(
      [...live]
        .filter((id) => !this.watchedBrokers.has(id))
        .map(async (id) => {
          this.watchedBrokers.add(id);
          if (await this.readBroker(g, id)) changed = true;
        }),
    );
    if (changed) this.fireBrokers();
  }

  private async readBroker(g: number, id: number): Promise<boolean> {
    const node = await this.session.get(
      brokerPath(id),
      this.rearm(g, async (g2) => {
        if (!this.watchedBrokers.has(id)) return;
        if (await this.readBroker(g2, id)) this.fireBrokers();
      }),
    );
    const reg = node === null ? null : decodeBroker(id, node.data);
    if (node === null || reg === null) {
      this.brokerEpochs.delete(id);
      const had = this.brokers.delete(id);
      return had;
    }
    const prev = this.brokers.get(id);
    const prevEpoch = this.brokerEpochs.get(id);
    const next: BrokerEndpoint = { nodeId: id, host: reg.host, port: reg.port, rack: reg.rack };
    this.brokers.set(id, next);
    this.brokerEpochs.set(id, node.czxid);
    return (
      prev?.host !== next.host ||
      prev.port !== next.port ||
      prev.rack !== next.rack ||
      prevEpoch !== node.czxid
    );
  }

  private async watchController(g: number): Promise<void> {
    const node = await this.session.get(
      ZNODES.controller,
      this.rearm(g, (g2) => this.watchController(g2)),
    );
    const id = node === null ? -1 : decodeController(node.data);
    if (id !== this.controller) {
      this.controller = id;
      this.emit('controller', id);
    }
  }

  // ---- topics, partition states, deletions

  private async watchTopicList(g: number): Promise<void> {
    const names = new Set(
      (await this.session.children(
        ZNODES.brokerTopics,
        this.rearm(g, (g2) => this.watchTopicList(g2)),
      )) ?? [],
    );
    for (const name of [...this.topicsByName.keys()]) if (!names.has(name)) this.forgetTopic(name);
    await Promise.all(
      [...names]
        .filter((n) => !this.watchedTopics.has(n))
        .map((n) => {
          this.watchedTopics.add(n);
          return this.readTopic(g, n);
        }),
    );
  }

  private forgetTopic(name: string): void {
    const t = this.topicsByName.get(name);
    this.watchedTopics.delete(name);
    if (!t) return;
    this.topicsByName.delete(name);
    if (this.topicsById.get(t.meta.topicId) === t) this.topicsById.delete(t.meta.topicId);
    for (let p = 0; p < t.replicas.length; p++) this.watchedStates.delete(`${name}/${p}`);
    this.opts.logger.info('Topic removed from ZooKeeper', { topic: name });
    this.firePartitions({
      updated: [],
      removed: t.replicas.map((_, partition) => ({ topic: name, partition })),
    });
    this.emit('topics');
  }

  private async readTopic(g: number, name: string): Promise<void> {
    const node = await this.session.get(
      topicPath(name),
      this.rearm(g, (g2) => (this.watchedTopics.has(name) ? this.readTopic(g2, name) : Promise.resolve())),
    );
    if (node === null) return; // deleted meanwhile: the topic list watch forgets it
    const assignment = decodeAssignment(node.data);
    if (assignment === null) {
      this.opts.logger.warn('Ignoring an unreadable topic znode', { path: topicPath(name) });
      return;
    }
    const configs = await this.readTopicConfig(name);
    this.applyTopic(name, assignment, node.version, configs);
    if (this.configRereads.delete(name)) await this.applyTopicConfigChange(name);
    await Promise.all(
      assignment.partitions.map((_, p) => {
        const key = `${name}/${p}`;
        if (this.watchedStates.has(key)) return Promise.resolve();
        this.watchedStates.add(key);
        return this.readState(g, name, p);
      }),
    );
  }

  /** Reads a topic's znodes into the view without arming watches (its watches are armed elsewhere). */
  private async readTopicOnce(name: string): Promise<void> {
    const node = await this.session.get(topicPath(name));
    const assignment = node === null ? null : decodeAssignment(node.data);
    if (node === null || assignment === null) return;
    const config = await this.session.get(topicConfigPath(name));
    this.applyTopic(name, assignment, node.version, decodeConfig(config?.data ?? null));
  }

  /** A topic's config znode (no watch: changes are announced under /config/changes, as in Kafka). */
  private async readTopicConfig(name: string): Promise<Record<string, string>> {
    const node = await this.session.get(topicConfigPath(name));
    return decodeConfig(node?.data ?? null);
  }

  // ---- config change notifications

  /**
   * /config/changes, as Kafka's ZkNodeChangeNotificationListener reads it: one watch for every config
   * change in the cluster. The broker that changes an entity's config writes a sequential
   * config_change_<seq> naming the entity in the same transaction; every broker reads the entity's
   * config again for each notification past the last one it handled (at the first read, those already
   * there are skipped: the configs are read with the topics right after). Notifications older than 15
   * minutes are removed, as Kafka's brokers remove them.
   */
  private watchConfigChanges(g: number): Promise<void> {
    const run = this.configChangeChain.then(() => this.readConfigChanges(g));
    this.configChangeChain = run.catch(() => undefined);
    return run;
  }

  private async readConfigChanges(g: number): Promise<void> {
    if (this.closed || g !== this.generation) return;
    const children = await this.session.children(
      ZNODES.configChanges,
      this.rearm(g, (g2) => this.watchConfigChanges(g2)),
    );
    const changes: { name: string; seq: number }[] = [];
    for (const name of children ?? []) {
      const seq = configChangeSequence(name);
      if (seq !== null) changes.push({ name, seq });
    }
    changes.sort((a, b) => a.seq - b.seq);
    if (!this.configChangesRead) {
      this.configChangesRead = true;
      this.lastConfigChange = changes.at(-1)?.seq ?? -1;
      return;
    }
    const now = Date.now();
    for (const c of changes) {
      const path = `${ZNODES.configChanges}/${c.name}`;
      if (c.seq <= this.lastConfigChange) {
        await this.purgeConfigChange(path, now);
        continue;
      }
      const node = await this.session.get(path);
      const entity = node === null ? null : decodeConfigChange(node.data);
      if (entity?.startsWith('topics/')) await this.applyTopicConfigChange(entity.slice('topics/'.length));
      else if (node !== null && entity === null) {
        this.opts.logger.warn('Ignoring an unreadable config change notification', { path });
      }
      // brokers/<id|<default>>: the broker config znodes are watched directly (watchBrokerConfigs).
      this.lastConfigChange = c.seq;
    }
  }

  private async applyTopicConfigChange(name: string): Promise<void> {
    if (!this.topicsByName.has(name)) {
      // Its first read may be in flight with the config from before the change: read it again after.
      if (this.watchedTopics.has(name)) this.configRereads.add(name);
      return;
    }
    const configs = await this.readTopicConfig(name);
    const t = this.topicsByName.get(name);
    if (!t || sameConfigs(t.meta.configs, configs)) return;
    t.meta = { ...t.meta, configs };
    this.opts.logger.info('Topic config changed', { topic: name });
    this.emit('topics');
  }

  /** Removes a handled notification once it is older than Kafka's changeExpirationMs (any broker may). */
  private async purgeConfigChange(path: string, now: number): Promise<void> {
    const node = await this.session.get(path);
    if (node === null || node.ctimeMs + CONFIG_CHANGE_EXPIRATION_MS > now) return;
    await this.session.remove(path).catch((err: unknown) => {
      if (!isZkCode(err, ZkCode.NO_NODE)) throw err;
    });
  }

  /**
   * Applies a topic znode (version-checked: an older read never replaces a newer one). A partition
   * whose replica set changed (a reassignment) gets its state again with the new replicas, so that
   * ReplicaManager starts an added replica and stops a removed one.
   */
  private applyTopic(
    name: string,
    assignment: TopicAssignment,
    version: number,
    configs: Record<string, string>,
  ): void {
    const { topicId, partitions: replicas } = assignment;
    const prev = this.topicsByName.get(name);
    if (prev && prev.meta.topicId === topicId && prev.version > version) return;
    const meta: TopicMetadata = {
      name,
      topicId,
      partitions: replicas.length,
      replicationFactor: replicas[0]?.length ?? 0,
      configs,
    };
    const states = prev && prev.meta.topicId === topicId ? prev.states : [];
    const updated: PartitionState[] = [];
    states.forEach((s, p) => {
      const now = replicas[p];
      if (s === undefined || now === undefined || sameList(s.state.replicas, now)) return;
      const state: PartitionState = { ...s.state, replicas: now };
      states[p] = { state, controllerEpoch: s.controllerEpoch };
      updated.push(state);
    });
    const entry: TopicEntry = {
      meta,
      replicas,
      adding: assignment.adding ?? new Map(),
      removing: assignment.removing ?? new Map(),
      version,
      states,
    };
    if (prev && prev.meta.topicId !== topicId) this.topicsById.delete(prev.meta.topicId);
    this.topicsByName.set(name, entry);
    this.topicsById.set(topicId, entry);
    this.emit('topics');
    this.firePartitions({ updated, removed: [] });
  }

  private async readState(g: number, topic: string, partition: number): Promise<void> {
    const key = `${topic}/${partition}`;
    const node = await this.session.get(
      statePath(topic, partition),
      this.rearm(g, (g2) =>
        this.watchedStates.has(key) ? this.readState(g2, topic, partition) : Promise.resolve(),
      ),
    );
    if (node === null) return; // not written by the controller yet: the exists watch fires when it is
    const s = decodeState(node.data);
    if (s === null) {
      this.opts.logger.warn('Ignoring an unreadable partition state', { path: statePath(topic, partition) });
      return;
    }
    this.applyState(
      topic,
      partition,
      s.leader,
      s.leaderEpoch,
      s.isr,
      node.version,
      s.controllerEpoch,
      node.mzxid,
    );
  }

  private applyState(
    topic: string,
    partition: number,
    leader: number,
    leaderEpoch: number,
    isr: number[],
    version: number,
    controllerEpoch: number,
    mzxid?: bigint,
  ): PartitionState | null {
    const t = this.topicsByName.get(topic);
    if (!t || partition >= t.replicas.length) return null;
    const prev = t.states[partition];
    if (prev && prev.state.partitionEpoch >= version) {
      if (prev.state.partitionEpoch !== version) return null;
      prev.mzxid ??= mzxid; // our own write read back
      return prev.state;
    }
    const state: PartitionState = {
      topic,
      partition,
      replicas: t.replicas[partition]!,
      leader,
      leaderEpoch,
      isr,
      partitionEpoch: version,
    };
    t.states[partition] = { state, controllerEpoch, mzxid };
    this.firePartitions({ updated: [state], removed: [] });
    return state;
  }

  private async watchDeletes(g: number): Promise<void> {
    const names =
      (await this.session.children(
        ZNODES.deleteTopics,
        this.rearm(g, (g2) => this.watchDeletes(g2)),
      )) ?? [];
    this.deleting.clear();
    for (const n of names) this.deleting.add(n);
    this.emit('deletions');
  }

  private async watchBrokerConfigs(g: number): Promise<void> {
    const read = async (entity: number | '<default>', g2: number): Promise<void> => {
      const node = await this.session.get(
        brokerConfigPath(entity),
        this.rearm(g2, (g3) => read(entity, g3)),
      );
      const configs = decodeConfig(node?.data ?? null);
      if (entity === '<default>') this.defaultConfigs = configs;
      else this.ownConfigs = configs;
      this.emit('brokerConfigs');
    };
    await Promise.all([read('<default>', g), read(this.localNodeId, g)]);
  }

  // ---- registration

  /**
   * Registers this broker (ephemeral /brokers/ids/<id>) with the endpoint clients and other brokers
   * use. A live broker holding the id refuses the start with a StartupError.
   */
  async register(endpoint: { host: string; port: number; rack: string | null }): Promise<void> {
    const reg: BrokerRegistration = { id: this.localNodeId, ...endpoint };
    await this.registerNow(reg);
    this.registration = reg;
    // Seen at once (the /brokers/ids watch confirms it): topics created right after need this broker.
    this.watchedBrokers.add(reg.id);
    this.brokers.set(reg.id, { nodeId: reg.id, host: reg.host, port: reg.port, rack: reg.rack });
    this.brokerEpochs.set(reg.id, this.ownEpoch);
    this.fireBrokers();
    void this.readBroker(this.generation, reg.id).catch(() => undefined);
  }

  private async registerNow(reg: BrokerRegistration): Promise<void> {
    const path = brokerPath(reg.id);
    try {
      await this.session.create(path, encodeBroker(reg), CreateMode.EPHEMERAL);
    } catch (err) {
      if (!isZkCode(err, ZkCode.NODE_EXISTS)) throw err;
      const owner = await this.session.ephemeralOwner(path);
      if (owner === this.session.sessionId) {
        // Ours: a retried create after a connection loss.
        await this.readOwnEpoch(path);
        return;
      }
      const other = await this.session.get(path);
      const at = other === null ? null : decodeBroker(reg.id, other.data);
      throw new StartupError(
        `Broker id ${reg.id} is already registered in ZooKeeper by a live broker` +
          `${at ? ` (${at.host}:${at.port})` : ''}, so this broker refuses to start: give each broker its own broker.id ` +
          `(a restart right after this broker was killed: its old registration expires within ` +
          `zookeeper.session.timeout.ms, ${this.opts.sessionTimeoutMs} ms; start it again after that).`,
      );
    }
    await this.readOwnEpoch(path);
    this.opts.logger.info('Registered in ZooKeeper', {
      path,
      host: reg.host,
      port: reg.port,
      rack: reg.rack,
      brokerEpoch: String(this.ownEpoch),
    });
  }

  /** The broker epoch is the registration znode's czxid (Kafka's KIP-380); only this session can delete it. */
  private async readOwnEpoch(path: string): Promise<void> {
    const node = await this.session.get(path);
    if (node === null) throw new Error(`The registration ${path} vanished right after it was created`);
    this.ownEpoch = node.czxid;
  }

  // ---- ClusterView

  controllerId(): number {
    return this.controller;
  }

  liveBrokers(): readonly BrokerEndpoint[] {
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(nodeId: number): BrokerEndpoint | undefined {
    return this.brokers.get(nodeId);
  }

  /**
   * True when broker `nodeId`'s registration is newer than the write that made the partition's state:
   * whatever the state says about that broker (leader, ISR member) was decided for an earlier
   * incarnation of it (KIP-380's stale broker epoch), and the controller must decide again.
   */
  decidedBeforeRegistration(topic: string, partition: number, nodeId: number): boolean {
    const mzxid = this.stateEntry(topic, partition)?.mzxid;
    const epoch = this.brokerEpochs.get(nodeId);
    return mzxid !== undefined && epoch !== undefined && epoch > mzxid;
  }

  /** ClusterView: `state` names this broker leader but was decided before this broker registered. */
  leadershipDecidedBeforeRegistration(state: PartitionState): boolean {
    const entry = this.stateEntry(state.topic, state.partition);
    return (
      state.leader === this.localNodeId &&
      entry?.state.partitionEpoch === state.partitionEpoch &&
      entry.mzxid !== undefined &&
      this.ownEpoch > entry.mzxid
    );
  }

  /** A live broker's epoch (its registration's czxid), or undefined when it is not registered. */
  brokerEpoch(nodeId: number): bigint | undefined {
    return this.brokerEpochs.get(nodeId);
  }

  /** This broker's epoch, sent in inter-broker requests that carry one (ControlledShutdown v2+); -1 before registering. */
  get localBrokerEpoch(): bigint {
    return this.ownEpoch;
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.topicsByName.get(topic)?.states[partition]?.state;
  }

  /** The state with the controller epoch that wrote it (the controller's view). */
  stateEntry(topic: string, partition: number): StateEntry | undefined {
    return this.topicsByName.get(topic)?.states[partition];
  }

  /** Every topic in ZooKeeper with its replica assignment, including topics being deleted. */
  *assignments(): IterableIterator<{ name: string; topicId: string; replicas: readonly number[][] }> {
    for (const t of this.topicsByName.values()) {
      yield { name: t.meta.name, topicId: t.meta.topicId, replicas: t.replicas };
    }
  }

  /**
   * A partition's replica assignment with its ongoing reassignment (KIP-455) and the topic znode's
   * version, or undefined for an unknown partition.
   */
  partitionAssignment(
    topic: string,
    partition: number,
  ): { replicas: readonly number[]; adding: readonly number[]; removing: readonly number[] } | undefined {
    const t = this.topicsByName.get(topic);
    const replicas = t?.replicas[partition];
    if (t === undefined || replicas === undefined) return undefined;
    return { replicas, adding: t.adding.get(partition) ?? [], removing: t.removing.get(partition) ?? [] };
  }

  /** A topic's whole assignment as its znode holds it (for the controller's conditional rewrite). */
  topicAssignment(topic: string): TopicAssignmentWrite | undefined {
    const t = this.topicsByName.get(topic);
    if (t === undefined) return undefined;
    return {
      topic,
      topicId: t.meta.topicId,
      partitions: t.replicas.map((r) => [...r]),
      adding: new Map([...t.adding].map(([p, l]) => [p, [...l]])),
      removing: new Map([...t.removing].map(([p, l]) => [p, [...l]])),
      version: t.version,
    };
  }

  /** Topic names under /admin/delete_topics. */
  deletionRequests(): readonly string[] {
    return [...this.deleting];
  }

  async alterIsr(current: PartitionState, isr: readonly number[]): Promise<PartitionState | null> {
    if (!this.session.valid) return null;
    const entry = this.stateEntry(current.topic, current.partition);
    const data = encodeState({
      leader: current.leader,
      leaderEpoch: current.leaderEpoch,
      isr: [...isr],
      controllerEpoch: entry?.controllerEpoch ?? 0,
    });
    try {
      const version = await this.session.setData(
        statePath(current.topic, current.partition),
        data,
        current.partitionEpoch,
      );
      return (
        this.applyState(
          current.topic,
          current.partition,
          current.leader,
          current.leaderEpoch,
          [...isr],
          version,
          entry?.controllerEpoch ?? 0,
        ) ??
        this.partitionState(current.topic, current.partition) ??
        null
      );
    } catch (err) {
      if (isZkCode(err, ZkCode.BAD_VERSION) || isZkCode(err, ZkCode.NO_NODE)) return null;
      throw err;
    }
  }

  /**
   * Writes partition states for the controller, all or nothing, fenced by the controller epoch
   * znode's version (Kafka's controller fencing): a controller that was replaced fails with
   * BAD_VERSION on the check and writes nothing. Applies the new states to the view.
   */
  async writeStates(
    controllerEpoch: number,
    controllerEpochVersion: number,
    writes: readonly StateWrite[],
  ): Promise<void> {
    if (writes.length === 0) return;
    const ops: ZkOp[] = [{ op: 'check', path: ZNODES.controllerEpoch, version: controllerEpochVersion }];
    await this.stateOps(ops, controllerEpoch, writes);
    await this.session.multi(ops);
    this.applyStates(controllerEpoch, writes);
  }

  /**
   * The controller's rewrite of a topic's assignment (a reassignment's start, completion or cancel)
   * with the partition states that go with it, in one transaction fenced by the controller epoch
   * and conditional on the topic znode's and every state's version.
   */
  async writeAssignment(
    controllerEpoch: number,
    controllerEpochVersion: number,
    assignment: TopicAssignmentWrite,
    states: readonly StateWrite[],
  ): Promise<void> {
    const ops: ZkOp[] = [
      { op: 'check', path: ZNODES.controllerEpoch, version: controllerEpochVersion },
      {
        op: 'set',
        path: topicPath(assignment.topic),
        data: encodeAssignment({
          topicId: assignment.topicId,
          partitions: assignment.partitions,
          adding: assignment.adding,
          removing: assignment.removing,
        }),
        version: assignment.version,
      },
    ];
    await this.stateOps(ops, controllerEpoch, states);
    await this.session.multi(ops);
    const configs = this.topicsByName.get(assignment.topic)?.meta.configs ?? {};
    this.applyTopic(assignment.topic, assignment, assignment.version + 1, configs);
    this.applyStates(controllerEpoch, states);
  }

  private async stateOps(ops: ZkOp[], controllerEpoch: number, writes: readonly StateWrite[]): Promise<void> {
    const parents = new Map<string, boolean>();
    for (const w of writes) {
      const data = encodeState({ leader: w.leader, leaderEpoch: w.leaderEpoch, isr: w.isr, controllerEpoch });
      const path = statePath(w.topic, w.partition);
      if (w.version === null) {
        // A new partition: /partitions and /partitions/<p> are created with its first state.
        for (const parent of [partitionsPath(w.topic), partitionPath(w.topic, w.partition)]) {
          if (!parents.has(parent)) {
            parents.set(parent, (await this.session.get(parent)) !== null);
            if (!parents.get(parent)) ops.push({ op: 'create', path: parent, data: Buffer.alloc(0) });
          }
        }
        ops.push({ op: 'create', path, data });
      } else {
        ops.push({ op: 'set', path, data, version: w.version });
      }
    }
  }

  private applyStates(controllerEpoch: number, writes: readonly StateWrite[]): void {
    // Applied from the watches; the versions here are only known for sets (version + 1).
    for (const w of writes) {
      this.applyState(
        w.topic,
        w.partition,
        w.leader,
        w.leaderEpoch,
        w.isr,
        w.version === null ? 0 : w.version + 1,
        controllerEpoch,
      );
    }
  }

  onPartitionChanges(listener: (changes: PartitionChanges) => void): () => void {
    this.partitionListeners.add(listener);
    return () => this.partitionListeners.delete(listener);
  }

  onBrokersChanged(listener: () => void): () => void {
    this.brokerListeners.add(listener);
    return () => this.brokerListeners.delete(listener);
  }

  private firePartitions(changes: PartitionChanges): void {
    if (changes.updated.length === 0 && changes.removed.length === 0) return;
    for (const l of this.partitionListeners) {
      try {
        l(changes);
      } catch (err) {
        this.opts.logger.error('A partition change listener failed', { error: String(err) });
      }
    }
  }

  private fireBrokers(): void {
    this.emit('brokers');
    for (const l of this.brokerListeners) {
      try {
        l();
      } catch (err) {
        this.opts.logger.error('A broker change listener failed', { error: String(err) });
      }
    }
  }

  // ---- MetadataStore

  *topics(): IterableIterator<TopicMetadata> {
    for (const t of this.topicsByName.values()) if (!this.deleting.has(t.meta.name)) yield t.meta;
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.deleting.has(name) ? undefined : this.topicsByName.get(name)?.meta;
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    const t = this.topicsById.get(topicId);
    return t === undefined || this.deleting.has(t.meta.name) ? undefined : t.meta;
  }

  /** Replica assignment of a topic's partitions (preferred leader first), or undefined. */
  replicaAssignment(name: string): readonly (readonly number[])[] | undefined {
    return this.topicsByName.get(name)?.replicas;
  }

  /**
   * Creates a topic (config then assignment, in one transaction: other brokers see both or neither)
   * or changes one: configs are replaced, a larger partition count gets replicas for the new
   * partitions. The controller writes the new partitions' states. `assignment` overrides the
   * assignment of new partitions (CreateTopics/CreatePartitions with explicit replicas).
   */
  async putTopic(topic: TopicMetadata, assignment?: readonly (readonly number[])[]): Promise<void> {
    const existing = this.topicsByName.get(topic.name);
    if (!existing || existing.meta.topicId !== topic.topicId) {
      const replicas =
        assignment?.map((r) => [...r]) ??
        assignReplicas(this.liveBrokers(), topic.partitions, topic.replicationFactor);
      try {
        await this.session.multi([
          { op: 'create', path: topicConfigPath(topic.name), data: encodeConfig(topic.configs) },
          {
            op: 'create',
            path: topicPath(topic.name),
            data: encodeAssignment({ topicId: topic.topicId, partitions: replicas }),
          },
        ]);
      } catch (err) {
        if (isZkCode(err, ZkCode.NODE_EXISTS)) {
          // Another broker created it first: read it now, so the caller finds it after this error.
          // (Its watch may be armed with that read still in flight: then read it here once more.)
          if (this.watchedTopics.has(topic.name)) {
            await this.readTopicOnce(topic.name).catch(() => undefined);
          } else {
            this.watchedTopics.add(topic.name);
            await this.readTopic(this.generation, topic.name).catch(() => undefined);
          }
          throw new TopicExistsError(`Topic '${topic.name}' already exists.`);
        }
        throw err;
      }
      this.watchedTopics.add(topic.name);
      this.applyTopic(topic.name, { topicId: topic.topicId, partitions: replicas }, 0, { ...topic.configs });
      // Arm the watches on it now (the topic list watch may fire later than the caller's next read).
      void this.readTopic(this.generation, topic.name).catch(() => undefined);
      return;
    }
    if (!sameConfigs(existing.meta.configs, topic.configs)) {
      await this.writeTopicConfig(topic.name, topic.configs);
      existing.meta = { ...existing.meta, configs: { ...topic.configs } };
    }
    if (topic.partitions > existing.replicas.length) {
      const added =
        assignment?.map((r) => [...r]) ??
        assignReplicas(
          this.liveBrokers(),
          topic.partitions - existing.replicas.length,
          existing.replicas[0]?.length ?? 1,
          { firstPartition: existing.replicas.length },
        );
      // Ongoing reassignments of the existing partitions are kept.
      const grown: TopicAssignment = {
        topicId: topic.topicId,
        partitions: [...existing.replicas, ...added],
        adding: existing.adding,
        removing: existing.removing,
      };
      try {
        const version = await this.session.setData(
          topicPath(topic.name),
          encodeAssignment(grown),
          existing.version,
        );
        this.applyTopic(topic.name, grown, version, existing.meta.configs);
      } catch (err) {
        if (isZkCode(err, ZkCode.BAD_VERSION)) {
          throw new StaleWriteError(`Topic '${topic.name}' changed meanwhile; try again.`);
        }
        throw err;
      }
    }
  }

  /**
   * A topic's new config and the notification that tells every broker (Kafka's
   * AdminZkClient.changeTopicConfig), in one transaction: no broker misses a change.
   */
  private async writeTopicConfig(name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    const notification: ZkOp = {
      op: 'create',
      path: configChangePrefix,
      data: encodeConfigChange(`topics/${name}`),
      mode: CreateMode.PERSISTENT_SEQUENTIAL,
    };
    const data = encodeConfig(configs);
    try {
      await this.session.multi([{ op: 'set', path: topicConfigPath(name), data, version: -1 }, notification]);
    } catch (err) {
      if (!isZkCode(err, ZkCode.NO_NODE)) throw err;
      // A topic created without a config znode (by other tools): create it.
      await this.session.multi([{ op: 'create', path: topicConfigPath(name), data }, notification]);
    }
  }

  async deleteTopic(name: string): Promise<void> {
    if (!this.topicsByName.has(name)) return;
    try {
      await this.session.create(deleteTopicPath(name), Buffer.alloc(0));
    } catch (err) {
      if (!isZkCode(err, ZkCode.NODE_EXISTS)) throw err;
    }
    this.deleting.add(name);
  }

  *pendingTopicDeletions(): IterableIterator<PendingTopicDeletion> {
    for (const name of this.deleting) {
      const t = this.topicsByName.get(name);
      if (t) yield { name, topicId: t.meta.topicId, partitions: t.replicas.length };
    }
  }

  /** The controller completes deletions in ZooKeeper (it removes the topic's znodes). */
  completeTopicDeletion(): Promise<void> {
    return Promise.resolve();
  }

  brokerConfigs(scope: BrokerConfigScope = 'cluster-default'): Readonly<Record<string, string>> {
    return scope === 'broker' ? this.ownConfigs : this.defaultConfigs;
  }

  async setBrokerConfigs(
    configs: Record<string, string>,
    scope: BrokerConfigScope = 'cluster-default',
  ): Promise<void> {
    const path = brokerConfigPath(scope === 'broker' ? this.localNodeId : '<default>');
    const data = encodeConfig(configs);
    try {
      await this.session.setData(path, data, -1);
    } catch (err) {
      if (!isZkCode(err, ZkCode.NO_NODE)) throw err;
      await this.session.create(path, data).catch(async (e: unknown) => {
        if (!isZkCode(e, ZkCode.NODE_EXISTS)) throw e;
        await this.session.setData(path, data, -1);
      });
    }
    if (scope === 'broker') this.ownConfigs = { ...configs };
    else this.defaultConfigs = { ...configs };
  }

  /**
   * Reserves the next block of producer IDs with a compare-and-set on /latest_producer_id_block (as
   * Kafka's ZK-mode ProducerIdManager): two brokers racing for a block never both win it.
   */
  async allocateProducerIds(count: number): Promise<{ first: number; count: number }> {
    for (;;) {
      const node = await this.session.get(ZNODES.producerIdBlock);
      const last = node === null ? null : decodeProducerIdBlock(node.data);
      const first = last === null ? 0 : last.blockEnd + 1;
      const data = encodeProducerIdBlock({
        broker: this.localNodeId,
        blockStart: first,
        blockEnd: first + count - 1,
      });
      try {
        if (node === null) await this.session.create(ZNODES.producerIdBlock, data);
        else await this.session.setData(ZNODES.producerIdBlock, data, node.version);
        return { first, count };
      } catch (err) {
        if (!isZkCode(err, ZkCode.BAD_VERSION) && !isZkCode(err, ZkCode.NODE_EXISTS)) throw err;
        // Another broker took the block: read the new latest and try the next one.
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emit('closing');
    // Closing the session deletes our ephemeral znodes at once: other brokers see this one leave.
    this.session.close();
  }
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
