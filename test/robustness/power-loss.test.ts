// Power loss, not just a crash: the README promises that with log.flush.before.ack=true every acknowledged
// record survives losing power. kill -9 cannot show that (the page cache survives it), so the broker runs under
// an fsync-tracing shim (test/helpers/power-loss.ts) and, after kill -9 mid-stream, a new broker starts on the
// image the data dir would be after a power loss at that moment: only what was fsynced, files and directory
// entries alike. Two sibling runs prove the harness really drops unsynced data: with the default flush settings
// acknowledged records are lost, and with directory fsyncs ignored the segments rolled during the run vanish.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Broker, Consumer, Producer } from '../../src/index.js';
import { makeTempDir, removeDir, spawnBrokerProcess } from '../helpers/broker.js';
import { requireTool } from '../helpers/external.js';
import { buildFsyncShim, buildImage, recordBaseline, tracedEnv } from '../helpers/power-loss.js';

const TOPIC = 'power';
/** Small segments so the run rolls several new segment files (their directory entries must be fsynced). */
const SEGMENT_BYTES = 8192;
const BATCHES_BEFORE_KILL = 24;
const RECORDS_PER_BATCH = 10;

let shim: string | null | undefined;
let shimDir: string | undefined;

async function needShim(t: TestContext): Promise<string | null> {
  if (shim === undefined) {
    shimDir = makeTempDir('brook-fsync-shim-');
    shim = buildFsyncShim(shimDir);
  }
  const ok = await requireTool(t, 'cc', () => shim !== null, 'a C compiler builds the fsync-tracing shim');
  return ok ? shim! : null;
}

test.after(() => {
  if (shimDir !== undefined) removeDir(shimDir);
});

interface Outcome {
  acked: string[];
  recovered: Set<string>;
  /** Segment files in the power-loss image of the partition. */
  segmentsInImage: number;
}

/** Produces acks=all while the broker runs traced, kills it mid-stream, and reads back the power-loss image. */
async function runToPowerLoss(
  so: string,
  brokerConfig: Record<string, string>,
  opts: { ignoreDirFsyncs?: boolean; segmentBytes?: number } = {},
): Promise<Outcome> {
  const root = makeTempDir('brook-power-');
  const dataDir = join(root, 'data');
  const traceDir = join(root, 'trace');
  const imageDir = join(root, 'image');
  try {
    // The topic exists before the traced run, as after any earlier clean shutdown: that state is durable.
    const setup = await Broker.start({ port: 0, dataDir });
    const admin = await Admin.connect(setup.bootstrapServers);
    await admin.createTopics([
      {
        name: TOPIC,
        partitions: 1,
        configs: { 'segment.bytes': String(opts.segmentBytes ?? SEGMENT_BYTES) },
      },
    ]);
    await admin.close();
    await setup.stop();
    mkdirSync(traceDir);
    recordBaseline(traceDir, dataDir);

    const broker = await spawnBrokerProcess({
      dataDir,
      config: brokerConfig,
      env: tracedEnv(so, traceDir, opts),
    });
    const acked: string[] = [];
    try {
      const producer = await Producer.connect({ bootstrap: broker.bootstrapServers });
      const send = async (b: number): Promise<void> => {
        const values = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => `b${b}-r${i}-${'x'.repeat(80)}`);
        await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
        acked.push(...values);
      };
      for (let b = 0; b < BATCHES_BEFORE_KILL; b++) await send(b);
      // The crash point: more produces in flight, some possibly answered, when the power goes.
      const inFlight = [0, 1, 2].map((i) => send(BATCHES_BEFORE_KILL + i).catch(() => undefined));
      broker.kill('SIGKILL');
      await broker.waitExit();
      await Promise.all(inFlight);
      await producer.close().catch(() => undefined);
    } finally {
      broker.kill('SIGKILL');
      await broker.waitExit();
    }

    buildImage(traceDir, dataDir, imageDir);
    const segmentsInImage = readdirSync(join(imageDir, `${TOPIC}-0`)).filter((f) =>
      f.endsWith('.log'),
    ).length;
    const after = await Broker.start({ port: 0, dataDir: imageDir });
    const recovered = new Set<string>();
    try {
      const consumer = await Consumer.connect({ bootstrap: after.bootstrapServers, maxWaitMs: 100 });
      await consumer.assign([{ topic: TOPIC, partition: 0, offset: 'earliest' }]);
      for (let empty = 0; empty < 3;) {
        const records = await consumer.poll();
        if (records.length === 0) empty++;
        for (const r of records) recovered.add(r.value!.toString());
      }
      await consumer.close();
    } finally {
      await after.stop();
    }
    return { acked, recovered, segmentsInImage };
  } finally {
    removeDir(root);
  }
}

