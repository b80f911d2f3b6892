// Online conversion between group types, gated by group.consumer.migration.policy (Kafka 4.0's
// default: bidirectional). The upgrade (a Stable classic group that a consumer-protocol member joins)
// is convertClassicGroup in consumer-group-classic.ts; this is the downgrade, Kafka's
// convertToClassicGroup: when the last consumer-protocol member of a consumer group leaves (or is
// fenced by its session or rebalance timeout) and classic members remain, the group becomes a
// classic group again.
// - Its generation is the group epoch; its members keep their ids, protocols, timeouts and current
//   partitions (as their classic assignment), and a rebalance starts at once, so they rejoin through
//   JoinGroup/SyncGroup and a client leader assigns from then on.
// - One write replaces the consumer group's records with tombstones and the classic group's
//   GroupMetadata record (offsets are kept), before the leaving member is answered.
// Empty groups convert either way whatever the policy (offline migration, join-group.ts and
// consumer-group-heartbeat.ts).
import { GroupMember } from './group.js';
import type { ClassicGroup } from './group.js';
import type { ConsumerGroup, ConsumerGroupMember } from './consumer-group.js';
import { encodeAssignment } from './consumer-group-classic.js';
import { clearTimers } from './consumer-group-heartbeat.js';
import { consumerGroupTombstones } from './consumer-group-persist.js';
import { groupRecord, type GroupCoordinator } from './group-coordinator.js';
import { maybePrepareRebalance } from './rebalance.js';

const CONSUMER_PROTOCOL_TYPE = 'consumer';

export function upgradeAllowed(coord: GroupCoordinator): boolean {
  const policy = coord.config.consumerMigrationPolicy ?? 'bidirectional';
  return policy === 'upgrade' || policy === 'bidirectional';
}

function downgradeAllowed(coord: GroupCoordinator): boolean {
  const policy = coord.config.consumerMigrationPolicy ?? 'bidirectional';
  return policy === 'downgrade' || policy === 'bidirectional';
}

/** Kafka's validateOnlineDowngradeWithFencedMembers: only classic members would remain. */
export function shouldDowngrade(
  coord: GroupCoordinator,
  group: ConsumerGroup,
  leaving: ConsumerGroupMember,
): boolean {
  if (leaving.classic !== null) return false;
  for (const m of group.members.values()) if (m !== leaving && m.classic === null) return false;
  const remaining = group.members.size - 1;
  return remaining > 0 && remaining <= coord.config.maxSize && downgradeAllowed(coord);
}

/**
 * Turns `group` (the consumer state of `entry`) into a classic group without `leaving`, and starts
 * a rebalance. Returns the write of the records that say so.
 */
export function downgradeToClassic(
  coord: GroupCoordinator,
  entry: ClassicGroup,
  group: ConsumerGroup,
  leaving: ConsumerGroupMember,
  reason: string,
): Promise<void> {
  const nowMs = coord.now();
  const tombstones = consumerGroupTombstones(group);
  for (const m of group.members.values()) clearTimers(m);
  entry.consumer = null;
  entry.members.clear();
  entry.staticMembers.clear();
  entry.pendingSync.clear();
  entry.leaderId = null;
  entry.generationId = group.groupEpoch;
  for (const m of group.members.values()) {
    if (m === leaving || m.classic === null) continue;
    const member = new GroupMember(
      m.memberId,
      m.instanceId,
      m.clientId,
      m.clientHost,
      m.rebalanceTimeoutMs,
      m.classic.sessionTimeoutMs,
      m.classic.protocols,
    );
    member.assignment = encodeAssignment(coord, m.assigned);
    entry.add(member, CONSUMER_PROTOCOL_TYPE);
  }
  entry.protocolType = CONSUMER_PROTOCOL_TYPE;
  entry.protocolName = entry.selectProtocol();
  // Not a transition of the classic state machine: the group starts out as a Stable classic group.
  entry.state = 'Stable';
  entry.stateTimestampMs = nowMs;
  const assignments = new Map([...entry.members.values()].map((m) => [m.memberId, m.assignment]));
  const write = coord.store.write(entry.groupId, [...tombstones, groupRecord(entry, assignments, nowMs)]);
  for (const m of entry.members.values()) coord.scheduleSessionExpiry(entry, m);
  coord.logger.info('Consumer group converted to a classic group', {
    group: entry.groupId,
    members: entry.members.size,
    leaving: leaving.memberId,
    reason,
  });
  maybePrepareRebalance(coord, entry);
  return write;
}
