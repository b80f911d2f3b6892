// Round-trips every message of the generated codec at every valid version: a value made from the
// schema (with nulls, tagged fields, nested structs and arrays) must decode to itself and re-encode
// to the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as generated from '../../src/protocol/generated/index.js';
import { decodeFromBuffer, defaultValue, encodeToBuffer } from '../../src/protocol/codec.js';
import { inRange, type FieldSchema, type MessageSchema } from '../../src/protocol/schema.js';

function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

function makeValue(
  fields: readonly FieldSchema[],
  version: number,
  flexible: boolean,
  rnd: () => number,
  depth = 0,
): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version) || (f.tagged && !flexible && inRange(f.tagged, version))) {
      o[f.name] = defaultValue(f);
      continue;
    }
    const nullable = inRange(f.nullable, version);
    if (nullable && rnd() < 0.2) {
      o[f.name] = null;
      continue;
    }
    if (f.array) {
      const n = depth > 2 ? 0 : Math.floor(rnd() * 3);
      o[f.name] = Array.from({ length: n }, () => item(f, version, flexible, rnd, depth));
    } else {
      o[f.name] = item(f, version, flexible, rnd, depth);
    }
  }
  return o;
}

function item(f: FieldSchema, version: number, flexible: boolean, rnd: () => number, depth: number): unknown {
  const i = Math.floor(rnd() * 1000);
  switch (f.type) {
    case 'bool':
      return rnd() < 0.5;
    case 'int8':
      return (i % 200) - 100;
    case 'int16':
      return i - 500;
    case 'uint16':
      return i;
    case 'int32':
      return i * 1000 - 7;
    case 'int64':
      return BigInt(i) * 1000000007n - 3n;
    case 'float64':
      return i / 7;
    case 'string':
      return `s${i}é`;
    case 'uuid':
      return `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${(i * 7).toString(16).padStart(12, '0')}`;
    case 'bytes':
    case 'records':
      return Buffer.from(`bytes-${i}`);
    case 'struct':
      return makeValue(f.fields ?? [], version, flexible, rnd, depth + 1);
  }
}

const schemas = Object.entries(generated)
  .filter(([name, v]) => name.endsWith('Schema') && typeof v === 'object' && v !== null && 'fields' in v)
  .map(([, v]) => v as MessageSchema);

test('every generated schema file is exported', () => {
  const files = readdirSync(new URL('../../src/protocol/generated/', import.meta.url)).filter(
    (f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'apis.ts',
  );
  assert.ok(schemas.length >= files.length, `${schemas.length} schemas for ${files.length} files`);
  assert.ok(schemas.length > 180);
});

test('every message round-trips at every valid version', () => {
  let checked = 0;
  for (const schema of schemas) {
    for (let v = schema.validVersions[0]; v <= schema.validVersions[1]; v++) {
      const flexible = inRange(schema.flexibleVersions, v);
      for (let seed = 1; seed <= 3; seed++) {
        const value = makeValue(schema.fields, v, flexible, prng(seed * 7919 + v));
        const bytes = encodeToBuffer(schema, v, value);
        const decoded = decodeFromBuffer<Record<string, unknown>>(schema, v, bytes);
        assert.deepEqual(decoded, value, `${schema.name} v${v} seed ${seed}`);
        assert.deepEqual(encodeToBuffer(schema, v, decoded), bytes, `${schema.name} v${v} re-encode`);
        checked++;
      }
    }
  }
  assert.ok(checked > 1000, `checked ${checked}`);
});

test('unknown tagged fields are skipped', () => {
  // ApiVersions v3 request: client_software_name, client_software_version, then tagged fields.
  const body = Buffer.from([4, 0x61, 0x62, 0x63, 2, 0x31, 1, 42, 3, 1, 2, 3]);
  const r = decodeFromBuffer<{ clientSoftwareName: string; clientSoftwareVersion: string }>(
    generated.ApiVersionsRequestSchema,
    3,
    body,
  );
  assert.equal(r.clientSoftwareName, 'abc');
  assert.equal(r.clientSoftwareVersion, '1');
});

test('a truncated frame is a protocol error, not a crash', () => {
  const bytes = encodeToBuffer(generated.MetadataRequestSchema, 1, { topics: [{ name: 'abc' }] });
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => decodeFromBuffer(generated.MetadataRequestSchema, 1, bytes.subarray(0, cut)));
  }
});
