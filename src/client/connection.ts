// One TCP connection to one broker, with pipelined requests.
// - Requests are written as soon as they are sent, up to `maxInFlight` unanswered ones; Kafka answers
//   in request order on a connection, so each response must carry the correlation id at the head of
//   the queue. Anything else means the stream is out of step, and the connection is closed.
// - On connect, ApiVersions v3 (falling back to v0 for brokers that answer UNSUPPORTED_VERSION)
//   negotiates one version per API: min(our max, broker max), where ours is the generated schema's.
// - A request that times out closes the connection (the responses after it could no longer be
//   matched), failing every other pending request with NETWORK_EXCEPTION.
// - Produce with acks=0 gets no response: it resolves once written.
import { Socket } from 'node:net';
import { ErrorCode } from '../protocol/errors.js';
import { decodeResponse, encodeRequest } from '../protocol/frames.js';
import { API_SCHEMAS, ApiKey } from '../protocol/generated/apis.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import type {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from '../protocol/generated/create-partitions.js';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../protocol/generated/create-topics.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../protocol/generated/delete-groups.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../protocol/generated/delete-topics.js';
import type {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from '../protocol/generated/describe-configs.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../protocol/generated/alter-configs.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../protocol/generated/describe-groups.js';
import type {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from '../protocol/generated/describe-cluster.js';
import type {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
} from '../protocol/generated/describe-log-dirs.js';
import type {
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
} from '../protocol/generated/consumer-group-describe.js';
import type {
  ControlledShutdownRequest,
  ControlledShutdownResponse,
} from '../protocol/generated/controlled-shutdown.js';
import type { ElectLeadersRequest, ElectLeadersResponse } from '../protocol/generated/elect-leaders.js';
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from '../protocol/generated/alter-partition-reassignments.js';
import type {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from '../protocol/generated/list-partition-reassignments.js';
import type { FetchRequest, FetchResponse } from '../protocol/generated/fetch.js';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from '../protocol/generated/find-coordinator.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../protocol/generated/list-groups.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../protocol/generated/list-offsets.js';
import type { MetadataRequest, MetadataResponse } from '../protocol/generated/metadata.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../protocol/generated/offset-commit.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../protocol/generated/offset-fetch.js';
import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from '../protocol/generated/offset-for-leader-epoch.js';
import type { ProduceRequest, ProduceResponse } from '../protocol/generated/produce.js';
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from '../protocol/generated/write-txn-markers.js';
import type { DeepPartial } from '../protocol/schema.js';
import { KafkaClientError, networkError } from './errors.js';

/** Request and response types of the APIs the client sends. */
export interface ClientApis {
  [ApiKey.Produce]: [ProduceRequest, ProduceResponse];
  [ApiKey.Fetch]: [FetchRequest, FetchResponse];
  [ApiKey.ListOffsets]: [ListOffsetsRequest, ListOffsetsResponse];
  [ApiKey.Metadata]: [MetadataRequest, MetadataResponse];
  [ApiKey.OffsetCommit]: [OffsetCommitRequest, OffsetCommitResponse];
  [ApiKey.OffsetFetch]: [OffsetFetchRequest, OffsetFetchResponse];
  [ApiKey.FindCoordinator]: [FindCoordinatorRequest, FindCoordinatorResponse];
  [ApiKey.DescribeGroups]: [DescribeGroupsRequest, DescribeGroupsResponse];
  [ApiKey.ConsumerGroupDescribe]: [ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse];
  [ApiKey.ListGroups]: [ListGroupsRequest, ListGroupsResponse];
  [ApiKey.ApiVersions]: [ApiVersionsRequest, ApiVersionsResponse];
  [ApiKey.CreateTopics]: [CreateTopicsRequest, CreateTopicsResponse];
  [ApiKey.DeleteTopics]: [DeleteTopicsRequest, DeleteTopicsResponse];
  [ApiKey.DescribeConfigs]: [DescribeConfigsRequest, DescribeConfigsResponse];
  [ApiKey.AlterConfigs]: [AlterConfigsRequest, AlterConfigsResponse];
  [ApiKey.CreatePartitions]: [CreatePartitionsRequest, CreatePartitionsResponse];
  [ApiKey.DeleteGroups]: [DeleteGroupsRequest, DeleteGroupsResponse];
  [ApiKey.OffsetForLeaderEpoch]: [OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse];
  [ApiKey.DescribeCluster]: [DescribeClusterRequest, DescribeClusterResponse];
  [ApiKey.DescribeLogDirs]: [DescribeLogDirsRequest, DescribeLogDirsResponse];
  [ApiKey.ElectLeaders]: [ElectLeadersRequest, ElectLeadersResponse];
  [ApiKey.AlterPartitionReassignments]: [
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
  ];
  [ApiKey.ListPartitionReassignments]: [
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
  ];
  [ApiKey.ControlledShutdown]: [ControlledShutdownRequest, ControlledShutdownResponse];
  [ApiKey.WriteTxnMarkers]: [WriteTxnMarkersRequest, WriteTxnMarkersResponse];
}
export type ClientApiKey = keyof ClientApis;

export interface ConnectionOptions {
  /** client.id sent in every request header (default 'brook-client'). */
  clientId?: string;
  connectTimeoutMs?: number;
  /** Time allowed for a response, on top of any time the request itself asks the broker to wait. */
  requestTimeoutMs?: number;
  /** Unanswered requests allowed on the wire; further sends wait for a slot. */
  maxInFlight?: number;
}

export interface SendOptions {
  /** Lowest version the caller can work with (e.g. Produce v3 for record batches v2). */
  minVersion?: number;
  /** Highest version the caller can work with, if below the negotiated one. */
  maxVersion?: number;
  /** Extra time the broker may take on purpose (Fetch MaxWaitMs, CreateTopics TimeoutMs). */
  extraTimeoutMs?: number;
  /** Produce with acks=0: the broker sends no response. */
  noResponse?: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_IN_FLIGHT = 64;
/** Largest response frame accepted; bigger means a broken stream (Fetch asks for far less). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
const CLIENT_SOFTWARE_VERSION = '0.1.0';

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** 'host:port' (IPv6 hosts in brackets) → [host, port]. */
export function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`Invalid broker address "${address}": expected host:port.`);
  }
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

export class Connection {
  readonly address: string;
  private readonly socket: Socket;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly pending: Pending[] = [];
  private readonly slotWaiters: (() => void)[] = [];
  private readonly versions = new Map<number, [number, number]>();
  private nextCorrelationId = 1;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private closedError: KafkaClientError | null = null;

  private constructor(socket: Socket, address: string, opts: ConnectionOptions) {
    this.socket = socket;
    this.address = address;
    this.clientId = opts.clientId ?? 'brook-client';
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(networkError(address, err.message, err)));
    socket.on('close', () => this.fail(networkError(address, 'connection closed by the broker')));
  }

  /** Opens a connection and negotiates API versions. */
  static async connect(host: string, port: number, opts: ConnectionOptions = {}): Promise<Connection> {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const socket = new Socket();
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(networkError(address, `connection not established within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(networkError(address, err.code === 'ECONNREFUSED' ? 'connection refused' : err.message, err));
      });
      socket.connect(port, host, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
    });
    const conn = new Connection(socket, address, opts);
    try {
      await conn.negotiateVersions();
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** The version this connection uses for `apiKey`, or -1 when the broker does not serve it. */
  versionOf(apiKey: number, minVersion = 0, maxVersion = Number.MAX_SAFE_INTEGER): number {
    const ours = API_SCHEMAS.get(apiKey)?.request.validVersions;
    const theirs = this.versions.get(apiKey);
    if (!ours || !theirs) return -1;
    const v = Math.min(ours[1], theirs[1], maxVersion);
    return v >= Math.max(ours[0], theirs[0], minVersion) ? v : -1;
  }

  /** Sends one request and resolves with its decoded response. */
  async send<K extends ClientApiKey>(
    apiKey: K,
    body: DeepPartial<ClientApis[K][0]>,
    opts: SendOptions = {},
  ): Promise<ClientApis[K][1]> {
    const name = API_SCHEMAS.get(apiKey)?.name ?? `api ${apiKey}`;
    const version = this.versionOf(apiKey, opts.minVersion, opts.maxVersion);
    if (version < 0) {
      throw new KafkaClientError(
        ErrorCode.UNSUPPORTED_VERSION,
        name,
        `at ${this.address}`,
        `the broker serves no version of ${name} this client can use`,
      );
    }
    return this.sendAt(apiKey, version, body, opts);
  }

  /** Sends at an explicit version (ApiVersions negotiation and tests). */
  async sendAt<K extends ClientApiKey>(
    apiKey: K,
    version: number,
    body: DeepPartial<ClientApis[K][0]>,
    opts: SendOptions = {},
  ): Promise<ClientApis[K][1]> {
    while (this.pending.length >= this.maxInFlight && !this.closedError) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    if (this.closedError) throw this.closedError;
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const payload = encodeRequest(
      { apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(payload.length);
    if (opts.noResponse) {
      await new Promise<void>((resolve, reject) => {
        this.socket.write(Buffer.concat([size, payload]), (err) =>
          err ? reject(networkError(this.address, err.message, err)) : resolve(),
        );
      });
      return undefined as unknown as ClientApis[K][1];
    }
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const timeoutMs = this.requestTimeoutMs + (opts.extraTimeoutMs ?? 0);
      const timer = setTimeout(() => {
        const name = API_SCHEMAS.get(apiKey)?.name ?? `api ${apiKey}`;
        const err = new KafkaClientError(
          ErrorCode.REQUEST_TIMED_OUT,
          name,
          `to ${this.address}`,
          `no response within ${timeoutMs} ms`,
        );
        reject(err);
        this.fail(networkError(this.address, `closed after a ${name} request timed out`));
      }, timeoutMs);
      this.pending.push({ correlationId, apiKey, version, resolve, reject, timer });
      this.socket.write(size);
      this.socket.write(payload);
    });
    const { correlationId: got, body: decoded } = decodeResponse<ClientApis[K][1]>(apiKey, version, frame);
    if (got !== correlationId)
      throw networkError(this.address, `correlation id ${got}, expected ${correlationId}`);
    return decoded;
  }

  /** Closes the socket; pending requests fail with NETWORK_EXCEPTION. */
  close(): void {
    this.fail(networkError(this.address, 'connection closed by the client'));
  }

  private async negotiateVersions(): Promise<void> {
    // Until the broker's versions are known, allow ApiVersions itself at every version we have.
    this.versions.set(ApiKey.ApiVersions, [0, 4]);
    let res: ApiVersionsResponse;
    try {
      res = await this.sendAt(ApiKey.ApiVersions, 3, {
        clientSoftwareName: 'brook',
        clientSoftwareVersion: CLIENT_SOFTWARE_VERSION,
      });
    } catch (err) {
      // A broker without v3 answers with a v0 body that a v3 decoder cannot read (KIP-511).
      if (this.closed) throw err;
      res = await this.sendAt(ApiKey.ApiVersions, 0, {});
    }
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) res = await this.sendAt(ApiKey.ApiVersions, 0, {});
    if (res.errorCode !== ErrorCode.NONE) {
      throw new KafkaClientError(res.errorCode as ErrorCode, 'ApiVersions', `at ${this.address}`);
    }
    this.versions.clear();
    for (const k of res.apiKeys) this.versions.set(k.apiKey, [k.minVersion, k.maxVersion]);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= 4) {
      let head = this.chunks[0]!;
      if (head.length < 4) head = this.compact();
      const size = head.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE_BYTES) {
        this.fail(networkError(this.address, `response frame of ${size} bytes`));
        return;
      }
      if (this.bufferedBytes < 4 + size) return;
      if (head.length < 4 + size) head = this.compact();
      // A copy, so that records handed to callers never alias a buffer the socket reuses.
      const frame = Buffer.from(head.subarray(4, 4 + size));
      const rest = head.subarray(4 + size);
      if (rest.length > 0) this.chunks[0] = rest;
      else this.chunks.shift();
      this.bufferedBytes -= 4 + size;
      this.onFrame(frame);
    }
  }

  private compact(): Buffer {
    const all = Buffer.concat(this.chunks, this.bufferedBytes);
    this.chunks = [all];
    return all;
  }

  private onFrame(frame: Buffer): void {
    const p = this.pending.shift();
    const correlationId = frame.readInt32BE(0);
    if (!p || p.correlationId !== correlationId) {
      if (p) {
        clearTimeout(p.timer);
        p.reject(networkError(this.address, `response ${correlationId} arrived out of order`));
      }
      this.fail(networkError(this.address, `unexpected response with correlation id ${correlationId}`));
      return;
    }
    clearTimeout(p.timer);
    this.slotWaiters.shift()?.();
    p.resolve(frame);
  }

  private fail(err: KafkaClientError): void {
    if (this.closedError) return;
    this.closedError = err;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    for (const wake of this.slotWaiters.splice(0)) wake();
  }
}
