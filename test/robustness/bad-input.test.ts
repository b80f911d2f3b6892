// Hostile and broken input on raw TCP sockets against an in-process broker: garbage, truncated frames, absurd and
// negative size prefixes, unknown API keys, unsupported versions, a Produce with a corrupt CRC, 500 seeded
// mutations of valid requests, and a slow reader that pipelines big Fetches without ever reading. Throughout, a
// "good" kafkajs producer and a long-lived raw connection keep working; at the end all the good data must be
// intact, the broker alive, and nothing the fuzzer got stored may be corrupt.
//
// Reproduce a failure with the seed printed in the diagnostics: BROOK_FUZZ_SEED=<n> node scripts/run-tests.mjs bad-input
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import {
  API_API_VERSIONS,
  API_METADATA,
  apiVersionsFlexible,
  apiVersionsV0,
  decodeApiVersionsV0,
  decodeFetchV4,
  decodeProduceV7,
  fetchV4,
  frame,
  metadataAtVersion,
  metadataV1,
  produceV7,
  RawConnection,
  readPartition,
  recordBatch,
} from './raw-kafka.js';
import { seededRandom } from '../helpers/random.js';

/** API keys whose requests may legitimately be held by the broker (long-poll / rebalance waits). */
const LONG_POLL_KEYS = new Set([1, 11, 14]);

const SEED = Number(process.env.BROOK_FUZZ_SEED ?? 0x5eed_b400);

const rand = seededRandom(SEED);
const randInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const randBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => randInt(0, 255)));

let tb: TestBroker;
let bootstrap: string;
const topics = {
  good: uniqueTopic('good'),
  crc: uniqueTopic('crc'),
  fuzz: uniqueTopic('fuzz'),
  slow: uniqueTopic('slow'),
};

// ------------------------------------------------------------------------------------------ the good clients

interface GoodAck {
  value: string;
  partition: number;
  offset: number;
}
const goodAcked: GoodAck[] = [];
const goodErrors: string[] = [];
let goodStop = false;
let goodLoop: Promise<void> | undefined;
let goodProducer: Producer | undefined;
let pingConn: RawConnection | undefined;
let pingLoop: Promise<void> | undefined;
let pings = 0;
const pingErrors: string[] = [];
/** Name of the test running now, so a disturbance of the good clients says which abuse caused it. */
let phase = 'setup';

async function startGoodClients(kafka: Kafka): Promise<void> {
  goodProducer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await goodProducer.connect();
  const producer = goodProducer;
  goodLoop = (async () => {
    for (let i = 0; !goodStop; i++) {
      const value = `good-${i}-${'g'.repeat(i % 50)}`;
      const partition = i % 2;
      try {
        const [md] = await producer.send({ topic: topics.good, acks: -1, messages: [{ partition, value }] });
        goodAcked.push({ value, partition, offset: Number(md!.baseOffset) });
      } catch (e) {
        goodErrors.push(`send ${i} during "${phase}": ${(e as Error).message}`);
      }
      await sleep(20);
    }
  })();
  // A long-lived raw connection that must keep getting answers while other connections misbehave.
  pingConn = await RawConnection.connect(bootstrap);
  const conn = pingConn;
  pingLoop = (async () => {
    for (let corr = 1; !goodStop; corr++) {
      const sentDuring = phase;
      try {
        const body = await conn.request(apiVersionsV0(corr), corr, 5_000);
        const r = decodeApiVersionsV0(body);
        if (r.errorCode !== 0)
          pingErrors.push(`ping ${corr} sent during "${sentDuring}": error ${r.errorCode}`);
        pings++;
      } catch (e) {
        pingErrors.push(`ping ${corr} sent during "${sentDuring}": ${(e as Error).message}`);
        if (conn.closed) return;
      }
      await sleep(100);
    }
  })();
}

/** A fresh connection gets a normal ApiVersions v0 answer listing Produce, Fetch, Metadata and ApiVersions. */
async function assertHealthy(what: string): Promise<void> {
  const conn = await RawConnection.connect(bootstrap);
  try {
    const body = await conn.request(apiVersionsV0(4242), 4242, 5_000).catch((e: Error) => {
      throw new Error(`${what}: broker did not answer ApiVersions v0 on a fresh connection: ${e.message}`);
    });
    const r = decodeApiVersionsV0(body);
    assert.equal(r.errorCode, 0, `${what}: ApiVersions error`);
    for (const key of [0, 1, 3, 18]) {
      assert.ok(
        r.apiKeys.some((k) => k.apiKey === key),
        `${what}: ApiVersions must list key ${key}`,
      );
    }
  } finally {
    conn.destroy();
  }
}

