// fetch.max.bytes: the broker caps a Fetch response however much the client asks for (MaxBytes 2^31-1 held
// hundreds of megabytes per connection), and still returns at least one batch when a batch is larger than it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestBroker, uniqueTopic } from '../helpers/broker.js';
import {
  decodeFetchV4,
  decodeProduceV7,
  fetchV4,
  produceV7,
  RawConnection,
  recordBatch,
} from '../robustness/raw-kafka.js';

const MiB = 1024 * 1024;
const BATCH_VALUE_BYTES = 100 * 1024;
const BATCHES = 24;
const INT32_MAX = 0x7fffffff;

/** Sizes of the whole batches in a Fetch answer's records. */
function batchSizes(records: Buffer): number[] {
  const sizes: number[] = [];
  for (let at = 0; at + 12 <= records.length;) {
    const size = 12 + records.readInt32BE(at + 8);
    if (at + size > records.length) break;
    sizes.push(size);
    at += size;
  }
  return sizes;
}

test('a Fetch asking for 2^31-1 bytes gets at most fetch.max.bytes, and one batch even when it is larger', async (t) => {
  const b = await startTestBroker({ 'fetch.max.bytes': String(MiB) });
  t.after(() => b.stop());
  const topic = uniqueTopic('fetch-cap');
  await b.broker.services.topics.create({ name: topic, numPartitions: 1, replicationFactor: 1, configs: {} });
  const conn = await RawConnection.connect(b.bootstrapServers);
  t.after(() => conn.destroy());
  const value = Buffer.alloc(BATCH_VALUE_BYTES, 7);
  for (let i = 0; i < BATCHES; i++) {
    const body = await conn.request(
      produceV7(100 + i, topic, 0, recordBatch([{ key: null, value }])),
      100 + i,
    );
    assert.equal(decodeProduceV7(body)[0]!.errorCode, 0);
  }

  const r = decodeFetchV4(await conn.request(fetchV4(1, topic, 0, 0n, INT32_MAX, 0), 1), topic, 0);
  assert.equal(r.errorCode, 0);
  const sizes = batchSizes(r.records);
  assert.ok(r.records.length <= MiB, `answer of ${r.records.length} bytes exceeds fetch.max.bytes`);
  assert.ok(sizes.length >= 5, `only ${sizes.length} batches`);

  // A batch larger than the cap still comes back, alone.
  const small = await startTestBroker({ 'fetch.max.bytes': '1000' });
  t.after(() => small.stop());
  await small.broker.services.topics.create({
    name: topic,
    numPartitions: 1,
    replicationFactor: 1,
    configs: {},
  });
  const c2 = await RawConnection.connect(small.bootstrapServers);
  t.after(() => c2.destroy());
  for (let i = 0; i < 2; i++) {
    await c2.request(produceV7(200 + i, topic, 0, recordBatch([{ key: null, value }])), 200 + i);
  }
  const one = decodeFetchV4(await c2.request(fetchV4(2, topic, 0, 0n, INT32_MAX, 0), 2), topic, 0);
  assert.equal(batchSizes(one.records).length, 1);
});
