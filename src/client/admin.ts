// Admin: topics, configs and consumer groups. Topic changes go to the controller, group requests to
// the group's coordinator (FindCoordinator), offsets to each partition's leader. Every error is a
// KafkaClientError naming the API and the topic, group or resource it was attached to.
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { ZERO_UUID } from '../protocol/wire.js';
import { Cluster, type BrokerNode, type ClientOptions } from './cluster.js';
import { decodeAssignment, decodeSubscription } from './consumer-protocol.js';
import { KafkaClientError, check } from './errors.js';
import { listOffsets, tpKey, type TopicPartition } from './offsets.js';

export interface NewTopic {
  name: string;
  /** Default: the broker's num.partitions. */
  partitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface PartitionDescription {
  partition: number;
  /** The leader's node id, or -1 when the partition has none (offline). */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  /** Replicas on brokers that are not live. */
  offlineReplicas: number[];
  /** Log start offset; null when the partition has no leader or its leader did not answer. */
  earliestOffset: number | null;
  /** Log end offset (high watermark); null as earliestOffset. */
  latestOffset: number | null;
}

export interface ClusterBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ClusterDescription {
  clusterId: string | null;
  /** The active controller's node id, or -1 when there is none. */
  controllerId: number;
  /** Live brokers, by node id. */
  brokers: ClusterBroker[];
}

export interface LogDirPartition {
  topic: string;
  partition: number;
  /** Bytes on disk. */
  size: number;
  /** How far the replica's log end is behind the high watermark (0 when caught up; -1 when offline). */
  offsetLag: number;
  isFuture: boolean;
}

export interface LogDirDescription {
  broker: number;
  path: string;
  /** NONE, or KAFKA_STORAGE_ERROR for an offline directory. */
  errorCode: number;
  /** File system size and free space (DescribeLogDirs v4+), or null. */
  totalBytes: number | null;
  usableBytes: number | null;
  partitions: LogDirPartition[];
}

export interface ElectionOutcome extends TopicPartition {
  /** NONE: elected; ELECTION_NOT_NEEDED: the wanted leader already leads; else why not. */
  errorCode: number;
  errorMessage: string | null;
}

export interface ReassignmentOutcome extends TopicPartition {
  /** NONE: recorded; INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, ... otherwise. */
  errorCode: number;
  errorMessage: string | null;
}

export interface PartitionReassignment extends TopicPartition {
  /** Every replica while it runs: the target ones first, then the original ones being removed. */
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
}

export type ConfigResourceType = 'topic' | 'broker';
const RESOURCE_TYPE: Record<ConfigResourceType, number> = { topic: 2, broker: 4 };

export interface ConfigResource {
  type: ConfigResourceType;
  name: string;
  /** Only these keys (default: all). */
  keys?: string[];
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  isSensitive: boolean;
  /** Kafka's ConfigSource: 1 dynamic topic, 2 dynamic broker, 4 static broker, 5 default, ... */
  source: number;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded when the group uses the consumer protocol; empty otherwise. */
  assignment: TopicPartition[];
  /** Subscribed topics, for the consumer protocol. */
  subscription: string[];
  /** The member epoch, in a consumer-protocol (KIP-848) group; null in a classic group. */
  memberEpoch: number | null;
}

export interface GroupDescription {
  groupId: string;
  /** 'consumer' for a KIP-848 group (described with ConsumerGroupDescribe), else 'classic'. */
  type: 'classic' | 'consumer';
  /** Classic: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead; consumer: Empty, Assigning, Reconciling, Stable. */
  state: string;
  protocolType: string;
  /** Classic: the chosen protocol (assignor); consumer: the server assignor. */
  protocol: string;
  /** Consumer groups: the group epoch and the epoch of the target assignment; null for classic groups. */
  groupEpoch: number | null;
  assignmentEpoch: number | null;
  members: GroupMemberDescription[];
}

export interface CommittedOffset extends TopicPartition {
  offset: number;
  metadata: string | null;
}

export interface PartitionLag extends TopicPartition {
  /** null when the group has not committed an offset for this partition. */
  committedOffset: number | null;
  /** -1 when the partition no longer exists. */
  logEndOffset: number;
  /** logEndOffset - committedOffset (never below 0); null without a committed offset or log end offset. */
  lag: number | null;
}

export class Admin {
  private readonly cluster: Cluster;

