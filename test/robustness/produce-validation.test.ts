// Produced batches are trusted no further than Kafka trusts them, over the wire: CRC-valid forgeries
// (2^31 offsets for one record, records consumers cannot parse), decompression bombs in every codec,
// writes to and deletion of __consumer_offsets, and KIP-467 record errors seen by a real client (keyless
// records on a compacted topic, timestamps outside message.timestamp.before/after.max.ms).
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import lz4 from 'lz4-napi';
import { Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { Admin } from '../../src/client/admin.js';
import { CompressionType } from '../../src/protocol/batch-header.js';
import { xxhash32 } from '../../src/protocol/compression.js';
import { crc32cOf, encodeBatchSync } from '../../src/protocol/records.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { runPythonJson } from '../helpers/run.js';
import {
  decodeProduceV7,
  decodeProduceV8,
  produceV7,
  produceV8,
  RawConnection,
  type ProducePartitionResponse,
  type ProduceV8PartitionResponse,
} from './raw-kafka.js';

const INVALID_RECORD = 87;
const MESSAGE_TOO_LARGE = 10;
const INVALID_TOPIC_EXCEPTION = 17;
const INVALID_TIMESTAMP = 32;

let tb: TestBroker;
let admin: Admin;
let correlation = 0;

before(async () => {
  tb = await startTestBroker({ 'num.partitions': '1' });
  admin = await Admin.connect(tb.bootstrapServers);
});

after(async () => {
  await admin?.close();
  await tb?.stop();
});

/** One raw Produce of `batch` to partition 0, v7 by default or v8 (record errors). */
async function produce(topic: string, batch: Buffer): Promise<{ errorCode: number; baseOffset: bigint }>;
async function produce(topic: string, batch: Buffer, version: 8): Promise<ProduceV8PartitionResponse>;
async function produce(topic: string, batch: Buffer, version: 7 | 8 = 7): Promise<ProducePartitionResponse> {
  const conn = await RawConnection.connect(tb.bootstrapServers);
  try {
    const id = ++correlation;
    const request = (version === 8 ? produceV8 : produceV7)(id, topic, 0, batch);
    const body = await conn.request(request, id, 60_000);
    return (version === 8 ? decodeProduceV8 : decodeProduceV7)(body)[0]!;
  } finally {
    conn.destroy();
  }
}

function reseal(batch: Buffer): Buffer {
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeUInt32BE(crc32cOf(batch, 21, batch.length), 17);
  return batch;
}

/** A one-record batch header around an arbitrary (compressed) records section, with a valid CRC. */
function batchWith(type: CompressionType, section: Buffer): Buffer {
  const header = Buffer.from(encodeBatchSync({ records: [{ value: 'x' }] }).subarray(0, 61));
  header.writeInt16BE(type, 21);
  return reseal(Buffer.concat([header, section]));
}

/** @platformatic/kafka's producer and the partition answer of a send it failed, or null if it succeeded. */
function kafkaProducer(clientId: string): Producer<string, string, string, string> {
  return new Producer({
    clientId,
    bootstrapBrokers: [tb.bootstrapServers],
    serializers: stringSerializers,
    retries: 0,
  });
}

async function refusedPartition(send: Promise<unknown>): Promise<Record<string, unknown> | null> {
  const err = await send.then(
    () => null,
    (e: unknown) => e,
  );
  if (err === null) return null;
  // MultipleErrors → ResponseError carrying the decoded Produce response.
  const responseError = (err as AggregateError).errors[0] as {
    response: { responses: Array<{ partitionResponses: Array<Record<string, unknown>> }> };
  };
  return responseError.response.responses[0]!.partitionResponses[0]!;
}

describe('CRC-valid forgeries', () => {
  test('one record claiming 2^31 offsets, or records that do not parse: INVALID_RECORD, no offsets taken', async () => {
    const topic = uniqueTopic('forged');
    await admin.createTopics([{ name: topic, partitions: 1 }]);
    const huge = encodeBatchSync({ records: [{ value: 'one' }] });
    huge.writeInt32BE(0x7ffffffe, 23); // lastOffsetDelta: the log end would jump by 2^31 - 1
    assert.equal((await produce(topic, reseal(huge))).errorCode, INVALID_RECORD);

    const overrun = encodeBatchSync({ records: [{ key: 'k', value: 'value' }] });
    overrun[65] = 60; // key length 30 in a record of 12 bytes
    assert.equal((await produce(topic, reseal(overrun))).errorCode, INVALID_RECORD);

    const compressed = encodeBatchSync({
      records: [{ value: 'a' }, { value: 'b', offset: 9 }],
      compression: CompressionType.Gzip,
    });
    compressed.writeInt32BE(1, 23); // header agrees with the count; the records inside do not
    assert.equal((await produce(topic, reseal(compressed))).errorCode, INVALID_RECORD);

    const good = await produce(topic, encodeBatchSync({ records: [{ value: 'fine' }] }));
    assert.deepEqual([good.errorCode, good.baseOffset], [0, 0n], 'refused batches took no offsets');
    const [p] = (await admin.describeTopics([topic]))[0]!.partitions;
    assert.equal(p!.latestOffset, 1);
  });
});

describe('decompression bombs', () => {
  const MiB = 1024 * 1024;

  /** ~600 MiB of zeros as concatenated gzip members (each member inflates 1 MiB). */
  function gzipBomb(): Buffer {
    const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
    return Buffer.concat(Array.from({ length: 600 }, () => member));
  }

  /** Raw snappy whose length header declares 4 GiB; the body is a few bytes. */
  function snappyBomb(): Buffer {
    return Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]);
  }

  /** An LZ4 frame of 3,500 independent 64 KiB blocks of zeros: ~230 MiB from ~1 MiB. */
  function lz4Bomb(): Buffer {
    const block = lz4.compressSync(Buffer.alloc(64 * 1024)).subarray(4); // strip lz4-napi's size prefix
    const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
    header[6] = (xxhash32(header, 4, 6) >>> 8) & 0xff;
    const parts: Buffer[] = [header];
    const size = Buffer.alloc(4);
    size.writeUInt32LE(block.length);
    for (let i = 0; i < 3500; i++) parts.push(size, block);
    parts.push(Buffer.alloc(4)); // end mark
    return Buffer.concat(parts);
  }

  /** A zstd frame of 16,384 RLE blocks of 128 KiB: 2 GiB from 64 KiB. */
  function zstdBomb(): Buffer {
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]); // no content size, 128 KiB window
    const blocks = Buffer.alloc(16384 * 4);
    for (let i = 0; i < 16384; i++) {
      const last = i === 16383 ? 1 : 0;
      blocks.writeUIntLE(last | (1 << 1) | ((128 * 1024) << 3), i * 4, 3);
      blocks[i * 4 + 3] = 0;
    }
    return Buffer.concat([header, blocks]);
  }

  const bombs: Array<[string, CompressionType, () => Buffer]> = [
    ['gzip', CompressionType.Gzip, gzipBomb],
    ['snappy', CompressionType.Snappy, snappyBomb],
    ['lz4', CompressionType.Lz4, lz4Bomb],
    ['zstd', CompressionType.Zstd, zstdBomb],
  ];

  for (const [name, type, make] of bombs) {
    test(`${name}: refused with MESSAGE_TOO_LARGE while others are served; memory stays bounded`, async () => {
      const topic = uniqueTopic(`bomb-${name}`);
      const other = uniqueTopic(`bystander-${name}`);
      await admin.createTopics([
        { name: topic, partitions: 1 },
        { name: other, partitions: 1 },
      ]);
      const bomb = batchWith(type, make());
      assert.ok(bomb.length < 1024 * 1024, `${name} bomb fits max.message.bytes (${bomb.length} bytes)`);
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
      try {
        const bystander = (async () => {
          const out: number[] = [];
          for (let i = 0; i < 5; i++) {
            out.push((await produce(other, encodeBatchSync({ records: [{ value: `ok ${i}` }] }))).errorCode);
          }
          return out;
        })();
        const [refused, served] = await Promise.all([produce(topic, bomb), bystander]);
        assert.equal(refused.errorCode, MESSAGE_TOO_LARGE, `${name} bomb must be refused`);
        assert.deepEqual(served, [0, 0, 0, 0, 0], 'the broker keeps serving other producers');
      } finally {
        clearInterval(sampler);
      }
      // The bound is 64 x max.message.bytes (64 MiB here); the bombs inflate to 230 MiB - 4 GiB.
      assert.ok(
        peakRss - rssBefore < 200 * 1024 * 1024,
        `RSS grew by ${Math.round((peakRss - rssBefore) / 1024 / 1024)} MiB`,
      );
      const [p] = (await admin.describeTopics([topic]))[0]!.partitions;
      assert.equal(p!.latestOffset, 0, 'nothing of the bomb was stored');
    });
  }
});

