// Who leads what: the live brokers and every partition's replicas, leader, leader epoch and ISR, as
// this broker knows them. The seam between coordination (where the state comes from) and
// replication (what a broker does with it):
// - a single broker: LocalClusterView, which leads every partition at leader epoch 0;
// - a cluster member: the ZooKeeper-backed view (src/cluster/zookeeper/), fed by watches on
//   Kafka's znodes (/brokers/ids, /brokers/topics/<t>/partitions/<p>/state, /controller).
// ReplicaManager reacts to partition state changes (become leader, become follower, stop); the
// partition leader changes the ISR through alterIsr, a write conditional on the partition epoch, so a
// stale leader never overwrites newer state.

export interface BrokerEndpoint {
  readonly nodeId: number;
  /** The advertised listener clients and other brokers connect to. */
  readonly host: string;
  readonly port: number;
  /** broker.rack, or null. */
  readonly rack: string | null;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Assigned replicas, preferred leader first. */
  readonly replicas: readonly number[];
  /** The leader's node id, or -1 when the partition has none (offline). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  /** Bumped by every change of this state (the state znode's version in ZooKeeper mode). */
  readonly partitionEpoch: number;
}

export interface ClusterView {
  /** This broker's node id. */
  readonly localNodeId: number;
  /** The active controller's node id, or -1 while there is none. */
  controllerId(): number;
  /** Live (registered) brokers, by node id. */
  liveBrokers(): readonly BrokerEndpoint[];
  broker(nodeId: number): BrokerEndpoint | undefined;
  partitionState(topic: string, partition: number): PartitionState | undefined;
  /**
   * The leader's ISR change (shrink a lagging follower, expand a caught-up one). Conditional on
   * `current.partitionEpoch`: resolves to the new state, or null when the state changed meanwhile (the
   * caller takes the newer state from its listener and decides again).
   */
  alterIsr(current: PartitionState, isr: readonly number[]): Promise<PartitionState | null>;
  /** Called after partition states changed, appeared (new topic, partition) or disappeared (deletion). */
  onPartitionChanges(listener: (changes: PartitionChanges) => void): () => void;
  /** Called after the set of live brokers changed. */
  onBrokersChanged(listener: () => void): () => void;
  /**
   * Cluster mode (ZooKeeper): called with false when this broker's coordination session is lost
   * (disconnected longer than zookeeper.session.timeout.ms, or expired): its registration and any
   * leadership may already belong to others, so it must not act as leader of anything until called
   * with true (a session again, state re-read; partition listeners then get every current state).
   * Absent on a single node, whose view never loses anything.
   */
  onSessionChange?(listener: (valid: boolean) => void): () => void;
  /** False while the session is lost (see onSessionChange); absent means always true. */
  readonly sessionValid?: boolean;
  /**
   * Cluster mode: true when `state` names this broker leader but was written before this broker's
   * current registration (KIP-380: the leadership was given to an earlier incarnation, e.g. before a
   * kill -9 and a restart the controller did not see). Such a leadership is not taken up until the
   * controller decides again (it writes a new state). Absent on a single node.
   */
  leadershipDecidedBeforeRegistration?(state: PartitionState): boolean;
}

export interface PartitionChanges {
  readonly updated: readonly PartitionState[];
  readonly removed: readonly { topic: string; partition: number }[];
}

/** A single broker: it is the only broker, the controller, and the leader of every partition at epoch 0. */
export class LocalClusterView implements ClusterView {
  static readonly LEADER_EPOCH = 0;

  constructor(
    readonly localNodeId: number,
    private readonly endpoint: () => BrokerEndpoint,
    private readonly partitionCount: (topic: string) => number | undefined,
  ) {}

  controllerId(): number {
    return this.localNodeId;
  }

  liveBrokers(): readonly BrokerEndpoint[] {
    return [this.endpoint()];
  }

  broker(nodeId: number): BrokerEndpoint | undefined {
    return nodeId === this.localNodeId ? this.endpoint() : undefined;
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    const count = this.partitionCount(topic);
    if (count === undefined || partition < 0 || partition >= count) return undefined;
    const self = [this.localNodeId];
    return {
      topic,
      partition,
      replicas: self,
      leader: this.localNodeId,
      leaderEpoch: LocalClusterView.LEADER_EPOCH,
      isr: self,
      partitionEpoch: 0,
    };
  }

  alterIsr(): Promise<PartitionState | null> {
    return Promise.resolve(null); // one replica: its ISR never changes
  }

  onPartitionChanges(): () => void {
    return () => undefined;
  }

  onBrokersChanged(): () => void {
    return () => undefined;
  }
}
