// queued.max.request.bytes: many connections each sending most of a large request (and never reading) cannot push
// the broker's memory beyond the budget: a request's declared size is admitted before its body is read, and while
// the budget is used up no connection reads a new one. Before, every connection buffered its whole request, so the
// broker's RSS grew with the number of connections. The broker is a child process so its RSS can be measured.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir, removeDir, spawnBrokerProcess } from '../helpers/broker.js';
import { metadataV1, RawConnection } from './raw-kafka.js';

const MiB = 1024 * 1024;
const REQUEST_MAX_BYTES = 20 * MiB;
/** Default queued.max.request.bytes: 2 × socket.request.max.bytes. */
const BUDGET_BYTES = 2 * REQUEST_MAX_BYTES;
const CONNECTIONS = 20;
/** Each connection sends this much of a request declared as REQUEST_MAX_BYTES, then waits. */
const SENT_BYTES = REQUEST_MAX_BYTES - MiB;

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

test(`${CONNECTIONS} connections each sending ${SENT_BYTES / MiB} MiB of a request stay within the memory budget`, async (t) => {
  const dataDir = makeTempDir('brook-mem-');
  t.after(() => removeDir(dataDir));
  const bp = await spawnBrokerProcess({
    dataDir,
    config: { 'socket.request.max.bytes': String(REQUEST_MAX_BYTES) },
  });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    bp.kill('SIGKILL');
    await bp.waitExit();
  });
  const baseline = rssBytes(bp.pid);

  // One shared body buffer: the test's own memory stays small whatever the broker does not read.
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(REQUEST_MAX_BYTES);
  const body = Buffer.alloc(SENT_BYTES, 1);
  for (let i = 0; i < CONNECTIONS; i++) {
    const s = new Socket();
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.connect(bp.port, '127.0.0.1', resolve));
    s.write(prefix);
    s.write(body);
    sockets.push(s);
  }

  // Let the broker read whatever it will, then take its peak.
  let peak = 0;
  for (let i = 0; i < 30; i++) {
    await sleep(200);
    peak = Math.max(peak, rssBytes(bp.pid));
  }
  const growth = peak - baseline;
  const unbounded = CONNECTIONS * SENT_BYTES;
  assert.ok(
    growth < BUDGET_BYTES + 60 * MiB,
    `broker RSS grew by ${Math.round(growth / MiB)} MiB (budget ${BUDGET_BYTES / MiB} MiB; unbounded would hold ${
      unbounded / MiB
    } MiB)`,
  );

  // Once the senders go, the memory is released and the broker serves as before.
  for (const s of sockets) s.destroy();
  await sleep(300);
  const conn = await RawConnection.connect(bp.bootstrapServers);
  try {
    const answer = await conn.request(metadataV1(5, null), 5, 20_000);
    assert.ok(answer.length > 0);
  } finally {
    conn.destroy();
  }
});
