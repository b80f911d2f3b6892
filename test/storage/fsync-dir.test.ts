// Directory fsync is what makes a new file, a rename or an unlink survive power loss; a failure must
// surface as a storage error, never be swallowed. (Power loss itself: test/robustness/power-loss.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, mkdirDurable } from '../../src/storage/fsync-dir.js';
import { StorageError } from '../../src/storage/errors.js';
import { makeTempDir, removeDir } from '../helpers/broker.js';

test('a directory fsync that fails is a KAFKA_STORAGE_ERROR naming the directory', async () => {
  const dir = makeTempDir();
  try {
    await fsyncDir(dir); // a real directory: fine
    const missing = join(dir, 'gone');
    await assert.rejects(fsyncDir(missing), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, 'KAFKA_STORAGE_ERROR');
      assert.match(err.message, /gone/);
      return true;
    });
  } finally {
    removeDir(dir);
  }
});

test('mkdirDurable creates nested directories and accepts an existing one', async () => {
  const dir = makeTempDir();
  try {
    const nested = join(dir, 'a', 'b', 'c');
    await mkdirDurable(nested);
    assert.ok(existsSync(nested));
    await mkdirDurable(nested);
    await assert.rejects(mkdirDurable(join(dir, 'a', 'b', 'c', '\0bad')));
  } finally {
    removeDir(dir);
  }
});
