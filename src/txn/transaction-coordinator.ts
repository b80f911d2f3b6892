// The transaction coordinator (Kafka's TransactionCoordinator): InitProducerId with a
// transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, and the timers that abort
// transactions past their timeout and forget idle transactional ids.
//
// - Every state change is written to __transaction_state before it is applied and answered; a
//   failed write changes nothing and answers COORDINATOR_NOT_AVAILABLE (NOT_COORDINATOR when this
//   broker no longer leads the partition).
// - Requests for one transactional id run one after another (a queue per id), so a client's
//   pipelined AddPartitionsToTxn never sees CONCURRENT_TRANSACTIONS; Kafka's errors are kept for
//   the states a client can meet (a decision whose markers are still being written).
// - EndTxn writes PrepareCommit/PrepareAbort, then the markers to every partition, then
//   CompleteCommit/CompleteAbort, and answers after that. When markers cannot be written the
//   decision stays durable in Prepare* and is retried in the background (and at startup).
// - A new instance's InitProducerId and the timeout both fence the producer: the epoch is bumped
//   (PrepareEpochFence) and the ongoing transaction aborted with markers carrying the new epoch, so
//   the old instance's later writes fail with INVALID_PRODUCER_EPOCH / PRODUCER_FENCED.
// - Cluster mode: the coordinator of an id is the leader of its __transaction_state partition; a
//   broker loads a partition's ids when it becomes the leader and drops them when it stops.
import { crashPoint } from '../broker/crash-points.js';
import { TopicError } from '../broker/topic-manager.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  parseTransactionLogKey,
  parseTransactionLogValue,
  transactionLogKey,
  transactionLogValue,
} from './transaction-log-records.js';
import {
  copyMetadata,
  hasPartition,
  partitionList,
  TxnState,
  txnStateOf,
  type TxnMetadata,
  type TxnStateId,
} from './transaction-metadata.js';
import type { TxnMarker } from './transaction-markers.js';
import type { TransactionStateStore } from './transaction-state-store.js';

/** Kafka bumps to a new producer id once the epoch reaches Short.MaxValue - 1. */
const MAX_PRODUCER_EPOCH = 32766;
/** Backoff between retries of markers that could not be written. */
const MARKER_RETRY_MS = 1000;

export interface TransactionConfig {
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  idExpirationMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms */
  abortTimedOutIntervalMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms */
  removeExpiredIntervalMs: number;
}

export interface TxnPartition {
  topic: string;
  partition: number;
}

/** Writes one marker to one partition; resolves with that partition's error code. */
export type MarkerSender = (topic: string, partition: number, marker: TxnMarker) => Promise<number>;

export interface InitProducerIdResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

class CoordinatorError extends Error {
  constructor(readonly code: number) {
    super(`error ${code}`);
  }
}

export class TransactionCoordinator {
  readonly txns = new Map<string, TxnMetadata>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private loading = true;
  private stopped = false;
  /** Cluster mode: the __transaction_state partitions this broker leads and has loaded. */
  private owned: Set<number> | null = null;
  private readonly loadingPartitions = new Set<number>();
  private readonly partitionChanges = new Map<number, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private readonly retries = new Set<NodeJS.Timeout>();
  private background = new Set<Promise<unknown>>();
  private topicReady: Promise<void> | null = null;
  private readonly stopHooks: (() => void)[] = [];
  /**
   * Partitions whose marker is still to be written, by transactional id, for the decision `m` (the
   * metadata object, replaced by every state change): a retry sends only these, as Kafka does.
   */
  private readonly unwritten = new Map<string, { m: TxnMetadata; partitions: TxnPartition[] }>();

  constructor(
    readonly config: TransactionConfig,
    readonly store: TransactionStateStore,
    private readonly newProducerId: () => Promise<number>,
    private readonly sendMarker: MarkerSender,
    readonly logger: Logger,
    readonly now: () => number = Date.now,
  ) {}

  /** Ids are loaded per __transaction_state partition on becoming its leader. Call before start(). */
  enableClusterMode(): void {
    this.owned = new Set();
  }

