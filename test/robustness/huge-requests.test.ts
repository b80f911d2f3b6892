// Requests whose arrays the client sizes: a Metadata request naming 1,000,000 topics is answered (one error per
// unknown name) instead of overflowing the call stack (`topics.push(...answers)` did), and the broker keeps
// serving other connections.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { startTestBroker } from '../helpers/broker.js';
import { metadataV1, RawConnection } from './raw-kafka.js';

const NAMES = 1_000_000;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

test(`Metadata naming ${NAMES} topics is answered and the broker keeps serving`, async (t) => {
  const b = await startTestBroker({ 'auto.create.topics.enable': 'false' });
  t.after(() => b.stop());
  const body = await requestOnce(b.port, metadataV1Frame(7, NAMES));

  // v1: brokers [node_id, host, port, rack], controller_id, topics [error_code, name, is_internal, partitions].
  let at = 0;
  const brokers = body.readInt32BE(at);
  at += 4;
  for (let i = 0; i < brokers; i++) {
    at += 4;
    at += 2 + body.readInt16BE(at);
    at += 4;
    const rack = body.readInt16BE(at);
    at += 2 + Math.max(rack, 0);
  }
  at += 4;
  assert.equal(body.readInt32BE(at), NAMES, 'one answer per requested name');
  at += 4;
  assert.equal(body.readInt16BE(at), UNKNOWN_TOPIC_OR_PARTITION);
  const nameLength = body.readInt16BE(at + 2);
  assert.equal(body.toString('utf8', at + 4, at + 4 + nameLength), 'no-such-topic-0');

  // Another client is served normally meanwhile and afterwards.
  const other = await RawConnection.connect(b.bootstrapServers);
  t.after(() => other.destroy());
  const small = await other.request(metadataV1(8, null), 8);
  assert.ok(small.length > 0);
});

/** Metadata v1 naming `no-such-topic-<i>` for i < count, written into one buffer (a chunk per field is slow). */
function metadataV1Frame(correlationId: number, count: number): Buffer {
  const clientId = 'huge';
  let size = 2 + 2 + 4 + 2 + clientId.length + 4;
  for (let i = 0; i < count; i++) size += 2 + `no-such-topic-${i}`.length;
  const buf = Buffer.alloc(4 + size);
  let at = buf.writeInt32BE(size, 0);
  at = buf.writeInt16BE(3, at);
  at = buf.writeInt16BE(1, at);
  at = buf.writeInt32BE(correlationId, at);
  at = buf.writeInt16BE(clientId.length, at);
  at += buf.write(clientId, at, 'latin1');
  at = buf.writeInt32BE(count, at);
  for (let i = 0; i < count; i++) {
    const name = `no-such-topic-${i}`;
    at = buf.writeInt16BE(name.length, at);
    at += buf.write(name, at, 'latin1');
  }
  return buf;
}

/** Sends one frame and returns the response body after the correlation id, reading it without re-copying. */
function requestOnce(port: number, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no response within 50 s'));
    }, 50_000);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('broker closed the connection')));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      const head = chunks[0]!.length >= 4 ? chunks[0]! : Buffer.concat(chunks);
      if (received < 4 + head.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.removeAllListeners('close');
      socket.destroy();
      resolve(Buffer.concat(chunks, received).subarray(8));
    });
    socket.connect(port, '127.0.0.1', () => socket.write(frame));
  });
}
