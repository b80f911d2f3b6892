// Issue 8 acceptance: a replica whose log diverged truncates and rejoins the ISR (three broker processes, real
// ZooKeeper, KIP-101/279). The leader takes acks=1 writes its followers never saw (they are SIGSTOPped, briefly
// enough to stay in the ISR), then the leader itself is cut off (SIGSTOP past its ZooKeeper session) while the
// followers come back: one is elected and takes acks=all writes at the same offsets. The old leader, continued,
// must truncate its unreplicated tail and rejoin the ISR (seen in Metadata); then, made the only leader left, it
// must serve exactly the committed records: the acks=1 ones are gone, none of the acks=all ones.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Consumer, Producer } from '../../src/client/index.js';
import { uniqueTopic } from '../helpers/broker.js';
import { hasZooKeeper, requireTool } from '../helpers/external.js';
import { log, ProcessCluster, SESSION_MS, sleep, waitFor } from './cluster-harness.js';

async function send(bootstrap: string, topic: string, values: string[], acks: 1 | -1): Promise<number[]> {
  const p = await Producer.connect({ bootstrap, retries: 30, retryBackoffMs: 300, requestTimeoutMs: 10_000 });
  try {
    const out: number[] = [];
    for (const v of values) {
      const [md] = await p.send({ topic, acks, messages: [{ value: v, partition: 0 }], timeoutMs: 10_000 });
      out.push(md!.offset);
    }
    return out;
  } finally {
    await p.close();
  }
}

async function readAllValues(bootstrap: string, topic: string, until: number): Promise<string[]> {
  const c = await Consumer.connect({ bootstrap, requestTimeoutMs: 10_000 });
  try {
    await c.assign([{ topic, partition: 0, offset: 0 }]);
    const out: string[] = [];
    const deadline = Date.now() + 30_000;
    while (out.length < until && Date.now() < deadline) {
      for (const r of await c.poll()) out.push(r.value!.toString());
    }
    return out;
  } finally {
    await c.close();
  }
}

describe('acceptance: a diverged replica truncates and rejoins the ISR (3 processes, ZooKeeper)', () => {
  let cluster: ProcessCluster | null = null;

  before(async () => {
    if (!hasZooKeeper()) return;
    cluster = await ProcessCluster.start(3, { 'replica.lag.time.max.ms': '20000' });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('old leader with unreplicated acks=1 records truncates them, rejoins the ISR, and serves only committed data', async (t) => {
    if (!(await requireTool(t, 'zookeeper', hasZooKeeper, 'install the Debian package zookeeper'))) return;
    const c = cluster!;
    const topic = uniqueTopic('acc-diverged');
    await c.createTopic(topic, 1, { 'min.insync.replicas': '2' });
    const committed1 = Array.from({ length: 20 }, (_, i) => `c${i}`);
    await send(c.bootstrap, topic, committed1, -1);

    const old = (await c.describe(topic))[0]!.leader;
    const followers = c.ids.filter((i) => i !== old);
    const oldBootstrap = `127.0.0.1:${c.portOf(old)}`;
    // Followers frozen (well under replica.lag.time.max.ms and the session): the leader alone gets acks=1 writes.
    for (const f of followers) c.sigstop(f);
    // Fetches they sent before freezing are answered (empty) within replica.fetch.wait.max.ms; after that
    // none is pending at the leader, so nothing written now can reach them.
    await sleep(1000);
    const lost = await send(oldBootstrap, topic, ['x0', 'x1', 'x2', 'x3', 'x4'], 1);
    log(`acks=1 records on leader ${old} only, offsets ${lost.join(',')}`);
    // Cut the leader off before its followers can fetch, then let them go on.
    c.sigstop(old);
    for (const f of followers) c.sigcont(f);
    const survivor = followers[0]!;
    const moved = await waitFor(
      'a new leader among the followers',
      async () => {
        const d = await c.describe(topic, survivor).catch(() => null);
        return d && d[0]!.leader > 0 && d[0]!.leader !== old && !d[0]!.isr.includes(old) ? d[0]! : null;
      },
      SESSION_MS + 30_000,
      250,
    );
    log(`leader ${old} cut off; ${moved.leader} leads, ISR ${moved.isr.join(',')}`);
    const committed2 = Array.from({ length: 10 }, (_, i) => `d${i}`);
    const offsets2 = await send(`127.0.0.1:${c.portOf(moved.leader)}`, topic, committed2, -1);
    assert.equal(offsets2[0], lost[0], 'the new leader writes at the offsets of the unreplicated records');

    // The old leader comes back: it must truncate its acks=1 tail and rejoin the ISR.
    c.sigcont(old);
    const rejoinedAt = Date.now();
    const back = await waitFor(
      `broker ${old} back in the ISR`,
      async () => {
        const d = await c.describe(topic, survivor).catch(() => null);
        return d && d[0]!.isr.includes(old) ? d[0]! : null;
      },
      60_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${c.tails()}`);
    });
    log(
      `broker ${old} rejoined the ISR ${Date.now() - rejoinedAt} ms after SIGCONT: ${JSON.stringify(back)}`,
    );
    assert.deepEqual([...back.isr].sort(), [...c.ids].sort());

    // Make the old leader the only replica left: it must serve the committed records, not its old tail.
    for (const f of followers) {
      const d = (await c.describe(topic, old))[0]!;
      if (d.leader === old) break;
      await c.kill9(d.leader);
      await waitFor(
        'leadership moves on',
        async () => {
          const x = await c.describe(topic, old).catch(() => null);
          return x && x[0]!.leader > 0 && c.isUp(x[0]!.leader) ? x[0] : null;
        },
        SESSION_MS + 30_000,
        250,
      );
      void f;
    }
    const final = (await c.describe(topic, old))[0]!;
    assert.equal(final.leader, old, `broker ${old} leads at the end: ${JSON.stringify(final)}`);
    await sleep(500);
    const values = await readAllValues(oldBootstrap, topic, committed1.length + committed2.length);
    assert.deepEqual(values, [...committed1, ...committed2]);
  });
});
