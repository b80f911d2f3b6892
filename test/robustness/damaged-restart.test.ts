// A broker restarted on damaged files (issue 15, "Starting after damage"): records are produced with acks=all by a
// real client (kafkajs), the broker is stopped, one file is damaged, and the broker must start again, delete
// nothing, and serve every acknowledged record the damage did not touch to kcat and kafka-python. A damaged batch
// surfaces as an error in the client (CORRUPT_MESSAGE), never as an endless empty fetch.
import assert from 'node:assert/strict';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { makeTempDir, removeDir, uniqueTopic } from '../helpers/broker.js';
import { hasKcat, hasPythonKafka, requireTool } from '../helpers/external.js';
import { runCommand, runPythonWithParams } from '../helpers/run.js';
import { flipByte, listBatches } from '../storage/helpers.js';

const MESSAGES = 40;
/** Small segments and a dense index: the partition has sealed segments with real index entries. */
const TOPIC_CONFIG = { 'segment.bytes': '4096', 'index.interval.bytes': '400' };
const OFFSETS_PARTITIONS = '1';

interface Running {
  broker: Broker;
  bootstrap: string;
  logLines: string[];
}

async function startBroker(dataDir: string): Promise<Running> {
  const logLines: string[] = [];
  const logger: Logger = createLogger({
    level: 'info',
    env: {},
    stream: { write: (l: string) => logLines.push(l) },
  });
  const broker = await Broker.start({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logger,
    config: { 'offsets.topic.num.partitions': OFFSETS_PARTITIONS },
  });
  return { broker, bootstrap: broker.bootstrapServers, logLines };
}