describe('internal topics', () => {
  test('a client cannot produce to __consumer_offsets (INVALID_TOPIC_EXCEPTION), raw and with kafka-python', async (t) => {
    const raw = await produce(
      '__consumer_offsets',
      encodeBatchSync({ records: [{ key: 'forged', value: 'x' }] }),
    );
    assert.equal(raw.errorCode, INVALID_TOPIC_EXCEPTION);
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'apt-get install python3-kafka'))) return;
    const out = await runPythonJson<{ error: string | null }>(
      `
import json, os
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=os.environ['BS'], retries=0, request_timeout_ms=10000)
try:
    p.send('__consumer_offsets', key=b'forged', value=b'offset', partition=0).get(timeout=20)
    err = None
except Exception as e:
    err = type(e).__name__
p.close()
print(json.dumps({'error': err}))
`,
      { BS: tb.bootstrapServers },
      60_000,
    );
    assert.equal(out.error, 'InvalidTopicError');
  });

  test('DeleteTopics of __consumer_offsets is refused and commits keep working (kafka-python)', async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'apt-get install python3-kafka'))) return;
    const topic = uniqueTopic('commits');
    await admin.createTopics([{ name: topic, partitions: 1 }]);
    const out = await runPythonJson<{ deleteError: string | null; committed: [number, number] }>(
      `
import json, os
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata
bs, topic = os.environ['BS'], os.environ['TOPIC']
tp = TopicPartition(topic, 0)
c = KafkaConsumer(bootstrap_servers=bs, group_id='h4-commits', enable_auto_commit=False)
c.assign([tp])
c.commit({tp: OffsetAndMetadata(3, None)})
a = KafkaAdminClient(bootstrap_servers=bs)
try:
    a.delete_topics(['__consumer_offsets'], timeout_ms=10000)
    err = None
except Exception as e:
    err = type(e).__name__
a.close()
c.commit({tp: OffsetAndMetadata(5, None)})
before = c.committed(tp)
c.close()
c2 = KafkaConsumer(bootstrap_servers=bs, group_id='h4-commits', enable_auto_commit=False)
after = c2.committed(tp)
c2.close()
print(json.dumps({'deleteError': err, 'committed': [before, after]}))
`,
      { BS: tb.bootstrapServers, TOPIC: topic },
      90_000,
    );
    assert.equal(out.deleteError, 'InvalidTopicError');
    assert.deepEqual(out.committed, [5, 5]);
    const names = (await admin.describeTopics(['__consumer_offsets']))[0]!;
    assert.equal(names.isInternal, true, '__consumer_offsets still exists');
  });
});