  /** NONE when this broker coordinates `transactionalId` now. */
  availability(transactionalId: string): number {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    if (this.loading) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.owned !== null) {
      const p = this.store.partitionFor(transactionalId);
      if (this.loadingPartitions.has(p)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (!this.owned.has(p)) return ErrorCode.NOT_COORDINATOR;
    }
    return ErrorCode.NONE;
  }

  /**
   * Reads __transaction_state back (single node) when it exists, and starts the timers. The topic
   * itself is created by the first transactional request (ensureTopic), as Kafka does, so a broker
   * that never sees a transaction does not carry its 50 partitions.
   */
  async start(): Promise<void> {
    if (this.owned === null && this.store.topicExists()) {
      let records = 0;
      for (let p = 0; p < this.store.numPartitions; p++) records += await this.loadPartition(p);
      this.logger.info('Transaction coordinator loaded', { transactionalIds: this.txns.size, records });
      this.resumeAll([...this.txns.values()]);
    }
    this.loading = false;
    this.timers.push(
      setInterval(() => this.abortTimedOut(), this.config.abortTimedOutIntervalMs),
      setInterval(() => this.removeExpired(), this.config.removeExpiredIntervalMs),
    );
    for (const t of this.timers) t.unref();
  }

  /**
   * Creates __transaction_state on first use; resolves when requests can be served. A failure (in a
   * cluster: fewer live brokers than its replication factor) answers COORDINATOR_NOT_AVAILABLE and the
   * next request tries again.
   */
  ensureTopic(): Promise<void> {
    this.topicReady ??= this.store.ensureTopic().catch((err: unknown) => {
      this.topicReady = null;
      if (!(err instanceof TopicError && err.code === ErrorCode.INVALID_REPLICATION_FACTOR)) {
        this.logger.error('__transaction_state could not be created', { err: String(err) });
      }
      throw new CoordinatorError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    });
    return this.topicReady;
  }

  /** `hook` runs first thing at stop() (closing the marker channel, which ends markers in flight). */
  onStop(hook: () => void): void {
    this.stopHooks.push(hook);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    for (const hook of this.stopHooks) hook();
    await Promise.allSettled([...this.background, ...this.queues.values()]);
  }

  /** Cluster mode: this broker became (or stopped being) the leader of a __transaction_state partition. */
  onStateLeadership(partition: number, leader: boolean): Promise<void> {
    if (this.owned === null) return Promise.resolve();
    const owned = this.owned;
    const run = async (): Promise<void> => {
      owned.delete(partition);
      for (const id of [...this.txns.keys()]) {
        if (this.store.partitionFor(id) === partition) {
          this.txns.delete(id);
          this.unwritten.delete(id);
        }
      }
      if (!leader || this.stopped) return;
      this.loadingPartitions.add(partition);
      try {
        await this.loadPartition(partition);
        owned.add(partition);
        this.resumeAll(
          [...this.txns.values()].filter((m) => this.store.partitionFor(m.transactionalId) === partition),
        );
      } finally {
        this.loadingPartitions.delete(partition);
      }
    };
    const next = (this.partitionChanges.get(partition) ?? Promise.resolve())
      .then(run)
      .catch((err: unknown) => {
        this.logger.error('Loading a transaction state partition failed', { partition, err: String(err) });
      });
    this.partitionChanges.set(partition, next);
    return next;
  }

  private async loadPartition(partition: number): Promise<number> {
    return this.store.loadPartition(partition, (record) => {
      try {
        const id = parseTransactionLogKey(record.key);
        if (id === null) return;
        if (record.value === null) {
          this.txns.delete(id);
          return;
        }
        const v = parseTransactionLogValue(record.value);
        const state = txnStateOf(v.transactionStatus);
        if (state === null) return;
        const previous = this.txns.get(id);
        this.txns.set(id, {
          transactionalId: id,
          producerId: Number(v.producerId),
          lastProducerId: previous && previous.producerId !== Number(v.producerId) ? previous.producerId : -1,
          producerEpoch: v.producerEpoch,
          lastProducerEpoch:
            previous && previous.producerEpoch !== v.producerEpoch ? previous.producerEpoch : -1,
          timeoutMs: v.transactionTimeoutMs,
          state,
          partitions: new Map(
            (v.transactionPartitions ?? []).map((t) => [t.topic, new Set(t.partitionIds)] as const),
          ),
          startTimestampMs: Number(v.transactionStartTimestampMs),
          lastUpdateTimestampMs: Number(v.transactionLastUpdateTimestampMs),
        });
      } catch (err) {
        this.logger.warn('Skipping unreadable __transaction_state record', { err: String(err) });
      }
    });
  }

