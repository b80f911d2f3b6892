// The `brook` command as a user runs it: the compiled CLI under dist/ (what `npm start` and the package's bin
// run). Spawning the compiled file instead of src/ through tsx saves about a second of CPU per process, and the
// suite starts a few hundred of them (brokers, CLI commands). `npm install` builds dist/; when any file under
// src/ is newer than the build (an edit since), loading this module rebuilds it first, once, before any test
// of the file runs, so a test never runs a stale CLI whichever way it is started.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** dist/src/cli/main.js: run it with process.execPath. */
export const BROOK_CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(path) : st.mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(BROOK_CLI).mtimeMs;
  } catch {
    return 0;
  }
}

if (newestMtime(join(ROOT, 'src')) > builtAt()) {
  process.stderr.write('dist/ is older than src/: building it (tsc -p tsconfig.build.json)\n');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('building dist/ failed (tsc -p tsconfig.build.json); see above');
}
