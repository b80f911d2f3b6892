// Settings that Brook parses but cannot honour are refused at startup with one sentence (exit 1, no stack trace)
// instead of being silently ignored: a second log.dirs entry would hold no data, a second listener would not be bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, makeTempDir, removeDir } from '../helpers/broker.js';
import { runCommand } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const CLI = BROOK_CLI;

async function refusedWith(args: string[], pattern: RegExp): Promise<void> {
  const r = await runCommand(process.execPath, [CLI, 'broker', 'start', ...args], {
    cwd: REPO_ROOT,
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('a second log.dirs entry is refused before anything is created', async () => {
  const dir = makeTempDir();
  try {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    await refusedWith(
      ['--port', '0', '--set', `log.dirs=${a},${b}`],
      /^brook: Invalid value .* for configuration log\.dirs: Brook supports one log directory so far/,
    );
    assert.ok(!existsSync(a) && !existsSync(b), 'no data directory was created');
  } finally {
    removeDir(dir);
  }
});

test('a second listener is refused', async () => {
  const dir = makeTempDir();
  try {
    await refusedWith(
      [
        '--data-dir',
        dir,
        '--set',
        'listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0',
        '--set',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
      ],
      /^brook: Invalid value .* for configuration listeners: Brook serves one listener so far/,
    );
  } finally {
    removeDir(dir);
  }
});
