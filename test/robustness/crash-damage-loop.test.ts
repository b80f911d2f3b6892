// The crash-and-damage loop (issue 15): a real broker child process takes acks=all produces and offset commits
// from kafkajs, is killed with SIGKILL, one file of a random kind is damaged (a byte flipped in the middle of a
// segment, a segment's tail cut off, garbage in an index, a time index, a checkpoint, a flipped byte in
// __consumer_offsets, garbage in a leader-epoch checkpoint), and the broker is restarted on the same data. It must
// start, and every acknowledged record and commit the damage did not touch must still be there: records read back
// by kcat, commits by kafkajs. Seeded: the seed is printed, BROOK_DAMAGE_SEED=<seed> replays a failing run.
import assert from 'node:assert/strict';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Admin } from '../../src/client/admin.js';
import {
  freePort,
  makeTempDir,
  removeDir,
  spawnBrokerProcess,
  type BrokerProcess,
} from '../helpers/broker.js';
import { hasKcat, requireTool } from '../helpers/external.js';
import { seededRandom } from '../helpers/random.js';
import { runCommand } from '../helpers/run.js';
import { flipByte, listBatches } from '../storage/helpers.js';

const PARTITIONS = 2;
const MESSAGES_PER_PARTITION = 12;
/** At most one round per damage kind; rounds stop early once this much time has gone (CI budget ≤ 45 s). */
const ROUND_BUDGET_MS = 28_000;
const TOPIC = 'loop';
const TOPIC_CONFIG = { 'segment.bytes': '6000', 'index.interval.bytes': '300' };
const KINDS = [
  'segment-flip',
  'truncated-tail',
  'index-garbage',
  'timeindex-garbage',
  'checkpoint-garbage',
  'offsets-flip',
  'epoch-checkpoint-garbage',
] as const;
type Kind = (typeof KINDS)[number];

interface Ledger {
  /** Per partition: offset → acknowledged value. */
  records: Array<Map<number, string>>;
  /** Per partition: offsets of records a damage touched (never checked again). */
  touched: Array<Set<number>>;
  /** Group → committed offset for partition 0 (groups whose commit a damage touched are removed). */
  commits: Map<string, number>;
}

test('crash-and-damage loop: kill -9, damage one random file, restart; everything untouched is still readable', async (t) => {
  if (!(await requireTool(t, 'kcat', hasKcat, 'install the kcat package'))) return;
  const seed = Number(process.env.BROOK_DAMAGE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`seed ${seed} (replay with BROOK_DAMAGE_SEED=${seed})`);
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kinds = [...KINDS];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }

  const dataDir = makeTempDir('brook-damage-loop-');
  const port = await freePort();
  const config = { 'offsets.topic.num.partitions': '1' };
  let bp: BrokerProcess | undefined = await spawnBrokerProcess({ dataDir, port, config });
  const kafka = new Kafka({
    clientId: 'damage-loop',
    brokers: [bp.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const ledger: Ledger = {
    records: Array.from({ length: PARTITIONS }, () => new Map()),
    touched: Array.from({ length: PARTITIONS }, () => new Set()),
    commits: new Map(),
  };
  const started = Date.now();
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: PARTITIONS,
          configEntries: Object.entries(TOPIC_CONFIG).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    await admin.disconnect();

    for (
      let round = 0;
      round < kinds.length && (round < 3 || Date.now() - started < ROUND_BUDGET_MS);
      round++
    ) {
      const where = `seed ${seed}, round ${round}`;
      const t0 = Date.now();
      await produceAndCommit(kafka, bp.bootstrapServers, ledger, round, random);
      const t1 = Date.now();
      bp.kill('SIGKILL');
      assert.equal((await bp.waitExit()).signal, 'SIGKILL');
      bp = undefined;
      const what = await damage(kinds[round]!, dataDir, ledger, random, pick);
      t.diagnostic(`${where}: ${what}`);
      bp = await spawnBrokerProcess({ dataDir, port, config });
      const t2 = Date.now();
      await verify(kafka, bp.bootstrapServers, ledger, `${where} (${what})`);
      t.diagnostic(`produce ${t1 - t0} ms, restart ${t2 - t1} ms, verify ${Date.now() - t2} ms`);
    }
  } finally {
    if (bp) {
      bp.kill('SIGKILL');
      await bp.waitExit();
    }
    removeDir(dataDir);
  }
});

async function produceAndCommit(
  kafka: Kafka,
  bootstrap: string,
  ledger: Ledger,
  round: number,
  random: () => number,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < MESSAGES_PER_PARTITION; i++) {
      for (let p = 0; p < PARTITIONS; p++) {
        const value = `r${round}-p${p}-m${i}-`.padEnd(40 + Math.floor(random() * 900), 'v');
        const [md] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: p, value }] });
        ledger.records[p]!.set(Number(md!.baseOffset), value);
      }
    }
  } finally {
    await producer.disconnect();
  }
  // Three groups commit per round, one OffsetCommit (one __consumer_offsets batch) each, through Brook's own
  // client: kafkajs can only commit by running a consumer in the group (seconds per group).
  const admin = await Admin.connect(bootstrap);
  try {
    for (let g = 0; g < 3; g++) {
      const groupId = `group-r${round}-${g}`;
      const offset = 1 + Math.floor(random() * 1000);
      await admin.commitOffsets(groupId, [{ topic: TOPIC, partition: 0, offset }]);
      ledger.commits.set(groupId, offset);
    }
  } finally {
    await admin.close();
  }
}

