// Reconciliation of one member towards its target assignment (Kafka's CurrentAssignmentBuilder).
// - A member first gives up what it must revoke: it keeps its epoch and gets an assignment without
//   those partitions (UNREVOKED_PARTITIONS) until a heartbeat's owned partitions no longer list them.
// - Then it moves to the target epoch and gets the target partitions that are free; a partition
//   another member still owns (assigned or pending revocation) is held back (UNRELEASED_PARTITIONS)
//   and handed over on a later heartbeat, after its previous owner released it.
import type { ConsumerGroup, ConsumerGroupMember } from './consumer-group.js';
import { addPartition, type TopicPartitions } from './topic-partitions.js';

/**
 * Moves `member` as far towards `target` as the rules allow. `owned` is what the member reported
 * in this heartbeat (null = not reported: it is assumed to still own everything).
 */
export function reconcile(
  group: ConsumerGroup,
  member: ConsumerGroupMember,
  targetEpoch: number,
  target: TopicPartitions,
  owned: TopicPartitions | null,
  subscribedTopicIds: ReadonlySet<string>,
): void {
  switch (member.state) {
    case 'STABLE':
      if (member.memberEpoch !== targetEpoch)
        next(group, member, targetEpoch, target, owned, subscribedTopicIds);
      return;
    case 'UNREVOKED_PARTITIONS':
      if (ownsAny(owned, member.pendingRevocation)) return;
      next(group, member, targetEpoch, target, owned, subscribedTopicIds);
      return;
    case 'UNRELEASED_PARTITIONS':
      next(group, member, targetEpoch, target, owned, subscribedTopicIds);
      return;
  }
}

function next(
  group: ConsumerGroup,
  member: ConsumerGroupMember,
  targetEpoch: number,
  target: TopicPartitions,
  owned: TopicPartitions | null,
  subscribedTopicIds: ReadonlySet<string>,
): void {
  const assigned: TopicPartitions = new Map();
  const pending: TopicPartitions = new Map();
  const toAssign: TopicPartitions = new Map();
  let unreleased = false;
  const topicIds = new Set([...target.keys(), ...member.assigned.keys()]);
  for (const topicId of topicIds) {
    const wanted = subscribedTopicIds.has(topicId)
      ? (target.get(topicId) ?? new Set<number>())
      : new Set<number>();
    for (const p of member.assigned.get(topicId) ?? []) {
      if (wanted.has(p)) addPartition(assigned, topicId, p);
      else addPartition(pending, topicId, p);
    }
    for (const p of wanted) {
      if (assigned.get(topicId)?.has(p)) continue;
      const owner = group.ownerOf(topicId, p);
      if (owner !== undefined && owner !== member.memberId) unreleased = true;
      else addPartition(toAssign, topicId, p);
    }
  }
  if (pending.size > 0 && ownsAny(owned, pending)) {
    // Revoke first: same epoch, the assignment without the partitions to give up.
    member.state = 'UNREVOKED_PARTITIONS';
    group.setAssignment(member, assigned, pending);
    return;
  }
  for (const [topicId, set] of toAssign) for (const p of set) addPartition(assigned, topicId, p);
  setEpoch(member, targetEpoch);
  member.state = unreleased ? 'UNRELEASED_PARTITIONS' : 'STABLE';
  group.setAssignment(member, assigned, new Map());
}

function setEpoch(member: ConsumerGroupMember, epoch: number): void {
  if (member.memberEpoch === epoch) return;
  member.previousMemberEpoch = member.memberEpoch;
  member.memberEpoch = epoch;
}

function ownsAny(owned: TopicPartitions | null, partitions: TopicPartitions): boolean {
  if (owned === null) return true;
  for (const [topicId, set] of owned) {
    const revoking = partitions.get(topicId);
    if (revoking) for (const p of set) if (revoking.has(p)) return true;
  }
  return false;
}
