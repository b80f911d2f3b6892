// The admin side of KIP-848 groups: ConsumerGroupDescribe, and the checks committed offsets get
// when the group is a consumer-protocol group (Kafka's ConsumerGroup.validateOffsetCommit /
// validateOffsetFetch): the member epoch stands in for the generation.
import { ErrorCode } from '../protocol/errors.js';
import type {
  ConsumerGroupDescribeResponseAssignment,
  ConsumerGroupDescribeResponseDescribedGroup,
} from '../protocol/generated/consumer-group-describe.js';
import type { ConsumerGroup } from './consumer-group.js';
import { preferredAssignor } from './consumer-group-heartbeat.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { TopicPartitions } from './topic-partitions.js';

/** ConsumerGroupDescribe's answer for one group (the handler adds the authorized operations). */
export type DescribedConsumerGroup = Omit<
  ConsumerGroupDescribeResponseDescribedGroup,
  'authorizedOperations'
>;
type DescribedAssignment = ConsumerGroupDescribeResponseAssignment;

export function describeConsumerGroup(coord: GroupCoordinator, groupId: string): DescribedConsumerGroup {
  const empty = { groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [] };
  const unavailable = coord.availability(groupId);
  if (unavailable !== ErrorCode.NONE) {
    return { ...empty, groupId, errorCode: unavailable, errorMessage: null };
  }
  const group = coord.groups.get(groupId)?.consumer;
  if (!group) {
    return {
      ...empty,
      groupId,
      errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
      errorMessage: `Group ${groupId} is not a consumer group.`,
    };
  }
  const describe = (tp: TopicPartitions): DescribedAssignment => ({
    topicPartitions: [...tp].flatMap(([topicId, set]) => {
      const topic = coord.topics.getById(topicId);
      if (!topic || set.size === 0) return [];
      return [{ topicId, topicName: topic.name, partitions: [...set].sort((a, b) => a - b) }];
    }),
  });
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    groupId,
    groupState: group.state,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.targetAssignmentEpoch,
    assignorName: preferredAssignor(coord, group),
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: describe(m.assigned),
      targetAssignment: describe(group.targetAssignment.get(m.memberId) ?? new Map()),
    })),
  };
}

/**
 * OffsetCommit by a member of a consumer-protocol group: member id and epoch must be current
 * (STALE_MEMBER_EPOCH otherwise). Generation -1 without a member id is a standalone commit,
 * allowed while the group has no members.
 */
export function checkConsumerCommit(group: ConsumerGroup, memberId: string, memberEpoch: number): number {
  if (memberEpoch < 0 && memberId === '' && group.members.size === 0) return ErrorCode.NONE;
  const member = group.members.get(memberId);
  if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (memberEpoch !== member.memberEpoch) {
    // A classic member's generation is its member epoch, and a stale one is told so the classic way.
    return member.classic ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
  }
  return ErrorCode.NONE;
}

/** OffsetFetch v9+ with a member id and epoch (an admin fetch sends neither and always passes). */
export function checkConsumerFetch(
  group: ConsumerGroup,
  memberId: string | null,
  memberEpoch: number,
): number {
  if (memberEpoch < 0 && (memberId === null || memberId === '')) return ErrorCode.NONE;
  const member = group.members.get(memberId ?? '');
  if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (memberEpoch !== member.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
  return ErrorCode.NONE;
}
