// A consumer group of the KIP-848 protocol (Kafka's modern ConsumerGroup / ConsumerGroupMember):
// pure state, moved by consumer-group-heartbeat.ts.
// - The group epoch goes up whenever membership, a subscription or the partitions of a subscribed
//   topic change; the target assignment is computed for a group epoch and is the assignment every
//   member converges to.
// - Each member has its own epoch: it reaches the target epoch once it holds exactly its target
//   partitions. A partition is "owned" by the member that has it assigned or pending revocation,
//   and is never handed to a new member while another one still owns it.
// - The group's state is derived: Empty (no members), Assigning (target older than the group
//   epoch), Reconciling (some member not yet at the target), Stable.
import type { TopicPartitions } from './topic-partitions.js';

export type MemberState = 'STABLE' | 'UNREVOKED_PARTITIONS' | 'UNRELEASED_PARTITIONS';
export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

/** Epoch of a member that left (and of the answer to a leave). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Epoch of a static member that left temporarily: its assignment stays reserved. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** What a member that speaks the classic protocol (JoinGroup/SyncGroup/Heartbeat) in this group sent. */
export interface ClassicMemberInfo {
  protocols: { name: string; metadata: Buffer }[];
  /** The protocol its SyncGroup answers name (its first one). */
  protocolName: string;
  sessionTimeoutMs: number;
}

/** What the last successful write said about one member (objects are replaced, never mutated). */
export interface PersistedMember {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: readonly string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  classic: ClassicMemberInfo | null;
  /** undefined: no target assignment record. */
  target: TopicPartitions | undefined;
  /** undefined: no current assignment record. */
  current:
    | {
        memberEpoch: number;
        previousMemberEpoch: number;
        state: MemberState;
        assigned: TopicPartitions;
        pending: TopicPartitions;
      }
    | undefined;
}

/** What the last successful write said about a group; -1 / null = nothing written yet. */
export interface PersistedGroup {
  groupEpoch: number;
  targetAssignmentEpoch: number;
  subscriptionSignature: string;
  members: ReadonlyMap<string, PersistedMember>;
  /** The group was a classic group before: its GroupMetadata record must be tombstoned. */
  classicTombstone: boolean;
  /** Sequence of the write this snapshot came from (a later write's snapshot is never overwritten). */
  seq: number;
}

export function emptyPersisted(classicTombstone = false): PersistedGroup {
  return {
    groupEpoch: -1,
    targetAssignmentEpoch: -1,
    subscriptionSignature: '',
    members: new Map(),
    classicTombstone,
    seq: 0,
  };
}

export class ConsumerGroupMember {
  /** Set for a classic member in a consumer group (KIP-848 upgrade path). */
  classic: ClassicMemberInfo | null = null;
  memberEpoch = 0;
  /** The epoch before the last bump: a member that lost that answer may still send it. */
  previousMemberEpoch = -1;
  state: MemberState = 'STABLE';
  assigned: TopicPartitions = new Map();
  pendingRevocation: TopicPartitions = new Map();
  subscribedTopicNames: string[] = [];
  subscribedTopicRegex: string | null = null;
  serverAssignor: string | null = null;
  rackId: string | null = null;
  clientId = '';
  clientHost = '';
  rebalanceTimeoutMs = 0;
  sessionTimer: NodeJS.Timeout | undefined;
  /** Armed while the member must revoke partitions: it is fenced when this fires. */
  rebalanceTimer: NodeJS.Timeout | undefined;
  /** The member epoch the rebalance timer was armed for. */
  rebalanceTimerEpoch = -1;

  constructor(
    public memberId: string,
    readonly instanceId: string | null,
  ) {}
}

export class ConsumerGroup {
  groupEpoch = 0;
  targetAssignmentEpoch = 0;
  /** member id → its target partitions for targetAssignmentEpoch. */
  targetAssignment = new Map<string, TopicPartitions>();
  readonly members = new Map<string, ConsumerGroupMember>();
  /** group.instance.id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** "topicId:partition" → member id that owns it (assigned, or pending revocation). */
  readonly owners = new Map<string, string>();
  /** Subscribed topics with their partition counts when the target was last computed. */
  subscriptionSignature = '';
  /** When the group last became Empty (offsets retention). */
  emptySinceMs: number;
  /** What __consumer_offsets says about the group (consumer-group-persist.ts). */
  persisted: PersistedGroup = emptyPersisted();

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.emptySinceMs = nowMs;
  }

  get state(): ConsumerGroupState {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.targetAssignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.targetAssignmentEpoch || m.state !== 'STABLE') return 'Reconciling';
    }
    return 'Stable';
  }

  add(member: ConsumerGroupMember): void {
    this.members.set(member.memberId, member);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
  }

  /** The member that owns a partition now, or undefined when it is free. */
  ownerOf(topicId: string, partition: number): string | undefined {
    return this.owners.get(`${topicId}:${partition}`);
  }

  /** Replaces the member's assigned and pending partitions, keeping the owner map right. */
  setAssignment(member: ConsumerGroupMember, assigned: TopicPartitions, pending: TopicPartitions): void {
    this.release(member);
    member.assigned = assigned;
    member.pendingRevocation = pending;
    for (const tp of [assigned, pending]) {
      for (const [topicId, set] of tp)
        for (const p of set) this.owners.set(`${topicId}:${p}`, member.memberId);
    }
  }

  /** Removes a member and frees its partitions; the caller clears its timers. */
  remove(member: ConsumerGroupMember, nowMs: number): void {
    this.release(member);
    this.members.delete(member.memberId);
    this.targetAssignment.delete(member.memberId);
    if (member.instanceId !== null && this.staticMembers.get(member.instanceId) === member.memberId) {
      this.staticMembers.delete(member.instanceId);
    }
    if (this.members.size === 0) this.emptySinceMs = nowMs;
  }

  /** A static member that came back under a new member id takes the old one's place. */
  replaceStaticMember(old: ConsumerGroupMember, memberId: string): ConsumerGroupMember {
    const next = new ConsumerGroupMember(memberId, old.instanceId);
    next.memberEpoch = old.memberEpoch;
    next.previousMemberEpoch = old.previousMemberEpoch;
    next.state = old.state;
    next.subscribedTopicNames = old.subscribedTopicNames;
    next.subscribedTopicRegex = old.subscribedTopicRegex;
    next.serverAssignor = old.serverAssignor;
    next.rebalanceTimeoutMs = old.rebalanceTimeoutMs;
    next.classic = old.classic;
    const target = this.targetAssignment.get(old.memberId);
    const { assigned, pendingRevocation } = old;
    this.release(old);
    this.members.delete(old.memberId);
    this.targetAssignment.delete(old.memberId);
    this.add(next);
    if (target) this.targetAssignment.set(memberId, target);
    this.setAssignment(next, assigned, pendingRevocation);
    return next;
  }

  private release(member: ConsumerGroupMember): void {
    for (const tp of [member.assigned, member.pendingRevocation]) {
      for (const [topicId, set] of tp) {
        for (const p of set) {
          const key = `${topicId}:${p}`;
          if (this.owners.get(key) === member.memberId) this.owners.delete(key);
        }
      }
    }
  }
}
