// The "uniform" server-side assignor (Kafka's UniformAssignor, the default of
// group.consumer.assignors): spreads every subscribed partition over the members subscribed to
// its topic so that member loads differ by at most one where subscriptions allow it, and keeps as
// many partitions as possible where they were in the previous target assignment (sticky), so a
// rebalance moves only what balance needs.
// Kafka has two builders (homogeneous and heterogeneous subscriptions); one greedy pass covers
// both here: keep previous partitions, hand the free ones to the least-loaded eligible member,
// then move partitions from the most- to the least-loaded eligible member until no move helps.
import type { AssignorMember, AssignorTopic, PartitionAssignor } from './assignor.js';
import { addPartition, type TopicPartitions } from '../topic-partitions.js';

export const uniformAssignor: PartitionAssignor = {
  name: 'uniform',
  assign(members, topics) {
    const result = new Map<string, TopicPartitions>();
    const load = new Map<string, number>();
    for (const m of members) {
      result.set(m.memberId, new Map());
      load.set(m.memberId, 0);
    }
    const ordered = [...members].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const owner = new Map<string, string>(); // "topicId:partition" → member id
    const partitions = allPartitions(members, topics);

    // 1. Stickiness: a partition stays with its previous owner while that owner still subscribes.
    for (const m of ordered) {
      for (const [topicId, set] of m.previous) {
        const topic = topics.get(topicId);
        if (!topic || !m.subscribedTopicIds.has(topicId)) continue;
        for (const p of set) {
          const key = `${topicId}:${p}`;
          if (p >= topic.partitions || owner.has(key)) continue;
          owner.set(key, m.memberId);
          load.set(m.memberId, load.get(m.memberId)! + 1);
        }
      }
    }
    // 2. Free partitions go to the least-loaded member subscribed to their topic.
    for (const { topicId, partition } of partitions) {
      const key = `${topicId}:${partition}`;
      if (owner.has(key)) continue;
      const target = leastLoaded(ordered, load, topicId);
      if (!target) continue;
      owner.set(key, target.memberId);
      load.set(target.memberId, load.get(target.memberId)! + 1);
    }
    // 3. Balance: move a partition whenever its owner has two more than an eligible member.
    // Each move lowers the sum of squared loads, so this ends; the bound is a safety net.
    for (let moved = true, rounds = 0; moved && rounds < partitions.length + 1; rounds++) {
      moved = false;
      for (const { topicId, partition } of partitions) {
        const key = `${topicId}:${partition}`;
        const from = owner.get(key);
        if (from === undefined) continue;
        const to = leastLoaded(ordered, load, topicId);
        if (!to || load.get(from)! - load.get(to.memberId)! <= 1) continue;
        owner.set(key, to.memberId);
        load.set(from, load.get(from)! - 1);
        load.set(to.memberId, load.get(to.memberId)! + 1);
        moved = true;
      }
    }
    for (const [key, memberId] of owner) {
      const i = key.lastIndexOf(':');
      addPartition(result.get(memberId)!, key.slice(0, i), Number(key.slice(i + 1)));
    }
    return result;
  },
};

function sortKey(m: AssignorMember): string {
  return m.instanceId ?? m.memberId;
}

/** Every partition of every subscribed topic, ordered by topic name then partition. */
export function allPartitions(
  members: readonly AssignorMember[],
  topics: ReadonlyMap<string, AssignorTopic>,
): { topicId: string; partition: number }[] {
  const subscribed = new Set<string>();
  for (const m of members) for (const id of m.subscribedTopicIds) if (topics.has(id)) subscribed.add(id);
  const out: { topicId: string; partition: number }[] = [];
  const byName = [...subscribed].map((id) => topics.get(id)!).sort((a, b) => a.name.localeCompare(b.name));
  for (const t of byName)
    for (let p = 0; p < t.partitions; p++) out.push({ topicId: t.topicId, partition: p });
  return out;
}

function leastLoaded(
  ordered: readonly AssignorMember[],
  load: ReadonlyMap<string, number>,
  topicId: string,
): AssignorMember | undefined {
  let best: AssignorMember | undefined;
  for (const m of ordered) {
    if (!m.subscribedTopicIds.has(topicId)) continue;
    if (!best || load.get(m.memberId)! < load.get(best.memberId)!) best = m;
  }
  return best;
}