function lost(o: Outcome): string[] {
  return o.acked.filter((v) => !o.recovered.has(v));
}

test('log.flush.before.ack=true: every acknowledged record survives a power loss', async (t) => {
  const so = await needShim(t);
  if (so === null) return;
  const o = await runToPowerLoss(so, { 'log.flush.before.ack': 'true' });
  assert.ok(o.acked.length >= BATCHES_BEFORE_KILL * RECORDS_PER_BATCH);
  assert.ok(o.segmentsInImage >= 3, `segments rolled during the run are in the image (${o.segmentsInImage})`);
  assert.deepEqual(lost(o), [], 'acknowledged records lost');
});

test('the harness drops unsynced data: default flush settings lose acknowledged records', async (t) => {
  const so = await needShim(t);
  if (so === null) return;
  // One segment that never rolls, so nothing is ever fsynced (a roll would seal, and fsync, the old segment).
  const o = await runToPowerLoss(so, {}, { segmentBytes: 1024 * 1024 });
  assert.equal(o.segmentsInImage, 1);
  assert.ok(
    lost(o).length >= BATCHES_BEFORE_KILL * RECORDS_PER_BATCH,
    'unsynced acknowledged records are gone',
  );
});

test('the harness drops unsynced directory entries: without directory fsyncs new segments vanish', async (t) => {
  const so = await needShim(t);
  if (so === null) return;
  const o = await runToPowerLoss(so, { 'log.flush.before.ack': 'true' }, { ignoreDirFsyncs: true });
  assert.equal(o.segmentsInImage, 1, 'only the segment that existed before the run');
  assert.ok(lost(o).length > 0, 'records in segments whose directory entry was never fsynced are lost');
});

test('topics acknowledged by CreateTopics survive a power loss, with their partition directories', async (t) => {
  const so = await needShim(t);
  if (so === null) return;
  const root = makeTempDir('brook-power-create-');
  const dataDir = join(root, 'data');
  const traceDir = join(root, 'trace');
  const imageDir = join(root, 'image');
  const names = Array.from({ length: 40 }, (_, i) => `created-${i}`);
  try {
    mkdirSync(dataDir);
    mkdirSync(traceDir);
    recordBaseline(traceDir, dataDir);
    const broker = await spawnBrokerProcess({ dataDir, env: tracedEnv(so, traceDir) });
    try {
      const admin = await Admin.connect(broker.bootstrapServers);
      // One request, as kafka-topics batches them: the partitions share fsyncs of the data directory.
      await admin.createTopics(names.map((name) => ({ name, partitions: 1 })));
      await admin.close();
    } finally {
      broker.kill('SIGKILL');
      await broker.waitExit();
    }

    buildImage(traceDir, dataDir, imageDir);
    for (const name of names) {
      const files = readdirSync(join(imageDir, `${name}-0`));
      assert.ok(files.includes('partition.metadata'), `${name}-0/partition.metadata in the image: ${files}`);
    }
    const after = await Broker.start({ port: 0, dataDir: imageDir });
    try {
      const admin = await Admin.connect(after.bootstrapServers);
      const listed = new Set(await admin.listTopics());
      await admin.close();
      assert.deepEqual(
        names.filter((n) => !listed.has(n)),
        [],
        'acknowledged topics missing after the power loss',
      );
      const producer = await Producer.connect({ bootstrap: after.bootstrapServers });
      await producer.send({ topic: names[7]!, acks: -1, messages: [{ value: 'after' }] });
      await producer.close();
      const consumer = await Consumer.connect({ bootstrap: after.bootstrapServers, maxWaitMs: 100 });
      await consumer.assign([{ topic: names[7]!, partition: 0, offset: 'earliest' }]);
      let got: string[] = [];
      for (let i = 0; i < 50 && got.length === 0; i++)
        got = (await consumer.poll()).map((r) => r.value!.toString());
      await consumer.close();
      assert.deepEqual(got, ['after']);
    } finally {
      await after.stop();
    }
  } finally {
    removeDir(root);
  }
});
