// A classic consumer group (Kafka's GroupMetadata/MemberMetadata): its members, generation, the
// protocol the members voted for, and its committed offsets. Pure state; the rules that move it
// between states live in GroupCoordinator, which owns every timer.
//
//   Empty ──join──▶ PreparingRebalance ──all joined──▶ CompletingRebalance ──leader sync──▶ Stable
//     ▲                  ▲    │ (nobody left)                 │                           │
//     └──────────────────┼────┘                               └──── join/leave/expiry ────┘
//                        └───────────────────────────────────────────────────────────────┘
//   any state ──delete / offsets expired──▶ Dead
import { ConsumerProtocolSubscriptionSchema } from '../protocol/generated/consumer-protocol-subscription.js';
import { decodeMessage } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/errors.js';
import { Reader } from '../protocol/wire.js';
import type { ConsumerGroup } from './consumer-group.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export const EMPTY_BYTES = Buffer.alloc(0);

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
  skipAssignment: boolean;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** OffsetCommit v2-4 retention time; -1 = use offsets.retention.minutes. */
  expireTimestampMs: number;
}

export class GroupMember {
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  awaitingSync: ((r: SyncResult) => void) | null = null;
  /** Joined for the first time and not yet part of a generation. */
  isNew = false;
  /** Session (or new-member join) expiry. */
  timer: NodeJS.Timeout | undefined;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    public protocols: Protocol[],
  ) {}

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, in the same order, with the same metadata (a rejoin that changes nothing). */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every(
      (p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata),
    );
  }
}

export class ClassicGroup {
  state: GroupState = 'Empty';
  /** When the group entered its current state (Kafka's currentStateTimestamp; offsets retention of Empty groups). */
  stateTimestampMs: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, each with its expiry (the session timeout). */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** group.instance.id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** The rebalance (join) or sync deadline; one at a time. */
  timer: NodeJS.Timeout | undefined;
  /** PreparingRebalance of a group that was Empty: waiting group.initial.rebalance.delay.ms for more members. */
  inInitialDelay = false;
  newMemberAdded = false;
  /** Set when the group speaks the KIP-848 consumer protocol (its type is then "consumer"). */
  consumer: ConsumerGroup | null = null;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.stateTimestampMs = nowMs;
  }

  transitionTo(state: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} → ${state}`);
    }
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  add(member: GroupMember, protocolType: string): void {
    if (this.members.size === 0) this.protocolType = protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
  }

  /** Removes the member from the maps only; the caller answers its pending requests and clears its timer. */
  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (!member) return undefined;
    this.members.delete(memberId);
    this.pendingSync.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) {
      // Prefer a member that is already waiting in JoinGroup: it can receive the member list.
      const next =
        [...this.members.values()].find((m) => m.awaitingJoin !== null) ?? this.members.values().next().value;
      this.leaderId = next?.memberId ?? null;
    }
    return member;
  }

  /** Moves a static member to a new member id (a restarted instance); returns the moved member. */
  replaceStaticMember(oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId)!;
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    this.staticMembers.set(member.groupInstanceId!, newMemberId);
    return member;
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    const counts = new Map<string, number>();
    for (const m of this.members.values())
      for (const p of m.protocols) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
    return new Set([...counts].filter(([, n]) => n === this.members.size).map(([name]) => name));
  }

  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    const candidates = this.candidateProtocols();
    return this.protocolType === protocolType && protocols.some((p) => candidates.has(p.name));
  }

  /** Kafka's vote: each member votes for its most preferred candidate; most votes wins, ties to the earliest member's choice. */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (m.awaitingJoin === null) return false;
    return true;
  }

  /** The member list the leader gets in JoinGroup: each member's metadata for the chosen protocol. */
  currentMemberMetadata(): JoinResult['members'] {
    const protocol = this.protocolName ?? '';
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocol),
    }));
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  /** Topics the members subscribe to, when they speak the "consumer" protocol; null when unknown. */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null || this.members.size === 0)
      return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const metadata = m.metadataFor(this.protocolName);
      try {
        const r = new Reader(metadata);
        const version = Math.min(r.int16(), ConsumerProtocolSubscriptionSchema.validVersions[1]);
        const sub = decodeMessage<{ topics: string[] }>(
          ConsumerProtocolSubscriptionSchema,
          Math.max(version, 0),
          r,
        );
        for (const t of sub.topics) topics.add(t);
      } catch {
        return null; // not a consumer subscription we can read: keep every offset
      }
    }
    return topics;
  }
}

/** FENCED_INSTANCE_ID for a replaced static member, UNKNOWN_MEMBER_ID for a stranger, else NONE. */
export function validateMember(
  group: ClassicGroup,
  memberId: string,
  groupInstanceId: string | null,
): number {
  if (groupInstanceId !== null) {
    const current = group.staticMembers.get(groupInstanceId);
    if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  }
  return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}
