// Incremental fetch sessions (KIP-227), as Kafka's FetchSession, FetchSessionCache and FetchManager.
// A consumer that fetches many partitions sends them all once (a full fetch, SessionEpoch 0) and gets a
// session id back; afterwards it sends only the partitions whose fetch position changed, and the broker
// answers only the partitions with something new (records, a moved high watermark or log start offset,
// an error). An idle poll over 100 partitions then costs a few bytes instead of a few kilobytes.
// - SessionEpoch -1 with a session id closes it (a sessionless full fetch); 0 opens a new session
//   (closing the one named); n > 0 must be the session's next epoch: INVALID_FETCH_SESSION_EPOCH
//   otherwise, FETCH_SESSION_ID_NOT_FOUND for an unknown id, FETCH_SESSION_TOPIC_ID_ERROR when the
//   request version's topic naming (ids from v13) differs from the session's.
// - The cache holds max.incremental.fetch.session.cache.slots sessions. When it is full a new session
//   evicts one unused for 2 minutes, else the smallest session older than 2 minutes if the new one has
//   more partitions (Kafka's rules for non-follower sessions); otherwise the fetch is answered without a
//   session (SessionId 0), which every client accepts.
// - Pure state, synchronous: the Fetch handler reads the logs between newContext and the answer.
import { randomInt } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';

export const INVALID_SESSION_ID = 0;
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;
/** Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS: a session this old (or idle this long) may be evicted. */
export const SESSION_EVICTION_MS = 120_000;

/** The epoch that follows `epoch` (Kafka's FetchMetadata.nextEpoch): wraps to 1, never to 0. */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}

/** One partition as a fetch asks for it (or as a session remembers it). */
export interface FetchPartition {
  /** Topic name; '' when a v13+ request named a topic id this broker does not know. */
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
}

/** What a read produced for one partition: the fields a session compares with its last answer. */
export interface PartitionOutcome {
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  recordBytes: number;
}

/** A session's partition: the request parameters plus what the last answer told the client. */
interface CachedPartition extends FetchPartition {
  highWatermark: number;
  logStartOffset: number;
}

export class FetchSession {
  /** In fetch order; partitions answered move to the end, so a MaxBytes-limited fetch rotates fairly. */
  readonly partitions = new Map<string, CachedPartition>();
  /** The epoch the next incremental fetch must carry. */
  epoch = nextEpoch(INITIAL_EPOCH);
  lastUsedMs: number;
  /** Old enough to be evicted by a bigger new session (set on use, as Kafka's evictableByAll). */
  evictable = false;

  constructor(
    readonly id: number,
    readonly usesTopicIds: boolean,
    readonly creationMs: number,
  ) {
    this.lastUsedMs = creationMs;
  }

  key(topic: string, topicId: string, partition: number): string {
    return `${this.usesTopicIds ? topicId : topic}:${partition}`;
  }

  /** Adds or updates the request's partitions and drops the forgotten ones (Kafka's FetchSession.update). */
  update(fetchData: readonly FetchPartition[], toForget: readonly ForgottenPartition[]): void {
    for (const p of fetchData) {
      const key = this.key(p.topic, p.topicId, p.partition);
      const cached = this.partitions.get(key);
      if (cached === undefined) {
        this.partitions.set(key, { ...p, highWatermark: -1, logStartOffset: -1 });
      } else {
        cached.topic = p.topic;
        cached.fetchOffset = p.fetchOffset;
        cached.maxBytes = p.maxBytes;
        cached.currentLeaderEpoch = p.currentLeaderEpoch;
      }
    }
    for (const f of toForget) this.partitions.delete(this.key(f.topic, f.topicId, f.partition));
  }
}

export interface ForgottenPartition {
  topic: string;
  topicId: string;
  partition: number;
}

