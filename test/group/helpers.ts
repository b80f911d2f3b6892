// A tiny Kafka client for the group tests: typed requests over one node:net socket, encoded and
// decoded with the broker's generated codec (src/protocol/frames.ts). Responses are matched to
// requests by correlation id, so several requests may be in flight (a JoinGroup parked in a
// rebalance blocks later answers on the same connection, as in Kafka: use one client per member).
import { Socket, connect } from 'node:net';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { JoinGroupResponse } from '../../src/protocol/generated/join-group.js';
import type { SyncGroupResponse } from '../../src/protocol/generated/sync-group.js';
import type { DeepPartial } from '../../src/protocol/schema.js';
import type { TestBroker } from '../helpers/broker.js';

interface Pending {
  apiKey: number;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class TestClient {
  private correlationId = 0;
  private readonly pending = new Map<number, Pending>();
  private buffered = Buffer.alloc(0);
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closedError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number, clientId = 'group-test'): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.off('error', reject);
        resolve(new TestClient(s, clientId));
      });
      s.once('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const id = frame.readInt32BE(0);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      try {
        p.resolve(decodeResponse(p.apiKey, p.version, frame).body);
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  /** Sends one request and resolves with the decoded response body. */
  send<T>(apiKey: number, version: number, body: object): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = ++this.correlationId;
    const frame = encodeRequest(
      { apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    const size = Buffer.alloc(4);
    size.writeInt32BE(frame.length);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(correlationId, { apiKey, version, resolve: resolve as (b: unknown) => void, reject });
      this.socket.write(Buffer.concat([size, frame]));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface JoinOptions {
  groupId: string;
  memberId?: string;
  groupInstanceId?: string | null;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  protocolType?: string;
  protocols?: { name: string; metadata: Buffer }[];
  version?: number;
}

export const DEFAULT_PROTOCOLS = [{ name: 'range', metadata: Buffer.from('meta') }];

export function joinGroup(c: TestClient, o: JoinOptions): Promise<JoinGroupResponse> {
  return c.send<JoinGroupResponse>(ApiKey.JoinGroup, o.version ?? 5, {
    groupId: o.groupId,
    sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
    rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? 10_000,
    memberId: o.memberId ?? '',
    groupInstanceId: o.groupInstanceId ?? null,
    protocolType: o.protocolType ?? 'consumer',
    protocols: o.protocols ?? DEFAULT_PROTOCOLS,
  });
}

/** JoinGroup v4+ the way clients do it: MEMBER_ID_REQUIRED first, then again with the given id. */
export async function joinWithId(c: TestClient, o: JoinOptions): Promise<JoinGroupResponse> {
  const first = await joinGroup(c, o);
  if (first.errorCode !== 79) return first;
  return joinGroup(c, { ...o, memberId: first.memberId });
}

export function syncGroup(
  c: TestClient,
  o: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId?: string | null;
    assignments?: { memberId: string; assignment: Buffer }[];
    version?: number;
    protocolType?: string | null;
    protocolName?: string | null;
  },
): Promise<SyncGroupResponse> {
  const body: DeepPartial<Record<string, unknown>> = {
    groupId: o.groupId,
    generationId: o.generationId,
    memberId: o.memberId,
    groupInstanceId: o.groupInstanceId ?? null,
    protocolType: o.protocolType ?? null,
    protocolName: o.protocolName ?? null,
    assignments: o.assignments ?? [],
  };
  return c.send<SyncGroupResponse>(ApiKey.SyncGroup, o.version ?? 3, body);
}

export function heartbeat(
  c: TestClient,
  o: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId?: string | null;
    version?: number;
  },
): Promise<{ errorCode: number }> {
  return c.send(ApiKey.Heartbeat, o.version ?? 3, {
    groupId: o.groupId,
    generationId: o.generationId,
    memberId: o.memberId,
    groupInstanceId: o.groupInstanceId ?? null,
  });
}

export function leaveGroup(
  c: TestClient,
  groupId: string,
  members: { memberId: string; groupInstanceId?: string | null }[],
): Promise<{ errorCode: number; members: { memberId: string; errorCode: number }[] }> {
  return c.send(ApiKey.LeaveGroup, 3, {
    groupId,
    members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null })),
  });
}

export interface CommitPartition {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch?: number;
  metadata?: string | null;
}

