// Kafka's replica assignment (AdminUtils.assignReplicasToBrokers), rack-unaware and rack-aware.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignmentError, assignReplicas } from '../../src/cluster/zookeeper/replica-assignment.js';

const noRack = (ids: number[]) => ids.map((nodeId) => ({ nodeId, rack: null }));

test("rack-unaware: Kafka's own expected assignment for 5 brokers, 10 partitions, fixed start 0", () => {
  assert.deepEqual(assignReplicas(noRack([0, 1, 2, 3, 4]), 10, 3, { start: 0 }), [
    [0, 1, 2],
    [1, 2, 3],
    [2, 3, 4],
    [3, 4, 0],
    [4, 0, 1],
    [0, 2, 3],
    [1, 3, 4],
    [2, 4, 0],
    [3, 0, 1],
    [4, 1, 2],
  ]);
});

test('random start: replicas are distinct brokers and leaders spread evenly', () => {
  for (let i = 0; i < 50; i++) {
    const a = assignReplicas(noRack([3, 1, 2]), 6, 2);
    for (const r of a) assert.equal(new Set(r).size, 2);
    const leaders = a.map((r) => r[0]);
    for (const b of [1, 2, 3]) assert.equal(leaders.filter((l) => l === b).length, 2);
  }
});

test('rack-aware: every partition spans as many racks as it can', () => {
  const racks: Record<number, string> = { 0: 'r1', 1: 'r2', 2: 'r2', 3: 'r3', 4: 'r3', 5: 'r1' };
  const brokers = Object.entries(racks).map(([id, rack]) => ({ nodeId: Number(id), rack }));
  for (let start = 0; start < 6; start++) {
    const a = assignReplicas(brokers, 12, 3, { start });
    for (const r of a) {
      assert.equal(new Set(r).size, 3);
      assert.equal(new Set(r.map((b) => racks[b])).size, 3, `partition ${JSON.stringify(r)} spans 3 racks`);
    }
  }
  // Fewer racks than replicas: every rack used, brokers distinct.
  const two = [0, 1, 2, 3].map((nodeId) => ({ nodeId, rack: nodeId % 2 === 0 ? 'a' : 'b' }));
  for (const r of assignReplicas(two, 8, 3)) {
    assert.equal(new Set(r).size, 3);
    assert.equal(new Set(r.map((b) => (b % 2 === 0 ? 'a' : 'b'))).size, 2);
  }
});

test('a replication factor above the broker count is refused', () => {
  assert.throws(() => assignReplicas(noRack([1, 2]), 1, 3), AssignmentError);
});