describe('KIP-467: keyless records on a compacted topic', () => {
  test('@platformatic/kafka gets INVALID_RECORD with the keyless record indexes and the error message', async () => {
    const topic = uniqueTopic('compacted-mixed');
    await admin.createTopics([{ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
    const producer = kafkaProducer('h4-kip467');
    try {
      const p = await refusedPartition(
        producer.send({
          acks: ProduceAcks.ALL,
          messages: [
            { topic, partition: 0, key: 'a', value: '1' },
            { topic, partition: 0, value: 'no key' },
            { topic, partition: 0, key: 'c', value: '3' },
          ],
        }),
      );
      assert.ok(p, 'the mixed batch must be refused');
      assert.equal(p.errorCode, INVALID_RECORD);
      assert.deepEqual(p.recordErrors, [
        {
          batchIndex: 1,
          batchIndexErrorMessage: `Compacted topic cannot accept message without key in topic partition ${topic}-0.`,
        },
      ]);
      assert.match(String(p.errorMessage), /One or more records have been rejected due to 1 record errors/);
      // The keyed records alone go through.
      const ok = await producer.send({
        acks: ProduceAcks.ALL,
        messages: [
          { topic, partition: 0, key: 'a', value: '1' },
          { topic, partition: 0, key: 'c', value: '3' },
        ],
      });
      assert.equal(ok.offsets?.[0]?.offset, 0n);
    } finally {
      await producer.close();
    }
  });
});

describe('KIP-467: timestamps outside message.timestamp.before/after.max.ms', () => {
  const HOUR = 3_600_000;

  async function limitedTopic(prefix: string): Promise<string> {
    const topic = uniqueTopic(prefix);
    await admin.createTopics([
      {
        name: topic,
        partitions: 1,
        configs: {
          'message.timestamp.before.max.ms': String(HOUR),
          'message.timestamp.after.max.ms': String(HOUR),
        },
      },
    ]);
    return topic;
  }

  for (const [name, compression] of [
    ['uncompressed', CompressionType.None],
    ['gzip', CompressionType.Gzip],
  ] as const) {
    test(`${name}: the third record two hours old fails the batch with record error 2 (Produce v8)`, async () => {
      const topic = await limitedTopic(`ts-${name}`);
      const now = Date.now();
      const old = now - 2 * HOUR;
      const batch = encodeBatchSync({
        records: [
          { value: 'a', timestamp: now },
          { value: 'b', timestamp: now },
          { value: 'c', timestamp: old },
        ],
        compression,
      });
      const r = await produce(topic, batch, 8);
      assert.equal(r.errorCode, INVALID_TIMESTAMP);
      assert.equal(r.recordErrors.length, 1);
      assert.equal(r.recordErrors[0]!.batchIndex, 2);
      const window = /The timestamp should be within \[(\d+), (\d+)\]$/.exec(
        r.recordErrors[0]!.message ?? '',
      );
      assert.ok(window, r.recordErrors[0]!.message ?? 'no message');
      assert.match(
        r.recordErrors[0]!.message!,
        new RegExp(`^Timestamp ${old} of message with offset 2 is out of range\\.`),
      );
      const [low, high] = [Number(window[1]), Number(window[2])];
      assert.ok(
        high - low === 2 * HOUR && low >= now - HOUR - 60_000 && low <= now,
        `window [${low}, ${high}]`,
      );
      assert.match(
        String(r.errorMessage),
        /^One or more records have been rejected due to invalid timestamp/,
      );
      // The whole batch is refused: nothing stored, the next good batch starts at offset 0.
      const good = await produce(topic, encodeBatchSync({ records: [{ value: 'fine' }], compression }), 8);
      assert.deepEqual([good.errorCode, good.baseOffset, good.recordErrors], [0, 0n, []]);
    });
  }

  test('@platformatic/kafka (gzip) gets INVALID_TIMESTAMP with the record errors', async () => {
    const topic = await limitedTopic('ts-client');
    const producer = kafkaProducer('ts-kip467');
    try {
      const now = BigInt(Date.now());
      const p = await refusedPartition(
        producer.send({
          acks: ProduceAcks.ALL,
          compression: 'gzip',
          messages: [
            { topic, partition: 0, key: 'a', value: '1', timestamp: now },
            { topic, partition: 0, key: 'b', value: '2', timestamp: now + BigInt(3 * HOUR) },
            { topic, partition: 0, key: 'c', value: '3', timestamp: now },
          ],
        }),
      );
      assert.ok(p, 'the batch must be refused');
      assert.equal(p.errorCode, INVALID_TIMESTAMP);
      const errors = p.recordErrors as Array<{ batchIndex: number; batchIndexErrorMessage: string }>;
      assert.deepEqual(
        errors.map((e) => e.batchIndex),
        [1],
      );
      assert.match(
        errors[0]!.batchIndexErrorMessage,
        /^Timestamp \d+ of message with offset 1 is out of range/,
      );
      const ok = await producer.send({
        acks: ProduceAcks.ALL,
        compression: 'gzip',
        messages: [{ topic, partition: 0, key: 'a', value: '1', timestamp: now }],
      });
      assert.equal(ok.offsets?.[0]?.offset, 0n, 'the refused batch took no offsets');
    } finally {
      await producer.close();
    }
  });
});
