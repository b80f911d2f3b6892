// The robustness tests' own wire reader (raw-kafka.ts) must split frames correctly however the bytes are
// chunked, and in time linear in the bytes: it used to concatenate everything held on every chunk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameSplitter } from './raw-kafka.js';

function framed(payloads: Buffer[]): Buffer {
  return Buffer.concat(
    payloads.flatMap((p) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(p.length);
      return [size, p];
    }),
  );
}

test('frames come out whole whatever the chunking', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const payloads = Array.from({ length: 200 }, (_, i) => Buffer.alloc(rand(300), i));
  payloads.push(Buffer.alloc(0));
  const stream = framed(payloads);
  for (let round = 0; round < 50; round++) {
    const splitter = new FrameSplitter();
    const out: Buffer[] = [];
    for (let p = 0; p < stream.length;) {
      const n = 1 + rand(round % 2 === 0 ? 7 : 700);
      out.push(...splitter.push(stream.subarray(p, p + n)));
      p += n;
    }
    assert.deepEqual(out, payloads);
  }
});

test('a 32 MiB frame in 4 KiB chunks is split in linear time', () => {
  const frame = framed([Buffer.alloc(32 * 1024 * 1024, 1)]);
  const splitter = new FrameSplitter();
  const started = performance.now();
  const out: Buffer[] = [];
  for (let p = 0; p < frame.length; p += 4096) out.push(...splitter.push(frame.subarray(p, p + 4096)));
  const ms = performance.now() - started;
  assert.equal(out.length, 1);
  assert.equal(out[0]!.length, 32 * 1024 * 1024);
  // Copying the held bytes per chunk would move ~140 GB here; linear is one 32 MiB copy.
  assert.ok(ms < 10_000, `took ${Math.round(ms)} ms`);
});
