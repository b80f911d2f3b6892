// FetchSessionCache's eviction rules, with a fake clock (Kafka's FetchSessionCache.tryEvict for consumer
// sessions): a full cache evicts a session unused for 2 minutes first; otherwise the smallest session
// created more than 2 minutes ago, only for a new session with more partitions; otherwise no session.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FetchSessionCache,
  INVALID_SESSION_ID,
  SESSION_EVICTION_MS,
  nextEpoch,
  type FetchPartition,
} from '../../src/broker/fetch-session.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const UUID = '00000000-0000-0000-0000-000000000000';

function parts(n: number): FetchPartition[] {
  return Array.from({ length: n }, (_, partition) => ({
    topic: 't',
    topicId: UUID,
    partition,
    fetchOffset: 0,
    maxBytes: 1024,
    currentLeaderEpoch: -1,
  }));
}

/** Opens a session of `n` partitions at `nowMs` the way the Fetch handler does. */
function open(cache: FetchSessionCache, n: number, nowMs: number): number {
  const ctx = cache.newContext(12, 0, 0, parts(n), [], nowMs);
  assert.equal(ctx.kind, 'full');
  const outcomes = parts(n).map(() => ({
    errorCode: 0,
    highWatermark: 0,
    logStartOffset: 0,
    recordBytes: 0,
  }));
  return cache.createSession(nowMs, false, parts(n), outcomes);
}

/** One empty incremental fetch of session `id` at `nowMs` (uses it, moving its epoch on). */
function use(cache: FetchSessionCache, id: number, nowMs: number): void {
  const epoch = cache.get(id)!.epoch;
  assert.equal(cache.newContext(12, id, epoch, [], [], nowMs).kind, 'incremental');
}

test('epochs wrap to 1, never to 0; -1 stays final', () => {
  assert.equal(nextEpoch(0), 1);
  assert.equal(nextEpoch(0x7fffffff), 1);
  assert.equal(nextEpoch(-1), -1);
});

test('a full cache first evicts a session unused for longer than the eviction time', () => {
  const cache = new FetchSessionCache(2);
  const a = open(cache, 5, 0);
  const b = open(cache, 5, 0);
  assert.equal(open(cache, 1, 1000), INVALID_SESSION_ID, 'both young and in use');
  use(cache, b, SESSION_EVICTION_MS);
  const c = open(cache, 1, SESSION_EVICTION_MS + 1);
  assert.notEqual(c, INVALID_SESSION_ID);
  assert.equal(cache.get(a), undefined, 'a was idle for longer than the eviction time');
  assert.ok(cache.get(b));
});

test('otherwise an old session with fewer partitions makes room for a bigger one, never a smaller or equal one', () => {
  const cache = new FetchSessionCache(2);
  const small = open(cache, 2, 0);
  const big = open(cache, 10, 0);
  const t = SESSION_EVICTION_MS + 10;
  // Both used recently, after they became old enough to be evicted.
  use(cache, small, t);
  use(cache, big, t);
  assert.equal(open(cache, 2, t + 1), INVALID_SESSION_ID, 'same size as the smallest: no eviction');
  const next = open(cache, 3, t + 2);
  assert.notEqual(next, INVALID_SESSION_ID);
  assert.equal(cache.get(small), undefined);
  assert.ok(cache.get(big));
  // The new session is young: nothing can evict it until it is old, however big the newcomer.
  use(cache, big, t + 3);
  assert.equal(open(cache, 1, t + 4), INVALID_SESSION_ID);
});

test('errors leave the session usable; an emptied session ends', () => {
  const cache = new FetchSessionCache(10);
  const id = open(cache, 2, 0);
  assert.deepEqual(cache.newContext(12, id, 7, [], [], 1), {
    kind: 'error',
    errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH,
  });
  assert.deepEqual(cache.newContext(13, id, 1, [], [], 1), {
    kind: 'error',
    errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
  });
  assert.deepEqual(cache.newContext(12, id + 1, 1, [], [], 1), {
    kind: 'error',
    errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  });
  const forget = parts(2).map((p) => ({ topic: p.topic, topicId: p.topicId, partition: p.partition }));
  assert.equal(cache.newContext(12, id, 1, [], forget, 2).kind, 'sessionless');
  assert.equal(cache.size, 0);
});
