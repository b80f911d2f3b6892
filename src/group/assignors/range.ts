// The "range" server-side assignor (Kafka's RangeAssignor for KIP-848): per topic, the members
// subscribed to it, in a stable order (instance id, else member id), each get one contiguous range
// of partitions; the first (partitions % members) members get one extra. Members with the same
// position get the same partition numbers of co-partitioned topics, which is what range is for.
// Unlike Kafka's, it does not try to keep a member's previous range when membership changes.
import type { PartitionAssignor } from './assignor.js';
import { addPartition, type TopicPartitions } from '../topic-partitions.js';

export const rangeAssignor: PartitionAssignor = {
  name: 'range',
  assign(members, topics) {
    const result = new Map<string, TopicPartitions>();
    for (const m of members) result.set(m.memberId, new Map());
    const ordered = [...members].sort((a, b) =>
      (a.instanceId ?? a.memberId).localeCompare(b.instanceId ?? b.memberId),
    );
    for (const topic of topics.values()) {
      const subscribers = ordered.filter((m) => m.subscribedTopicIds.has(topic.topicId));
      if (subscribers.length === 0) continue;
      const per = Math.floor(topic.partitions / subscribers.length);
      const extra = topic.partitions % subscribers.length;
      let next = 0;
      subscribers.forEach((m, i) => {
        const count = per + (i < extra ? 1 : 0);
        for (let p = next; p < next + count; p++) addPartition(result.get(m.memberId)!, topic.topicId, p);
        next += count;
      });
    }
    return result;
  },
};
