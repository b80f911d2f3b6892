// The program every Kafka tutorial starts with, verbatim, against Brook (kafka-python 2.0.2 with
// Debian's /usr/bin/python3): a KafkaConsumer loop in a group prints what a KafkaProducer sends,
// and a restarted consumer in the same group resumes from its committed offset.
// Only the bootstrap address differs (the test broker listens on a free port).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker, type TestBroker } from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { runPython, spawnLongRunning, type LongRunning } from '../helpers/run.js';
import { PYTHON } from '../helpers/external.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForGroupState } from '../group/helpers.js';

const CONSUMER = (bootstrap: string) => `
from kafka import KafkaConsumer

consumer = KafkaConsumer('test_topic', group_id='test_group', bootstrap_servers='${bootstrap}')
for message in consumer:
    print(message.value)
`;

const PRODUCER = (bootstrap: string, values: string[]) => `
from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers='${bootstrap}')
${values.map((v) => `producer.send('test_topic', ${v})`).join('\n')}
producer.flush()
`;

// Topics are auto-created on first use, as with a default Kafka.
const CONFIG = { 'group.initial.rebalance.delay.ms': '0', 'auto.create.topics.enable': 'true' };

function startConsumer(dir: string, bootstrap: string): LongRunning {
  const file = join(dir, `consumer-${Date.now()}.py`);
  writeFileSync(file, CONSUMER(bootstrap));
  return spawnLongRunning(PYTHON, ['-u', file], { env: { PYTHONUNBUFFERED: '1' } });
}

async function produce(bootstrap: string, values: string[]): Promise<void> {
  const r = await runPython(PRODUCER(bootstrap, values), {}, 60_000);
  assert.equal(r.code, 0, `producer failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * Waits until the consumer is in a Stable group and has resolved its starting position: its first
 * auto-commit (every 5 s) carries that position, offset 0 of the empty topic. Producing earlier would
 * race the consumer's "latest" lookup, and the message would rightly be skipped.
 */
async function waitAssigned(b: TestBroker): Promise<void> {
  await waitForGroupState(b, 'test_group', 'Stable', 60_000);
  await waitForCommit(b, 0);
}

async function stop(c: LongRunning): Promise<void> {
  // SIGTERM: kafka-python does not get to commit or leave; SIGINT lets the loop end via KeyboardInterrupt.
  c.kill('SIGINT');
  const killer = setTimeout(() => c.kill('SIGKILL'), 15_000);
  await c.waitExit();
  clearTimeout(killer);
}

test(
  'the seed program: a kafka-python consumer loop prints what a producer sends, and resumes after a restart',
  { timeout: 240_000 },
  async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'install python3-kafka'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'brook-seed-'));
    try {
      await withBroker({ config: CONFIG }, async (b) => {
        const bootstrap = b.bootstrapServers;
        const first = startConsumer(dir, bootstrap);
        try {
          await waitAssigned(b);
          await produce(bootstrap, [`b'Hello Kafka!'`]);
          await first.waitForLine((l) => l === `b'Hello Kafka!'`, 60_000);
          // Auto-commit runs every 5 s (and on close); let the committed offset reach the broker.
          await waitForCommit(b, 1);
        } finally {
          await stop(first);
        }
        await produce(bootstrap, [`b'one'`, `b'two'`, `b'three'`]);

        const second = startConsumer(dir, bootstrap);
        try {
          await second.waitForLine((l) => l === `b'three'`, 90_000);
          await new Promise((r) => setTimeout(r, 1000));
          assert.deepEqual(
            second.lines.filter((l) => l.startsWith('b')),
            [`b'one'`, `b'two'`, `b'three'`],
          );
        } finally {
          await stop(second);
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

async function waitForCommit(b: TestBroker, offset: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = b.broker.services.groups.fetchOffsets('test_group', [{ name: 'test_topic', partitions: [0] }]);
    if (r.topics[0]?.partitions[0]?.offset === offset) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`test_group never committed offset ${offset}`);
}
