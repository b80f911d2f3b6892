// One broker per data directory: a second `brook broker start` on a live broker's --data-dir refuses with one
// sentence naming the holder's pid and touches nothing (it used to open the logs and, failing on the taken port,
// write the clean-shutdown marker, so a later crash of the first broker skipped recovery). A broker killed with
// SIGKILL leaves a stale lock that never blocks the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, freePort, makeTempDir, removeDir, spawnBrokerProcess } from '../helpers/broker.js';
import { runCommand } from '../helpers/run.js';
import { Admin, Producer } from '../../src/index.js';
import { BROOK_CLI } from '../helpers/cli.js';

const CLI = BROOK_CLI;

function brook(args: string[]) {
  return runCommand(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    timeoutMs: 30_000,
  });
}

/** Every file and directory under dir with its size and mtime: what a second broker must not change. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      out.set(p.slice(dir.length), `${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

test('a second broker on a live data dir refuses with one sentence and touches nothing; SIGKILL leaves no block', async () => {
  const dataDir = makeTempDir();
  let first = await spawnBrokerProcess({ dataDir });
  try {
    const admin = await Admin.connect(first.bootstrapServers);
    await admin.createTopics([{ name: 'locked', partitions: 1 }]);
    await admin.close();
    const producer = await Producer.connect(first.bootstrapServers);
    await producer.send({ topic: 'locked', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.close();
    assert.match(readFileSync(join(dataDir, '.lock'), 'utf8'), new RegExp(`pid=${first.pid}\\n`));
    // The first broker finishes its own checkpoint writes before the comparison starts.
    let before = snapshot(dataDir);
    for (let settled = false; !settled;) {
      await new Promise((r) => setTimeout(r, 300));
      const again = snapshot(dataDir);
      settled = JSON.stringify([...again]) === JSON.stringify([...before]);
      before = again;
    }

    // Same port (taken: it used to get as far as closing the logs cleanly) and a free one (used to run on the files).
    for (const port of [first.port, await freePort()]) {
      const r = await brook(['broker', 'start', '--port', String(port), '--data-dir', dataDir]);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^brook: Data directory .* is in use by another Brook broker \(pid \d+\)/);
      assert.ok(lines[0]!.includes(`pid ${first.pid}`), lines[0]);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(snapshot(dataDir), before, 'the second start changed nothing in the data dir');
      assert.ok(
        !existsSync(join(dataDir, '.clean-shutdown')),
        'no clean-shutdown marker for a running broker',
      );
    }

    first.kill('SIGKILL');
    await first.waitExit();
    assert.ok(existsSync(join(dataDir, '.lock')), 'SIGKILL leaves the lock behind');
    first = await spawnBrokerProcess({ dataDir }); // the stale lock is taken over
    assert.match(readFileSync(join(dataDir, '.lock'), 'utf8'), new RegExp(`pid=${first.pid}\\n`));
    first.kill('SIGTERM');
    assert.equal((await first.waitExit()).code, 0);
    assert.ok(!existsSync(join(dataDir, '.lock')), 'a clean stop releases the lock');
  } finally {
    first.kill('SIGKILL');
    await first.waitExit();
    removeDir(dataDir);
  }
});