export async function commitOffsets(
  c: TestClient,
  o: {
    groupId: string;
    generationId?: number;
    memberId?: string;
    groupInstanceId?: string | null;
    version?: number;
  },
  partitions: CommitPartition[],
): Promise<number[]> {
  const byTopic = new Map<string, CommitPartition[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  const r = await c.send<{
    topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
  }>(ApiKey.OffsetCommit, o.version ?? 8, {
    groupId: o.groupId,
    generationIdOrMemberEpoch: o.generationId ?? -1,
    memberId: o.memberId ?? '',
    groupInstanceId: o.groupInstanceId ?? null,
    topics: [...byTopic].map(([name, ps]) => ({
      name,
      partitions: ps.map((p) => ({
        partitionIndex: p.partition,
        committedOffset: p.offset,
        committedLeaderEpoch: p.leaderEpoch ?? -1,
        committedMetadata: p.metadata === undefined ? '' : p.metadata,
      })),
    })),
  });
  return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

export interface FetchedOffsets {
  errorCode: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      metadata: string | null;
      errorCode: number;
    }[];
  }[];
}

export function fetchOffsets(
  c: TestClient,
  groupId: string,
  topics: { name: string; partitionIndexes: number[] }[] | null,
  version = 7,
): Promise<FetchedOffsets> {
  return c.send<FetchedOffsets>(ApiKey.OffsetFetch, version, { groupId, topics, requireStable: false });
}

export function createTopic(c: TestClient, name: string, numPartitions = 1): Promise<unknown> {
  return c.send(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
}

export async function describeGroup(
  c: TestClient,
  groupId: string,
): Promise<{
  groupState: string;
  protocolData: string;
  members: { memberId: string; memberAssignment: Buffer }[];
}> {
  const r = await c.send<{
    groups: {
      groupState: string;
      protocolData: string;
      members: { memberId: string; memberAssignment: Buffer }[];
    }[];
  }>(ApiKey.DescribeGroups, 4, { groups: [groupId], includeAuthorizedOperations: false });
  return r.groups[0]!;
}

/** Polls the in-process coordinator until the group reaches `state` (or fails after timeoutMs). */
export async function waitForGroupState(
  b: TestBroker,
  groupId: string,
  state: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (b.broker.services.groups.groups.get(groupId)?.state === state) return;
    await sleep(50);
  }
  throw new Error(
    `group ${groupId} did not reach ${state} (now ${b.broker.services.groups.groups.get(groupId)?.state})`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const Errors = {
  NONE: 0,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  OFFSET_METADATA_TOO_LARGE: 12,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
} as const;

/**
 * A member that behaves like a real consumer's coordinator loop: join (with MEMBER_ID_REQUIRED),
 * sync, heartbeat every heartbeatMs, and rejoin whenever the coordinator asks for it.
 */
export class SimMember {
  memberId = '';
  generationId = -1;
  assignment: Buffer = Buffer.alloc(0);
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    readonly client: TestClient,
    readonly groupId: string,
    readonly opts: { sessionTimeoutMs?: number; rebalanceTimeoutMs?: number; heartbeatMs?: number } = {},
  ) {}

  start(): void {
    this.loop = this.run().catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const join = await joinGroup(this.client, {
        groupId: this.groupId,
        memberId: this.memberId,
        sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 10_000,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs ?? 10_000,
      });
      if (this.stopped) return;
      if (join.errorCode === Errors.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId;
        continue;
      }
      if (join.errorCode === Errors.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (join.errorCode !== Errors.NONE) {
        await sleep(50);
        continue;
      }
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      const assignments =
        join.leader === join.memberId
          ? join.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(m.memberId) }))
          : [];
      const sync = await syncGroup(this.client, {
        groupId: this.groupId,
        generationId: join.generationId,
        memberId: join.memberId,
        assignments,
      });
      if (this.stopped) return;
      if (sync.errorCode !== Errors.NONE) continue;
      this.assignment = sync.assignment;
      while (!this.stopped) {
        await sleep(this.opts.heartbeatMs ?? 100);
        if (this.stopped) return;
        const hb = await heartbeat(this.client, {
          groupId: this.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
        });
        if (hb.errorCode === Errors.NONE) continue;
        if (hb.errorCode === Errors.UNKNOWN_MEMBER_ID) this.memberId = '';
        break;
      }
    }
  }

  /** Stops the loop; with leave, sends LeaveGroup like a consumer's close(). */
  async stop(leave: boolean): Promise<void> {
    this.stopped = true;
    if (leave && this.memberId !== '') {
      await leaveGroup(this.client, this.groupId, [{ memberId: this.memberId }]).catch(() => {});
    }
    this.client.close();
    await this.loop;
  }
}