  /** Decisions found in Prepare* (a crash between the decision and its markers) are completed. */
  private resumeAll(txns: TxnMetadata[]): void {
    for (const m of txns) {
      if (m.state === TxnState.PrepareCommit || m.state === TxnState.PrepareAbort) {
        this.track(this.withLock(m.transactionalId, () => this.completeTransaction(m.transactionalId)));
      } else if (m.state === TxnState.PrepareEpochFence) {
        this.track(this.withLock(m.transactionalId, () => this.abortOngoing(m.transactionalId, false)));
      }
    }
  }

  private track(p: Promise<unknown>): void {
    const settled = p.catch((err: unknown) => {
      if (!(err instanceof CoordinatorError)) {
        this.logger.warn('Transaction coordinator background work failed', { err: String(err) });
      }
    });
    this.background.add(settled);
    void settled.then(() => this.background.delete(settled));
  }

  /** Runs `work` after every earlier operation on the same transactional id. */
  private withLock<T>(transactionalId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(transactionalId) ?? Promise.resolve();
    const turn = previous.then(work, work);
    const settled = turn.catch(() => undefined);
    this.queues.set(transactionalId, settled);
    void settled.then(() => {
      if (this.queues.get(transactionalId) === settled) this.queues.delete(transactionalId);
    });
    return turn;
  }

  /** Writes `next` as the id's state, then applies it. Throws CoordinatorError when it cannot. */
  private async persist(next: TxnMetadata): Promise<void> {
    const unavailable = this.availability(next.transactionalId);
    if (unavailable !== ErrorCode.NONE) throw new CoordinatorError(unavailable);
    const value = transactionLogValue({
      producerId: BigInt(next.producerId),
      producerEpoch: next.producerEpoch,
      transactionTimeoutMs: next.timeoutMs,
      transactionStatus: next.state,
      transactionPartitions:
        next.partitions.size === 0
          ? null
          : [...next.partitions].map(([topic, ps]) => ({
              topic,
              partitionIds: [...ps].sort((a, b) => a - b),
            })),
      transactionLastUpdateTimestampMs: BigInt(next.lastUpdateTimestampMs),
      transactionStartTimestampMs: BigInt(next.startTimestampMs),
    });
    try {
      await this.store.write(next.transactionalId, { key: transactionLogKey(next.transactionalId), value });
    } catch (err) {
      this.logger.error('Transaction state could not be written', {
        transactionalId: next.transactionalId,
        err: String(err),
      });
      throw new CoordinatorError(
        /does not lead/.test(String(err)) ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE,
      );
    }
    this.txns.set(next.transactionalId, next);
  }

  private transition(m: TxnMetadata, state: TxnStateId, change?: (n: TxnMetadata) => void): TxnMetadata {
    const next = copyMetadata(m);
    next.state = state;
    next.lastUpdateTimestampMs = this.now();
    change?.(next);
    return next;
  }

  // ---- InitProducerId ----------------------------------------------------------------------------

