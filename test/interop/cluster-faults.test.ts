// Issue 8 acceptance: three broker processes on a real ZooKeeper, a topic with replication factor 3 and
// min.insync.replicas=2, and a librdkafka (confluent-kafka) idempotent acks=all producer writing all along
// while the leader of partition 0 is kill -9'd, then another broker, then one broker is SIGSTOPped for longer
// than its ZooKeeper session. Every acknowledged record must be read back exactly once, in order per partition.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniqueTopic } from '../helpers/broker.js';
import { hasConfluentKafkaPython, hasZooKeeper, requireTool } from '../helpers/external.js';
import {
  checkNoLoss,
  log,
  ProcessCluster,
  readAll,
  SESSION_MS,
  sleep,
  startProducer,
  waitFor,
} from './cluster-harness.js';

const PARTITIONS = 3;

describe('acceptance: no acknowledged write lost across broker faults (3 processes, ZooKeeper)', () => {
  let cluster: ProcessCluster | null = null;

  before(async () => {
    if (!hasZooKeeper() || !hasConfluentKafkaPython()) return;
    cluster = await ProcessCluster.start(3);
  });
  after(async () => {
    await cluster?.stop();
  });

  test('kill -9 the leader, kill -9 another broker, SIGSTOP one past its session: nothing acknowledged is lost', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    if (
      !(await requireTool(
        t,
        'confluent-kafka',
        hasConfluentKafkaPython,
        'install the Debian package python3-confluent-kafka',
      ))
    )
      return;
    const c = cluster!;
    const topic = uniqueTopic('acc-faults');
    await c.createTopic(topic, PARTITIONS, { 'min.insync.replicas': '2' });
    const producer = startProducer(c.bootstrap, topic, PARTITIONS);
    const progress = async (what: string, more = 300, timeoutMs = 60_000): Promise<void> => {
      const mark = producer.acked();
      const t0 = Date.now();
      await waitFor(
        `${what}: ${more} more acknowledgements (from ${mark})`,
        () => producer.acked() >= mark + more,
        timeoutMs,
      );
      log(`${what}: +${more} acks in ${Date.now() - t0} ms (total ${producer.acked()})`);
    };
    let finished = false;
    try {
      await progress('start', 200);

      // 1. kill -9 the leader of partition 0, keep writing, bring it back.
      const leader = (await c.describe(topic))[0]!.leader;
      log(`kill -9 broker ${leader} (leader of partition 0)`);
      await c.kill9(leader);
      await waitFor(
        'partition 0 led by another broker',
        async () => {
          const d = await c.describe(topic).catch(() => null);
          return d !== null && d[0]!.leader > 0 && d[0]!.leader !== leader;
        },
        SESSION_MS + 20_000,
      );
      await progress('after killing the leader');
      await c.restart(leader);
      await c.waitFullIsr(topic);
      await progress('leader back');

      // 2. kill -9 another broker, keep writing, bring it back.
      const other = c.ids.find((i) => i !== leader)!;
      log(`kill -9 broker ${other}`);
      await c.kill9(other);
      await sleep(SESSION_MS + 2000);
      await progress('after killing a second broker');
      await c.restart(other);
      await c.waitFullIsr(topic);
      await progress('second broker back');

      // 3. SIGSTOP a broker (one that leads something) past its ZooKeeper session, then SIGCONT.
      const d = await c.describe(topic);
      const frozen = d[1]!.leader;
      log(`SIGSTOP broker ${frozen} for ${SESSION_MS + 4000} ms`);
      c.sigstop(frozen);
      await waitFor(
        'the frozen broker loses its leaderships and ISR places',
        async () => {
          const x = await c.describe(topic).catch(() => null);
          return x !== null && x.every((p) => p.leader > 0 && p.leader !== frozen && !p.isr.includes(frozen));
        },
        SESSION_MS + 30_000,
        500,
      );
      await progress('while one broker is frozen');
      c.sigcont(frozen);
      log(`SIGCONT broker ${frozen}`);
      await c.waitFullIsr(topic, 90_000);
      await progress('frozen broker back');

      const result = await producer.finish();
      finished = true;
      const back = await readAll(c.bootstrap, topic, PARTITIONS);
      checkNoLoss('scripted faults', result, back, PARTITIONS);
      assert.equal(back.errors.length, 0, back.errors.join('; '));
    } finally {
      if (!finished) await producer.abort();
    }
  });
});
