// The in-memory tail of a partition answers reads exactly as the segment files would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TailCache } from '../../src/storage/tail-cache.js';

function batch(tag: number, size: number): Buffer {
  return Buffer.alloc(size, tag);
}

test('reads whole batches from the one containing the offset, within maxBytes and below maxOffset', () => {
  const cache = new TailCache(1024);
  cache.add(batch(1, 100), 0, 9);
  cache.add(batch(2, 100), 10, 19);
  cache.add(batch(3, 100), 20, 29);
  assert.equal(cache.read(15, 1000, 30, true)?.length, 200);
  assert.equal(cache.read(15, 1000, 30, true)?.[0], 2);
  assert.equal(cache.read(0, 150, 30, true)?.length, 100, 'maxBytes stops before the second batch');
  assert.equal(cache.read(0, 10, 30, true)?.length, 100, 'minOneBatch returns one batch over maxBytes');
  assert.equal(cache.read(0, 10, 30, false)?.length, 0, 'without minOneBatch nothing fits');
  assert.equal(cache.read(0, 1000, 25, true)?.length, 200, 'a batch straddling maxOffset is left out');
  assert.equal(cache.read(29, 1000, 30, true)?.[0], 3);
});

test('evicts the oldest batches past its bound; older offsets miss', () => {
  const cache = new TailCache(250);
  cache.add(batch(1, 100), 0, 9);
  cache.add(batch(2, 100), 10, 19);
  cache.add(batch(3, 100), 20, 29);
  assert.equal(cache.read(5, 1000, 30, true), null, 'evicted: the caller reads the disk');
  assert.equal(cache.read(10, 1000, 30, true)?.length, 200);
});

test('copies a small batch that is a view into a large buffer, keeps a batch that owns its buffer', () => {
  const cache = new TailCache(1 << 20);
  const chunk = Buffer.alloc(65536, 7);
  const view = chunk.subarray(100, 200);
  cache.add(view, 0, 0);
  chunk.fill(9); // the chunk is reused by someone else: the cache must not see it
  assert.equal(cache.read(0, 1000, 1, true)?.[0], 7);
});

test('a non-contiguous add or clear() forgets everything', () => {
  const cache = new TailCache(1024);
  cache.add(batch(1, 10), 0, 9);
  cache.add(batch(2, 10), 5, 12);
  assert.equal(cache.read(0, 100, 13, true), null);
  assert.equal(cache.read(5, 100, 13, true)?.[0], 2);
  cache.clear();
  assert.equal(cache.read(5, 100, 13, true), null);
});