/** How one Fetch is answered: which partitions to read, and how to shape and remember the answer. */
export type FetchContext =
  /** The request names a session it cannot use: answered with this error and nothing else. */
  | { kind: 'error'; errorCode: number }
  /** No session (Fetch < v7, SessionEpoch -1, or an incremental fetch that emptied its session). */
  | { kind: 'sessionless'; partitions: readonly FetchPartition[] }
  /** SessionEpoch 0: every partition is answered and a new session is created if the cache allows. */
  | { kind: 'full'; partitions: readonly FetchPartition[]; usesTopicIds: boolean }
  /** An incremental fetch: reads every session partition, answers only those with something new. */
  | { kind: 'incremental'; session: FetchSession; partitions: readonly FetchPartition[]; epoch: number };

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();

  constructor(
    /** max.incremental.fetch.session.cache.slots */
    readonly maxSlots: number,
    private readonly evictionMs = SESSION_EVICTION_MS,
    private readonly newId: () => number = () => randomInt(1, 0x7fffffff),
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  remove(id: number): boolean {
    return this.sessions.delete(id);
  }

  /** Kafka's FetchManager.newContext: decides from SessionId/SessionEpoch how this fetch is served. */
  newContext(
    version: number,
    sessionId: number,
    sessionEpoch: number,
    fetchData: readonly FetchPartition[],
    toForget: readonly ForgottenPartition[],
    nowMs: number,
  ): FetchContext {
    if (version < 7) return { kind: 'sessionless', partitions: fetchData };
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      // Any session named in a full fetch is closed.
      if (sessionId !== INVALID_SESSION_ID) this.sessions.delete(sessionId);
      if (sessionEpoch === FINAL_EPOCH) return { kind: 'sessionless', partitions: fetchData };
      return { kind: 'full', partitions: fetchData, usesTopicIds: version >= 13 };
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== sessionEpoch)
      return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.usesTopicIds !== version >= 13) {
      return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    }
    session.update(fetchData, toForget);
    if (session.partitions.size === 0) {
      // Nothing left to fetch: the session ends and this fetch is answered without one.
      this.sessions.delete(session.id);
      return { kind: 'sessionless', partitions: fetchData };
    }
    this.touch(session, nowMs);
    session.epoch = nextEpoch(session.epoch);
    return {
      kind: 'incremental',
      session,
      partitions: [...session.partitions.values()],
      epoch: session.epoch,
    };
  }

  /**
   * After a full fetch was read: a new session holding its partitions and what the answer said, or
   * INVALID_SESSION_ID when no slot is free and none may be evicted.
   */
  createSession(
    nowMs: number,
    usesTopicIds: boolean,
    partitions: readonly FetchPartition[],
    outcomes: readonly PartitionOutcome[],
  ): number {
    if (this.maxSlots <= 0) return INVALID_SESSION_ID;
    if (this.sessions.size >= this.maxSlots && !this.tryEvict(partitions.length, nowMs)) {
      return INVALID_SESSION_ID;
    }
    let id = this.newId();
    while (id === INVALID_SESSION_ID || this.sessions.has(id)) id = this.newId();
    const session = new FetchSession(id, usesTopicIds, nowMs);
    partitions.forEach((p, i) => {
      const o = outcomes[i]!;
      session.partitions.set(session.key(p.topic, p.topicId, p.partition), {
        ...p,
        // An error leaves -1, so the partition is answered again once the error goes away.
        highWatermark: o.errorCode === ErrorCode.NONE ? o.highWatermark : -1,
        logStartOffset: o.logStartOffset,
      });
    });
    this.sessions.set(id, session);
    this.touch(session, nowMs);
    return id;
  }

  /**
   * After an incremental fetch was read: which partitions the answer includes (Kafka's
   * CachedPartition.maybeUpdateResponseData), remembering what it tells the client. Null when another
   * fetch of the same session got there first (INVALID_FETCH_SESSION_EPOCH).
   */
  selectIncremental(
    context: Extract<FetchContext, { kind: 'incremental' }>,
    outcomes: readonly PartitionOutcome[],
  ): boolean[] | null {
    const { session } = context;
    if (this.sessions.get(session.id) !== session || session.epoch !== context.epoch) return null;
    return context.partitions.map((p, i) => {
      const o = outcomes[i]!;
      const key = session.key(p.topic, p.topicId, p.partition);
      const cached = session.partitions.get(key);
      if (cached === undefined) return false;
      let respond = o.recordBytes > 0;
      if (cached.highWatermark !== o.highWatermark) {
        respond = true;
        cached.highWatermark = o.highWatermark;
      }
      if (cached.logStartOffset !== o.logStartOffset) {
        respond = true;
        cached.logStartOffset = o.logStartOffset;
      }
      if (o.errorCode !== ErrorCode.NONE) {
        respond = true;
        cached.highWatermark = -1;
      }
      if (respond) {
        session.partitions.delete(key);
        session.partitions.set(key, cached);
      }
      return respond;
    });
  }

  private touch(session: FetchSession, nowMs: number): void {
    session.lastUsedMs = nowMs;
    session.evictable = nowMs - session.creationMs > this.evictionMs;
  }

  /** Kafka's FetchSessionCache.tryEvict for a non-follower session of `size` partitions. */
  private tryEvict(size: number, nowMs: number): boolean {
    let leastRecent: FetchSession | undefined;
    let smallest: FetchSession | undefined;
    for (const s of this.sessions.values()) {
      if (
        leastRecent === undefined ||
        s.lastUsedMs < leastRecent.lastUsedMs ||
        (s.lastUsedMs === leastRecent.lastUsedMs && s.id < leastRecent.id)
      ) {
        leastRecent = s;
      }
      if (
        s.evictable &&
        (smallest === undefined ||
          s.partitions.size < smallest.partitions.size ||
          (s.partitions.size === smallest.partitions.size && s.id < smallest.id))
      ) {
        smallest = s;
      }
    }
    if (leastRecent === undefined) return false;
    // A stale session goes first; else the smallest old one, when the new session is bigger.
    const victim =
      nowMs - leastRecent.lastUsedMs > this.evictionMs
        ? leastRecent
        : smallest !== undefined && size > smallest.partitions.size
          ? smallest
          : undefined;
    if (victim === undefined) return false;
    this.sessions.delete(victim.id);
    return true;
  }
}
