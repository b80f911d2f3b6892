// Transactions with confluent-kafka-python (Debian python3-confluent-kafka, librdkafka 2.0.2):
// - commit and abort across many partitions: read_committed consumers see exactly the committed
//   records, read_uncommitted ones everything; an open transaction holds the read_committed end
//   offset (ListOffsets with isolation) at its first record;
// - zombie fencing: a second producer with the same transactional.id fences the first, whose later
//   writes fail and never become visible;
// - the broker killed (-9) mid-transaction: after restart the ongoing transaction is still open
//   (LSO held), the coordinator aborts it at its timeout, consumers move past it; aborted records
//   stay hidden across the restart (.txnindex);
// - consume-transform-produce with send_offsets_to_transaction (clients/cfk-txn-processor.py), the
//   processor kill -9ed three times: the read_committed output holds every input once, in order;
// - the broker killed between the commit decision and its markers (PrepareCommit, crash points):
//   after restart the transaction is committed everywhere.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { makeTempDir, removeDir, spawnBrokerProcess, uniqueTopic, withBroker } from '../helpers/broker.js';
import { hasConfluentKafkaPython, requireTool } from '../helpers/external.js';
import { PYTHON } from '../helpers/external.js';
import { runPythonWithParams, spawnLongRunning, type LongRunning } from '../helpers/run.js';

const PROCESSOR = join(dirname(fileURLToPath(import.meta.url)), 'clients', 'cfk-txn-processor.py');
/** Input records of the consume-transform-produce run (BROOK_TXN_CTP_RECORDS=100000: the size). */
const CTP_RECORDS = Number(process.env.BROOK_TXN_CTP_RECORDS ?? 6_000);
const CTP_KILLS = 3;
const TEST_TIMEOUT_MS = 180_000;
const PY_TIMEOUT_MS = 90_000;
const PARTITIONS = 6;

function needClient(t: TestContext): Promise<boolean> {
  return requireTool(
    t,
    'confluent-kafka-python',
    hasConfluentKafkaPython,
    'install Debian python3-confluent-kafka to run the transaction interop tests',
  );
}

const IMPORTS = String.raw`
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
def create_topic(name, partitions):
    admin = AdminClient({'bootstrap.servers': BS})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(30)
def txn_producer(tid, timeout_ms=60000):
    p = Producer({'bootstrap.servers': BS, 'transactional.id': tid, 'transaction.timeout.ms': timeout_ms,
                  'linger.ms': 5})
    p.init_transactions(30)
    return p
def consume(topic, partitions, iso, quiet_s=2.0, limit_s=30):
    c = Consumer({'bootstrap.servers': BS, 'group.id': 'check-' + iso, 'isolation.level': iso,
                  'enable.auto.commit': False})
    c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in range(partitions)])
    out = []
    end = time.time() + limit_s
    last = time.time()
    while time.time() < end and time.time() - last < quiet_s:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            continue
        out.append(m.value().decode())
        last = time.time()
    c.close()
    return out
def end_offsets(topic, partitions, iso):
    c = Consumer({'bootstrap.servers': BS, 'group.id': 'wm-' + iso, 'isolation.level': iso})
    out = [c.get_watermark_offsets(TopicPartition(topic, i), timeout=10)[1] for i in range(partitions)]
    c.close()
    return out
`;

const COMMIT_ABORT = String.raw`
topic = P['topic']
create_topic(topic, P['partitions'])
p = txn_producer('txn-commit-abort')
expected = []
for t in range(4):
    p.begin_transaction()
    vals = ['t%d-%d' % (t, i) for i in range(60)]
    for i, v in enumerate(vals):
        p.produce(topic, value=v.encode(), partition=i % P['partitions'])
    if t % 2 == 0:
        p.commit_transaction(30)
        expected += vals
    else:
        p.flush(30)
        p.abort_transaction(30)
# An open transaction: flushed, not decided.
committed_before = end_offsets(topic, P['partitions'], 'read_committed')
p.begin_transaction()
for i in range(P['partitions']):
    p.produce(topic, value=b'open-%d' % i, partition=i)
p.flush(30)
lso_open = end_offsets(topic, P['partitions'], 'read_committed')
hw_open = end_offsets(topic, P['partitions'], 'read_uncommitted')
during = consume(topic, P['partitions'], 'read_committed', quiet_s=1.5)
p.commit_transaction(30)
expected += ['open-%d' % i for i in range(P['partitions'])]
print(json.dumps({'expected': expected, 'committed': consume(topic, P['partitions'], 'read_committed'),
                  'uncommitted': consume(topic, P['partitions'], 'read_uncommitted'),
                  'committedBefore': committed_before, 'lsoOpen': lso_open, 'hwOpen': hw_open,
                  'during': during}))
`;

