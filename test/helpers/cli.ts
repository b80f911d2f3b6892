// The `brook` command as a user runs it: the compiled CLI under dist/ (what `npm start` and the package's bin
// run). `npm install` builds dist/, and scripts/run-tests.mjs rebuilds it first when src/ is newer, so tests
// never run a stale CLI. Spawning the compiled file instead of src/ through tsx saves about a second of CPU
// per process, and the suite starts a few hundred of them (brokers, CLI commands).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js: run it with process.execPath. */
export const BROOK_CLI = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'),
  'dist',
  'src',
  'cli',
  'main.js',
);
