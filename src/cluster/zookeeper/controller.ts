// The controller, as in Kafka's ZooKeeper mode: every broker stands for it, the first to create the
// ephemeral /controller wins, and each win bumps /controller_epoch in the same transaction. The
// active controller is the only writer of partition leaders: it writes a new topic's initial states
// (leader = first live replica, ISR = the live replicas), elects a new leader from the ISR when a
// leader's broker dies (leader epoch + 1; the dead broker leaves the ISR), never elects outside
// the ISR unless unclean.leader.election.enable, runs preferred-leader election on request, and
// completes topic deletions by removing the topic's znodes.
//
// Broker epochs (KIP-380): the controller remembers the epoch (registration czxid) of every live
// broker it has seen. A broker that restarted so fast that its old registration and the new one look
// like one continuous registration still has a new epoch: the controller handles it as Kafka's
// onBrokerFailure followed by onBrokerStartup, i.e. one pass with the broker counted dead (leaderships
// it held go to other ISR members, it leaves every ISR, leader epoch + 1) and then the broker is live
// again (it rejoins the ISRs as a follower that caught up). ControlledShutdown with a stale broker
// epoch is refused (STALE_BROKER_EPOCH).
//
// Every state write is one transaction that also checks /controller_epoch's version (Kafka's
// controller fencing) and the state znode's version: a controller that was replaced, or that lost
// its session, writes nothing, and a state changed meanwhile (the leader shrank the ISR) is re-read
// and decided again.
import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/errors.js';
import { CreateMode, isZkCode, ZkCode, ZkError, type ZkOp, type ZkSession } from './zk-session.js';
import {
  canComplete,
  isReassigning,
  originReplicas,
  reassignTo,
  stateForReplicas,
  targetReplicas,
  validateTarget,
  type ReplicaAssignment,
} from './reassignment.js';
import type { StateWrite, TopicAssignmentWrite, ZooKeeperMetadataStore } from './zookeeper-metadata-store.js';
import { deleteTopicPath, encodeController, topicConfigPath, topicPath, ZNODES } from './znodes.js';

export interface ControllerOptions {
  /** unclean.leader.election.enable, read at each election (it is a dynamic config). */
  uncleanLeaderElection: () => boolean;
  /** auto.leader.rebalance.enable with its interval and per-broker threshold (percent); absent: off. */
  autoRebalance?: { intervalMs: number; imbalancePercentage: number };
  logger: Logger;
}

/** Partition state writes per ZooKeeper transaction (each is ~150 bytes; jute.maxbuffer is 1 MB). */
const WRITES_PER_TRANSACTION = 500;

/** Znode removals per deletion transaction (each op is a path of well under 300 bytes). */
const DELETES_PER_TRANSACTION = 1000;

/** Back-off after a write lost a race, until the watches brought the newer state. */
const RETRY_DELAY_MS = 200;

/** Tries of an ElectLeaders request whose state write lost a race with the partition's leader. */
const ELECTION_ATTEMPTS = 5;

export class NotControllerError extends Error {}

/** ControlledShutdown for a broker that is not registered (Kafka's BROKER_NOT_AVAILABLE). */
export class BrokerNotAvailableError extends Error {}

/** ControlledShutdown with the epoch of an earlier registration of the broker (Kafka's STALE_BROKER_EPOCH). */
export class StaleBrokerEpochError extends Error {}

/** ElectLeaders' ElectionType: 0 = preferred, 1 = unclean. */
export type ElectionType = 'preferred' | 'unclean';

export interface ElectionResult {
  topic: string;
  partition: number;
  /** NONE when a leader was elected; ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ... otherwise. */
  errorCode: number;
  errorMessage: string | null;
  /** The elected leader (errorCode NONE). */
  leader?: number;
}

/** One partition of an AlterPartitionReassignments request: `replicas` null cancels. */
export interface ReassignmentRequest {
  topic: string;
  partition: number;
  replicas: readonly number[] | null;
}

export interface ReassignmentResult {
  topic: string;
  partition: number;
  /** NONE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS. */
  errorCode: number;
  errorMessage: string | null;
}

export interface OngoingReassignment extends ReplicaAssignment {
  topic: string;
  partition: number;
}

/** A topic znode rewrite with the partition states that go with it, written in one transaction. */
interface AssignmentWrite {
  assignment: TopicAssignmentWrite;
  states: StateWrite[];
  /** The partitions whose assignment changes (for the log). */
  changed: Set<number>;
}

