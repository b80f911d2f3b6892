// A TEST DOUBLE OF THE COORDINATOR ONLY (what ZooKeeper and the controller do in production): an
// in-memory ClusterView shared by several in-process brokers, with partition leaders and ISRs set by
// hand. Everything else is real: each Broker listens on its own 127.0.0.1 port with its own data dir,
// followers fetch from leaders over TCP with the Kafka protocol, and clients are real clients.
// Partition state changes reach brokers asynchronously, as ZooKeeper watches would.
import type {
  BrokerEndpoint,
  ClusterView,
  PartitionChanges,
  PartitionState,
} from '../../src/cluster/cluster-view.js';
import type { TopicMetadata } from '../../src/cluster/metadata-store.js';
import { newTopicId } from '../../src/cluster/metadata-store.js';
import { Broker, type BrokerOptions } from '../../src/index.js';
import { makeTempDir, removeDir } from './broker.js';

type Listener<T> = (arg: T) => void;

export class InMemoryCoordinator {
  private readonly endpoints = new Map<number, () => BrokerEndpoint>();
  private readonly states = new Map<string, PartitionState>();
  private readonly partitionListeners = new Map<number, Set<Listener<PartitionChanges>>>();
  private readonly brokerListeners = new Map<number, Set<Listener<void>>>();
  private readonly sessionListeners = new Map<number, Set<Listener<boolean>>>();
  private readonly lostSessions = new Set<number>();
  controller = -1;
  /** alterIsr calls that succeeded, for assertions. */
  readonly isrChanges: { topic: string; partition: number; isr: readonly number[] }[] = [];

  /** The BrokerOptions.clusterView factory for a broker; it registers as live when it starts. */
  viewFactory(): NonNullable<BrokerOptions['clusterView']> {
    return ({ nodeId, endpoint }) => {
      this.endpoints.set(nodeId, endpoint);
      if (this.controller < 0) this.controller = nodeId;
      this.notifyBrokers();
      return new InMemoryClusterView(this, nodeId);
    };
  }

  /** A broker died (or stopped): no longer live. */
  unregister(nodeId: number): void {
    this.endpoints.delete(nodeId);
    this.partitionListeners.delete(nodeId);
    this.brokerListeners.delete(nodeId);
    this.notifyBrokers();
  }

  liveBrokers(): BrokerEndpoint[] {
    return [...this.endpoints.values()].map((e) => e()).sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(nodeId: number): BrokerEndpoint | undefined {
    return this.endpoints.get(nodeId)?.();
  }

  state(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(`${topic}-${partition}`);
  }

  /** Sets a partition's assignment, leader and ISR; a new leader (or `bumpEpoch`) starts a new leader epoch. */
  setPartition(
    topic: string,
    partition: number,
    next: { replicas?: readonly number[]; leader: number; isr?: readonly number[]; bumpEpoch?: boolean },
  ): PartitionState {
    const current = this.state(topic, partition);
    const replicas = next.replicas ?? current?.replicas ?? [next.leader];
    const newLeader = current === undefined || current.leader !== next.leader || next.bumpEpoch === true;
    const state: PartitionState = {
      topic,
      partition,
      replicas,
      leader: next.leader,
      leaderEpoch: current === undefined ? 0 : current.leaderEpoch + (newLeader ? 1 : 0),
      isr: next.isr ?? current?.isr ?? replicas,
      partitionEpoch: (current?.partitionEpoch ?? -1) + 1,
    };
    this.put(state);
    return state;
  }

  /**
   * A broker's coordination session is lost (false) or back (true): as the ZooKeeper view does, a new
   * session delivers every current partition state again.
   */
  setSession(nodeId: number, valid: boolean): void {
    if (valid) this.lostSessions.delete(nodeId);
    else this.lostSessions.add(nodeId);
    for (const l of this.sessionListeners.get(nodeId) ?? []) l(valid);
    if (valid) {
      const states = [...this.states.values()];
      setImmediate(() => {
        for (const l of this.partitionListeners.get(nodeId) ?? []) l({ updated: states, removed: [] });
      });
    }
  }

  sessionValid(nodeId: number): boolean {
    return !this.lostSessions.has(nodeId);
  }

  listenSession(nodeId: number, l: Listener<boolean>): () => void {
    const set = this.sessionListeners.get(nodeId) ?? new Set();
    this.sessionListeners.set(nodeId, set);
    set.add(l);
    return () => set.delete(l);
  }

  alterIsr(current: PartitionState, isr: readonly number[]): Promise<PartitionState | null> {
    const stored = this.state(current.topic, current.partition);
    if (stored === undefined || stored.partitionEpoch !== current.partitionEpoch)
      return Promise.resolve(null);
    const state: PartitionState = { ...stored, isr: [...isr], partitionEpoch: stored.partitionEpoch + 1 };
    this.isrChanges.push({ topic: state.topic, partition: state.partition, isr: state.isr });
    this.put(state);
    return Promise.resolve(state);
  }

  private put(state: PartitionState): void {
    this.states.set(`${state.topic}-${state.partition}`, state);
    // As a ZooKeeper watch: delivered later, not inside the writer's call.
    setImmediate(() => {
      for (const set of this.partitionListeners.values())
        for (const l of set) l({ updated: [state], removed: [] });
    });
  }

  private notifyBrokers(): void {
    setImmediate(() => {
      for (const set of this.brokerListeners.values()) for (const l of set) l();
    });
  }

  listen(nodeId: number, l: Listener<PartitionChanges>): () => void {
    const set = this.partitionListeners.get(nodeId) ?? new Set();
    this.partitionListeners.set(nodeId, set);
    set.add(l);
    return () => set.delete(l);
  }

  listenBrokers(nodeId: number, l: Listener<void>): () => void {
    const set = this.brokerListeners.get(nodeId) ?? new Set();
    this.brokerListeners.set(nodeId, set);
    set.add(l);
    return () => set.delete(l);
  }
}

class InMemoryClusterView implements ClusterView {
  constructor(
    private readonly coordinator: InMemoryCoordinator,
    readonly localNodeId: number,
  ) {}
  controllerId(): number {
    return this.coordinator.controller;
  }
  liveBrokers(): readonly BrokerEndpoint[] {
    return this.coordinator.liveBrokers();
  }
  broker(nodeId: number): BrokerEndpoint | undefined {
    return this.coordinator.broker(nodeId);
  }
  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.coordinator.state(topic, partition);
  }
  alterIsr(current: PartitionState, isr: readonly number[]): Promise<PartitionState | null> {
    return this.coordinator.alterIsr(current, isr);
  }
  onPartitionChanges(listener: (changes: PartitionChanges) => void): () => void {
    return this.coordinator.listen(this.localNodeId, listener);
  }
  onBrokersChanged(listener: () => void): () => void {
    return this.coordinator.listenBrokers(this.localNodeId, listener);
  }
  onSessionChange(listener: (valid: boolean) => void): () => void {
    return this.coordinator.listenSession(this.localNodeId, listener);
  }
  get sessionValid(): boolean {
    return this.coordinator.sessionValid(this.localNodeId);
  }
}

