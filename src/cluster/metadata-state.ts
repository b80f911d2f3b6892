// The cluster metadata as the embedded store holds it in memory, and how each record changes it.
// Every record sets its keys to absolute values, so replaying a record that a snapshot already
// contains (a crash between writing a snapshot and starting the next log) changes nothing.
import type { MetadataRecord } from './metadata-records.js';
import type { PendingTopicDeletion, TopicMetadata } from './metadata-store.js';

export interface MetadataState {
  clusterId: string;
  readonly byName: Map<string, TopicMetadata>;
  readonly byId: Map<string, TopicMetadata>;
  /** Topics deleted from the metadata whose directories may still exist, by topic ID. */
  readonly deletions: Map<string, PendingTopicDeletion>;
  brokerConfigs: Record<string, string>;
  /** This broker's own dynamic configs (AlterConfigs on its node id). */
  perBrokerConfigs: Record<string, string>;
  nextProducerId: number;
}

export function emptyState(clusterId: string): MetadataState {
  return {
    clusterId,
    byName: new Map(),
    byId: new Map(),
    deletions: new Map(),
    brokerConfigs: {},
    perBrokerConfigs: {},
    nextProducerId: 0,
  };
}

export function applyRecord(state: MetadataState, record: MetadataRecord): void {
  switch (record.type) {
    case 'topic': {
      const old = state.byName.get(record.topic.name);
      if (old && old.topicId !== record.topic.topicId) state.byId.delete(old.topicId);
      state.byName.set(record.topic.name, record.topic);
      state.byId.set(record.topic.topicId, record.topic);
      return;
    }
    case 'topic-deleted': {
      const t = state.byName.get(record.name);
      if (t && t.topicId === record.topicId) {
        state.byName.delete(record.name);
        state.byId.delete(record.topicId);
      }
      const { name, topicId, partitions } = record;
      state.deletions.set(topicId, { name, topicId, partitions });
      return;
    }
    case 'topic-deletion-done':
      state.deletions.delete(record.topicId);
      return;
    case 'broker-configs':
      if (record.scope === 'broker') state.perBrokerConfigs = { ...record.configs };
      else state.brokerConfigs = { ...record.configs };
      return;
    case 'producer-ids':
      state.nextProducerId = Math.max(state.nextProducerId, record.next);
      return;
    case 'header':
    case 'end':
      return;
  }
}

/** The records that rebuild `state` from nothing, header first and `end` last (a snapshot). */
export function snapshotRecords(state: MetadataState, snapshotId: number): MetadataRecord[] {
  const records: MetadataRecord[] = [{ type: 'header', version: 1, clusterId: state.clusterId, snapshotId }];
  for (const topic of state.byName.values()) records.push({ type: 'topic', topic });
  for (const d of state.deletions.values()) records.push({ type: 'topic-deleted', ...d });
  records.push({ type: 'broker-configs', configs: state.brokerConfigs });
  records.push({ type: 'broker-configs', configs: state.perBrokerConfigs, scope: 'broker' });
  records.push({ type: 'producer-ids', next: state.nextProducerId });
  records.push({ type: 'end', records: records.length - 1 });
  return records;
}

/** The pre-log format (one JSON file rewritten on every change), read once when upgrading. */
export interface LegacyStoredState {
  version: 1;
  clusterId: string;
  topics: TopicMetadata[];
  brokerConfigs: Record<string, string>;
  /** Absent in files written before per-broker dynamic configs existed. */
  perBrokerConfigs?: Record<string, string>;
  nextProducerId: number;
}

export function stateFromLegacy(legacy: LegacyStoredState): MetadataState {
  if (typeof legacy !== 'object' || legacy === null || typeof legacy.clusterId !== 'string') {
    throw new Error('it is not a cluster metadata document');
  }
  if (!Array.isArray(legacy.topics)) throw new Error('it has no topic list');
  const state = emptyState(legacy.clusterId);
  for (const topic of legacy.topics) {
    if (typeof topic?.name !== 'string' || typeof topic.topicId !== 'string') {
      throw new Error('a topic in it has no name or ID');
    }
    applyRecord(state, { type: 'topic', topic });
  }
  state.brokerConfigs = { ...(legacy.brokerConfigs ?? {}) };
  state.perBrokerConfigs = { ...(legacy.perBrokerConfigs ?? {}) };
  state.nextProducerId = Number.isSafeInteger(legacy.nextProducerId) ? legacy.nextProducerId : 0;
  return state;
}
