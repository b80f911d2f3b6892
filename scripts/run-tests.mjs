#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner, TypeScript loaded by tsx.
// Node 20's `--test` does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring-filter ...] [--exclude substring ...]
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = [];
const excludes = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--exclude') excludes.push(process.argv[++i] ?? '');
  else filters.push(process.argv[i]);
}
const files = walk('test', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !excludes.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(dirname(fileURLToPath(import.meta.url)), 'slowest-files-reporter.mjs')}`,
    '--test-reporter-destination=stdout',
    '--test-concurrency=1',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