  private constructor(opts: ClientOptions) {
    this.cluster = new Cluster(opts);
  }

  /** Connects to a bootstrap server ('host:port[,host:port...]'). */
  static async connect(opts: ClientOptions | string): Promise<Admin> {
    const admin = new Admin(typeof opts === 'string' ? { bootstrap: opts } : opts);
    await admin.cluster.connect();
    return admin;
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }

  brokers(): BrokerNode[] {
    return this.cluster.brokers();
  }

  // ---- topics -----------------------------------------------------------------------------------

  async createTopics(topics: readonly NewTopic[], timeoutMs = 30_000): Promise<void> {
    const conn = await this.cluster.controller();
    const res = await conn.send(
      ApiKey.CreateTopics,
      {
        topics: topics.map((t) => ({
          name: t.name,
          numPartitions: t.partitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs,
        validateOnly: false,
      },
      { minVersion: 4, extraTimeoutMs: timeoutMs }, // v4: broker defaults for partitions and replication
    );
    for (const t of res.topics) check(t.errorCode, 'CreateTopics', `topic '${t.name}'`, t.errorMessage);
  }

  async deleteTopics(names: readonly string[], timeoutMs = 30_000): Promise<void> {
    const conn = await this.cluster.controller();
    const res = await conn.send(
      ApiKey.DeleteTopics,
      { topicNames: [...names], topics: names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs },
      { extraTimeoutMs: timeoutMs },
    );
    for (const t of res.responses) check(t.errorCode, 'DeleteTopics', `topic '${t.name}'`, t.errorMessage);
  }

  /** Names of every topic, internal ones included, sorted. */
  async listTopics(): Promise<string[]> {
    const topics = await this.cluster.refreshMetadata(null);
    return topics.map((t) => t.name).sort();
  }

  /**
   * Partitions with their leader, leader epoch, replicas, ISR, offline replicas and earliest/latest
   * offsets. A partition without a leader is still described (offsets null): that is when an operator
   * needs to see it.
   */
  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    const out: TopicDescription[] = [];
    for (const name of names) {
      const md = await this.cluster.topic(name, true);
      const led = md.partitions
        .filter((p) => p.leader >= 0)
        .map((p) => ({ topic: name, partition: p.partition }));
      const [earliest, latest] = await Promise.all([
        this.offsetsOrNull(led, 'earliest'),
        this.offsetsOrNull(led, 'latest'),
      ]);
      out.push({
        name,
        topicId: md.topicId,
        isInternal: md.isInternal,
        partitions: md.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
          earliestOffset: earliest.get(tpKey(name, p.partition)) ?? null,
          latestOffset: latest.get(tpKey(name, p.partition)) ?? null,
        })),
      });
    }
    return out;
  }

  /** listOffsets, or when that fails (a leader moving or gone), each partition alone, leaving out failures. */
  private async offsetsOrNull(
    tps: readonly TopicPartition[],
    spec: 'earliest' | 'latest',
  ): Promise<Map<string, number>> {
    try {
      return await listOffsets(this.cluster, tps, spec);
    } catch {
      const out = new Map<string, number>();
      await Promise.all(
        tps.map(async (tp) => {
          const one = await listOffsets(this.cluster, [tp], spec).catch(() => null);
          const offset = one?.get(tpKey(tp.topic, tp.partition));
          if (offset !== undefined) out.set(tpKey(tp.topic, tp.partition), offset);
        }),
      );
      return out;
    }
  }

  // ---- cluster ----------------------------------------------------------------------------------