const FENCING = String.raw`
topic = P['topic']
create_topic(topic, 2)
a = txn_producer('txn-zombie')
a.begin_transaction()
for i in range(10):
    a.produce(topic, value=b'a-%d' % i, partition=i % 2)
a.flush(30)
b = txn_producer('txn-zombie')   # fences a, aborting its open transaction
b.begin_transaction()
for i in range(10):
    b.produce(topic, value=b'b-%d' % i, partition=i % 2)
b.commit_transaction(30)
zombie = None
try:
    a.produce(topic, value=b'a-late', partition=0)
    a.produce(topic, value=b'a-late', partition=1)
    a.flush(10)
    a.commit_transaction(10)
    zombie = 'committed'
except KafkaException as e:
    zombie = {'code': e.args[0].code(), 'fatal': e.args[0].fatal(), 'msg': e.args[0].str()}
print(json.dumps({'zombie': zombie, 'committed': consume(topic, 2, 'read_committed'),
                  'uncommitted': consume(topic, 2, 'read_uncommitted')}))
`;

// Leaves a transaction open (records written, flushed) and exits without ending it.
const LEAVE_OPEN = String.raw`
topic = P['topic']
if P.get('create'):
    create_topic(topic, 2)
p = txn_producer(P['tid'], P['timeoutMs'])
if P.get('aborted'):
    p.begin_transaction()
    p.produce(topic, value=b'aborted-0', partition=0)
    p.produce(topic, value=b'aborted-1', partition=1)
    p.flush(30)
    p.abort_transaction(30)
if P.get('committed'):
    p.begin_transaction()
    p.produce(topic, value=b'committed-0', partition=0)
    p.commit_transaction(30)
p.begin_transaction()
for i in range(10):
    p.produce(topic, value=b'open-%d' % i, partition=i % 2)
p.flush(30)
print(json.dumps({'ends': end_offsets(topic, 2, 'read_committed')}))
os._exit(0)
`;

const COMMIT_ONE = String.raw`
topic = P['topic']
p = txn_producer(P['tid'])
p.begin_transaction()
for i in range(10):
    p.produce(topic, value=b'pc-%d' % i, partition=i % 2)
p.flush(30)
print(json.dumps({'flushed': True}), flush=True)
p.commit_transaction(P.get('commitTimeoutS', 30))
print(json.dumps({'committed': True}))
`;

const READ_BOTH = String.raw`
topic = P['topic']
print(json.dumps({'committed': consume(topic, 2, 'read_committed'),
                  'uncommitted': consume(topic, 2, 'read_uncommitted'),
                  'ends': end_offsets(topic, 2, 'read_committed'),
                  'hws': end_offsets(topic, 2, 'read_uncommitted')}))
`;

const PRODUCE_INPUT = String.raw`
create_topic(P['input'], 3)
create_topic(P['output'], 3)
p = Producer({'bootstrap.servers': BS, 'linger.ms': 20})
for i in range(P['n']):
    p.produce(P['input'], value=b'm-%d' % i, partition=i % 3)
    if i % 10000 == 0:
        p.flush(30)
p.flush(60)
print(json.dumps({}))
`;

const READ_OUTPUT = String.raw`
c = Consumer({'bootstrap.servers': BS, 'group.id': 'ctp-check', 'isolation.level': 'read_committed',
              'enable.auto.commit': False})
c.assign([TopicPartition(P['output'], i, OFFSET_BEGINNING) for i in range(3)])
out = [[], [], []]
end = time.time() + 120
last = time.time()
total = 0
while time.time() < end and (total < P['n'] or time.time() - last < 2):
    for m in c.consume(1000, timeout=0.5):
        if m.error():
            continue
        out[m.partition()].append(int(m.value()[len(b'out-m-'):]))
        total += 1
        last = time.time()
c.close()
print(json.dumps({'partitions': out}))
`;

interface ReadBoth {
  committed: string[];
  uncommitted: string[];
  ends: number[];
  hws: number[];
}

