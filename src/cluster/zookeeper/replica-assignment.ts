// Kafka's replica assignment (AdminUtils.assignReplicasToBrokers): partitions' first replicas go
// round-robin over the brokers from a random start, and the followers are shifted so that the
// replicas of one broker's partitions spread over all the others. With a rack on every broker the
// brokers are taken alternately by rack, and a partition's replicas land on as many different racks
// as there are (rack-aware). Deterministic when `start` is given (tests).
import type { BrokerEndpoint } from '../cluster-view.js';

export class AssignmentError extends Error {}

export interface AssignOptions {
  /** The first partition's number (CreatePartitions continues after the existing ones). */
  firstPartition?: number;
  /** Fixed start index and replica shift (Kafka's fixedStartIndex); random when absent. */
  start?: number;
}

export function assignReplicas(
  brokers: readonly Pick<BrokerEndpoint, 'nodeId' | 'rack'>[],
  partitions: number,
  replicationFactor: number,
  opts: AssignOptions = {},
): number[][] {
  if (replicationFactor <= 0) throw new AssignmentError('Replication factor must be larger than 0.');
  if (replicationFactor > brokers.length) {
    throw new AssignmentError(
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`,
    );
  }
  const sorted = [...brokers].sort((a, b) => a.nodeId - b.nodeId);
  const rackAware = sorted.length > 0 && sorted.every((b) => b.rack !== null);
  return rackAware
    ? assignRackAware(sorted, partitions, replicationFactor, opts)
    : assignRackUnaware(
        sorted.map((b) => b.nodeId),
        partitions,
        replicationFactor,
        opts,
      );
}

function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

function replicaIndex(first: number, secondReplicaShift: number, index: number, n: number): number {
  const shift = 1 + ((secondReplicaShift + index) % (n - 1));
  return (first + shift) % n;
}

function assignRackUnaware(ids: number[], partitions: number, rf: number, opts: AssignOptions): number[][] {
  const n = ids.length;
  const startIndex = opts.start ?? randomIndex(n);
  let shift = opts.start ?? randomIndex(n);
  const out: number[][] = [];
  let p = Math.max(0, opts.firstPartition ?? 0);
  for (let i = 0; i < partitions; i++, p++) {
    if (p > 0 && p % n === 0) shift += 1;
    const first = (p + startIndex) % n;
    const replicas = [ids[first]!];
    for (let j = 0; j < rf - 1; j++) replicas.push(ids[replicaIndex(first, shift, j, n)]!);
    out.push(replicas);
  }
  return out;
}

/** Brokers in rack-alternating order: rack a's first, rack b's first, ..., rack a's second, ... */
function rackAlternated(brokers: readonly Pick<BrokerEndpoint, 'nodeId' | 'rack'>[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of brokers) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b.nodeId);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const r of racks) {
      const id = byRack.get(r)![i];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}

function assignRackAware(
  brokers: readonly Pick<BrokerEndpoint, 'nodeId' | 'rack'>[],
  partitions: number,
  rf: number,
  opts: AssignOptions,
): number[][] {
  const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack!]));
  const numRacks = new Set(rackOf.values()).size;
  const arranged = rackAlternated(brokers);
  const n = arranged.length;
  const startIndex = opts.start ?? randomIndex(n);
  let shift = opts.start ?? randomIndex(n);
  const out: number[][] = [];
  let p = Math.max(0, opts.firstPartition ?? 0);
  for (let i = 0; i < partitions; i++, p++) {
    if (p > 0 && p % n === 0) shift += 1;
    const first = (p + startIndex) % n;
    const leader = arranged[first]!;
    const replicas = [leader];
    const racks = new Set([rackOf.get(leader)!]);
    const used = new Set([leader]);
    let k = 0;
    for (let j = 0; j < rf - 1; j++) {
      for (;;) {
        const broker = arranged[replicaIndex(first, shift * numRacks, k, n)]!;
        const rack = rackOf.get(broker)!;
        k++;
        // Skip a broker on a rack that already has a replica (unless every rack has one) and a broker
        // that already has one (unless every broker has one).
        if ((!racks.has(rack) || racks.size === numRacks) && (!used.has(broker) || used.size === n)) {
          replicas.push(broker);
          racks.add(rack);
          used.add(broker);
          break;
        }
      }
    }
    out.push(replicas);
  }
  return out;
}