  /** The cluster id, the controller and the live brokers: DescribeCluster, or Metadata from brokers without it. */
  async describeCluster(): Promise<ClusterDescription> {
    const conn = await this.cluster.anyConnection();
    if (conn.versionOf(ApiKey.DescribeCluster) >= 0) {
      const res = await conn.send(ApiKey.DescribeCluster, {
        includeClusterAuthorizedOperations: false,
        endpointType: 1,
      });
      check(res.errorCode, 'DescribeCluster', '', res.errorMessage);
      return {
        clusterId: res.clusterId,
        controllerId: res.controllerId,
        brokers: res.brokers
          .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack }))
          .sort((a, b) => a.nodeId - b.nodeId),
      };
    }
    const md = await conn.send(
      ApiKey.Metadata,
      { topics: [], allowAutoTopicCreation: false },
      { minVersion: 1 },
    );
    return {
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers: md.brokers
        .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }))
        .sort((a, b) => a.nodeId - b.nodeId),
    };
  }

  /**
   * The log directories of each broker (every broker when `brokerIds` is not given) with the
   * partitions in them: all partitions, or those of `topics`.
   */
  async describeLogDirs(
    brokerIds?: readonly number[],
    topics?: readonly string[],
  ): Promise<LogDirDescription[]> {
    let request: { topic: string; partitions: number[] }[] | null = null;
    if (topics !== undefined) {
      request = [];
      for (const name of topics) {
        const md = await this.cluster.topic(name, true);
        request.push({ topic: name, partitions: md.partitions.map((p) => p.partition) });
      }
    }
    const ids = brokerIds ?? this.cluster.brokers().map((b) => b.nodeId);
    const perBroker = await Promise.all(
      ids.map(async (broker) => {
        const conn = await this.cluster.connectionTo(broker);
        const res = await conn.send(ApiKey.DescribeLogDirs, { topics: request });
        check(res.errorCode, 'DescribeLogDirs', `broker ${broker}`);
        return res.results.map((r): LogDirDescription => ({
          broker,
          path: r.logDir,
          errorCode: r.errorCode,
          totalBytes: r.totalBytes >= 0n ? Number(r.totalBytes) : null,
          usableBytes: r.usableBytes >= 0n ? Number(r.usableBytes) : null,
          partitions: r.topics.flatMap((t) =>
            t.partitions.map((p) => ({
              topic: t.name,
              partition: p.partitionIndex,
              size: Number(p.partitionSize),
              offsetLag: Number(p.offsetLag),
              isFuture: p.isFutureKey,
            })),
          ),
        }));
      }),
    );
    return perBroker.flat();
  }

  /** Grows topics to `count` partitions each. */
  async createPartitions(
    topics: readonly { topic: string; count: number }[],
    timeoutMs = 30_000,
  ): Promise<void> {
    const conn = await this.cluster.controller();
    const res = await conn.send(
      ApiKey.CreatePartitions,
      {
        topics: topics.map((t) => ({ name: t.topic, count: t.count, assignments: null })),
        timeoutMs,
        validateOnly: false,
      },
      { extraTimeoutMs: timeoutMs },
    );
    for (const r of res.results) check(r.errorCode, 'CreatePartitions', `topic '${r.name}'`, r.errorMessage);
  }

  /**
   * ElectLeaders at the controller: 'preferred' moves leadership back to each partition's first
   * replica, 'unclean' elects a leader (possibly out of sync) for partitions that have none. All
   * partitions when `partitions` is null (then only partitions that needed an election are
   * answered). One result per partition: errorCode NONE, ELECTION_NOT_NEEDED, ... A NOT_CONTROLLER
   * answer (the controller moved) is retried at the controller Metadata names next.
   */
  async electLeaders(
    type: 'preferred' | 'unclean',
    partitions: readonly TopicPartition[] | null,
    timeoutMs = 30_000,
  ): Promise<ElectionOutcome[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p.partition);
    }
    for (let attempt = 0; ; attempt++) {
      const conn = await this.cluster.controller();
      const res = await conn.send(
        ApiKey.ElectLeaders,
        {
          electionType: type === 'preferred' ? 0 : 1,
          topicPartitions:
            partitions === null ? null : [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
          timeoutMs,
        },
        { minVersion: type === 'preferred' ? 0 : 1, extraTimeoutMs: timeoutMs },
      );
      const outcomes = res.replicaElectionResults.flatMap((t) =>
        t.partitionResult.map((p) => ({
          topic: t.topic,
          partition: p.partitionId,
          errorCode: p.errorCode,
          errorMessage: p.errorMessage,
        })),
      );
      const notController =
        res.errorCode === ErrorCode.NOT_CONTROLLER ||
        outcomes.some((o) => o.errorCode === ErrorCode.NOT_CONTROLLER);
      if (notController && attempt < 5) {
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        await this.cluster.refreshMetadata([]);
        continue;
      }
      check(res.errorCode, 'ElectLeaders');
      return outcomes;
    }
  }

  /**
   * AlterPartitionReassignments at the controller (KIP-455): each partition moves to `replicas`, or
   * with `replicas` null its ongoing reassignment is cancelled. Resolves once the controller recorded
   * them (listPartitionReassignments shows the progress), with one outcome per partition. A
   * NOT_CONTROLLER answer (the controller moved) is retried at the controller Metadata names next.
   */
  async alterPartitionReassignments(
    reassignments: readonly (TopicPartition & { replicas: readonly number[] | null })[],
    timeoutMs = 30_000,
  ): Promise<ReassignmentOutcome[]> {
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const r of reassignments) {
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push({ partitionIndex: r.partition, replicas: r.replicas === null ? null : [...r.replicas] });
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    const res = await this.atController('AlterPartitionReassignments', async (conn) =>
      conn.send(ApiKey.AlterPartitionReassignments, { timeoutMs, topics }, { extraTimeoutMs: timeoutMs }),
    );
    return res.responses.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        errorCode: p.errorCode,
        errorMessage: p.errorMessage,
      })),
    );
  }

  /** The ongoing reassignments (ListPartitionReassignments), of `partitions` or of every partition. */
  async listPartitionReassignments(
    partitions: readonly TopicPartition[] | null = null,
    timeoutMs = 30_000,
  ): Promise<PartitionReassignment[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p.partition);
    }
    const topics =
      partitions === null
        ? null
        : [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    const res = await this.atController('ListPartitionReassignments', (conn) =>
      conn.send(ApiKey.ListPartitionReassignments, { timeoutMs, topics }),
    );
    return res.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        addingReplicas: p.addingReplicas,
        removingReplicas: p.removingReplicas,
      })),
    );
  }

  /** Sends to the controller; a top-level NOT_CONTROLLER is retried where Metadata names it next. */
  private async atController<R extends { errorCode: number; errorMessage: string | null }>(
    api: string,
    send: (conn: Awaited<ReturnType<Cluster['controller']>>) => Promise<R>,
  ): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const res = await send(await this.cluster.controller());
      if (res.errorCode === ErrorCode.NOT_CONTROLLER && attempt < 5) {
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        await this.cluster.refreshMetadata([]);
        continue;
      }
      check(res.errorCode, api, '', res.errorMessage);
      return res;
    }
  }

  // ---- configs ----------------------------------------------------------------------------------

  async describeConfigs(resources: readonly ConfigResource[]): Promise<Map<string, ConfigEntry[]>> {
    const conn = await this.cluster.anyConnection();
    const res = await conn.send(ApiKey.DescribeConfigs, {
      resources: resources.map((r) => ({
        resourceType: RESOURCE_TYPE[r.type],
        resourceName: r.name,
        configurationKeys: r.keys ?? null,
      })),
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const out = new Map<string, ConfigEntry[]>();
    for (const r of res.results) {
      check(r.errorCode, 'DescribeConfigs', `resource '${r.resourceName}'`, r.errorMessage);
      out.set(
        r.resourceName,
        r.configs.map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: c.configSource === 5 || (c.configSource === -1 && c.isDefault),
          isSensitive: c.isSensitive,
          source: c.configSource,
        })),
      );
    }
    return out;
  }

  /**
   * AlterConfigs (the non-incremental API): the given keys become the resource's whole set of dynamic
   * configs, as in Kafka; keys not listed return to their defaults.
   */
  async alterConfigs(
    resources: readonly { type: ConfigResourceType; name: string; configs: Record<string, string | null> }[],
  ): Promise<void> {
    const conn = await this.cluster.anyConnection();
    const res = await conn.send(ApiKey.AlterConfigs, {
      resources: resources.map((r) => ({
        resourceType: RESOURCE_TYPE[r.type],
        resourceName: r.name,
        configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })),
      })),
      validateOnly: false,
    });
    for (const r of res.responses)
      check(r.errorCode, 'AlterConfigs', `resource '${r.resourceName}'`, r.errorMessage);
  }

  // ---- groups -----------------------------------------------------------------------------------

  /** Every group of every broker. */
  async listGroups(): Promise<GroupListing[]> {
    await this.cluster.refreshMetadata([]);
    const out = new Map<string, GroupListing>();
    for (const node of this.cluster.brokers()) {
      const conn = await this.cluster.connectionTo(node.nodeId);
      const res = await conn.send(ApiKey.ListGroups, { statesFilter: [], typesFilter: [] });
      check(res.errorCode, 'ListGroups', `on broker ${node.nodeId}`);
      for (const g of res.groups) {
        out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state: g.groupState });
      }
    }
    return [...out.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /**
   * Describes groups as Kafka's Admin.describeConsumerGroups does: ConsumerGroupDescribe first, and
   * DescribeGroups for a group that is not a consumer-protocol group (GROUP_ID_NOT_FOUND) or a broker
   * without ConsumerGroupDescribe.
   */
  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      out.push((await this.describeConsumerGroup(groupId)) ?? (await this.describeClassicGroup(groupId)));
    }
    return out;
  }

  /** ConsumerGroupDescribe of one group; null when it is not a consumer group (or not supported). */
  private async describeConsumerGroup(groupId: string): Promise<GroupDescription | null> {
    const conn = await this.cluster.coordinator(groupId);
    let res;
    try {
      res = await conn.send(ApiKey.ConsumerGroupDescribe, {
        groupIds: [groupId],
        includeAuthorizedOperations: false,
      });
    } catch (err) {
      if (err instanceof KafkaClientError && err.code === ErrorCode.UNSUPPORTED_VERSION) return null;
      throw err;
    }
    const g = res.groups.find((x) => x.groupId === groupId);
    if (!g || g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return null;
    check(g.errorCode, 'ConsumerGroupDescribe', `group '${groupId}'`);
    return {
      groupId,
      type: 'consumer',
      state: g.groupState,
      protocolType: 'consumer',
      protocol: g.assignorName,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment.topicPartitions.flatMap((t) =>
          t.partitions.map((partition) => ({ topic: t.topicName, partition })),
        ),
        subscription: m.subscribedTopicNames,
        memberEpoch: m.memberEpoch,
      })),
    };
  }

  private async describeClassicGroup(groupId: string): Promise<GroupDescription> {
    const conn = await this.cluster.coordinator(groupId);
    const res = await conn.send(ApiKey.DescribeGroups, {
      groups: [groupId],
      includeAuthorizedOperations: false,
    });
    const g = res.groups.find((x) => x.groupId === groupId);
    if (!g) throw new KafkaClientError(ErrorCode.GROUP_ID_NOT_FOUND, 'DescribeGroups', `group '${groupId}'`);
    check(g.errorCode, 'DescribeGroups', `group '${groupId}'`);
    const consumer = g.protocolType === 'consumer';
    return {
      groupId,
      type: 'classic',
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      groupEpoch: null,
      assignmentEpoch: null,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: consumer
          ? (decodeAssignment(m.memberAssignment)?.assignedPartitions ?? []).flatMap((t) =>
              t.partitions.map((partition) => ({ topic: t.topic, partition })),
            )
          : [],
        subscription: consumer ? (decodeSubscription(m.memberMetadata)?.topics ?? []) : [],
        memberEpoch: null,
      })),
    };
  }

  /** The group's committed offsets (OffsetFetch of all its partitions). */
  async fetchOffsets(groupId: string): Promise<CommittedOffset[]> {
    const conn = await this.cluster.coordinator(groupId);
    const res = await conn.send(
      ApiKey.OffsetFetch,
      {
        groupId,
        topics: null,
        groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }],
        requireStable: false,
      },
      { minVersion: 2 },
    ); // v2: null topics = all of the group's partitions
    // v8+ answers per group; older versions at the top level.
    const group = res.groups.find((g) => g.groupId === groupId);
    const errorCode = group ? group.errorCode : res.errorCode;
    check(errorCode, 'OffsetFetch', `group '${groupId}'`);
    const topics = group ? group.topics : res.topics;
    const out: CommittedOffset[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        check(p.errorCode, 'OffsetFetch', `group '${groupId}' ${t.name}-${p.partitionIndex}`);
        if (p.committedOffset < 0n) continue;
        out.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: Number(p.committedOffset),
          metadata: p.metadata,
        });
      }
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    for (const groupId of groupIds) {
      const conn = await this.cluster.coordinator(groupId);
      const res = await conn.send(ApiKey.DeleteGroups, { groupsNames: [groupId] });
      for (const r of res.results) check(r.errorCode, 'DeleteGroups', `group '${r.groupId}'`);
    }
  }

  /**
   * Committed offset, log end offset and lag of every partition the group has committed to or has
   * assigned to a member (as kafka-consumer-groups.sh --describe shows them).
   */
  async groupLag(groupId: string, assigned: readonly TopicPartition[] = []): Promise<PartitionLag[]> {
    const committed = await this.fetchOffsets(groupId);
    const byKey = new Map<string, TopicPartition & { committedOffset: number | null }>();
    for (const c of committed) byKey.set(tpKey(c.topic, c.partition), { ...c, committedOffset: c.offset });
    for (const a of assigned) {
      const key = tpKey(a.topic, a.partition);
      if (!byKey.has(key)) byKey.set(key, { topic: a.topic, partition: a.partition, committedOffset: null });
    }
    const tps = [...byKey.values()].sort(
      (a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition,
    );
    const existing = await this.cluster.refreshMetadata([...new Set(tps.map((t) => t.topic))]);
    const live = new Set(existing.flatMap((t) => t.partitions.map((p) => tpKey(t.name, p.partition))));
    const ends = await listOffsets(
      this.cluster,
      tps.filter((tp) => live.has(tpKey(tp.topic, tp.partition))),
      'latest',
    );
    return tps.map((tp) => {
      // A group may keep offsets of a topic deleted since: no log end offset, no lag.
      const logEndOffset = ends.get(tpKey(tp.topic, tp.partition)) ?? -1;
      return {
        topic: tp.topic,
        partition: tp.partition,
        committedOffset: tp.committedOffset,
        logEndOffset,
        lag:
          tp.committedOffset === null || logEndOffset < 0
            ? null
            : Math.max(0, logEndOffset - tp.committedOffset),
      };
    });
  }

  /** OffsetCommit outside any generation (generation -1), as a standalone consumer or a reset tool does. */
  async commitOffsets(
    groupId: string,
    offsets: readonly (TopicPartition & { offset: number })[],
  ): Promise<void> {
    const byTopic = new Map<string, { partition: number; offset: number }[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const conn = await this.cluster.coordinator(groupId);
    const res = await conn.send(ApiKey.OffsetCommit, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, ps]) => ({
        name,
        partitions: ps.map((p) => ({
          partitionIndex: p.partition,
          committedOffset: BigInt(p.offset),
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: '',
        })),
      })),
    });
    for (const t of res.topics) {
      for (const p of t.partitions)
        check(p.errorCode, 'OffsetCommit', `group '${groupId}' ${t.name}-${p.partitionIndex}`);
    }
  }
}
