// What the admin, producer and consumer share: the bootstrap connection, one connection per broker
// (opened on first use, by node id), topic metadata, and the coordinator of a group.
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import type { MetadataResponse } from '../protocol/generated/metadata.js';
import { ZERO_UUID } from '../protocol/wire.js';
import { Connection, parseHostPort, type ConnectionOptions } from './connection.js';
import { KafkaClientError, check, networkError } from './errors.js';

export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
}

export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  /** Replicas on brokers that are not live (Metadata v5+; empty before). */
  offlineReplicas: number[];
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

export interface ClientOptions extends ConnectionOptions {
  /** 'host:port', or several separated by commas; the first that answers is used. */
  bootstrap: string;
}

export class Cluster {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly nodes = new Map<number, BrokerNode>();
  private readonly topics = new Map<string, TopicMetadata>();
  private bootstrapConn: Connection | null = null;
  private closed = false;
  controllerId = -1;

  constructor(private readonly opts: ClientOptions) {}

  /** Connects to the first bootstrap server that answers and reads the cluster's brokers. */
  async connect(): Promise<void> {
    let lastError: unknown = null;
    for (const address of this.opts.bootstrap
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const { host, port } = parseHostPort(address);
      try {
        this.bootstrapConn = await this.connectionAt(host, port);
        break;
      } catch (err) {
        lastError = err;
      }
    }
    if (!this.bootstrapConn) throw lastError ?? new Error('No bootstrap server given.');
    await this.refreshMetadata([]);
  }

  /** Any live connection, for requests every broker can answer (Metadata, CreateTopics forwarding). */
  async anyConnection(): Promise<Connection> {
    if (this.bootstrapConn && !this.bootstrapConn.closed) return this.bootstrapConn;
    for (const node of this.nodes.values()) {
      try {
        this.bootstrapConn = await this.connectionTo(node.nodeId);
        return this.bootstrapConn;
      } catch {
        // try the next broker
      }
    }
    const { host, port } = parseHostPort(this.opts.bootstrap.split(',')[0]!.trim());
    this.bootstrapConn = await this.connectionAt(host, port);
    return this.bootstrapConn;
  }

  async connectionTo(nodeId: number): Promise<Connection> {
    const node = this.nodes.get(nodeId);
    if (!node) {
      throw new KafkaClientError(
        ErrorCode.BROKER_NOT_AVAILABLE,
        'Metadata',
        `broker ${nodeId}`,
        'unknown broker id',
      );
    }
    return this.connectionAt(node.host, node.port);
  }

  async controller(): Promise<Connection> {
    return this.controllerId >= 0 && this.nodes.has(this.controllerId)
      ? this.connectionTo(this.controllerId)
      : this.anyConnection();
  }

  /** A shared connection to host:port, reopened if it was closed. */
  async connectionAt(host: string, port: number): Promise<Connection> {
    if (this.closed) throw networkError(`${host}:${port}`, 'the client was closed');
    const key = `${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing) {
      const conn = await existing.catch(() => null);
      if (conn && !conn.closed) return conn;
    }
    const opening = Connection.connect(host, port, this.opts);
    this.connections.set(key, opening);
    opening.catch(() => this.connections.delete(key));
    return opening;
  }

  brokers(): BrokerNode[] {
    return [...this.nodes.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  /** Metadata of `names` (every topic when null): the topics that exist; updates the caches. */
  async refreshMetadata(names: string[] | null): Promise<TopicMetadata[]> {
    const res = await this.requestMetadata(names);
    return res.topics
      .filter((t) => t.errorCode === ErrorCode.NONE)
      .map((t) => this.topics.get(t.name ?? '')!);
  }

  /** Metadata of one topic, from the cache unless `refresh`; UNKNOWN_TOPIC_OR_PARTITION if it does not exist. */
  async topic(name: string, refresh = false): Promise<TopicMetadata> {
    const cached = refresh ? undefined : this.topics.get(name);
    if (cached) return cached;
    const res = await this.requestMetadata([name]);
    const t = res.topics.find((x) => x.name === name);
    check(t ? t.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata', `topic '${name}'`);
    return this.topics.get(name)!;
  }

  private async requestMetadata(names: string[] | null): Promise<MetadataResponse> {
    const conn = await this.anyConnection();
    const res = await conn.send(
      ApiKey.Metadata,
      {
        topics: names === null ? null : names.map((name) => ({ name, topicId: ZERO_UUID })),
        allowAutoTopicCreation: false,
      },
      { minVersion: 1 },
    );
    for (const b of res.brokers) this.nodes.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port });
    this.controllerId = res.controllerId;
    for (const t of res.topics) {
      const name = t.name ?? '';
      if (t.errorCode !== ErrorCode.NONE) {
        this.topics.delete(name);
        continue;
      }
      this.topics.set(name, {
        name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    return res;
  }

  /** The leader of topic-partition, or LEADER_NOT_AVAILABLE / UNKNOWN_TOPIC_OR_PARTITION. */
  async leaderOf(topic: string, partition: number, refresh = false): Promise<number> {
    const md = await this.topic(topic, refresh);
    const p = md.partitions.find((x) => x.partition === partition);
    if (!p)
      throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata', `${topic}-${partition}`);
    if (p.leader < 0)
      throw new KafkaClientError(ErrorCode.LEADER_NOT_AVAILABLE, 'Metadata', `${topic}-${partition}`);
    return p.leader;
  }

  /** The connection to the coordinator of `groupId` (FindCoordinator, key type 0). */
  async coordinator(groupId: string): Promise<Connection> {
    const conn = await this.anyConnection();
    const res = await conn.send(ApiKey.FindCoordinator, {
      key: groupId,
      keyType: 0,
      coordinatorKeys: [groupId],
    });
    // v4+ answers per key in `coordinators`; older versions in the top-level fields.
    const c = res.coordinators.length > 0 ? res.coordinators[0]! : res;
    check(c.errorCode, 'FindCoordinator', `group '${groupId}'`, c.errorMessage);
    this.nodes.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port });
    return this.connectionAt(c.host, c.port);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    this.bootstrapConn = null;
    for (const p of all) (await p.catch(() => null))?.close();
  }
}
