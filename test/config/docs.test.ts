// docs/configuration.md is generated from the config tables; a stale copy would document defaults the
// code no longer uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigDocs } from '../../scripts/generate-config-docs.js';

test('docs/configuration.md matches the config tables (run `npm run docs:config`)', () => {
  const onDisk = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(onDisk, renderConfigDocs());
  assert.match(onDisk, /\| `log\.flush\.before\.ack` \| boolean \| `false` \|/);
});
