// Cooperative rebalancing (KIP-429) is client-side; the broker must just run normal rebalances while
// members keep their partitions. Two confluent-kafka-python (librdkafka) consumers with
// partition.assignment.strategy=cooperative-sticky: when the second joins, the first gives up only
// the partitions that move (an incremental revoke of 2 of its 4), and the second receives them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker.js';
import { hasConfluentKafkaPython, requireTool } from '../helpers/external.js';
import { runPython } from '../helpers/run.js';
import { sleep } from './helpers.js';

const CONSUMER = (bootstrap: string, name: string, seconds: number) => `
import time
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': '${bootstrap}', 'group.id': 'coop',
              'partition.assignment.strategy': 'cooperative-sticky', 'auto.offset.reset': 'earliest'})
def on_assign(c, parts): print('${name} assign', ','.join(str(p.partition) for p in sorted(parts, key=lambda p: p.partition)), flush=True)
def on_revoke(c, parts): print('${name} revoke', ','.join(str(p.partition) for p in sorted(parts, key=lambda p: p.partition)), flush=True)
c.subscribe(['coop-topic'], on_assign=on_assign, on_revoke=on_revoke)
end = time.time() + ${seconds}
while time.time() < end:
    c.poll(0.2)
c.close()
`;

test('cooperative-sticky consumers rebalance incrementally', { timeout: 120_000 }, async (t) => {
  if (
    !(await requireTool(
      t,
      'confluent-kafka-python',
      hasConfluentKafkaPython,
      'install python3-confluent-kafka',
    ))
  )
    return;
  const config = {
    'group.initial.rebalance.delay.ms': '0',
    'num.partitions': '4',
    'auto.create.topics.enable': 'true',
  };
  await withBroker({ config }, async (b) => {
    await b.broker.services.topics.create({
      name: 'coop-topic',
      numPartitions: 4,
      replicationFactor: 1,
      configs: {},
    });
    const first = runPython(CONSUMER(b.bootstrapServers, 'A', 20), {}, 60_000);
    const deadline = Date.now() + 30_000;
    while (b.broker.services.groups.groups.get('coop')?.state !== 'Stable') {
      assert.ok(Date.now() < deadline, 'first consumer never got its assignment');
      await sleep(100);
    }
    const second = runPython(CONSUMER(b.bootstrapServers, 'B', 8), {}, 60_000);
    const [ra, rb] = await Promise.all([first, second]);
    const a = ra.stdout.trim().split('\n');
    const bl = rb.stdout.trim().split('\n');
    assert.equal(a[0], 'A assign 0,1,2,3', ra.stdout + ra.stderr);
    // A's first revoke is incremental: two partitions move, two stay.
    const revoke = a.find((l) => l.startsWith('A revoke'))!;
    assert.equal(revoke.split(' ')[2]!.split(',').length, 2, ra.stdout);
    assert.ok(
      bl.some((l) => /^B assign \d,\d$/.test(l)),
      rb.stdout + rb.stderr,
    );
    const g = b.broker.services.groups.groups.get('coop')!;
    assert.equal(g.state, 'Empty');
  });
});

// librdkafka's own test of this scenario (0113-cooperative_rebalance, b_subscribe_with_cb_test), in one
// process so the order of callbacks is observable. What Kafka produces, with 2 partitions:
//   1. c1 joins alone:                          c1 assign [0,1]
//   2. c2 joins (MEMBER_ID_REQUIRED, then with its id); generation 2 moves partition 0 from c1 to nobody:
//                                               c1 revoke [0], c1 assign [] (incremental, empty), c2 assign []
//   3. c1 rejoins because it gave something up; generation 3 hands partition 0 to c2:
//                                               c2 assign [0], c1 assign []
//   4. both consume what is produced next; c1 closes: c1 revoke [1], then c2 assign [1]; c2 closes: revoke [0,1].
// The assign callback always runs, even for an empty incremental assignment; the revoke callback never runs
// empty. librdkafka's counts: c1 3 assigns and 1 revoke, c2 2 assigns and 0 revokes before the closes.
const TWO_MEMBERS = (bootstrap: string, topic: string) => `
import json, time
from confluent_kafka import Consumer, Producer
events = []
def note(name, kind, parts):
    events.append([name, kind, sorted(p.partition for p in parts)])
def member(name):
    c = Consumer({'bootstrap.servers': '${bootstrap}', 'group.id': 'coop2-' + '${topic}',
                  'partition.assignment.strategy': 'cooperative-sticky', 'auto.offset.reset': 'earliest'})
    return c, (lambda c, p: note(name, 'assign', p)), (lambda c, p: note(name, 'revoke', p))
def count(name, kind):
    return len([e for e in events if e[0] == name and e[1] == kind])
got = {'c1': set(), 'c2': set()}
def poll(name, c):
    m = c.poll(0.2)
    if m is not None and not m.error(): got[name].add(m.partition())
c1, a1, r1 = member('c1')
c2, a2, r2 = member('c2')
c1.subscribe(['${topic}'], on_assign=a1, on_revoke=r1)
deadline = time.time() + 60
subscribed = produced = False
while time.time() < deadline:
    poll('c1', c1); poll('c2', c2)
    if not subscribed and count('c1', 'assign') > 0:
        c2.subscribe(['${topic}'], on_assign=a2, on_revoke=r2); subscribed = True
    if count('c1', 'assign') == 3 and count('c2', 'assign') == 2:
        if not produced:
            p = Producer({'bootstrap.servers': '${bootstrap}'})
            for i in range(20): p.produce('${topic}', value=b'x', partition=i % 2)
            p.flush(); produced = True
        if 1 in got['c1'] and 0 in got['c2']: break
events.append(['-', 'consumed', [sorted(got['c1']), sorted(got['c2'])]])
c1.close()
while time.time() < deadline and count('c2', 'assign') < 3: poll('c2', c2)
c2.close()
print(json.dumps(events))
`;

test(
  "cooperative-sticky: a second member joins a one-member group in Kafka's callback order",
  { timeout: 120_000 },
  async (t) => {
    if (
      !(await requireTool(
        t,
        'confluent-kafka-python',
        hasConfluentKafkaPython,
        'install python3-confluent-kafka',
      ))
    )
      return;
    await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b) => {
      const topic = 'coop-two';
      await b.broker.services.topics.create({
        name: topic,
        numPartitions: 2,
        replicationFactor: 1,
        configs: {},
      });
      const r = await runPython(TWO_MEMBERS(b.bootstrapServers, topic), {}, 90_000);
      const events = JSON.parse(r.stdout.trim().split('\n').pop()!) as [string, string, unknown][];
      const of = (name: string) =>
        events.filter((e) => e[0] === name).map((e) => `${e[1]} ${JSON.stringify(e[2])}`);
      const detail = `${r.stdout}\n${r.stderr.slice(-2000)}`;
      assert.deepEqual(
        of('c1'),
        ['assign [0,1]', 'revoke [0]', 'assign []', 'assign []', 'revoke [1]'],
        detail,
      );
      assert.deepEqual(of('c2'), ['assign []', 'assign [0]', 'assign [1]', 'revoke [0,1]'], detail);
      // Partition 0 reaches c2 only after c1 gave it up; both consumed what was produced afterwards.
      const order = events.map((e) => `${e[0]} ${e[1]} ${JSON.stringify(e[2])}`);
      assert.ok(order.indexOf('c1 revoke [0]') < order.indexOf('c2 assign [0]'), detail);
      assert.deepEqual(events.find((e) => e[1] === 'consumed')![2], [[1], [0]], detail);
    });
  },
);
