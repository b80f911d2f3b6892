// Cluster mode: how the transaction coordinator gets its COMMIT/ABORT markers to partitions led by
// other brokers (Kafka's TransactionMarkerChannelManager).
// - Each marker goes to the partition's current leader as this broker's cluster view says: written
//   directly when that is this broker, else queued for the leader. Markers queued in the same turn of
//   the event loop (every partition of one decision, and of every decision taken meanwhile) travel in
//   one WriteTxnMarkers request per destination broker, over one connection per broker (Brook's
//   client Connection, as the replica fetchers and controlled shutdown use).
// - Every marker resolves with its partition's error code and is never retried here: the coordinator
//   keeps the decision in Prepare* and sends the unwritten markers again after a backoff, looking the
//   leader up afresh, so NOT_LEADER_OR_FOLLOWER, an unknown leader or a lost connection (leader
//   killed) end once the new leader is known. A connection failure fails every marker sent on it with
//   NETWORK_EXCEPTION; a partition gone from the view (its topic deleted) is UNKNOWN_TOPIC_OR_PARTITION.
import { Connection } from '../client/connection.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import type { WriteTxnMarkersRequest } from '../protocol/generated/write-txn-markers.js';
import type { TxnMarker } from './transaction-markers.js';

export interface MarkerChannelOptions {
  cluster: ClusterView;
  /** Writes a marker to a partition this broker leads (appendMarker). */
  writeLocal: (topic: string, partition: number, marker: TxnMarker) => Promise<number>;
  /** Time allowed for a destination broker to answer, on top of its wait for the partition's ISR. */
  requestTimeoutMs: number;
  /** How long a destination broker may wait for the partition's ISR before it answers. */
  replicationTimeoutMs: number;
  logger: Logger;
}

interface QueuedMarker {
  topic: string;
  partition: number;
  marker: TxnMarker;
  resolve: (code: number) => void;
}

interface BrokerConnection {
  host: string;
  port: number;
  connection: Promise<Connection>;
}

export class TransactionMarkerChannel {
  /** Markers waiting for the next flush, by destination broker. */
  private readonly queues = new Map<number, QueuedMarker[]>();
  private readonly connections = new Map<number, BrokerConnection>();
  /** Destination brokers whose last request failed: the next failure is logged at debug only. */
  private readonly failing = new Set<number>();
  private flushScheduled = false;
  private stopped = false;

  constructor(private readonly opts: MarkerChannelOptions) {}

  /** Writes `marker` to the partition's current leader; resolves with the partition's error code. */
  send(topic: string, partition: number, marker: TxnMarker): Promise<number> {
    if (this.stopped) return Promise.resolve(ErrorCode.NETWORK_EXCEPTION);
    const { cluster } = this.opts;
    const state = cluster.partitionState(topic, partition);
    if (state === undefined) return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (state.leader === cluster.localNodeId) return this.opts.writeLocal(topic, partition, marker);
    if (state.leader < 0 || cluster.broker(state.leader) === undefined) {
      return Promise.resolve(ErrorCode.LEADER_NOT_AVAILABLE);
    }
    return new Promise((resolve) => {
      let queue = this.queues.get(state.leader);
      if (queue === undefined) this.queues.set(state.leader, (queue = []));
      queue.push({ topic, partition, marker, resolve });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Closes the connections; markers not answered yet fail with NETWORK_EXCEPTION. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) for (const q of queue) q.resolve(ErrorCode.NETWORK_EXCEPTION);
    this.queues.clear();
    for (const c of this.connections.values()) void c.connection.then((conn) => conn.close()).catch(() => {});
    this.connections.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    const queues = [...this.queues];
    this.queues.clear();
    for (const [brokerId, queue] of queues) void this.sendTo(brokerId, queue);
  }

  private async sendTo(brokerId: number, queue: QueuedMarker[]): Promise<void> {
    const codes = new Map<QueuedMarker, number>();
    try {
      const conn = await this.connect(brokerId);
      const response = await conn.send(ApiKey.WriteTxnMarkers, requestOf(queue), {
        extraTimeoutMs: this.opts.replicationTimeoutMs,
      });
      // Each marker of a request belongs to a different producer (one decision per transactional id
      // at a time), so producer id, topic and partition find the queued marker an answer is for.
      const byKey = new Map(queue.map((q) => [keyOf(q.marker.producerId, q.topic, q.partition), q]));
      for (const m of response.markers) {
        for (const t of m.topics) {
          for (const p of t.partitions) {
            const q = byKey.get(keyOf(Number(m.producerId), t.name, p.partitionIndex));
            if (q !== undefined) codes.set(q, p.errorCode);
          }
        }
      }
      this.failing.delete(brokerId);
    } catch (err) {
      const first = !this.failing.has(brokerId);
      this.failing.add(brokerId);
      (first ? this.opts.logger.warn : this.opts.logger.debug).call(
        this.opts.logger,
        'WriteTxnMarkers to another broker failed; the coordinator retries',
        { brokerId, markers: queue.length, err: (err as Error).message },
      );
      this.dropConnection(brokerId);
    }
    for (const q of queue) q.resolve(codes.get(q) ?? ErrorCode.NETWORK_EXCEPTION);
  }

  private connect(brokerId: number): Promise<Connection> {
    const ep = this.opts.cluster.broker(brokerId);
    if (ep === undefined) return Promise.reject(new Error(`broker ${brokerId} is not live`));
    const cached = this.connections.get(brokerId);
    if (cached !== undefined && cached.host === ep.host && cached.port === ep.port) {
      return cached.connection.then((conn) => {
        if (!conn.closed) return conn;
        if (this.connections.get(brokerId) === cached) this.connections.delete(brokerId);
        return this.connect(brokerId);
      });
    }
    if (cached !== undefined) this.dropConnection(brokerId);
    const connection = Connection.connect(ep.host, ep.port, {
      clientId: `brook-txn-markers-${this.opts.cluster.localNodeId}`,
      connectTimeoutMs: this.opts.requestTimeoutMs,
      requestTimeoutMs: this.opts.requestTimeoutMs,
    });
    const entry: BrokerConnection = { host: ep.host, port: ep.port, connection };
    this.connections.set(brokerId, entry);
    connection.catch(() => {
      if (this.connections.get(brokerId) === entry) this.connections.delete(brokerId);
    });
    return connection;
  }

  private dropConnection(brokerId: number): void {
    const cached = this.connections.get(brokerId);
    this.connections.delete(brokerId);
    void cached?.connection.then((conn) => conn.close()).catch(() => {});
  }
}

function keyOf(producerId: number, topic: string, partition: number): string {
  return `${producerId}\u0000${topic}\u0000${partition}`;
}

/** One WritableTxnMarker per decision, its partitions grouped by topic. */
function requestOf(queue: readonly QueuedMarker[]): WriteTxnMarkersRequest {
  const markers = new Map<TxnMarker, Map<string, number[]>>();
  for (const q of queue) {
    let topics = markers.get(q.marker);
    if (topics === undefined) markers.set(q.marker, (topics = new Map()));
    let partitions = topics.get(q.topic);
    if (partitions === undefined) topics.set(q.topic, (partitions = []));
    partitions.push(q.partition);
  }
  return {
    markers: [...markers].map(([marker, topics]) => ({
      producerId: BigInt(marker.producerId),
      producerEpoch: marker.producerEpoch,
      transactionResult: marker.commit,
      coordinatorEpoch: marker.coordinatorEpoch,
      topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    })),
  };
}