/** Opens a connection, writes `bytes`, and reports whether the broker closed it (and any frames it sent). */
async function sendAndWatch(
  bytes: Buffer,
  timeoutMs: number,
): Promise<{ closed: boolean; frames: number; conn: RawConnection }> {
  const conn = await RawConnection.connect(bootstrap);
  conn.write(bytes);
  const closed = await conn.waitClosed(timeoutMs);
  return { closed, frames: conn.pending().length, conn };
}

const rss = () => process.memoryUsage().rss;
const MB = 1024 * 1024;

before(async () => {
  tb = await startTestBroker();
  bootstrap = tb.bootstrapServers;
  const kafka = new Kafka({
    clientId: 'brook-bad-input-good',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: topics.good, numPartitions: 2 },
      { topic: topics.crc, numPartitions: 1 },
      { topic: topics.fuzz, numPartitions: 1 },
      { topic: topics.slow, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  await startGoodClients(kafka);
});

after(async () => {
  goodStop = true;
  await goodLoop;
  await pingLoop;
  pingConn?.destroy();
  await goodProducer?.disconnect().catch(() => {});
  await tb?.stop();
});

// ------------------------------------------------------------------------------------------ tests

describe('bad input on raw sockets', () => {
  beforeEach((t) => {
    phase = t.name;
  });

  test('baseline: ApiVersions v0 and v3 are answered with error 0', async (t) => {
    t.diagnostic(`fuzz seed ${SEED} (BROOK_FUZZ_SEED)`);
    await assertHealthy('baseline');
    const conn = await RawConnection.connect(bootstrap);
    try {
      const body = await conn.request(apiVersionsFlexible(7, 3), 7);
      assert.equal(body.readInt16BE(0), 0, 'ApiVersions v3 error code');
    } finally {
      conn.destroy();
    }
  });

  test('ApiVersions v99 → a v0-format body with error 35 UNSUPPORTED_VERSION and the key list', async () => {
    const conn = await RawConnection.connect(bootstrap);
    try {
      const body = await conn.request(apiVersionsFlexible(99, 99), 99);
      const r = decodeApiVersionsV0(body);
      assert.equal(r.errorCode, 35);
      const av = r.apiKeys.find((k) => k.apiKey === API_API_VERSIONS);
      assert.ok(av, 'the error reply must still list ApiVersions (18) so clients can retry lower');
      assert.equal(av.minVersion, 0);
      assert.ok(av.maxVersion >= 3 && av.maxVersion < 99, `ApiVersions max ${av.maxVersion}`);
      // The connection stays usable: a retry with v0 works.
      const again = decodeApiVersionsV0(await conn.request(apiVersionsV0(100), 100));
      assert.equal(again.errorCode, 0);
    } finally {
      conn.destroy();
    }
  });

  test('Metadata v99 → connection closed, no response', async () => {
    const { closed, frames, conn } = await sendAndWatch(metadataAtVersion(5, 99), 5_000);
    conn.destroy();
    assert.equal(closed, true, 'broker must close the connection');
    assert.equal(frames, 0, 'and send nothing');
    await assertHealthy('after Metadata v99');
  });

  test('unknown API keys → connection closed, no response', async () => {
    for (const apiKey of [9999, 200, 32767, -7]) {
      const { closed, frames, conn } = await sendAndWatch(frame(apiKey, 0, 11, Buffer.alloc(8)), 5_000);
      conn.destroy();
      assert.equal(closed, true, `api key ${apiKey}: broker must close the connection`);
      assert.equal(frames, 0, `api key ${apiKey}: no response frame`);
    }
    await assertHealthy('after unknown api keys');
  });

  test('size prefix 0x7fffffff (2 GB) → connection closed without allocating it', async () => {
    const before = rss();
    const b = Buffer.alloc(4 + 1024);
    b.writeInt32BE(0x7fffffff, 0);
    b.writeInt16BE(API_METADATA, 4);
    const { closed, conn } = await sendAndWatch(b, 5_000);
    // Keep sending a little: the broker must not be waiting to buffer 2 GB.
    if (!closed) conn.write(randBytes(64 * 1024));
    const growth = rss() - before;
    conn.destroy();
    assert.equal(closed, true, 'broker must close a connection that announces a 2 GB request');
    assert.ok(growth < 200 * MB, `RSS grew by ${Math.round(growth / MB)} MB`);
    await assertHealthy('after the 2 GB size prefix');
  });

  test('negative and zero size prefixes → connection closed', async () => {
    for (const size of [-1, -2147483648, -100, 0]) {
      const b = Buffer.alloc(4 + 32);
      b.writeInt32BE(size, 0);
      const { closed, conn } = await sendAndWatch(b, 5_000);
      conn.destroy();
      assert.equal(closed, true, `size ${size}: broker must close the connection`);
    }
    await assertHealthy('after negative sizes');
  });

  test('truncated frames: a partial frame then EOF is dropped; a frame split across writes still works', async () => {
    const full = metadataV1(21, [topics.good]);
    for (const cut of [1, 3, 4, 10, full.length - 1]) {
      const conn = await RawConnection.connect(bootstrap);
      conn.write(full.subarray(0, cut));
      conn.socket.end(); // half-close: no more bytes will come
      const closed = await conn.waitClosed(5_000);
      const frames = conn.pending().length;
      conn.destroy();
      assert.equal(closed, true, `cut at ${cut}: broker must close after EOF`);
      assert.equal(frames, 0, `cut at ${cut}: a partial request must not be answered`);
    }
    // A partial frame left hanging does not block anyone else; completing it later gets an answer.
    const slow = await RawConnection.connect(bootstrap);
    try {
      slow.write(full.subarray(0, 9));
      await sleep(300);
      await assertHealthy('while a partial frame is pending');
      slow.write(full.subarray(9, 20));
      await sleep(300);
      slow.write(full.subarray(20));
      const body = await slow.response(21, 5_000);
      assert.ok(body, 'the completed frame must be answered');
    } finally {
      slow.destroy();
    }
  });

  test('random garbage (no framing) on 100 connections', async () => {
    const conns: RawConnection[] = [];
    for (let i = 0; i < 100; i++) {
      const c = await RawConnection.connect(bootstrap);
      c.write(randBytes(randInt(1, 4096)));
      if (i % 3 === 0) c.socket.end();
      conns.push(c);
    }
    await sleep(1_000);
    for (const c of conns) c.destroy();
    await assertHealthy('after garbage');
  });

  test('200 framed random requests (random api key, version, body): answered or closed, never hung', async () => {
    const hung: string[] = [];
    let conn = await RawConnection.connect(bootstrap);
    try {
      for (let i = 0; i < 200; i++) {
        const apiKey = randInt(0, 80);
        const version = randInt(0, 20);
        const f = frame(apiKey, version, randInt(0, 1000), randBytes(randInt(0, 300)), rand() < 0.5);
        const probe = 0x7a000000 + i;
        conn.write(Buffer.concat([f, apiVersionsV0(probe)]));
        const r = await conn.response(probe, 5_000);
        if (!r) {
          if (!conn.closed && !LONG_POLL_KEYS.has(apiKey))
            hung.push(`#${i} key ${apiKey} v${version}: ${f.toString('hex')}`);
          conn.destroy();
          conn = await RawConnection.connect(bootstrap);
        }
      }
    } finally {
      conn.destroy();
    }
    assert.deepEqual(hung, [], 'the broker neither answered nor closed the connection');
    await assertHealthy('after framed random requests');
  });

  test('Produce v7 with a corrupt CRC → error 2 CORRUPT_MESSAGE, nothing stored', async () => {
    const conn = await RawConnection.connect(bootstrap);
    try {
      const good1 = recordBatch([{ key: Buffer.from('k1'), value: Buffer.from('first') }]);
      const bad = recordBatch([{ key: Buffer.from('k2'), value: Buffer.from('corrupt me') }]);
      bad[bad.length - 3] ^= 0xff; // flip a byte inside the record: the CRC no longer matches
      const good2 = recordBatch([{ key: Buffer.from('k3'), value: Buffer.from('second') }]);

      const r1 = decodeProduceV7(await conn.request(produceV7(1, topics.crc, 0, good1), 1));
      assert.deepEqual(
        r1.map((p) => [p.topic, p.partition, p.errorCode, p.baseOffset]),
        [[topics.crc, 0, 0, 0n]],
      );
      const r2 = decodeProduceV7(await conn.request(produceV7(2, topics.crc, 0, bad), 2));
      assert.equal(r2.length, 1);
      assert.equal(r2[0]!.errorCode, 2, 'corrupt CRC must answer CORRUPT_MESSAGE (2)');
      const badCrc = Buffer.from(good1);
      badCrc.writeUInt32BE((badCrc.readUInt32BE(17) ^ 1) >>> 0, 17); // wrong CRC field, intact data
      const r2b = decodeProduceV7(await conn.request(produceV7(3, topics.crc, 0, badCrc), 3));
      assert.equal(r2b[0]!.errorCode, 2, 'wrong CRC field must answer CORRUPT_MESSAGE (2)');
      const r3 = decodeProduceV7(await conn.request(produceV7(4, topics.crc, 0, good2), 4));
      assert.equal(r3[0]!.errorCode, 0);
      assert.equal(r3[0]!.baseOffset, 1n, 'the rejected batches must not take offsets');
    } finally {
      conn.destroy();
    }
    const stored = await readPartition(bootstrap, topics.crc, 0);
    assert.deepEqual(
      stored.map((r) => [Number(r.offset), r.key?.toString(), r.value?.toString()]),
      [
        [0, 'k1', 'first'],
        [1, 'k3', 'second'],
      ],
    );
  });

  test('500 mutations of valid ApiVersions/Metadata/Fetch/Produce frames (seeded): answered or closed, never hung', async (t) => {
    const templates: Array<{ name: string; make: (corr: number) => Buffer }> = [
      { name: 'ApiVersions v0', make: (c) => apiVersionsV0(c) },
      { name: 'ApiVersions v3', make: (c) => apiVersionsFlexible(c, 3) },
      { name: 'Metadata v1 all', make: (c) => metadataV1(c, null) },
      { name: 'Metadata v1 topic', make: (c) => metadataV1(c, [topics.fuzz]) },
      { name: 'Fetch v4', make: (c) => fetchV4(c, topics.fuzz, 0, 0n, 64 * 1024, 10) },
      {
        name: 'Produce v7',
        make: (c) =>
          produceV7(
            c,
            topics.fuzz,
            0,
            recordBatch([
              {
                key: Buffer.from(`fk-${c}`),
                value: Buffer.from(`fuzz-value-${c}`),
                headers: [['h', Buffer.from('v')]],
              },
              { key: null, value: Buffer.from('second') },
            ]),
          ),
      },
    ];
    const hung: string[] = [];
    let closes = 0;
    let conn = await RawConnection.connect(bootstrap);
    try {
      for (let i = 0; i < 500; i++) {
        const tpl = templates[i % templates.length]!;
        const f = Buffer.from(tpl.make(1000 + i));
        const flips = randInt(1, 4);
        const positions: number[] = [];
        for (let k = 0; k < flips; k++) {
          const pos = randInt(4, f.length - 1); // never the size prefix: framing stays intact
          positions.push(pos);
          f[pos] = rand() < 0.5 ? f[pos]! ^ (1 << randInt(0, 7)) : randInt(0, 255);
        }
        const probe = 0x7b000000 + i;
        conn.write(Buffer.concat([f, apiVersionsV0(probe)]));
        const r = await conn.response(probe, 5_000);
        if (!r) {
          if (conn.closed) closes++;
          else if (!LONG_POLL_KEYS.has(f.readInt16BE(4))) {
            hung.push(`#${i} ${tpl.name} flips at ${positions.join(',')}: ${f.toString('hex')}`);
          }
          conn.destroy();
          conn = await RawConnection.connect(bootstrap);
        }
      }
    } finally {
      conn.destroy();
    }
    t.diagnostic(`mutations: ${closes} connections closed by the broker, ${hung.length} hung`);
    assert.deepEqual(hung, [], 'the broker neither answered nor closed the connection (seed ' + SEED + ')');
    await assertHealthy('after mutations');
    // Whatever mutated Produce requests got stored must be intact: valid CRCs, parseable records.
    const stored = await readPartition(bootstrap, topics.fuzz, 0);
    t.diagnostic(`fuzz topic holds ${stored.length} records`);
  });

  test('slow reader: 600 pipelined 2 MB Fetches + 2000 Metadata, never read → RSS stays bounded', async (t) => {
    // ~2 MB in the partition, so every Fetch answer is ~2 MB (1.2 GB if the broker buffered them all). A broker
    // that stops reading a connection whose responses are not being consumed keeps this to a few responses.
    const conn = await RawConnection.connect(bootstrap);
    try {
      for (let i = 0; i < 20; i++) {
        const value = Buffer.alloc(100 * 1024, 97 + (i % 26));
        const r = decodeProduceV7(
          await conn.request(produceV7(i, topics.slow, 0, recordBatch([{ key: null, value }])), i),
        );
        assert.equal(r[0]!.errorCode, 0);
      }
    } finally {
      conn.destroy();
    }
    const baseline = process.memoryUsage();
    const slow = new Socket();
    await new Promise<void>((resolve, reject) => {
      slow.once('error', reject);
      slow.connect(Number(bootstrap.split(':')[1]), '127.0.0.1', () => resolve());
    });
    slow.on('error', () => {});
    slow.pause(); // never read: the broker's writes back up
    const reqs: Buffer[] = [];
    for (let i = 0; i < 600; i++) reqs.push(fetchV4(10_000 + i, topics.slow, 0, 0n, 2 * 1024 * 1024, 0));
    for (let i = 0; i < 2000; i++) reqs.push(metadataV1(20_000 + i, null));
    slow.write(Buffer.concat(reqs));
    let peakRss = baseline.rss;
    let peakBuffers = baseline.external + baseline.arrayBuffers;
    const until = Date.now() + 8_000;
    let healthyDuring = false;
    while (Date.now() < until) {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakBuffers = Math.max(peakBuffers, m.external + m.arrayBuffers);
      if (!healthyDuring && Date.now() > until - 6_000) {
        await assertHealthy('while a slow reader is backed up');
        healthyDuring = true;
      }
      await sleep(20);
    }
    // Now read: the pipelined requests must be answered in order, starting with the first 2 MB Fetch.
    const first = await new Promise<{ corr: number; size: number; errorCode: number; records: number }>(
      (resolve, reject) => {
        let acc = Buffer.alloc(0);
        const timer = setTimeout(
          () => reject(new Error('no response after the slow reader started reading')),
          10_000,
        );
        slow.on('data', (d: Buffer) => {
          acc = Buffer.concat([acc, d]);
          if (acc.length < 4 || acc.length < 4 + acc.readInt32BE(0)) return;
          clearTimeout(timer);
          slow.removeAllListeners('data');
          const f = acc.subarray(4, 4 + acc.readInt32BE(0));
          const r = decodeFetchV4(f.subarray(4), topics.slow, 0);
          resolve({
            corr: f.readInt32BE(0),
            size: f.length,
            errorCode: r.errorCode,
            records: r.records.length,
          });
        });
        slow.resume();
      },
    );
    slow.destroy();
    assert.equal(first.corr, 10_000, 'the first response answers the first pipelined request');
    assert.equal(first.errorCode, 0);
    assert.ok(first.records > 1.5 * MB, `the first Fetch returned ${first.records} bytes of records`);
    const growth = peakRss - baseline.rss;
    t.diagnostic(
      `RSS baseline ${Math.round(baseline.rss / MB)} MB, peak ${Math.round(peakRss / MB)} MB; ` +
        `Buffer memory baseline ${Math.round((baseline.external + baseline.arrayBuffers) / MB)} MB, ` +
        `peak ${Math.round(peakBuffers / MB)} MB`,
    );
    assert.ok(
      growth < 300 * MB,
      `RSS grew by ${Math.round(growth / MB)} MB with a slow reader (limit 300 MB)`,
    );
    await sleep(500);
    await assertHealthy('after the slow reader left');
  });

  test('the good clients were never disturbed and all their data is intact', async () => {
    assert.ok(goodAcked.length > 20, `the good producer made progress (${goodAcked.length} acks)`);
    assert.ok(pings > 10, `the long-lived raw connection kept being answered (${pings} pings)`);
    goodStop = true;
    await goodLoop;
    await pingLoop;
    assert.deepEqual(goodErrors, [], 'the good producer must not see errors');
    assert.deepEqual(pingErrors, [], 'the long-lived connection must not see errors');
    for (const p of [0, 1]) {
      const stored = await readPartition(bootstrap, topics.good, p);
      const mine = goodAcked.filter((a) => a.partition === p);
      assert.deepEqual(
        stored.map((r) => [Number(r.offset), r.value?.toString()]),
        mine.map((a) => [a.offset, a.value]),
        `partition ${p}: exactly the acknowledged messages, at their offsets`,
      );
    }
    await assertHealthy('at the end');
  });
});