interface FileBatch {
  file: string;
  pos: number;
  baseOffset: number;
  lastOffset: number;
  size: number;
}

async function batchesOf(dir: string, file: string): Promise<FileBatch[]> {
  let pos = 0;
  return listBatches(await readFile(join(dir, file))).map((b) => {
    const out = { file, pos, baseOffset: b.baseOffset, lastOffset: b.lastOffset, size: b.size };
    pos += b.size;
    return out;
  });
}

async function filesEnding(dir: string, suffix: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(suffix)).sort();
}

function garbage(random: () => number): Buffer {
  return Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
}

/** Damages one file; records in the ledger what the damage touched; returns a description. */
async function damage(
  kind: Kind,
  dataDir: string,
  ledger: Ledger,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): Promise<string> {
  const p = Math.floor(random() * PARTITIONS);
  const dir = join(dataDir, `${TOPIC}-${p}`);
  switch (kind) {
    case 'segment-flip': {
      const all = [];
      for (const f of await filesEnding(dir, '.log')) all.push(...(await batchesOf(dir, f)));
      const b = pick(all);
      const file = b.file;
      const at = b.pos + 61 + Math.floor(random() * (b.size - 61)); // in the records: the header stays walkable
      await flipByte(join(dir, file), at, 1 + Math.floor(random() * 255));
      for (let o = b.baseOffset; o <= b.lastOffset; o++) ledger.touched[p]!.add(o);
      return `${kind} ${TOPIC}-${p}/${file} byte ${at} (offset ${b.baseOffset})`;
    }
    case 'truncated-tail': {
      const logs = await filesEnding(dir, '.log');
      let file = logs.at(-1)!;
      if ((await stat(join(dir, file))).size === 0) file = logs.at(-2) ?? file; // just rolled: cut the one before
      const before = await batchesOf(dir, file);
      const size = (await stat(join(dir, file))).size;
      const cut = Math.floor(random() * size);
      await truncate(join(dir, file), cut);
      for (const b of before) {
        if (b.pos + b.size > cut)
          for (let o = b.baseOffset; o <= b.lastOffset; o++) ledger.touched[p]!.add(o);
      }
      return `${kind} ${TOPIC}-${p}/${file} from ${size} to ${cut} bytes`;
    }
    case 'index-garbage':
    case 'timeindex-garbage': {
      const suffix = kind === 'index-garbage' ? '.index' : '.timeindex';
      const existing = await filesEnding(dir, suffix);
      // After a kill only sealed segments have index files; a stale one for the active segment is damage too.
      const file =
        existing.length > 0
          ? pick(existing)
          : (await filesEnding(dir, '.log')).at(-1)!.replace('.log', suffix);
      await writeFile(join(dir, file), garbage(random));
      return `${kind} ${TOPIC}-${p}/${file}`;
    }
    case 'checkpoint-garbage': {
      const file = pick(['recovery-point-offset-checkpoint', 'log-start-offset']);
      const content = pick([garbage(random), '0\n-7\n', `0\n${2 ** 40}\n`, '']);
      await writeFile(join(dir, file), content);
      return `${kind} ${TOPIC}-${p}/${file} = ${JSON.stringify(content.toString())}`;
    }
    case 'epoch-checkpoint-garbage': {
      await writeFile(join(dir, 'leader-epoch-checkpoint'), garbage(random));
      return `${kind} ${TOPIC}-${p}/leader-epoch-checkpoint`;
    }
    case 'offsets-flip': {
      const odir = join(dataDir, '__consumer_offsets-0');
      const all = [];
      for (const f of await filesEnding(odir, '.log')) all.push(...(await batchesOf(odir, f)));
      const b = pick(all);
      const file = b.file;
      const data = await readFile(join(odir, file));
      const at = b.pos + 61 + Math.floor(random() * (b.size - 61));
      await flipByte(join(odir, file), at, 1 + Math.floor(random() * 255));
      const bytes = data.subarray(b.pos, b.pos + b.size);
      for (const g of [...ledger.commits.keys()])
        if (bytes.includes(Buffer.from(g))) ledger.commits.delete(g);
      return `${kind} __consumer_offsets-0/${file} byte ${at}`;
    }
  }
}