describe(
  'transactions with confluent-kafka-python (librdkafka 2.0.2)',
  { timeout: TEST_TIMEOUT_MS * 4 },
  () => {
    test(
      'commit and abort across partitions; read_committed sees only committed records',
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async (t) => {
        if (!(await needClient(t))) return;
        await withBroker({}, async (b) => {
          const topic = uniqueTopic('txn');
          const r = await runPythonWithParams<{
            expected: string[];
            committed: string[];
            uncommitted: string[];
            committedBefore: number[];
            lsoOpen: number[];
            hwOpen: number[];
            during: string[];
          }>(
            IMPORTS + COMMIT_ABORT,
            { bootstrap: b.bootstrapServers, topic, partitions: PARTITIONS },
            PY_TIMEOUT_MS,
          );
          assert.deepEqual([...r.committed].sort(), [...r.expected].sort());
          assert.equal(new Set(r.committed).size, r.committed.length, 'no record twice');
          assert.equal(
            r.uncommitted.length,
            4 * 60 + PARTITIONS,
            'read_uncommitted sees aborted records too',
          );
          assert.ok(r.uncommitted.some((v) => v.startsWith('t1-')));
          // While the last transaction was open, read_committed ends stayed where they were before it.
          assert.deepEqual(r.lsoOpen, r.committedBefore);
          for (let i = 0; i < PARTITIONS; i++) assert.equal(r.hwOpen[i], r.lsoOpen[i]! + 1);
          assert.ok(
            !r.during.some((v) => v.startsWith('open-')),
            'open transaction invisible to read_committed',
          );
          // Aborted transactions are in the partitions' .txnindex files.
          const dir = join(b.dataDir, `${topic}-0`);
          assert.ok(readdirSync(dir).some((n) => n.endsWith('.txnindex')));
        });
      },
    );

    test(
      'zombie fencing: the older producer of a transactional.id is fenced',
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async (t) => {
        if (!(await needClient(t))) return;
        await withBroker({}, async (b) => {
          const topic = uniqueTopic('zombie');
          const r = await runPythonWithParams<{
            zombie: string | { code: number; fatal: boolean; msg: string };
            committed: string[];
            uncommitted: string[];
          }>(IMPORTS + FENCING, { bootstrap: b.bootstrapServers, topic }, PY_TIMEOUT_MS);
          assert.notEqual(r.zombie, 'committed', 'the fenced producer could not commit');
          assert.ok(typeof r.zombie === 'object' && r.zombie.fatal, JSON.stringify(r.zombie));
          assert.deepEqual([...r.committed].sort(), Array.from({ length: 10 }, (_, i) => `b-${i}`).sort());
          assert.ok(
            !r.uncommitted.includes('a-late'),
            'no write of the zombie after the fence reached the log',
          );
        });
      },
    );

    test(
      'broker killed mid-transaction: after restart the open transaction times out and is aborted',
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async (t) => {
        if (!(await needClient(t))) return;
        const dataDir = makeTempDir('brook-txn-kill-');
        const config = { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500' };
        let broker = await spawnBrokerProcess({ dataDir, config });
        try {
          const topic = uniqueTopic('txnkill');
          const open = await runPythonWithParams<{ ends: number[] }>(
            IMPORTS + LEAVE_OPEN,
            {
              bootstrap: broker.bootstrapServers,
              topic,
              tid: 'txn-kill',
              timeoutMs: 25_000,
              create: true,
              aborted: true,
              committed: true,
            },
            PY_TIMEOUT_MS,
          );
          broker.kill('SIGKILL');
          await broker.waitExit();
          broker = await spawnBrokerProcess({ dataDir, config, port: broker.port });
          // Right after the restart the transaction is still open: read_committed ends where it began.
          const held = await runPythonWithParams<ReadBoth>(
            IMPORTS + READ_BOTH,
            { bootstrap: broker.bootstrapServers, topic },
            PY_TIMEOUT_MS,
          );
          assert.deepEqual(held.committed, ['committed-0']);
          assert.deepEqual(held.ends, open.ends);
          // The coordinator aborts it after transaction.timeout.ms (25 s from its start: long enough for
          // the restart on a loaded machine, checked above).
          const deadline = Date.now() + 60_000;
          let after: ReadBoth;
          do {
            await new Promise((r) => setTimeout(r, 1000));
            after = await runPythonWithParams<ReadBoth>(
              IMPORTS + READ_BOTH,
              { bootstrap: broker.bootstrapServers, topic },
              PY_TIMEOUT_MS,
            );
          } while (after.ends[0] !== after.hws[0] && Date.now() < deadline);
          assert.deepEqual(after.ends, after.hws, 'read_committed moved past the aborted transaction');
          assert.deepEqual(after.committed, ['committed-0']);
          assert.ok(after.uncommitted.includes('open-0') && after.uncommitted.includes('aborted-0'));
        } finally {
          broker.kill('SIGKILL');
          await broker.waitExit();
          removeDir(dataDir);
        }
      },
    );

    test(
      `consume-transform-produce with send_offsets_to_transaction, processor kill -9ed ${CTP_KILLS} times: every input exactly once`,
      {
        timeout: TEST_TIMEOUT_MS * 2,
      },
      async (t) => {
        if (!(await needClient(t))) return;
        await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b) => {
          const input = uniqueTopic('cfk-in');
          const output = uniqueTopic('cfk-out');
          await runPythonWithParams(
            IMPORTS + PRODUCE_INPUT,
            { bootstrap: b.bootstrapServers, input, output, n: CTP_RECORDS },
            PY_TIMEOUT_MS,
          );
          const env = {
            BOOTSTRAP: b.bootstrapServers,
            INPUT: input,
            OUTPUT: output,
            GROUP: 'cfk-ctp',
            TXN_ID: 'cfk-ctp-1',
          };
          const spawnProcessor = (): LongRunning => spawnLongRunning(PYTHON, ['-u', PROCESSOR], { env });
          const committed = (p: LongRunning): number =>
            p.lines.reduce(
              (n, l) => n + (l.includes('"committed"') ? (JSON.parse(l) as { count: number }).count : 0),
              0,
            );
          for (let k = 0; k < CTP_KILLS; k++) {
            const proc = spawnProcessor();
            const deadline = Date.now() + 90_000;
            while (committed(proc) < CTP_RECORDS / (CTP_KILLS + 2) && Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, 100));
            }
            proc.kill('SIGKILL');
            await proc.waitExit();
            assert.ok(committed(proc) > 0, `run ${k} committed nothing: ${proc.stderr().slice(-2000)}`);
          }
          const last = spawnProcessor();
          try {
            // The reader below waits (up to 120 s) for the whole input in the committed output. The
            // processors' printed counts are only a lower bound (a run killed between its commit and its
            // print under-reports), so they cannot say when the work is done.
            const r = await runPythonWithParams<{ partitions: number[][] }>(
              IMPORTS + READ_OUTPUT,
              { bootstrap: b.bootstrapServers, output, n: CTP_RECORDS },
              PY_TIMEOUT_MS * 2,
            );
            for (let p = 0; p < 3; p++) {
              const want = Array.from({ length: CTP_RECORDS }, (_, i) => i).filter((i) => i % 3 === p);
              assert.deepEqual(r.partitions[p], want, `partition ${p}: every input once, in order`);
            }
          } finally {
            last.kill('SIGKILL');
            await last.waitExit();
          }
        });
      },
    );

    for (const point of ['txn:after-prepare', 'txn:after-first-marker']) {
      test(
        `broker killed in PrepareCommit (${point}): after restart the transaction is committed everywhere`,
        {
          timeout: TEST_TIMEOUT_MS,
        },
        async (t) => {
          if (!(await needClient(t))) return;
          const dataDir = makeTempDir('brook-txn-prepare-');
          let broker = await spawnBrokerProcess({ dataDir });
          try {
            const topic = uniqueTopic('txnprep');
            // A first broker (no crash point) creates the topic; the second one crashes at the point.
            await runPythonWithParams(
              IMPORTS + `create_topic(P['topic'], 2)\nprint(json.dumps({}))\n`,
              { bootstrap: broker.bootstrapServers, topic },
              PY_TIMEOUT_MS,
            );
            broker.kill('SIGTERM');
            await broker.waitExit();
            broker = await spawnBrokerProcess({ dataDir, port: broker.port, env: { BROOK_CRASH_AT: point } });
            // The commit never gets its answer: the broker dies while handling EndTxn.
            await runPythonWithParams(
              IMPORTS + COMMIT_ONE,
              { bootstrap: broker.bootstrapServers, topic, tid: 'txn-prepare', commitTimeoutS: 3 },
              PY_TIMEOUT_MS,
            ).catch(() => undefined);
            const exit = await broker.waitExit();
            assert.equal(exit.signal, 'SIGKILL', 'the broker died at the crash point');
            broker = await spawnBrokerProcess({ dataDir, port: broker.port });
            const deadline = Date.now() + 30_000;
            let after: ReadBoth;
            do {
              after = await runPythonWithParams<ReadBoth>(
                IMPORTS + READ_BOTH,
                { bootstrap: broker.bootstrapServers, topic },
                PY_TIMEOUT_MS,
              );
            } while (after.committed.length < 10 && Date.now() < deadline);
            assert.deepEqual(
              [...after.committed].sort(),
              Array.from({ length: 10 }, (_, i) => `pc-${i}`).sort(),
            );
            assert.deepEqual(after.ends, after.hws);
            assert.ok(existsSync(join(dataDir, '__transaction_state-0')));
          } finally {
            broker.kill('SIGKILL');
            await broker.waitExit();
            removeDir(dataDir);
          }
        },
      );
    }
  },
);
