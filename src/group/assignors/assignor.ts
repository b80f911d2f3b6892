// The server-side assignor contract of KIP-848 (Kafka's ConsumerGroupPartitionAssignor): the
// coordinator hands every member's subscription and the previous target assignment to an
// assignor, which returns the next target assignment. Assignors are pure: no timers, no I/O.
import type { TopicPartitions } from '../topic-partitions.js';

export interface AssignorMember {
  memberId: string;
  /** group.instance.id of a static member (assignors may prefer it as a stable sort key). */
  instanceId: string | null;
  /** Topic ids the member subscribes to (names and regex already resolved). */
  subscribedTopicIds: ReadonlySet<string>;
  /** The member's previous target assignment: stickiness keeps what it can. */
  previous: TopicPartitions;
}

export interface AssignorTopic {
  topicId: string;
  name: string;
  partitions: number;
}

export interface PartitionAssignor {
  readonly name: string;
  /** The next target assignment, one entry per member (an empty map for a member with nothing). */
  assign(
    members: readonly AssignorMember[],
    topics: ReadonlyMap<string, AssignorTopic>,
  ): Map<string, TopicPartitions>;
}
