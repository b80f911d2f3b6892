// A follower's fetcher: one per leader broker, copying the partitions this broker follows from that
// leader with the Kafka Fetch API (ReplicaId = our node id), the path consumers use (Kafka's
// ReplicaFetcherThread). Over Brook's own client connection.
// - A partition added (becoming a follower) is first truncated to where its log and the leader's
//   agree (KIP-101/279): OffsetForLeaderEpoch for our latest epoch, then cut at the smaller of the
//   leader's answer and our own end of that epoch. Only then is it fetched.
// - The leader's batches are appended as they are (offsets and leader epochs kept); the producer
//   state and leader epoch cache are rebuilt from them by the log, so a new leader keeps idempotence.
// - Our high watermark is min(leader's, our log end). Our next fetch offset tells the leader our log
//   end offset, which moves its high watermark and keeps us in its ISR.
// - Errors back off replica.fetch.backoff.ms: a connection error for the whole fetcher, a partition
//   error (leader not yet aware of its leadership, fenced epoch) for that partition only.
import { Connection } from '../client/connection.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import type { FetchRequestFetchTopic } from '../protocol/generated/fetch.js';
import { batchSizeAt, lastOffsetAt } from '../protocol/batch-header.js';
import { ZERO_UUID } from '../protocol/wire.js';
import type { BrokerEndpoint } from './cluster-view.js';
import type { PartitionReplica } from './partition-replica.js';

export interface ReplicaFetcherConfig {
  /** replica.fetch.backoff.ms */
  backoffMs: number;
  /** replica.fetch.max.bytes */
  maxBytes: number;
  /** replica.fetch.response.max.bytes */
  responseMaxBytes: number;
  /** replica.fetch.min.bytes */
  minBytes: number;
  /** replica.fetch.wait.max.ms */
  waitMaxMs: number;
  /** replica.socket.timeout.ms */
  socketTimeoutMs: number;
}

interface FetchState {
  replica: PartitionReplica;
  /** The leader epoch this fetch state belongs to (the follower's view of the partition). */
  leaderEpoch: number;
  truncated: boolean;
  delayedUntil: number;
  /** A truncation or append of this partition's log in progress (awaited by remove()). */
  busy: Promise<void> | null;
  /** Current wait before retrying after a partition error; grows to replica.fetch.backoff.ms. */
  retryMs: number;
}

/**
 * First retry after the leader refused a partition. Right after an election the new state often
 * reaches the followers before the leader has applied it (NOT_LEADER_OR_FOLLOWER,
 * UNKNOWN_LEADER_EPOCH); waiting the whole replica.fetch.backoff.ms then would hold acks=all writes
 * for a second, so retries start short and double up to it.
 */
const FIRST_RETRY_MS = 25;

/** Fetch v12: topics by name (v13+ would need the leader's topic ids), ReplicaId in the body. */
const FETCH_VERSION = 12;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;
const SESSIONLESS_EPOCH = -1;

export class ReplicaFetcher {
  private readonly partitions = new Map<string, FetchState>();
  private connection: Connection | null = null;
  private stopped = false;
  /** Failures in a row: the first is logged as a warning, the rest at debug until one succeeds. */
  private failures = 0;
  private wakeUp: (() => void) | null = null;
  private readonly running: Promise<void>;

  constructor(
    readonly leaderId: number,
    private readonly localNodeId: number,
    private readonly endpoint: () => BrokerEndpoint | undefined,
    private readonly config: ReplicaFetcherConfig,
    private readonly logger: Logger,
  ) {
    this.running = this.run();
  }

  get size(): number {
    return this.partitions.size;
  }

  add(replica: PartitionReplica): void {
    this.partitions.set(key(replica.topic, replica.partition), {
      replica,
      leaderEpoch: replica.state.leaderEpoch,
      truncated: false,
      delayedUntil: 0,
      busy: null,
      retryMs: FIRST_RETRY_MS,
    });
    this.wake();
  }