function kafkaFor(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'damage-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

/** Produces MESSAGES values one send (one batch) at a time with acks=all; returns value by offset. */
async function produceAcked(bootstrap: string, topic: string): Promise<Map<number, string>> {
  const kafka = kafkaFor(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 1,
        configEntries: Object.entries(TOPIC_CONFIG).map(([name, value]) => ({ name, value })),
      },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const acked = new Map<number, string>();
  for (let i = 0; i < MESSAGES; i++) {
    const value = `m${i}-`.padEnd(180, 'x');
    const [md] = await producer.send({ topic, acks: -1, messages: [{ partition: 0, value }] });
    acked.set(Number(md!.baseOffset), value);
  }
  await producer.disconnect();
  return acked;
}

/** Reads partition 0 from `from` to the end with kcat; offset → value. */
async function kcatRead(bootstrap: string, topic: string, from = 0): Promise<Map<number, string>> {
  const r = await runCommand(
    'kcat',
    ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', String(from), '-e', '-q', '-f', '%o %s\\n'],
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, `kcat failed: ${r.stderr.slice(-2000)}`);
  const out = new Map<number, string>();
  for (const line of r.stdout.split('\n').filter((l) => l.length > 0)) {
    const sp = line.indexOf(' ');
    out.set(Number(line.slice(0, sp)), line.slice(sp + 1));
  }
  return out;
}

/** Every acknowledged record except those at `touched` offsets is read back unchanged. */
function assertSurvivors(
  read: Map<number, string>,
  acked: Map<number, string>,
  touched: number[] = [],
): void {
  for (const [offset, value] of acked) {
    if (touched.includes(offset)) continue;
    assert.equal(read.get(offset), value, `acknowledged record at offset ${offset} must be readable`);
  }
}

function partitionDir(dataDir: string, topic: string): string {
  return join(dataDir, `${topic}-0`);
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
}

/** Every batch of a partition, with the file and position it lives at. */
async function batchesOf(
  dir: string,
): Promise<Array<{ file: string; pos: number; baseOffset: number; size: number }>> {
  const out = [];
  for (const file of await segmentFiles(dir)) {
    let pos = 0;
    for (const b of listBatches(await readFile(join(dir, file)))) {
      out.push({ file, pos, baseOffset: b.baseOffset, size: b.size });
      pos += b.size;
    }
  }
  return out;
}

/** Produce, stop cleanly (the clean-shutdown marker is written), damage, restart; `check` runs on the restarted broker. */
async function withDamage(
  damage: (dir: string, dataDir: string) => Promise<void>,
  check: (b: Running, acked: Map<number, string>, topic: string) => Promise<void>,
): Promise<void> {
  const dataDir = makeTempDir('brook-damage-');
  const topic = uniqueTopic('damage');
  try {
    const first = await startBroker(dataDir);
    let acked: Map<number, string>;
    try {
      acked = await produceAcked(first.bootstrap, topic);
    } finally {
      await first.broker.stop();
    }
    assert.ok((await segmentFiles(partitionDir(dataDir, topic))).length >= 3, 'sealed segments exist');
    await damage(partitionDir(dataDir, topic), dataDir);
    const second = await startBroker(dataDir);
    try {
      await check(second, acked, topic);
    } finally {
      await second.broker.stop();
    }
  } finally {
    removeDir(dataDir);
  }
}

async function needKcat(t: TestContext): Promise<boolean> {
  return requireTool(t, 'kcat', hasKcat, 'install the kcat package');
}

test('a truncated last segment under a clean-shutdown marker: the broker starts and kcat reads the rest', async (t) => {
  if (!(await needKcat(t))) return;
  let lost = -1;
  await withDamage(
    async (dir) => {
      const batches = await batchesOf(dir);
      const last = batches.at(-1)!;
      lost = last.baseOffset;
      await truncate(join(dir, last.file), last.pos + last.size - 9);
    },
    async (b, acked, topic) => {
      const read = await kcatRead(b.bootstrap, topic);
      assertSurvivors(read, acked, [lost]);
      assert.equal(read.size, MESSAGES - 1);
      assert.ok(
        b.logLines.some((l) => /clean-shutdown marker does not hold/.test(l)),
        'the fallback is logged',
      );
    },
  );
});

test('shifted .index files (sealed and active segments): the broker starts and serves every offset', async (t) => {
  if (!(await needKcat(t))) return;
  await withDamage(
    async (dir) => {
      const indexes = (await readdir(dir)).filter((n) => n.endsWith('.index'));
      for (const name of indexes) {
        const buf = await readFile(join(dir, name));
        for (let at = 0; at + 8 <= buf.length; at += 8) buf.writeInt32BE(buf.readInt32BE(at + 4) + 3, at + 4);
        await writeFile(join(dir, name), buf);
      }
    },
    async (b, acked, topic) => {
      assertSurvivors(await kcatRead(b.bootstrap, topic), acked);
      // Reads that start at each offset, through the index: none may come back empty.
      for (const offset of [3, 17, 33]) {
        const read = await kcatRead(b.bootstrap, topic, offset);
        assert.equal(read.get(offset), acked.get(offset), `a fetch at offset ${offset}`);
      }
    },
  );
});

test('a log-start-offset checkpoint beyond the log end is ignored: nothing is deleted', async (t) => {
  if (!(await needKcat(t))) return;
  await withDamage(
    async (dir) => writeFile(join(dir, 'log-start-offset'), '0\n123456789\n'),
    async (b, acked, topic) => {
      const read = await kcatRead(b.bootstrap, topic);
      assertSurvivors(read, acked);
      assert.equal(read.size, MESSAGES);
      assert.ok(b.logLines.some((l) => /log-start-offset checkpoint beyond the log end/.test(l)));
    },
  );
});

const CONSUME_PAST_DAMAGE = String.raw`
from kafka import KafkaConsumer, TopicPartition
import kafka.errors as E
tp = TopicPartition(P['topic'], 0)
c = KafkaConsumer(bootstrap_servers=BS, group_id=None, enable_auto_commit=False, request_timeout_ms=15000)
c.assign([tp])
c.seek(tp, 0)
out, errors = {}, []
deadline = time.time() + 30
while c.position(tp) < P['end'] and time.time() < deadline:
    try:
        for recs in c.poll(timeout_ms=500).values():
            for r in recs:
                out[r.offset] = r.value.decode()
    except E.KafkaError as e:
        # What an application does with a damaged record: note it and seek past it.
        errors.append({'offset': c.position(tp), 'error': type(e).__name__})
        c.seek(tp, c.position(tp) + 1)
c.close()
print(json.dumps({'records': out, 'errors': errors}))
`;

test('a corrupt batch in a sealed segment: kafka-python gets CorruptRecordException there and reads the rest; kcat shows an error', async (t) => {
  if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install python3-kafka'))) return;
  if (!(await needKcat(t))) return;
  let victim = -1;
  await withDamage(
    async (dir) => {
      const batches = await batchesOf(dir);
      const first = await segmentFiles(dir);
      const inFirst = batches.filter((b) => b.file === first[0]);
      const v = inFirst[Math.floor(inFirst.length / 2)]!;
      victim = v.baseOffset;
      await flipByte(join(dir, v.file), v.pos + v.size - 20); // inside the record's value
    },
    async (b, acked, topic) => {
      const res = await runPythonWithParams<{
        records: Record<string, string>;
        errors: Array<{ offset: number; error: string }>;
      }>(CONSUME_PAST_DAMAGE, { bootstrap: b.bootstrap, topic, end: MESSAGES }, 60_000);
      assert.deepEqual(res.errors, [{ offset: victim, error: 'CorruptRecordException' }]);
      const read = new Map(Object.entries(res.records).map(([k, v]) => [Number(k), v]));
      assertSurvivors(read, acked, [victim]);
      assert.equal(read.size, MESSAGES - 1);
      // The damage is logged once, however often it is fetched.
      assert.equal(b.logLines.filter((l) => /corrupt batch on disk/.test(l)).length, 1, b.logLines.join(''));
      // kcat (librdkafka) surfaces the broker's answer as an error instead of waiting silently.
      const r = await runCommand(
        'kcat',
        ['-C', '-b', b.bootstrap, '-t', topic, '-p', '0', '-o', String(victim), '-c', '1', '-q'],
        { timeoutMs: 8_000 },
      );
      assert.match(r.stderr, /Invalid message|corrupt/i, `kcat stderr: ${r.stderr.slice(-500)}`);
      // And from just past it, kcat reads on.
      assertSurvivors(
        await kcatRead(b.bootstrap, topic, victim + 1),
        new Map([...acked].filter(([o]) => o > victim)),
      );
    },
  );
});

const COMMIT = String.raw`
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
tp = TopicPartition(P['topic'], 0)
for g, offsets in P['commits']:
    c = KafkaConsumer(bootstrap_servers=BS, group_id=g, enable_auto_commit=False)
    for o in offsets:
        c.commit({tp: OffsetAndMetadata(o, '')})
    c.close()
print(json.dumps({}))
`;

const FETCH_COMMITTED = String.raw`
from kafka import KafkaConsumer, TopicPartition
tp = TopicPartition(P['topic'], 0)
out = {}
for g in P['groups']:
    c = KafkaConsumer(bootstrap_servers=BS, group_id=g, enable_auto_commit=False)
    out[g] = c.committed(tp)
    c.close()
print(json.dumps(out))
`;

test('a flipped byte in __consumer_offsets: the broker starts twice and keeps every good commit', async (t) => {
  if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install python3-kafka'))) return;
  const dataDir = makeTempDir('brook-damage-');
  const topic = uniqueTopic('offsets-damage');
  const groups = ['g-a', 'g-b', 'g-c', 'g-d'];
  try {
    const first = await startBroker(dataDir);
    try {
      await produceAcked(first.bootstrap, topic);
      // Each group commits twice; the victim is g-b's first commit: g-b keeps its second one.
      await runPythonWithParams(
        COMMIT,
        { bootstrap: first.bootstrap, topic, commits: groups.map((g, i) => [g, [i + 1, i + 10]]) },
        60_000,
      );
    } finally {
      await first.broker.stop();
    }
    const dir = join(dataDir, '__consumer_offsets-0');
    const file = (await segmentFiles(dir))[0]!;
    const data = await readFile(join(dir, file));
    let pos = 0;
    let flipped = false;
    for (const b of listBatches(data)) {
      // The first batch that mentions g-b is its first commit.
      if (!flipped && data.subarray(pos, pos + b.size).includes(Buffer.from('g-b'))) {
        await flipByte(join(dir, file), pos + b.size - 6);
        flipped = true;
      }
      pos += b.size;
    }
    assert.ok(flipped);
    assert.equal((await stat(join(dir, file))).size, data.length);
    for (let start = 1; start <= 2; start++) {
      const b = await startBroker(dataDir);
      try {
        const committed = await runPythonWithParams<Record<string, number>>(
          FETCH_COMMITTED,
          { bootstrap: b.bootstrap, topic, groups },
          60_000,
        );
        assert.deepEqual(committed, { 'g-a': 10, 'g-b': 11, 'g-c': 12, 'g-d': 13 }, `start ${start}`);
        if (start === 1) assert.ok(b.logLines.some((l) => /corrupt __consumer_offsets batch/.test(l)));
      } finally {
        await b.broker.stop();
      }
    }
  } finally {
    removeDir(dataDir);
  }
});
