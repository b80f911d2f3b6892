// A batch-consuming confluent-kafka (librdkafka 2.0.2) consumer that seeks back inside a batch and stores its
// offsets by hand (consume(num_messages=...), seek, store_offsets with enable.auto.offset.store=false): every
// record arrives, the ones after the seek again, nothing waits for a timeout, and the next member of the group
// resumes exactly after the last stored offset. librdkafka validates a committed offset that carries a leader
// epoch with OffsetForLeaderEpoch before it fetches, so the resume also goes through that path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker.js';
import { hasConfluentKafkaPython, requireTool } from '../helpers/external.js';
import { runPythonJson } from '../helpers/run.js';

const SCRIPT = `
import json, os, time
from confluent_kafka import Consumer, Producer, TopicPartition
bs, topic = os.environ['BS'], os.environ['TOPIC']
p = Producer({'bootstrap.servers': bs})
def produce(first, n):
    for i in range(first, first + n): p.produce(topic, value=str(i).encode(), partition=0)
    p.flush()
for b in range(4): produce(10 * b, 10)          # four stored batches: 0-9, 10-19, 20-29, 30-39
def member():
    c = Consumer({'bootstrap.servers': bs, 'group.id': 'batch-seek', 'auto.offset.reset': 'earliest',
                  'enable.auto.offset.store': False, 'enable.auto.commit': False})
    c.subscribe([topic])
    return c
out = {'first': [], 'slow_batches': 0, 'resumed': []}
c = member()
deadline = time.time() + 40
seeked = False
while time.time() < deadline and len(set(out['first'])) < 40:
    t0 = time.time()
    msgs = c.consume(num_messages=5, timeout=5)
    for m in msgs:
        if m.error(): continue
        out['first'].append(m.offset())
        c.store_offsets(m)
        if not seeked and m.offset() == 12:      # inside the second batch: back into the first one
            seeked = True
            c.seek(TopicPartition(topic, 0, 7))
            break
    if len(set(out['first'])) < 40 and time.time() - t0 > 4: out['slow_batches'] += 1
c.commit(asynchronous=False)
out['committed'] = c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
c.close()
produce(40, 5)
c = member()
deadline = time.time() + 30
while time.time() < deadline and len(out['resumed']) < 5:
    for m in c.consume(num_messages=5, timeout=1):
        if not m.error(): out['resumed'].append(m.offset())
c.close()
print(json.dumps(out))
`;

test(
  'confluent-kafka: batch consume, seek inside a batch, store_offsets, resume',
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
      const topic = 'batch-seek';
      await b.broker.services.topics.create({
        name: topic,
        numPartitions: 1,
        replicationFactor: 1,
        configs: {},
      });
      const out = await runPythonJson<{
        first: number[];
        slow_batches: number;
        committed: number;
        resumed: number[];
      }>(SCRIPT, { BS: b.bootstrapServers, TOPIC: topic }, 100_000);
      const seek = out.first.indexOf(12) + 1;
      assert.deepEqual(
        out.first.slice(0, seek),
        Array.from({ length: 13 }, (_, i) => i),
        JSON.stringify(out),
      );
      assert.deepEqual(
        out.first.slice(seek),
        Array.from({ length: 33 }, (_, i) => 7 + i),
        JSON.stringify(out),
      );
      assert.equal(out.slow_batches, 0, 'no batch waited for its timeout while records were there');
      assert.equal(out.committed, 40);
      assert.deepEqual(out.resumed, [40, 41, 42, 43, 44]);
    });
  },
);