export class Controller {
  private active = false;
  private epoch = 0;
  private epochVersion = -1;
  private running: Promise<void> | null = null;
  private dirty = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  /**
   * Brokers that asked for a controlled shutdown, with their epoch then: kept out of the leaderships
   * other controlled shutdowns hand out (brokers stopping together must not pass leadership to each
   * other) until they go away or come back with a new epoch.
   */
  private readonly shuttingDown = new Map<number, bigint>();
  /** The epoch of every live broker as this controller last handled it (see the file comment). */
  private readonly knownEpochs = new Map<number, bigint>();

  constructor(
    private readonly store: ZooKeeperMetadataStore,
    private readonly opts: ControllerOptions,
  ) {}

  /** True while this broker is the active controller. */
  get isActive(): boolean {
    return this.active;
  }

  /** The controller epoch this broker won (0 before it ever did). */
  get controllerEpoch(): number {
    return this.epoch;
  }

  start(): void {
    const schedule = (): void => this.schedule();
    const onController = (id: number): void => {
      if (id !== this.store.localNodeId && this.active) this.resign('another broker is controller');
      if (id === -1) void this.elect();
    };
    this.store.on('controller', onController);
    this.store.on('topics', schedule);
    this.store.on('deletions', schedule);
    this.store.on('reloaded', () => void this.elect());
    this.unsubscribe.push(
      () => this.store.off('controller', onController),
      () => this.store.off('topics', schedule),
      () => this.store.off('deletions', schedule),
      this.store.onBrokersChanged(schedule),
      this.store.onPartitionChanges(schedule),
      this.store.onSessionChange((valid) => {
        if (!valid && this.active) this.resign('the ZooKeeper session was lost');
      }),
    );
    void this.elect();
    const rebalance = this.opts.autoRebalance;
    if (rebalance) {
      this.rebalanceTimer = setInterval(() => {
        if (!this.active) return;
        this.rebalanceIfImbalanced(rebalance.imbalancePercentage).catch((err: unknown) => {
          this.opts.logger.warn('Automatic preferred-leader election failed', { error: String(err) });
        });
      }, rebalance.intervalMs);
      this.rebalanceTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    this.active = false;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.rebalanceTimer !== null) clearInterval(this.rebalanceTimer);
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private resign(reason: string): void {
    if (!this.active) return;
    this.active = false;
    this.opts.logger.info('No longer the controller', { reason, epoch: this.epoch });
  }

  /** Tries to become controller: /controller (ephemeral) and /controller_epoch + 1 in one transaction. */
  private async elect(): Promise<void> {
    if (this.stopped || this.active || !this.store.sessionValid) return;
    if (this.store.controllerId() !== -1 && this.store.controllerId() !== this.store.localNodeId) return;
    try {
      if (await this.resume()) return;
      const current = await this.store.session.get(ZNODES.controllerEpoch);
      const epoch = current === null ? 1 : Number(current.data.toString('utf8')) + 1;
      const ops: ZkOp[] = [
        {
          op: 'create',
          path: ZNODES.controller,
          data: encodeController(this.store.localNodeId),
          mode: CreateMode.EPHEMERAL,
        },
        current === null
          ? { op: 'create', path: ZNODES.controllerEpoch, data: Buffer.from(String(epoch)) }
          : {
              op: 'set',
              path: ZNODES.controllerEpoch,
              data: Buffer.from(String(epoch)),
              version: current.version,
            },
      ];
      await this.store.session.multi(ops);
      if (this.stopped) return;
      this.epoch = epoch;
      this.epochVersion = current === null ? 0 : current.version + 1;
      this.knownEpochs.clear();
      this.active = true;
      this.opts.logger.info('This broker is now the controller', { epoch });
      this.schedule();
    } catch (err) {
      if (isZkCode(err, ZkCode.NODE_EXISTS)) return; // another broker won; its /controller watch tells us
      if (isZkCode(err, ZkCode.BAD_VERSION)) {
        this.retryLater(() => void this.elect());
        return;
      }
      this.opts.logger.warn('Standing for controller failed; trying again', { error: String(err) });
      this.retryLater(() => void this.elect());
    }
  }

  /**
   * After a lost session came back: /controller may still be ours (the session survived), and
   * nobody else can win while it exists. Resumes with the epoch this broker holds.
   */
  private async resume(): Promise<boolean> {
    const session = this.store.session;
    if ((await session.ephemeralOwner(ZNODES.controller)) !== session.sessionId) return false;
    const current = await session.get(ZNODES.controllerEpoch);
    if (current === null || this.stopped) return false;
    this.epoch = Number(current.data.toString('utf8'));
    this.epochVersion = current.version;
    this.knownEpochs.clear();
    this.active = true;
    this.opts.logger.info('Still the controller after the ZooKeeper session came back', {
      epoch: this.epoch,
    });
    this.schedule();
    return true;
  }

  private retryLater(fn: () => void): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      fn();
    }, RETRY_DELAY_MS);
    this.retryTimer.unref();
  }

  /** Runs a pass over the cluster's state now, or once the running one is done. */
  private schedule(): void {
    if (!this.active || this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = (async () => {
      do {
        this.dirty = false;
        try {
          await this.pass();
        } catch (err) {
          this.onWriteFailure(err);
        }
      } while (this.dirty && this.active && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  private onWriteFailure(err: unknown): void {
    if (err instanceof ZkError && err.code === ZkCode.BAD_VERSION && err.path === ZNODES.controllerEpoch) {
      this.resign('a newer controller epoch exists');
      return;
    }
    if (!(err instanceof ZkError && (err.code === ZkCode.BAD_VERSION || err.code === ZkCode.NODE_EXISTS))) {
      this.opts.logger.warn('Controller pass failed; retrying', { error: String(err) });
    }
    this.retryLater(() => this.schedule());
  }

  /** One look at everything: finish deletions, write initial states, move leadership off dead brokers. */
  private async pass(): Promise<void> {
    if (!this.store.sessionValid) return;
    for (const name of this.store.deletionRequests()) await this.completeDeletion(name);
    const { live, restarted } = this.brokerEpochChanges();
    if (restarted.size > 0) {
      // First the failure of the old incarnations; the next pass sees them as new live brokers.
      this.opts.logger.info(
        'Brokers registered again with a new broker epoch: handled as failed, then started',
        {
          brokers: [...restarted.keys()].join(','),
        },
      );
      for (const id of restarted.keys()) live.delete(id);
      await this.write(this.decideAll(live));
      for (const [id, epoch] of restarted) {
        this.knownEpochs.set(id, epoch);
        this.shuttingDown.delete(id);
      }
      this.dirty = true;
      return;
    }
    const writes = this.decideAll(live);
    await this.write(writes);
    // Reassignments whose target replicas are all in sync complete now. A partition whose state was
    // just written is looked at again in the pass that write triggers (its version moved).
    const decided = new Set(writes.map((w) => `${w.topic}\u0000${w.partition}`));
    const completions = this.decideCompletions(live, (topic, partition) =>
      decided.has(`${topic}\u0000${partition}`),
    );
    await this.writeAssignments(completions);
  }

  /**
   * The live brokers, and those whose epoch differs from the one this controller handled (restarted
   * without their old registration being seen gone). Brokers seen for the first time are recorded;
   * brokers gone are forgotten.
   */
  private brokerEpochChanges(): { live: Set<number>; restarted: Map<number, bigint> } {
    const live = new Set(this.store.liveBrokers().map((b) => b.nodeId));
    const restarted = new Map<number, bigint>();
    for (const id of this.knownEpochs.keys()) if (!live.has(id)) this.knownEpochs.delete(id);
    for (const id of live) {
      const epoch = this.store.brokerEpoch(id);
      if (epoch === undefined) continue;
      const known = this.knownEpochs.get(id);
      if (known === undefined) this.knownEpochs.set(id, epoch);
      else if (known !== epoch) restarted.set(id, epoch);
    }
    return { live, restarted };
  }

  private decideAll(live: ReadonlySet<number>): StateWrite[] {
    const deleting = new Set(this.store.deletionRequests());
    const unclean = this.opts.uncleanLeaderElection();
    const writes: StateWrite[] = [];
    for (const t of this.store.assignments()) {
      if (deleting.has(t.name)) continue;
      t.replicas.forEach((replicas, partition) => {
        const w = this.decide(t.name, partition, replicas, live, unclean);
        if (w) writes.push(w);
      });
    }
    return writes;
  }

  private decide(
    topic: string,
    partition: number,
    replicas: readonly number[],
    live: ReadonlySet<number>,
    unclean: boolean,
  ): StateWrite | null {
    const entry = this.store.stateEntry(topic, partition);
    if (!entry) {
      // A new partition: online once one of its replicas is alive.
      const liveReplicas = replicas.filter((b) => live.has(b));
      if (liveReplicas.length === 0) return null;
      return { topic, partition, leader: liveReplicas[0]!, leaderEpoch: 0, isr: liveReplicas, version: null };
    }
    const s = entry.state;
    // A broker that registered after this state was written is a new incarnation (KIP-380): what the
    // state says about it (leader, ISR member) was decided for the old one, which failed. This holds
    // when the restart happened before this controller was elected too, and it is what lets a restarted
    // broker refuse such a leadership until it is decided again (ClusterView.leadershipDecidedBeforeRegistration).
    const fresh = (b: number): boolean =>
      live.has(b) && !this.store.decidedBeforeRegistration(topic, partition, b);
    const liveIsr = s.isr.filter(fresh);
    const leaderAlive = s.leader >= 0 && fresh(s.leader);
    if (leaderAlive) {
      if (liveIsr.length === s.isr.length) return null;
      // A follower died: it leaves the ISR (Kafka's controller bumps the leader epoch for this too).
      return {
        topic,
        partition,
        leader: s.leader,
        leaderEpoch: s.leaderEpoch + 1,
        isr: liveIsr,
        version: s.partitionEpoch,
      };
    }
    // The leader is gone: the first live ISR member in assignment order takes over.
    const candidate = replicas.find((b) => fresh(b) && s.isr.includes(b));
    if (candidate !== undefined) {
      return {
        topic,
        partition,
        leader: candidate,
        leaderEpoch: s.leaderEpoch + 1,
        isr: liveIsr,
        version: s.partitionEpoch,
      };
    }
    // Only restarted ISR members are live (a whole cluster restarted, or the sole ISR member did): the
    // first of them leads on a new leader epoch, as Kafka's failure-then-startup of an ISR member does.
    const returning = replicas.find((b) => live.has(b) && s.isr.includes(b));
    if (returning !== undefined) {
      return {
        topic,
        partition,
        leader: returning,
        leaderEpoch: s.leaderEpoch + 1,
        isr: s.isr.filter((b) => live.has(b)),
        version: s.partitionEpoch,
      };
    }
    if (unclean) {
      const any = replicas.find((b) => live.has(b));
      if (any !== undefined) {
        this.opts.logger.warn(
          'Unclean leader election: a replica outside the ISR leads, records may be lost',
          {
            topic,
            partition,
            leader: any,
          },
        );
        return {
          topic,
          partition,
          leader: any,
          leaderEpoch: s.leaderEpoch + 1,
          isr: [any],
          version: s.partitionEpoch,
        };
      }
    }
    if (s.leader === -1) return null; // already offline
    // Offline: no leader until an ISR member returns. The ISR is kept (it says who may lead cleanly).
    this.opts.logger.warn('Partition offline: no live replica in its ISR', {
      topic,
      partition,
      isr: s.isr.join(','),
    });
    return {
      topic,
      partition,
      leader: -1,
      leaderEpoch: s.leaderEpoch + 1,
      isr: s.isr.length > 0 ? [...s.isr] : [],
      version: s.partitionEpoch,
    };
  }

  private async write(writes: readonly StateWrite[]): Promise<void> {
    for (let i = 0; i < writes.length; i += WRITES_PER_TRANSACTION) {
      if (!this.active) return;
      const chunk = writes.slice(i, i + WRITES_PER_TRANSACTION);
      await this.store.writeStates(this.epoch, this.epochVersion, chunk);
      for (const w of chunk) {
        this.opts.logger.info('Partition state written', {
          topic: w.topic,
          partition: w.partition,
          leader: w.leader,
          leaderEpoch: w.leaderEpoch,
          isr: w.isr.join(','),
        });
      }
    }
  }

  /**
   * Removes a deleted topic's znodes; brokers drop their logs when it disappears from their view.
   * Fenced like every controller write (Kafka's controller wraps its deletes in a multi with a check of
   * /controller_epoch's version): a deposed controller deletes nothing. Children go before their
   * parents and the /admin/delete_topics marker last, so a deletion cut short (a big topic spans several
   * transactions) is finished by the next pass, of this controller or the next one.
   */
  private async completeDeletion(name: string): Promise<void> {
    const session = this.store.session;
    const paths: string[] = [];
    for (const root of [topicPath(name), topicConfigPath(name), deleteTopicPath(name)]) {
      await collectSubtree(session, root, paths);
    }
    for (let i = 0; i < paths.length; i += DELETES_PER_TRANSACTION) {
      if (!this.active) return;
      const ops: ZkOp[] = [{ op: 'check', path: ZNODES.controllerEpoch, version: this.epochVersion }];
      for (const path of paths.slice(i, i + DELETES_PER_TRANSACTION)) ops.push({ op: 'remove', path });
      await session.multi(ops);
    }
    this.opts.logger.info('Topic deleted', { topic: name });
  }

  /**
   * ControlledShutdown (API 7), as Kafka's controller runs it: every partition `brokerId` leads gets
   * a new leader, the first replica in assignment order that is alive, in the ISR and not itself
   * shutting down (leader epoch + 1, `brokerId` leaves the ISR); `brokerId` also leaves the ISR of
   * the partitions it follows (no epoch change: the leader stays, so its acks=all waits go on and
   * stop counting the stopping follower). Resolves to the partitions it still leads that could move
   * but did not (no eligible ISR member yet: the broker retries); a partition with no other live
   * replica at all has nowhere to go and is not counted, as Kafka leaves out replication factor 1.
   * Throws NotControllerError unless active, BrokerNotAvailableError for an unregistered broker,
   * StaleBrokerEpochError when `brokerEpoch` (-1: unknown, not checked) is an earlier registration's.
   */
  async controlledShutdown(
    brokerId: number,
    brokerEpoch = -1n,
  ): Promise<{ topic: string; partition: number }[]> {
    const { remaining, moved } = await this.decideAndWrite(() => {
      const live = new Set(this.store.liveBrokers().map((b) => b.nodeId));
      const current = this.store.brokerEpoch(brokerId);
      if (!live.has(brokerId) || current === undefined) {
        throw new BrokerNotAvailableError(`Broker ${brokerId} is not registered.`);
      }
      // As Kafka's isBrokerEpochStale: -1 (unknown, old clients) is accepted, an older epoch is not.
      if (brokerEpoch !== -1n && brokerEpoch < current) {
        throw new StaleBrokerEpochError(
          `Broker ${brokerId}'s epoch ${brokerEpoch} is stale (its registration is now epoch ${current}).`,
        );
      }
      this.shuttingDown.set(brokerId, current);
      for (const [id, epoch] of this.shuttingDown) {
        if (!live.has(id) || this.store.brokerEpoch(id) !== epoch) this.shuttingDown.delete(id);
      }
      const eligible = (b: number): boolean => b !== brokerId && live.has(b) && !this.shuttingDown.has(b);
      const remaining: { topic: string; partition: number }[] = [];
      const writes: StateWrite[] = [];
      for (const t of this.store.assignments()) {
        t.replicas.forEach((replicas, partition) => {
          if (!replicas.includes(brokerId)) return;
          const s = this.store.partitionState(t.name, partition);
          if (!s) return;
          const isr = s.isr.filter((b) => b !== brokerId);
          if (s.leader === brokerId) {
            const leader = replicas.find((b) => eligible(b) && s.isr.includes(b));
            if (leader === undefined) {
              if (replicas.some(eligible)) remaining.push({ topic: t.name, partition });
              return;
            }
            writes.push({
              topic: t.name,
              partition,
              leader,
              leaderEpoch: s.leaderEpoch + 1,
              isr,
              version: s.partitionEpoch,
            });
          } else if (s.leader >= 0 && s.isr.includes(brokerId) && isr.length > 0) {
            writes.push({
              topic: t.name,
              partition,
              leader: s.leader,
              leaderEpoch: s.leaderEpoch,
              isr,
              version: s.partitionEpoch,
            });
          }
        });
      }
      return { writes, result: { remaining, moved: writes.length } };
    });
    this.opts.logger.info('Controlled shutdown', { brokerId, moved, remaining: remaining.length });
    return remaining;
  }

  /**
   * ElectLeaders (API 43), as Kafka's controller runs it, for `partitions` (every partition when
   * undefined). PREFERRED: the first assigned replica leads again when it is alive and in the ISR
   * (PREFERRED_LEADER_NOT_AVAILABLE when it is not, ELECTION_NOT_NEEDED when it already leads).
   * UNCLEAN (asked for explicitly, so allowed whatever unclean.leader.election.enable says): a
   * partition without a live leader gets one, from the live ISR if any, else any live replica, which
   * may lose records (ELECTION_NOT_NEEDED while the leader lives, ELIGIBLE_LEADERS_NOT_AVAILABLE with
   * no live replica). Each election bumps the leader epoch, written conditionally like every state
   * write; a write that lost a race (the leader changed the ISR) is decided again on the new state.
   * Throws NotControllerError unless this broker is the active controller.
   */
  async electLeaders(
    type: ElectionType,
    partitions?: readonly { topic: string; partition: number }[],
  ): Promise<ElectionResult[]> {
    return this.decideAndWrite(() => {
      const { results, writes } = this.decideElections(type, partitions);
      return { writes, result: results };
    });
  }

  /**
   * Decides state writes on the current view and writes them, as the active controller. A write that lost
   * a race (a leader changed an ISR meanwhile: BAD_VERSION) is decided again on the newer state the
   * watches bring, up to ELECTION_ATTEMPTS times. Throws NotControllerError when not (or no longer) active.
   */
  private async decideAndWrite<T>(
    decide: () => { writes: StateWrite[]; assignments?: AssignmentWrite[]; result: T },
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (!this.active) throw new NotControllerError('This broker is not the controller.');
      const { writes, assignments, result } = decide();
      try {
        await this.write(writes);
        await this.writeAssignments(assignments ?? []);
        if (!this.active) throw new NotControllerError('This broker is no longer the controller.');
        return result;
      } catch (err) {
        this.onWriteFailure(err);
        if (
          err instanceof ZkError &&
          err.code === ZkCode.BAD_VERSION &&
          err.path === ZNODES.controllerEpoch
        ) {
          throw new NotControllerError('A newer controller was elected.');
        }
        const raced = err instanceof ZkError && err.code === ZkCode.BAD_VERSION;
        if (!raced || attempt >= ELECTION_ATTEMPTS - 1) throw err;
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    }
  }

  private decideElections(
    type: ElectionType,
    partitions?: readonly { topic: string; partition: number }[],
  ): { results: ElectionResult[]; writes: StateWrite[] } {
    const live = new Set(this.store.liveBrokers().map((b) => b.nodeId));
    const wanted =
      partitions ??
      [...this.store.assignments()].flatMap((t) =>
        t.replicas.map((_, partition) => ({ topic: t.name, partition })),
      );
    const results: ElectionResult[] = [];
    const writes: StateWrite[] = [];
    const result = (topic: string, partition: number, errorCode: number, errorMessage: string | null) =>
      results.push({ topic, partition, errorCode, errorMessage });
    for (const { topic, partition } of wanted) {
      const s = this.store.partitionState(topic, partition);
      if (!s) {
        result(
          topic,
          partition,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `Partition ${topic}-${partition} is unknown.`,
        );
        continue;
      }
      let leader: number | undefined;
      let isr = [...s.isr];
      if (type === 'preferred') {
        const preferred = s.replicas[0];
        if (s.leader === preferred) {
          result(topic, partition, ErrorCode.ELECTION_NOT_NEEDED, 'The preferred replica already leads.');
          continue;
        }
        if (preferred === undefined || !live.has(preferred) || !s.isr.includes(preferred)) {
          result(
            topic,
            partition,
            ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
            `The preferred replica ${preferred ?? -1} is not alive or not in the ISR.`,
          );
          continue;
        }
        leader = preferred;
      } else {
        if (s.leader >= 0 && live.has(s.leader)) {
          result(topic, partition, ErrorCode.ELECTION_NOT_NEEDED, 'The partition has a live leader.');
          continue;
        }
        leader = s.replicas.find((b) => live.has(b) && s.isr.includes(b));
        if (leader === undefined) {
          leader = s.replicas.find((b) => live.has(b));
          if (leader !== undefined) {
            isr = [leader];
            this.opts.logger.warn('Unclean leader election (requested): records may be lost', {
              topic,
              partition,
              leader,
            });
          }
        } else {
          isr = isr.filter((b) => live.has(b));
        }
        if (leader === undefined) {
          result(
            topic,
            partition,
            ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
            'No replica of the partition is alive.',
          );
          continue;
        }
      }
      writes.push({
        topic,
        partition,
        leader,
        leaderEpoch: s.leaderEpoch + 1,
        isr,
        version: s.partitionEpoch,
      });
      results.push({ topic, partition, errorCode: ErrorCode.NONE, errorMessage: null, leader });
    }
    return { results, writes };
  }

  /** One transaction per topic: its assignment znode and the states that change with it. */
  private async writeAssignments(writes: readonly AssignmentWrite[]): Promise<void> {
    for (const w of writes) {
      if (!this.active) return;
      await this.store.writeAssignment(this.epoch, this.epochVersion, w.assignment, w.states);
      for (const partition of w.changed) {
        const adding = w.assignment.adding.get(partition) ?? [];
        const removing = w.assignment.removing.get(partition) ?? [];
        this.opts.logger.info(
          adding.length + removing.length > 0
            ? 'Reassignment started'
            : 'Reassignment done (completed or cancelled)',
          {
            topic: w.assignment.topic,
            partition,
            replicas: w.assignment.partitions[partition]!.join(','),
            adding: adding.join(','),
            removing: removing.join(','),
          },
        );
      }
    }
  }

  /**
   * AlterPartitionReassignments (API 45), as Kafka's ZooKeeper-mode controller runs it (KIP-455):
   * each partition's replica set becomes target + original (adding and removing replicas recorded in
   * the topic znode); the pass completes it once every target replica is in the ISR. A reassignment
   * of a partition already being reassigned replaces it (the original replicas stay what they were);
   * `replicas` null cancels, which is a reassignment back to the original replicas. Resolves once the
   * reassignments are recorded. Throws NotControllerError unless this broker is the active controller.
   */
  async alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ReassignmentResult[]> {
    const started = await this.decideAndWrite(() => this.decideReassignments(requests));
    this.schedule(); // a reassignment with nothing to wait for completes at once
    return started;
  }

  private decideReassignments(requests: readonly ReassignmentRequest[]): {
    writes: StateWrite[];
    assignments: AssignmentWrite[];
    result: ReassignmentResult[];
  } {
    const live = new Set(this.store.liveBrokers().map((b) => b.nodeId));
    const deleting = new Set(this.store.deletionRequests());
    const results: ReassignmentResult[] = [];
    const byTopic = new Map<string, AssignmentWrite>();
    const fail = (r: ReassignmentRequest, errorCode: number, errorMessage: string): void => {
      results.push({ topic: r.topic, partition: r.partition, errorCode, errorMessage });
    };
    for (const r of requests) {
      const current = this.store.partitionAssignment(r.topic, r.partition);
      const state = this.store.partitionState(r.topic, r.partition);
      if (current === undefined || state === undefined || deleting.has(r.topic)) {
        fail(r, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${r.topic}-${r.partition} does not exist.`);
        continue;
      }
      let target: readonly number[];
      if (r.replicas === null) {
        if (!isReassigning(current)) {
          fail(
            r,
            ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
            `No reassignment of ${r.topic}-${r.partition} is in progress.`,
          );
          continue;
        }
        target = originReplicas(current);
      } else {
        const invalid = validateTarget(current, r.replicas, live);
        if (invalid !== null) {
          fail(r, invalid.errorCode, invalid.errorMessage);
          continue;
        }
        target = r.replicas;
      }
      let w = byTopic.get(r.topic);
      if (w === undefined) {
        w = { assignment: this.store.topicAssignment(r.topic)!, states: [], changed: new Set() };
        byTopic.set(r.topic, w);
      }
      const next = reassignTo(current, target);
      w.changed.add(r.partition);
      w.assignment.partitions[r.partition] = [...next.replicas];
      setOrDelete(w.assignment.adding, r.partition, next.adding);
      setOrDelete(w.assignment.removing, r.partition, next.removing);
      // Replicas dropped from the set at once (added by a replaced reassignment, or a cancel) leave
      // the ISR and, if one leads, the leadership now; the rest waits for the ISR (the pass).
      const change = stateForReplicas(state, next.replicas, live);
      if (change !== null) {
        w.states = w.states.filter((s) => s.partition !== r.partition);
        w.states.push({ topic: r.topic, partition: r.partition, ...change, version: state.partitionEpoch });
      }
      results.push({ topic: r.topic, partition: r.partition, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { writes: [], assignments: [...byTopic.values()], result: results };
  }

  /**
   * Phase B of every reassignment that can complete (all target replicas in the ISR): the replica
   * set becomes the target, the removed replicas leave the ISR, and a leader outside the target
   * hands over to the first live target replica (leader epoch + 1), per topic in one transaction.
   */
  private decideCompletions(
    live: ReadonlySet<number>,
    skip: (topic: string, partition: number) => boolean,
  ): AssignmentWrite[] {
    const out: AssignmentWrite[] = [];
    const deleting = new Set(this.store.deletionRequests());
    for (const t of this.store.assignments()) {
      if (deleting.has(t.name)) continue;
      let w: AssignmentWrite | undefined;
      t.replicas.forEach((_, partition) => {
        const a = this.store.partitionAssignment(t.name, partition);
        const s = this.store.partitionState(t.name, partition);
        if (a === undefined || s === undefined || skip(t.name, partition) || !canComplete(a, s, live)) return;
        const target = targetReplicas(a);
        w ??= { assignment: this.store.topicAssignment(t.name)!, states: [], changed: new Set() };
        w.changed.add(partition);
        w.assignment.partitions[partition] = target;
        w.assignment.adding.delete(partition);
        w.assignment.removing.delete(partition);
        const change = stateForReplicas(s, target, live);
        if (change !== null)
          w.states.push({ topic: t.name, partition, ...change, version: s.partitionEpoch });
      });
      if (w !== undefined) out.push(w);
    }
    return out;
  }

  /**
   * ListPartitionReassignments (API 46): the ongoing reassignments, of `partitions` or of every
   * partition. Throws NotControllerError unless this broker is the active controller.
   */
  listPartitionReassignments(
    partitions?: readonly { topic: string; partition: number }[],
  ): OngoingReassignment[] {
    if (!this.active) throw new NotControllerError('This broker is not the controller.');
    const wanted =
      partitions ??
      [...this.store.assignments()].flatMap((t) =>
        t.replicas.map((_, partition) => ({ topic: t.name, partition })),
      );
    const out: OngoingReassignment[] = [];
    for (const { topic, partition } of wanted) {
      const a = this.store.partitionAssignment(topic, partition);
      if (a !== undefined && isReassigning(a)) out.push({ topic, partition, ...a });
    }
    return out;
  }

  /**
   * auto.leader.rebalance.enable (Kafka's checkAndTriggerAutoLeaderRebalance): for each live broker,
   * when more than `percentage` % of the partitions it is preferred leader of are led elsewhere, those
   * partitions get a preferred-leader election.
   */
  async rebalanceIfImbalanced(percentage: number): Promise<{ topic: string; partition: number }[]> {
    const live = new Set(this.store.liveBrokers().map((b) => b.nodeId));
    const byPreferred = new Map<
      number,
      { total: number; elsewhere: { topic: string; partition: number }[] }
    >();
    const deleting = new Set(this.store.deletionRequests());
    for (const t of this.store.assignments()) {
      if (deleting.has(t.name)) continue;
      t.replicas.forEach((replicas, partition) => {
        const preferred = replicas[0];
        const s = this.store.partitionState(t.name, partition);
        if (preferred === undefined || !s || !live.has(preferred)) return;
        const entry = byPreferred.get(preferred) ?? { total: 0, elsewhere: [] };
        entry.total++;
        if (s.leader !== preferred) entry.elsewhere.push({ topic: t.name, partition });
        byPreferred.set(preferred, entry);
      });
    }
    const wanted = [...byPreferred.values()]
      .filter((e) => e.total > 0 && (e.elsewhere.length * 100) / e.total > percentage)
      .flatMap((e) => e.elsewhere);
    if (wanted.length === 0) return [];
    const elected = await this.electPreferredLeaders(wanted);
    if (elected.length > 0) {
      this.opts.logger.info('Automatic preferred-leader election', { partitions: elected.length });
    }
    return elected;
  }

  /**
   * Preferred-leader election for `partitions` (all when undefined): returns the partitions whose
   * leader changed. Only the active controller runs it.
   */
  async electPreferredLeaders(
    partitions?: readonly { topic: string; partition: number }[],
  ): Promise<{ topic: string; partition: number }[]> {
    const results = await this.electLeaders('preferred', partitions);
    return results
      .filter((r) => r.errorCode === ErrorCode.NONE)
      .map((r) => ({ topic: r.topic, partition: r.partition }));
  }
}

/** Appends `root`'s subtree to `out`, every znode after its children (the order a delete must take). */
async function collectSubtree(session: ZkSession, root: string, out: string[]): Promise<void> {
  const children = await session.children(root);
  if (children === null) return;
  for (const c of children) await collectSubtree(session, `${root}/${c}`, out);
  out.push(root);
}

function setOrDelete(m: Map<number, number[]>, partition: number, list: readonly number[]): void {
  if (list.length > 0) m.set(partition, [...list]);
  else m.delete(partition);
}
