// The brook client commands as a user runs them: a child process (`node dist/src/cli/main.js`)
// against a real in-process broker. Checks output, exit codes and one-sentence errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Admin, Producer } from '../../src/index.js';
import { REPO_ROOT, freePort, startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { runCommand, type RunResult } from '../helpers/run.js';
import { BROOK_CLI } from '../helpers/cli.js';

const MAIN = BROOK_CLI;

describe('brook CLI client commands', () => {
  let broker: TestBroker;
  let brook: (args: string[], input?: string) => Promise<RunResult>;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
    brook = (args, input) =>
      runCommand(process.execPath, [MAIN, ...args, '--bootstrap-server', broker.bootstrapServers], {
        cwd: REPO_ROOT,
        input,
        timeoutMs: 30_000,
      });
  });
  after(async () => {
    await broker.stop();
  });

  /** Runs and requires exit 0, returning stdout. */
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await brook(args, input);
    assert.equal(r.code, 0, `brook ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  test('topics create, list, describe and delete', async () => {
    const topic = uniqueTopic('cli');
    assert.equal(
      await ok(['topics', 'create', topic, '--partitions', '3', '--config', 'retention.ms=123456']),
      `Created topic ${topic}.\n`,
    );
    assert.ok((await ok(['topics', 'list'])).split('\n').includes(topic));

    const described = (await ok(['topics', 'describe', topic])).split('\n');
    assert.match(
      described[0]!,
      new RegExp(
        `^Topic: ${topic}\tTopicId: \\S+\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=123456$`,
      ),
    );
    assert.match(
      described[1]!,
      new RegExp(
        `^\tTopic: ${topic}\tPartition: 0\tLeader: 1\tLeaderEpoch: 0\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\tLogEndOffset: 0$`,
      ),
    );
    assert.equal(described.filter((l) => l.startsWith('\tTopic:')).length, 3);

    assert.equal(await ok(['topics', 'delete', topic]), `Deleted topic ${topic}.\n`);
    assert.ok(!(await ok(['topics', 'list'])).split('\n').includes(topic));
  });

  test('errors are one sentence and exit 1', async () => {
    const topic = uniqueTopic('cli-err');
    await ok(['topics', 'create', topic]);
    const checks: [string[], RegExp][] = [
      [
        ['topics', 'create', topic],
        /^brook: CreateTopics topic '.*': Topic '.*' already exists \(TOPIC_ALREADY_EXISTS\)\.\n$/,
      ],
      [
        ['topics', 'describe', 'no-such-topic'],
        /^brook: .*no-such-topic.*\(UNKNOWN_TOPIC_OR_PARTITION\)\.\n$/,
      ],
      [
        ['topics', 'create', 'x', '--partitions', 'many'],
        /^brook: Invalid --partitions "many": expected an integer >= 1\.\n$/,
      ],
      [['topics', 'frobnicate', 'x'], /^brook: Unknown action "topics frobnicate"/],
      [['groups', 'describe', 'no-such-group'], /^brook: Consumer group 'no-such-group' does not exist\.\n$/],
      [['consume'], /^brook: "brook consume" needs a topic name\.\n$/],
    ];
    for (const [args, pattern] of checks) {
      const r = await brook(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, pattern);
    }
    const port = await freePort();
    const refused = await runCommand(
      process.execPath,
      [MAIN, 'topics', 'list', '--bootstrap-server', `127.0.0.1:${port}`],
      {
        cwd: REPO_ROOT,
      },
    );
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `brook: Connection to 127.0.0.1:${port}: connection refused (NETWORK_EXCEPTION).\n`,
    );
  });

  test('produce from arguments and stdin, consume from the beginning', async () => {
    const topic = uniqueTopic('cli-pc');
    await ok(['topics', 'create', topic, '--partitions', '2']);
    await ok(['produce', topic, '--key', 'k', 'one', 'two']);
    await ok(['produce', topic, '--partition', '1', '--compression', 'zstd'], 'three\nfour\nfive\n');

    const all = await brook(['consume', topic, '--from-beginning', '--timeout-ms', '1500', '--print-key']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trim().split('\n').sort(), [
      'k\tone',
      'k\ttwo',
      'null\tfive',
      'null\tfour',
      'null\tthree',
    ]);
    assert.match(all.stderr, /Processed a total of 5 messages/);

    assert.equal(
      await ok(['consume', topic, '--partition', '1', '--from-beginning', '--max-messages', '2']),
      'three\nfour\n',
    );
    assert.equal(
      await ok(['consume', topic, '--partition', '1', '--offset', '2', '--max-messages', '1']),
      'five\n',
    );
    // Without --from-beginning, only what arrives from now on: nothing here.
    assert.equal(await ok(['consume', topic, '--timeout-ms', '500']), '');
  });

  test('groups list, describe with lag (live kafkajs member, then no members) and delete', async () => {
    const topic = uniqueTopic('cli-grp');
    const group = `g-${topic}`;
    const admin = await Admin.connect(broker.bootstrapServers);
    const producer = await Producer.connect(broker.bootstrapServers);
    const kafka = new Kafka({
      clientId: 'cli-member',
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
    try {
      await admin.createTopics([{ name: topic, partitions: 2 }]);
      await producer.send({
        topic,
        messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen = 0;
      await new Promise<void>((resolve) => {
        void consumer.run({
          autoCommitThreshold: 1,
          eachMessage: async () => {
            if (++seen === 6) resolve();
          },
        });
      });
      const deadline = Date.now() + 15_000;
      while ((await admin.groupLag(group)).filter((l) => l.lag === 0).length < 2) {
        assert.ok(Date.now() < deadline, 'kafkajs committed every offset');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok((await ok(['groups', 'list'])).split('\n').includes(group));

      const live = (await ok(['groups', 'describe', group])).trimEnd().split('\n');
      assert.deepEqual(live[0]!.split(/\s+/), [
        'TOPIC',
        'PARTITION',
        'CURRENT-OFFSET',
        'LOG-END-OFFSET',
        'LAG',
        'CONSUMER-ID',
        'HOST',
        'CLIENT-ID',
      ]);
      const liveRows = live.slice(1).map((l) => l.split(/\s+/));
      assert.equal(liveRows.length, 2);
      for (const [i, row] of liveRows.entries()) {
        assert.deepEqual(row.slice(0, 5), [topic, String(i), '3', '3', '0']);
        assert.match(row[5]!, /^cli-member-/);
        assert.match(row[6]!, /127\.0\.0\.1/);
        assert.equal(row[7], 'cli-member');
      }
      assert.equal(
        (await brook(['groups', 'delete', group])).code,
        1,
        'a group with members cannot be deleted',
      );

      await consumer.disconnect();
      await producer.send({
        topic,
        messages: [
          { value: 'late', partition: 0 },
          { value: 'late', partition: 0 },
        ],
      });
      const idle = await ok(['groups', 'describe', group]);
      assert.match(idle, new RegExp(`Consumer group '${group}' has no active members\\.`));
      const idleRows = idle
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith(topic))
        .map((l) => l.split(/\s+/));
      assert.deepEqual(idleRows, [
        [topic, '0', '3', '5', '2', '-', '-', '-'],
        [topic, '1', '3', '3', '0', '-', '-', '-'],
      ]);

      assert.equal(
        await ok(['groups', 'delete', group]),
        `Deletion of requested consumer groups ('${group}') was successful.\n`,
      );
      assert.ok(!(await ok(['groups', 'list'])).split('\n').includes(group));
    } finally {
      await consumer.disconnect();
      await producer.close();
      await admin.close();
    }
  });
});
