// The admin side of the group coordinator: ListGroups, DescribeGroups, DeleteGroups.
// - A group is "classic" or, once a KIP-848 member joined it, "consumer" (ListGroups type and
//   state: Empty, Assigning, Reconciling, Stable). DescribeGroups describes classic groups only and
//   answers Dead for a consumer group, as Kafka does (ConsumerGroupDescribe describes those).
// - DescribeGroups gives member metadata and assignments only for a Stable group (as Kafka: they are
//   not consistent in the middle of a rebalance); an unknown group is described as Dead.
// - DeleteGroups removes Empty groups (offsets and membership tombstoned in __consumer_offsets);
//   a group with members gets NON_EMPTY_GROUP.
import { ErrorCode } from '../protocol/errors.js';
import { EMPTY_BYTES, type ClassicGroup, type GroupState } from './group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { groupKey, offsetKey } from './offsets-records.js';
import type { OffsetsRecord } from './offset-manager.js';
import { consumerGroupTombstones } from './consumer-group-persist.js';

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: 'classic' | 'consumer';
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: GroupState;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Buffer;
    memberAssignment: Buffer;
  }[];
}

export function listGroups(
  coord: GroupCoordinator,
  statesFilter: readonly string[],
  typesFilter: readonly string[],
): { errorCode: number; groups: ListedGroup[] } {
  if (coord.loading) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, groups: [] };
  const states = new Set(statesFilter.map((s) => s.toLowerCase()));
  const types = new Set(typesFilter.map((s) => s.toLowerCase()));
  const groups: ListedGroup[] = [];
  for (const g of coord.groups.values()) {
    if (g.state === 'Dead') continue;
    const listed: ListedGroup = g.consumer
      ? { groupId: g.groupId, protocolType: 'consumer', groupState: g.consumer.state, groupType: 'consumer' }
      : { groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' };
    if (states.size > 0 && !states.has(listed.groupState.toLowerCase())) continue;
    if (types.size > 0 && !types.has(listed.groupType)) continue;
    groups.push(listed);
  }
  return { errorCode: ErrorCode.NONE, groups };
}

export function describeGroup(coord: GroupCoordinator, groupId: string): DescribedGroup {
  const base = { groupId, protocolType: '', protocolData: '', members: [] };
  const unavailable = coord.availability(groupId);
  if (unavailable !== ErrorCode.NONE) return { ...base, errorCode: unavailable, groupState: 'Dead' };
  const g = coord.groups.get(groupId);
  if (!g || g.consumer) return { ...base, errorCode: ErrorCode.NONE, groupState: 'Dead' };
  const stable = g.state === 'Stable';
  return {
    errorCode: ErrorCode.NONE,
    groupId,
    groupState: g.state,
    protocolType: g.protocolType ?? '',
    protocolData: stable ? (g.protocolName ?? '') : '',
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable ? m.metadataFor(g.protocolName ?? '') : EMPTY_BYTES,
      memberAssignment: stable ? m.assignment : EMPTY_BYTES,
    })),
  };
}

export async function deleteGroups(
  coord: GroupCoordinator,
  groupIds: readonly string[],
): Promise<{ groupId: string; errorCode: number }[]> {
  return Promise.all(
    groupIds.map(async (groupId) => {
      const unavailable = coord.availability(groupId);
      if (unavailable !== ErrorCode.NONE) return { groupId, errorCode: unavailable };
      const g = coord.groups.get(groupId);
      if (!g || g.state === 'Dead') return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (g.state !== 'Empty' || (g.consumer?.members.size ?? 0) > 0) {
        return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      }
      const records = tombstones(g);
      g.transitionTo('Dead', coord.now());
      for (const t of g.pendingMembers.values()) clearTimeout(t);
      g.pendingMembers.clear();
      clearTimeout(g.timer);
      coord.groups.delete(groupId);
      try {
        await coord.store.write(groupId, records);
        return { groupId, errorCode: ErrorCode.NONE };
      } catch (err) {
        coord.logger.error('Group deletion could not be written', { group: groupId, err: String(err) });
        return { groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      }
    }),
  );
}

function tombstones(g: ClassicGroup): OffsetsRecord[] {
  const out: OffsetsRecord[] = [];
  for (const [topic, partitions] of g.offsets) {
    for (const p of partitions.keys()) out.push({ key: offsetKey(g.groupId, topic, p), value: null });
  }
  if (g.consumer) out.push(...consumerGroupTombstones(g.consumer));
  out.push({ key: groupKey(g.groupId), value: null });
  return out;
}
