// Consumer lag of a group, per partition: committed offset, log end offset (the high watermark, what
// a consumer can read up to) and their difference, plus which member owns the partition now. What
// `kafka-consumer-groups --describe` shows; used by `brook groups describe` and the admin API.
// Partitions are those the group committed plus those assigned to its members (a "consumer"
// protocol group's assignments are parsed; other protocols' assignments are opaque).
import { decodeMessage } from '../protocol/codec.js';
import { ConsumerProtocolAssignmentSchema } from '../protocol/generated/consumer-protocol-assignment.js';
import { Reader } from '../protocol/wire.js';
import type { GroupState } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** -1 when nothing is committed. */
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  /** The partition's high watermark; -1 when the partition does not exist (any more). */
  logEndOffset: number;
  /** logEndOffset - committedOffset (never negative); null when either is unknown. */
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}

export interface GroupLag {
  groupId: string;
  state: GroupState;
  protocolType: string;
  protocol: string;
  members: number;
  partitions: PartitionLag[];
  /** Sum of the known per-partition lags. */
  totalLag: number;
}

/** The high watermark of a partition, or undefined when it does not exist. */
export type HighWatermarkOf = (topic: string, partition: number) => number | undefined;

/** Lag of one group; null when the coordinator does not know it. */
export function groupLag(
  groups: GroupCoordinator,
  highWatermarkOf: HighWatermarkOf,
  groupId: string,
): GroupLag | null {
  const group = groups.groups.get(groupId);
  if (!group || group.state === 'Dead') return null;
  const owners = new Map<string, { memberId: string; clientId: string; host: string }>();
  if (group.protocolType === 'consumer') {
    for (const m of group.members.values()) {
      for (const tp of assignedPartitions(m.assignment)) {
        owners.set(key(tp.topic, tp.partition), {
          memberId: m.memberId,
          clientId: m.clientId,
          host: m.clientHost,
        });
      }
    }
  }
  const rows = new Map<string, PartitionLag>();
  const row = (topic: string, partition: number): PartitionLag => {
    let r = rows.get(key(topic, partition));
    if (!r) {
      const owner = owners.get(key(topic, partition));
      r = {
        topic,
        partition,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: '',
        logEndOffset: highWatermarkOf(topic, partition) ?? -1,
        lag: null,
        memberId: owner?.memberId ?? null,
        clientId: owner?.clientId ?? null,
        host: owner?.host ?? null,
      };
      rows.set(key(topic, partition), r);
    }
    return r;
  };
  for (const [topic, partitions] of group.offsets) {
    for (const [partition, o] of partitions) {
      const r = row(topic, partition);
      r.committedOffset = o.offset;
      r.committedLeaderEpoch = o.leaderEpoch;
      r.metadata = o.metadata;
    }
  }
  for (const k of owners.keys()) {
    const sep = k.lastIndexOf('\0');
    row(k.slice(0, sep), Number(k.slice(sep + 1)));
  }
  let totalLag = 0;
  for (const r of rows.values()) {
    if (r.committedOffset >= 0 && r.logEndOffset >= 0) {
      r.lag = Math.max(0, r.logEndOffset - r.committedOffset);
      totalLag += r.lag;
    }
  }
  const partitions = [...rows.values()].sort(
    (a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition,
  );
  return {
    groupId,
    state: group.state,
    protocolType: group.protocolType ?? '',
    protocol: group.protocolName ?? '',
    members: group.members.size,
    partitions,
    totalLag,
  };
}

function key(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/** The partitions in a ConsumerProtocolAssignment; none when it cannot be read. */
export function assignedPartitions(assignment: Buffer): { topic: string; partition: number }[] {
  if (assignment.length < 2) return [];
  try {
    const r = new Reader(assignment);
    const version = Math.max(0, Math.min(r.int16(), ConsumerProtocolAssignmentSchema.validVersions[1]));
    const a = decodeMessage<{ assignedPartitions: { topic: string; partitions: number[] }[] }>(
      ConsumerProtocolAssignmentSchema,
      version,
      r,
    );
    return a.assignedPartitions.flatMap((tp) =>
      tp.partitions.map((partition) => ({ topic: tp.topic, partition })),
    );
  } catch {
    return [];
  }
}