  initProducerId(
    transactionalId: string,
    timeoutMs: number,
    producerId: number,
    producerEpoch: number,
  ): Promise<InitProducerIdResult> {
    const fail = (errorCode: number): InitProducerIdResult => ({
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    if (transactionalId === '') return Promise.resolve(fail(ErrorCode.INVALID_REQUEST));
    if (timeoutMs <= 0 || timeoutMs > this.config.maxTimeoutMs) {
      return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    }
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return Promise.resolve(fail(unavailable));
    return this.withLock(transactionalId, async () => {
      try {
        await this.ensureTopic();
        return await this.initLocked(transactionalId, timeoutMs, producerId, producerEpoch);
      } catch (err) {
        if (err instanceof CoordinatorError) return fail(err.code);
        throw err;
      }
    });
  }

  private async initLocked(
    transactionalId: string,
    timeoutMs: number,
    producerId: number,
    producerEpoch: number,
  ): Promise<InitProducerIdResult> {
    let m = this.txns.get(transactionalId);
    if (m === undefined) {
      let id: number;
      try {
        id = await this.newProducerId();
      } catch {
        throw new CoordinatorError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
      const now = this.now();
      const created: TxnMetadata = {
        transactionalId,
        producerId: id,
        lastProducerId: -1,
        producerEpoch: 0,
        lastProducerEpoch: -1,
        timeoutMs,
        state: TxnState.Empty,
        partitions: new Map(),
        startTimestampMs: -1,
        lastUpdateTimestampMs: now,
      };
      await this.persist(created);
      return { errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 0 };
    }
    if (producerId >= 0) {
      // KIP-360: the producer says who it was. A retry of the bump that already happened gets the
      // same answer; an id or epoch that is neither current nor the last one is a zombie.
      const isCurrent = producerId === m.producerId && producerEpoch === m.producerEpoch;
      // The epoch before the last bump is also how a producer whose transaction the coordinator
      // aborted at its timeout recovers (KIP-360): it gets the bumped epoch and goes on.
      const settled =
        m.state === TxnState.Empty ||
        m.state === TxnState.CompleteAbort ||
        m.state === TxnState.CompleteCommit;
      const isRetry =
        settled &&
        ((producerId === m.producerId && producerEpoch === m.lastProducerEpoch) ||
          (producerId === m.lastProducerId && m.producerEpoch === 0));
      if (isRetry)
        return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
      if (!isCurrent) throw new CoordinatorError(ErrorCode.PRODUCER_FENCED);
    }
    switch (m.state) {
      case TxnState.PrepareCommit:
      case TxnState.PrepareAbort:
      case TxnState.PrepareEpochFence:
        // Markers of the last decision are still being written (retried in the background).
        throw new CoordinatorError(ErrorCode.CONCURRENT_TRANSACTIONS);
      case TxnState.Ongoing:
        // A new instance (or a restarted one) of this producer: the old one's transaction is
        // aborted under a bumped epoch first, fencing it.
        await this.abortOngoing(transactionalId, true);
        m = this.txns.get(transactionalId)!;
        if (m.state !== TxnState.CompleteAbort) throw new CoordinatorError(ErrorCode.CONCURRENT_TRANSACTIONS);
        break;
      default:
        break;
    }
    const bumped = this.transition(m, TxnState.Empty, (n) => {
      this.bumpEpoch(n);
      n.timeoutMs = timeoutMs;
      n.partitions.clear();
      n.startTimestampMs = -1;
    });
    if (bumped.producerId < 0) bumped.producerId = await this.freshProducerId();
    await this.persist(bumped);
    return { errorCode: ErrorCode.NONE, producerId: bumped.producerId, producerEpoch: bumped.producerEpoch };
  }

  private bumpEpoch(n: TxnMetadata): void {
    n.lastProducerEpoch = n.producerEpoch;
    if (n.producerEpoch >= MAX_PRODUCER_EPOCH) {
      // The id's epochs are used up: the caller takes a new producer id (-1 marks it) at epoch 0.
      n.lastProducerId = n.producerId;
      n.producerId = -1;
      n.producerEpoch = 0;
    } else {
      n.producerEpoch += 1;
    }
  }

  /**
   * Aborts the id's ongoing transaction as the coordinator decided it (timeout, fencing):
   * PrepareEpochFence with the epoch bumped, then PrepareAbort, markers, CompleteAbort.
   */
  private async abortOngoing(transactionalId: string, bump: boolean): Promise<void> {
    let m = this.txns.get(transactionalId);
    if (m === undefined) return;
    if (m.state === TxnState.Ongoing && bump) {
      const fenced = this.transition(m, TxnState.PrepareEpochFence, (n) => this.bumpEpoch(n));
      if (fenced.producerId < 0) fenced.producerId = await this.freshProducerId();
      await this.persist(fenced);
      m = fenced;
    }
    if (m.state !== TxnState.PrepareEpochFence && m.state !== TxnState.Ongoing) return;
    await this.persist(this.transition(m, TxnState.PrepareAbort));
    await this.completeTransaction(transactionalId);
  }

  private async freshProducerId(): Promise<number> {
    try {
      return await this.newProducerId();
    } catch {
      throw new CoordinatorError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    }
  }

  /**
   * Writes the markers of a Prepare* decision to every partition, then Complete*. When a marker
   * cannot be written the state stays Prepare* and a retry is scheduled.
   */
  private async completeTransaction(transactionalId: string): Promise<boolean> {
    const m = this.txns.get(transactionalId);
    if (m === undefined || (m.state !== TxnState.PrepareCommit && m.state !== TxnState.PrepareAbort))
      return true;
    const commit = m.state === TxnState.PrepareCommit;
    const marker: TxnMarker = {
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      commit,
      coordinatorEpoch: this.store.coordinatorEpoch(this.store.partitionFor(transactionalId)),
    };
    crashPoint('txn:after-prepare');
    const pending = this.unwritten.get(transactionalId);
    const retry = pending?.m === m;
    const results = await Promise.all(
      (retry ? pending.partitions : partitionList(m)).map(async ({ topic, partition }) => {
        const code = await this.sendMarker(topic, partition, marker);
        crashPoint('txn:after-first-marker');
        // A partition that is gone (topic deleted) needs no marker, as in Kafka.
        return code === ErrorCode.NONE || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          ? null
          : { topic, partition, code };
      }),
    );
    const failed = results.filter((r) => r !== null);
    if (failed.length > 0) {
      // Logged once per decision; the retries (every second until a new leader is known) at debug.
      (retry ? this.logger.debug : this.logger.warn).call(
        this.logger,
        'Transaction markers could not be written; retrying',
        {
          transactionalId,
          commit,
          partitions: failed.map((f) => `${f.topic}-${f.partition}:${f.code}`).join(','),
        },
      );
      if (this.txns.get(transactionalId) === m) {
        this.unwritten.set(transactionalId, {
          m,
          partitions: failed.map(({ topic, partition }) => ({ topic, partition })),
        });
      }
      this.scheduleRetry(transactionalId);
      return false;
    }
    this.unwritten.delete(transactionalId);
    await this.persist(
      this.transition(m, commit ? TxnState.CompleteCommit : TxnState.CompleteAbort, (n) => {
        n.partitions.clear();
      }),
    );
    return true;
  }

  private scheduleRetry(transactionalId: string): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.track(this.withLock(transactionalId, () => this.completeTransaction(transactionalId)));
    }, MARKER_RETRY_MS);
    timer.unref();
    this.retries.add(timer);
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn --------------------------------------------------------

  /** Checks the producer against the id's current state; NONE when it may act. */
  private checkProducer(m: TxnMetadata | undefined, producerId: number, producerEpoch: number): number {
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return ErrorCode.NONE;
  }

  /** Adds partitions to the ongoing transaction (starting one); one error code for all of them. */
  addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TxnPartition[],
  ): Promise<number> {
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return Promise.resolve(unavailable);
    return this.withLock(transactionalId, async () => {
      const m = this.txns.get(transactionalId);
      const error = this.checkProducer(m, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return error;
      switch (m!.state) {
        case TxnState.PrepareCommit:
        case TxnState.PrepareAbort:
        case TxnState.PrepareEpochFence:
          return ErrorCode.CONCURRENT_TRANSACTIONS;
        case TxnState.Dead:
          return ErrorCode.INVALID_TXN_STATE;
        default:
          break;
      }
      if (m!.state === TxnState.Ongoing && partitions.every((p) => hasPartition(m!, p.topic, p.partition))) {
        return ErrorCode.NONE;
      }
      const wasOngoing = m!.state === TxnState.Ongoing;
      const next = this.transition(m!, TxnState.Ongoing, (n) => {
        if (!wasOngoing) {
          n.partitions.clear();
          n.startTimestampMs = n.lastUpdateTimestampMs;
        }
        for (const { topic, partition } of partitions) {
          let set = n.partitions.get(topic);
          if (set === undefined) n.partitions.set(topic, (set = new Set()));
          set.add(partition);
        }
      });
      try {
        await this.persist(next);
      } catch (err) {
        if (err instanceof CoordinatorError) return err.code;
        throw err;
      }
      return ErrorCode.NONE;
    });
  }

  /**
   * AddPartitionsToTxn v4+ verify-only and KIP-890 produce checks: whether the partition is part of
   * the producer's ongoing transaction. NONE when it is.
   */
  verifyPartition(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): number {
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return unavailable;
    const m = this.txns.get(transactionalId);
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (m.state !== TxnState.Ongoing || !hasPartition(m, topic, partition))
      return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  // ---- EndTxn ------------------------------------------------------------------------------------

  endTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<number> {
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return Promise.resolve(unavailable);
    return this.withLock(transactionalId, async () => {
      const m = this.txns.get(transactionalId);
      // A retry of an EndTxn that completed (the epoch may have been bumped by a later fence only).
      const error = this.checkProducer(m, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return error;
      switch (m!.state) {
        case TxnState.Ongoing:
          break;
        case TxnState.CompleteCommit:
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        case TxnState.CompleteAbort:
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        case TxnState.PrepareCommit:
          return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
        case TxnState.PrepareAbort:
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
        default:
          // Empty, Dead, PrepareEpochFence.
          return ErrorCode.INVALID_TXN_STATE;
      }
      try {
        await this.persist(this.transition(m!, commit ? TxnState.PrepareCommit : TxnState.PrepareAbort));
        // The decision is durable: the answer is NONE even when markers must be retried.
        await this.completeTransaction(transactionalId);
      } catch (err) {
        if (!(err instanceof CoordinatorError)) throw err;
        // Prepare* failed to write: nothing changed. Complete* failed: retried like markers.
        if (this.txns.get(transactionalId)?.state === TxnState.Ongoing) return err.code;
        this.scheduleRetry(transactionalId);
      }
      return ErrorCode.NONE;
    });
  }

  // ---- timers ------------------------------------------------------------------------------------

  /** Aborts transactions older than their timeout (the producer is fenced by an epoch bump). */
  abortTimedOut(nowMs = this.now()): Promise<void> {
    const expired = [...this.txns.values()].filter(
      (m) =>
        m.state === TxnState.Ongoing && m.startTimestampMs >= 0 && nowMs > m.startTimestampMs + m.timeoutMs,
    );
    const work = Promise.all(
      expired.map((m) =>
        this.withLock(m.transactionalId, async () => {
          const current = this.txns.get(m.transactionalId);
          if (current?.state !== TxnState.Ongoing || current.startTimestampMs !== m.startTimestampMs) return;
          this.logger.info('Aborting a transaction past its timeout', {
            transactionalId: m.transactionalId,
            producerId: m.producerId,
            timeoutMs: m.timeoutMs,
          });
          await this.abortOngoing(m.transactionalId, true);
        }),
      ),
    ).then(() => undefined);
    this.track(work);
    return work;
  }

  /** Forgets ids idle past transactional.id.expiration.ms (a tombstone in __transaction_state). */
  removeExpired(nowMs = this.now()): Promise<void> {
    const idle = [...this.txns.values()].filter(
      (m) =>
        (m.state === TxnState.Empty ||
          m.state === TxnState.CompleteCommit ||
          m.state === TxnState.CompleteAbort) &&
        nowMs - m.lastUpdateTimestampMs > this.config.idExpirationMs,
    );
    const work = Promise.all(
      idle.map((m) =>
        this.withLock(m.transactionalId, async () => {
          const current = this.txns.get(m.transactionalId);
          if (current === undefined || current.lastUpdateTimestampMs !== m.lastUpdateTimestampMs) return;
          if (this.availability(m.transactionalId) !== ErrorCode.NONE) return;
          await this.store.write(m.transactionalId, {
            key: transactionLogKey(m.transactionalId),
            value: null,
          });
          this.txns.delete(m.transactionalId);
          this.logger.info('Transactional id expired', { transactionalId: m.transactionalId });
        }),
      ),
    ).then(() => undefined);
    this.track(work);
    return work;
  }
}