async function verify(kafka: Kafka, bootstrap: string, ledger: Ledger, where: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(TOPIC);
    for (let p = 0; p < PARTITIONS; p++) {
      const end = Number(ends.find((e) => e.partition === p)!.high);
      const records = ledger.records[p]!;
      const touched = ledger.touched[p]!;
      for (const offset of records.keys()) {
        assert.ok(
          offset < end || touched.has(offset),
          `${where}: acknowledged offset ${offset} of partition ${p} lost (end ${end})`,
        );
      }
      // Touched records the recovery cut off are gone; later produces reuse their offsets.
      for (const offset of [...records.keys()]) if (offset >= end) records.delete(offset);
      for (const offset of [...touched]) if (offset >= end) touched.delete(offset);
      const read = await kcatRanges(bootstrap, p, end, touched);
      for (const [offset, value] of records) {
        if (touched.has(offset)) continue;
        assert.equal(
          read.get(offset),
          value,
          `${where}: acknowledged record ${p}@${offset} must be readable`,
        );
      }
    }
    for (const [groupId, offset] of ledger.commits) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
      const got = committed!.partitions.find((x) => x.partition === 0)!.offset;
      assert.equal(Number(got), offset, `${where}: commit of ${groupId} must survive`);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Reads [0, end) of a partition with kcat, in ranges that step over the touched offsets. */
async function kcatRanges(
  bootstrap: string,
  p: number,
  end: number,
  touched: Set<number>,
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let from = 0;
  while (from < end) {
    while (from < end && touched.has(from)) from++;
    let to = from;
    while (to < end && !touched.has(to)) to++;
    if (to > from) {
      const r = await runCommand(
        'kcat',
        [
          '-C',
          '-b',
          bootstrap,
          '-t',
          TOPIC,
          '-p',
          String(p),
          '-o',
          String(from),
          '-c',
          String(to - from),
          '-q',
          '-f',
          '%o %s\\n',
        ],
        { timeoutMs: 20_000 },
      );
      assert.equal(r.code, 0, `kcat ${p}@[${from}, ${to}) failed: ${r.stderr.slice(-1000)}`);
      for (const line of r.stdout.split('\n').filter((l) => l.length > 0)) {
        const sp = line.indexOf(' ');
        out.set(Number(line.slice(0, sp)), line.slice(sp + 1));
      }
    }
    from = to;
  }
  return out;
}