export interface ClusterNode {
  nodeId: number;
  dataDir: string;
  broker: Broker | null;
}

/** Several real in-process brokers sharing one InMemoryCoordinator. */
export class TestCluster {
  readonly coordinator = new InMemoryCoordinator();
  readonly nodes = new Map<number, ClusterNode>();

  private constructor(
    private readonly config: Record<string, string>,
    private readonly nodeConfig: (nodeId: number) => Record<string, string>,
  ) {}

  /** `nodeConfig` adds per-broker keys (e.g. broker.rack) to the shared `config`. */
  static async start(
    count: number,
    config: Record<string, string> = {},
    nodeConfig: (nodeId: number) => Record<string, string> = () => ({}),
  ): Promise<TestCluster> {
    const cluster = new TestCluster(config, nodeConfig);
    try {
      for (let id = 1; id <= count; id++) {
        cluster.nodes.set(id, { nodeId: id, dataDir: makeTempDir(`brook-repl-${id}-`), broker: null });
        await cluster.startNode(id);
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  broker(nodeId: number): Broker {
    const b = this.nodes.get(nodeId)?.broker;
    if (!b) throw new Error(`broker ${nodeId} is not running`);
    return b;
  }

  get bootstrapServers(): string[] {
    return [...this.nodes.values()].filter((n) => n.broker).map((n) => n.broker!.bootstrapServers);
  }

  async startNode(nodeId: number): Promise<Broker> {
    const node = this.nodes.get(nodeId)!;
    node.broker = await Broker.start({
      port: 0,
      host: '127.0.0.1',
      dataDir: node.dataDir,
      config: {
        'node.id': String(nodeId),
        'offsets.topic.num.partitions': '1',
        'group.initial.rebalance.delay.ms': '0',
        ...this.config,
        ...this.nodeConfig(nodeId),
      },
      clusterView: this.coordinator.viewFactory(),
    });
    return node.broker;
  }

  /** Stops a broker cleanly and marks it dead in the coordinator (the data dir is kept). */
  async stopNode(nodeId: number): Promise<void> {
    const node = this.nodes.get(nodeId)!;
    this.coordinator.unregister(nodeId);
    const b = node.broker;
    node.broker = null;
    await b?.stop();
  }

  /**
   * Creates a topic on every broker's metadata (same id and configs, as a shared store would hold it)
   * and sets each partition's state: replicas `assignment[p]`, leader its first, ISR all of them.
   * The brokers create their replicas' logs from the state.
   */
  async createTopic(
    name: string,
    assignment: number[][],
    configs: Record<string, string> = {},
  ): Promise<TopicMetadata> {
    const topic: TopicMetadata = {
      name,
      topicId: newTopicId(),
      partitions: assignment.length,
      replicationFactor: assignment[0]!.length,
      configs,
    };
    for (const n of this.nodes.values()) await n.broker?.services.metadata.putTopic(topic);
    assignment.forEach((replicas, p) =>
      this.coordinator.setPartition(name, p, { replicas, leader: replicas[0]!, isr: replicas }),
    );
    return topic;
  }

  /** Places the group coordinator's single __consumer_offsets partition: the first replica leads. */
  assignOffsetsTopic(replicas: number[]): void {
    this.coordinator.setPartition('__consumer_offsets', 0, { replicas, leader: replicas[0]!, isr: replicas });
  }

  async stop(): Promise<void> {
    for (const n of this.nodes.values()) {
      this.coordinator.unregister(n.nodeId);
      const b = n.broker;
      n.broker = null;
      await b?.stop().catch(() => undefined);
    }
    for (const n of this.nodes.values()) removeDir(n.dataDir);
  }
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
