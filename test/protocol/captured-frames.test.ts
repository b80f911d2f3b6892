// Request frames captured from real clients (scripts/capture-client-frames.ts: librdkafka via kcat,
// kafka-python, kafkajs, @platformatic/kafka) decode with the generated codec and re-encode to the
// very same bytes: header, body, compact and nullable fields, tagged-field sections and all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { decodeMessage } from '../../src/protocol/codec.js';
import { encodeRequest, readRequestHeader } from '../../src/protocol/frames.js';
import { API_SCHEMAS } from '../../src/protocol/generated/apis.js';
import { Reader } from '../../src/protocol/wire.js';

interface Captured {
  apiKey: number;
  apiVersion: number;
  hex: string;
}

const dir = new URL('./fixtures/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('fixtures from at least four clients, flexible and non-flexible versions among them', () => {
  assert.ok(files.length >= 4, files.join(', '));
  const all = files.flatMap((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Captured[]);
  assert.ok(
    all.some((c) => c.apiKey === 3 && c.apiVersion >= 9),
    'a flexible Metadata request',
  );
  assert.ok(
    all.some((c) => c.apiKey === 0 && c.apiVersion <= 8),
    'a non-flexible Produce request',
  );
});

for (const file of files) {
  test(`${file}: every captured request decodes and re-encodes identically`, () => {
    const captured = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Captured[];
    assert.ok(captured.length >= 4);
    for (const c of captured) {
      const frame = Buffer.from(c.hex, 'hex');
      const reader = new Reader(frame);
      const header = readRequestHeader(reader);
      assert.equal(header.apiKey, c.apiKey);
      const body = decodeMessage<object>(API_SCHEMAS.get(c.apiKey)!.request, c.apiVersion, reader);
      assert.equal(reader.remaining, 0, `${file} key ${c.apiKey} v${c.apiVersion}: bytes left over`);
      const again = encodeRequest(header, body);
      assert.equal(
        again.toString('hex'),
        c.hex,
        `${file} key ${c.apiKey} v${c.apiVersion} re-encodes differently`,
      );
    }
  });
}
