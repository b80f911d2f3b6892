// The controller's reassignment arithmetic (src/cluster/zookeeper/reassignment.ts), case by case as
// Kafka's ReplicaAssignment computes it: the full set is target then original, a reassignment that
// replaces a running one keeps the original replicas, a cancel goes back to them, and the state
// change that goes with a new replica set (the ISR shrinks, a leader outside it hands over).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PartitionState } from '../../src/cluster/cluster-view.js';
import {
  canComplete,
  originReplicas,
  reassignTo,
  stateForReplicas,
  targetReplicas,
  validateTarget,
} from '../../src/cluster/zookeeper/reassignment.js';
import { decodeAssignment, encodeAssignment } from '../../src/cluster/zookeeper/znodes.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const idle = (replicas: number[]) => ({ replicas, adding: [], removing: [] });
const state = (leader: number, isr: number[], replicas: readonly number[]): PartitionState => ({
  topic: 't',
  partition: 0,
  replicas,
  leader,
  leaderEpoch: 4,
  isr,
  partitionEpoch: 9,
});

test('reassignTo: target first, then the original replicas; adding and removing as Kafka computes them', () => {
  const move = reassignTo(idle([1, 2]), [2, 3]);
  assert.deepEqual(move, { replicas: [2, 3, 1], adding: [3], removing: [1] });
  assert.deepEqual(originReplicas(move), [2, 1]);
  assert.deepEqual(targetReplicas(move), [2, 3]);
  // Replacing a running reassignment keeps the original replicas [1,2]; 3 is no longer wanted.
  assert.deepEqual(reassignTo(move, [4, 2]), { replicas: [4, 2, 1], adding: [4], removing: [1] });
  // Cancel: back to the original replicas, nothing left to add or remove.
  assert.deepEqual(reassignTo(move, originReplicas(move)), { replicas: [2, 1], adding: [], removing: [] });
  // Only the order changes: no reassignment at all.
  assert.deepEqual(reassignTo(idle([1, 2]), [2, 1]), { replicas: [2, 1], adding: [], removing: [] });
});

test('validateTarget: empty, duplicate, negative and not-alive added brokers are INVALID_REPLICA_ASSIGNMENT', () => {
  const live = new Set([1, 2, 3]);
  for (const bad of [[], [2, 2], [-1, 2], [2, 9]]) {
    assert.equal(
      validateTarget(idle([1, 2]), bad, live)?.errorCode,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `${bad}`,
    );
  }
  assert.equal(validateTarget(idle([1, 2]), [2, 3], live), null);
  // An original replica that is down may stay: only the added ones must be alive (Kafka's rule).
  assert.equal(validateTarget(idle([1, 4]), [4, 3], live), null);
});

test('stateForReplicas and canComplete: the removed replicas leave the ISR, a leader outside the target hands over', () => {
  const live = new Set([1, 2, 3]);
  const move = reassignTo(idle([1, 2]), [2, 3]);
  assert.equal(canComplete(move, state(1, [1, 2], move.replicas), live), false, '3 not in sync yet');
  const synced = state(1, [1, 2, 3], move.replicas);
  assert.equal(canComplete(move, synced, live), true);
  assert.deepEqual(stateForReplicas(synced, targetReplicas(move), live), {
    leader: 2,
    leaderEpoch: 5,
    isr: [2, 3],
  });
  // A leader in the target stays; the ISR still shrinks, with a new leader epoch.
  assert.deepEqual(stateForReplicas(state(2, [1, 2, 3], [2, 3, 1]), [2, 3], live), {
    leader: 2,
    leaderEpoch: 5,
    isr: [2, 3],
  });
  // Nothing to change while the replica set only grows.
  assert.equal(stateForReplicas(state(1, [1, 2], [2, 3, 1]), [2, 3, 1], live), null);
  // No leader yet (offline partition): wait for its election first.
  assert.equal(canComplete(move, state(-1, [1, 2, 3], move.replicas), live), false);
});

test('the topic znode keeps adding_replicas and removing_replicas as Kafka writes them', () => {
  const topicId = '6c3a1a0e-2f1b-4c55-9a43-1f0e8d7b6a51';
  const data = encodeAssignment({
    topicId,
    partitions: [
      [2, 3, 1],
      [1, 2],
    ],
    adding: new Map([[0, [3]]]),
    removing: new Map([[0, [1]]]),
  });
  const json = JSON.parse(data.toString()) as Record<string, unknown>;
  assert.deepEqual(json.adding_replicas, { '0': [3] });
  assert.deepEqual(json.removing_replicas, { '0': [1] });
  const back = decodeAssignment(data)!;
  assert.deepEqual(back.partitions, [
    [2, 3, 1],
    [1, 2],
  ]);
  assert.deepEqual([...back.adding!], [[0, [3]]]);
  assert.deepEqual([...back.removing!], [[0, [1]]]);
  // A topic written without reassignments (or by older Brook) reads as none.
  assert.equal(decodeAssignment(encodeAssignment({ topicId, partitions: [[1]] }))!.adding!.size, 0);
});