  /**
   * Stops fetching the partition; resolves once a truncation or append of its log that was under way
   * has finished, so the caller (becoming leader, another leader) has the log to itself.
   */
  remove(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition);
    const s = this.partitions.get(k);
    this.partitions.delete(k);
    return s?.busy ?? Promise.resolve();
  }

  /** Runs a change of the partition's log, visible to remove() while it runs. */
  private track(s: FetchState, work: Promise<void>): Promise<void> {
    const done: Promise<void> = work.finally(() => {
      if (s.busy === done) s.busy = null;
    });
    s.busy = done.catch(() => undefined);
    return done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.close();
    this.wake();
    await this.running;
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      const ready = [...this.partitions.values()].filter((s) => s.delayedUntil <= now);
      if (ready.length === 0) {
        let next = Infinity;
        for (const s of this.partitions.values()) next = Math.min(next, s.delayedUntil);
        await this.sleep(next === Infinity ? 60_000 : Math.max(1, next - now));
        continue;
      }
      try {
        const conn = await this.connect();
        const untruncated = ready.filter((s) => !s.truncated);
        if (untruncated.length > 0) await this.truncate(conn, untruncated);
        const fetchable = ready.filter((s) => s.truncated && this.current(s));
        if (fetchable.length > 0) await this.fetch(conn, fetchable);
        this.failures = 0;
      } catch (err) {
        if (this.stopped) break;
        const log = this.failures++ === 0 ? this.logger.warn : this.logger.debug;
        log.call(this.logger, 'Fetching from the leader failed; backing off', {
          leader: this.leaderId,
          err: (err as Error).message,
        });
        this.connection?.close();
        this.connection = null;
        await this.sleep(this.config.backoffMs);
      }
    }
    this.connection?.close();
  }

  private async connect(): Promise<Connection> {
    if (this.connection !== null && !this.connection.closed) return this.connection;
    const ep = this.endpoint();
    if (ep === undefined) throw new Error(`leader ${this.leaderId} is not a live broker`);
    this.connection = await Connection.connect(ep.host, ep.port, {
      clientId: `brook-replica-fetcher-${this.localNodeId}`,
      requestTimeoutMs: this.config.socketTimeoutMs,
      connectTimeoutMs: this.config.socketTimeoutMs,
    });
    return this.connection;
  }

  /** Still the same partition in the same epoch (not removed or re-added while we awaited). */
  private current(s: FetchState): boolean {
    return this.partitions.get(key(s.replica.topic, s.replica.partition)) === s && !this.stopped;
  }

  private delay(s: FetchState): void {
    const wait = Math.min(s.retryMs, this.config.backoffMs);
    s.delayedUntil = Date.now() + wait;
    s.retryMs = Math.min(wait * 2, this.config.backoffMs);
  }

  /** KIP-279: cut each log where it stops agreeing with the leader's. */
  private async truncate(conn: Connection, states: FetchState[]): Promise<void> {
    const byTopic = new Map<string, FetchState[]>();
    for (const s of states) {
      const list = byTopic.get(s.replica.topic) ?? [];
      list.push(s);
      byTopic.set(s.replica.topic, list);
    }
    const withEpoch = states.filter((s) => s.replica.log.latestEpoch >= 0);
    for (const s of states) {
      // A log without epochs has nothing the leader could disagree on below our high watermark.
      if (s.replica.log.latestEpoch < 0) await this.track(s, this.truncateTo(s, s.replica.log.highWatermark));
    }
    if (withEpoch.length === 0) return;
    const resp = await conn.sendAt(ApiKey.OffsetForLeaderEpoch, OFFSET_FOR_LEADER_EPOCH_VERSION, {
      replicaId: this.localNodeId,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list
          .filter((s) => s.replica.log.latestEpoch >= 0)
          .map((s) => ({
            partition: s.replica.partition,
            currentLeaderEpoch: s.leaderEpoch,
            leaderEpoch: s.replica.log.latestEpoch,
          })),
      })),
    });
    for (const t of resp.topics) {
      for (const p of t.partitions) {
        const s = this.partitions.get(key(t.topic, p.partition));
        if (s === undefined || !withEpoch.includes(s) || !this.current(s)) continue;
        if (p.errorCode !== ErrorCode.NONE) {
          this.logger.debug('OffsetForLeaderEpoch refused; retrying', {
            topic: t.topic,
            partition: p.partition,
            errorCode: p.errorCode,
          });
          this.delay(s);
          continue;
        }
        const log = s.replica.log;
        const leaderEnd = Number(p.endOffset);
        let target: number;
        if (p.leaderEpoch < 0 || leaderEnd < 0) {
          target = log.highWatermark; // the leader knows nothing of our epochs: keep what was committed
        } else if (p.leaderEpoch === log.latestEpoch) {
          target = Math.min(leaderEnd, log.logEndOffset);
        } else {
          const ours = log.endOffsetForEpoch(p.leaderEpoch);
          target = ours.endOffset >= 0 ? Math.min(leaderEnd, ours.endOffset) : leaderEnd;
        }
        await this.track(s, this.truncateTo(s, Math.min(target, log.logEndOffset)));
      }
    }
  }

  private async truncateTo(s: FetchState, offset: number): Promise<void> {
    const log = s.replica.log;
    const target = Math.max(offset, log.logStartOffset);
    if (target < log.logEndOffset) {
      this.logger.info('Truncating a diverged follower log', {
        topic: s.replica.topic,
        partition: s.replica.partition,
        from: log.logEndOffset,
        to: target,
      });
      await log.truncateTo(target);
    }
    s.truncated = true;
  }

  private async fetch(conn: Connection, states: FetchState[]): Promise<void> {
    const topics: Partial<FetchRequestFetchTopic>[] = [];
    const byTopic = new Map<string, Partial<FetchRequestFetchTopic>>();
    const fetchOffsets = new Map<FetchState, number>();
    for (const s of states) {
      let t = byTopic.get(s.replica.topic);
      if (t === undefined) {
        t = { topic: s.replica.topic, partitions: [] };
        byTopic.set(s.replica.topic, t);
        topics.push(t);
      }
      const fetchOffset = s.replica.log.logEndOffset;
      fetchOffsets.set(s, fetchOffset);
      t.partitions!.push({
        partition: s.replica.partition,
        currentLeaderEpoch: s.leaderEpoch,
        fetchOffset: BigInt(fetchOffset),
        lastFetchedEpoch: -1,
        logStartOffset: BigInt(s.replica.log.logStartOffset),
        partitionMaxBytes: this.config.maxBytes,
        replicaDirectoryId: ZERO_UUID,
      });
    }
    const resp = await conn.sendAt(
      ApiKey.Fetch,
      FETCH_VERSION,
      {
        replicaId: this.localNodeId,
        maxWaitMs: this.config.waitMaxMs,
        minBytes: this.config.minBytes,
        maxBytes: this.config.responseMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: SESSIONLESS_EPOCH,
        topics: topics as FetchRequestFetchTopic[],
        forgottenTopicsData: [],
        rackId: '',
      },
      { extraTimeoutMs: this.config.waitMaxMs },
    );
    if (resp.errorCode !== ErrorCode.NONE) throw new Error(`fetch error code ${resp.errorCode}`);
    const writes: Promise<void>[] = [];
    for (const t of resp.responses) {
      for (const p of t.partitions) {
        const s = this.partitions.get(key(t.topic, p.partitionIndex));
        if (s === undefined || !fetchOffsets.has(s) || !this.current(s)) continue;
        writes.push(this.track(s, this.apply(s, fetchOffsets.get(s)!, p)));
      }
    }
    await Promise.all(writes);
  }

  private async apply(
    s: FetchState,
    fetchOffset: number,
    p: {
      partitionIndex: number;
      errorCode: number;
      highWatermark: bigint;
      logStartOffset: bigint;
      records: Buffer | null;
    },
  ): Promise<void> {
    const log = s.replica.log;
    if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const leaderStart = Number(p.logStartOffset);
      if (leaderStart > fetchOffset) {
        // Retention removed what we miss: start over at the leader's log start (Kafka does the same).
        this.logger.warn("Follower is behind the leader's log start: restarting the log there", {
          topic: s.replica.topic,
          partition: s.replica.partition,
          from: fetchOffset,
          to: leaderStart,
        });
        await log.truncateFullyAndStartAt(leaderStart);
        return;
      }
      // Our log end is past the leader's: agree on the epochs again before fetching.
      s.truncated = false;
      this.delay(s);
      return;
    }
    if (p.errorCode !== ErrorCode.NONE) {
      this.logger.debug('Follower fetch refused for a partition; retrying', {
        topic: s.replica.topic,
        partition: s.replica.partition,
        errorCode: p.errorCode,
      });
      this.delay(s);
      return;
    }
    s.retryMs = FIRST_RETRY_MS;
    let records = p.records;
    if (records !== null && records.length > 0 && log.logEndOffset === fetchOffset) {
      // The leader answers from the batch holding fetchOffset: skip what we already have.
      let at = 0;
      while (at < records.length && lastOffsetAt(records, at) < fetchOffset) at += batchSizeAt(records, at);
      records = at > 0 ? records.subarray(at) : records;
      if (records.length > 0) {
        try {
          await log.append(records, { leaderEpoch: -1, assignOffsets: false }).durable;
        } catch (err) {
          this.logger.error('Appending replicated records failed', {
            topic: s.replica.topic,
            partition: s.replica.partition,
            err: (err as Error).message,
          });
          this.delay(s);
          return;
        }
      }
    }
    if (!this.current(s) || !log.isOpen) return;
    const hw = Math.max(log.logStartOffset, Math.min(Number(p.highWatermark), log.logEndOffset));
    if (hw > log.highWatermark) log.highWatermark = hw;
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
