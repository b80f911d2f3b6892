// The bounded open-file cache: the bound holds, a handle in use is never closed under its user, and a reopened
// file keeps what was written through the earlier handle.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OpenFileCache, defaultOpenFilesMax } from '../../src/storage/open-file-cache.js';
import { makeTempDir, removeDir } from '../helpers/broker.js';

test('at most `capacity` files stay open; the least recently used idle one is closed and reopens on use', async (t) => {
  const dir = makeTempDir('brook-ofc-');
  t.after(() => removeDir(dir));
  const cache = new OpenFileCache(3);
  const files = Array.from({ length: 10 }, (_, i) => cache.file(join(dir, `f${i}`), 'w+'));
  for (const [i, f] of files.entries()) {
    await f.use((fh) => fh.write(Buffer.from(`file ${i}`), 0, undefined, 0).then(() => undefined));
    assert.ok(cache.openCount <= 3, `open ${cache.openCount}`);
  }
  assert.equal(files.filter((f) => f.isOpen).length, 3);
  // Reopened with r+: the data written before eviction is still there, and more can be appended.
  await files[0]!.use(async (fh) => {
    await fh.write(Buffer.from('!'), 0, 1, 6);
  });
  await Promise.all(files.map((f) => f.close()));
  assert.equal(readFileSync(join(dir, 'f0'), 'utf8'), 'file 0!');
  assert.equal(cache.openCount, 0);
});

test('busy files are never closed: acquires beyond the bound wait until one is released', async (t) => {
  const dir = makeTempDir('brook-ofc-');
  t.after(() => removeDir(dir));
  for (let i = 0; i < 4; i++) writeFileSync(join(dir, `f${i}`), `x${i}`);
  const cache = new OpenFileCache(2);
  const files = Array.from({ length: 4 }, (_, i) => cache.file(join(dir, `f${i}`)));
  const a = await files[0]!.acquire();
  const b = await files[1]!.acquire();
  let thirdOpened = false;
  const third = files[2]!.acquire().then((fh) => {
    thirdOpened = true;
    return fh;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(thirdOpened, false, 'waits while both slots are busy');
  // Both held handles still work.
  const buf = Buffer.alloc(2);
  await a.read(buf, 0, 2, 0);
  assert.equal(buf.toString(), 'x0');
  await b.read(buf, 0, 2, 0);
  assert.equal(buf.toString(), 'x1');
  files[0]!.release();
  const fh = await third;
  await fh.read(buf, 0, 2, 0);
  assert.equal(buf.toString(), 'x2');
  assert.equal(files[0]!.isOpen, false);
  files[1]!.release();
  files[2]!.release();
  assert.ok(cache.openCount <= 2);
  await Promise.all(files.map((f) => f.close()));
});

test('the default bound is half the soft limit, at least 16', () => {
  assert.equal(defaultOpenFilesMax(1024), 512);
  assert.equal(defaultOpenFilesMax(20), 16);
  assert.equal(defaultOpenFilesMax(null), 1000);
});
