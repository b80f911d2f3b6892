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
