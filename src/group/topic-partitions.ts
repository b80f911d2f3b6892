// Sets of partitions keyed by topic id, as KIP-848 carries them (assignments, owned partitions).
export type TopicPartitions = Map<string, Set<number>>;

export function emptyPartitions(): TopicPartitions {
  return new Map();
}

export function addPartition(tp: TopicPartitions, topicId: string, partition: number): void {
  let set = tp.get(topicId);
  if (!set) tp.set(topicId, (set = new Set()));
  set.add(partition);
}

export function hasPartition(tp: TopicPartitions, topicId: string, partition: number): boolean {
  return tp.get(topicId)?.has(partition) ?? false;
}

export function countPartitions(tp: TopicPartitions): number {
  let n = 0;
  for (const set of tp.values()) n += set.size;
  return n;
}

export function partitionsEqual(a: TopicPartitions, b: TopicPartitions): boolean {
  if (countPartitions(a) !== countPartitions(b)) return false;
  for (const [topicId, set] of a) for (const p of set) if (!hasPartition(b, topicId, p)) return false;
  return true;
}

export function isSubset(a: TopicPartitions, of: TopicPartitions): boolean {
  for (const [topicId, set] of a) for (const p of set) if (!hasPartition(of, topicId, p)) return false;
  return true;
}

/** From the wire ({ topicId, partitions }[]); empty topics are dropped. */
export function fromWire(
  list: readonly { topicId: string; partitions: readonly number[] }[],
): TopicPartitions {
  const tp: TopicPartitions = new Map();
  for (const t of list) for (const p of t.partitions) addPartition(tp, t.topicId, p);
  return tp;
}

/** To the wire, sorted (stable answers are easier to read and to test). */
export function toWire(tp: TopicPartitions): { topicId: string; partitions: number[] }[] {
  return [...tp]
    .filter(([, set]) => set.size > 0)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([topicId, set]) => ({ topicId, partitions: [...set].sort((x, y) => x - y) }));
}
