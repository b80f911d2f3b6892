// One group, two protocols (Kafka 4.0's upgrade path): a kafka-python 2.0.2 consumer (classic JoinGroup/
// SyncGroup/Heartbeat, default settings) owns a 6-partition topic; then an @platformatic/kafka consumer with
// groupProtocol 'consumer' (KIP-848) joins the same group. The classic group converts to a consumer group, the
// classic member is told to rejoin and gives up half, and the coordinator ends Stable with 3+3, one member of
// each kind; together they read every record. When the consumer-protocol member leaves, the group becomes classic
// again (online downgrade) and kafka-python takes every partition.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { uniqueTopic, withBroker } from '../helpers/broker.js';
import { hasPythonKafka, requireTool } from '../helpers/external.js';
import { kafkajsClients, startPythonMember, stopMember, until, type Member } from './group-harness.js';

const MEMBER = `
import json, signal, sys
from kafka import KafkaConsumer

bootstrap, topic, group = sys.argv[1:4]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest')
consumer.subscribe([topic])
while not stop:
    for tp, records in consumer.poll(timeout_ms=200).items():
        for r in records:
            sys.stdout.write(json.dumps({'ev': 'msg', 'v': r.value.decode()}) + '\\n')
            sys.stdout.flush()
consumer.close()
`;

const { createTopic } = kafkajsClients('groups-mixed');

test(
  'kafka-python (classic) and @platformatic/kafka (consumer protocol) share one group: conversion, 3+3, and back',
  { timeout: 150_000 },
  async (t) => {
    if (!(await requireTool(t, 'kafka-python', hasPythonKafka, 'apt-get install python3-kafka'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'brook-groups-mixed-'));
    let classic: Member | undefined;
    await withBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } }, async (b) => {
      const topic = uniqueTopic('mixed');
      const groupId = `${topic}-group`;
      const base = { bootstrapBrokers: [b.bootstrapServers], timeout: 15_000, retries: 3, retryDelay: 200 };
      const producer = new Producer({ ...base, clientId: 'mixed-producer', serializers: stringSerializers });
      const seen = new Set<string>();
      let consumer: Consumer<string, string, string, string> | undefined;
      let stream: { close(): Promise<void> } | undefined;
      let closing = false;
      const errors: string[] = [];
      const groups = b.broker.services.groups;
      try {
        await createTopic(b.bootstrapServers, topic);
        await producer.send({
          messages: Array.from({ length: 60 }, (_, i) => ({ topic, partition: i % 6, value: `v${i}` })),
        });
        classic = startPythonMember(dir, MEMBER, 'kp', [b.bootstrapServers, topic, groupId]);
        await until(
          'the classic group is Stable',
          60_000,
          () => groups.groups.get(groupId)?.state === 'Stable',
        );

        consumer = new Consumer({
          ...base,
          clientId: 'mixed-plat',
          groupId,
          groupProtocol: 'consumer',
          deserializers: stringDeserializers,
        });
        const s = await consumer.consume({ topics: [topic], mode: 'earliest' });
        stream = s;
        s.on('data', (m) => seen.add(m.value));
        s.on('error', (err: unknown) => {
          if (!closing) errors.push(String(err));
        });
        let view = '';
        await until('a Stable consumer group with one classic and one consumer member, 3+3', 90_000, () => {
          const d = groups.consumerGroupDescribe(groupId);
          const g = groups.groups.get(groupId)?.consumer;
          view = JSON.stringify({ state: d.groupState, errorCode: d.errorCode });
          if (d.groupState !== 'Stable' || !g) return false;
          const kinds = [...g.members.values()].map((m) => (m.classic ? 'classic' : 'consumer')).sort();
          const sizes = d.members
            .map((m) => m.assignment.topicPartitions.flatMap((tp) => tp.partitions).length)
            .sort();
          view = JSON.stringify({ state: d.groupState, kinds, sizes });
          return kinds.join() === 'classic,consumer' && sizes.join() === '3,3';
        });
        t.diagnostic(`coordinator: ${view}`);
        const classicSeen = () =>
          new Set(
            classic!.proc.lines
              .filter((l) => l.startsWith('{'))
              .map((l) => (JSON.parse(l) as { v: string }).v),
          );
        await until('every record read by one member or the other', 60_000, () => {
          const all = new Set([...seen, ...classicSeen()]);
          return all.size === 60;
        });
        assert.deepEqual(errors, []);

        // The consumer-protocol member leaves: only the classic member remains, and the group becomes a
        // classic group again (Kafka 4.0's online downgrade). kafka-python rejoins, leads, takes all six
        // partitions and reads what is produced next.
        closing = true;
        await stream.close();
        await consumer.close();
        stream = undefined;
        consumer = undefined;
        await until('a Stable classic group with the kafka-python member', 60_000, () => {
          const g = groups.groups.get(groupId);
          return g?.consumer === null && g.state === 'Stable' && g.members.size === 1;
        });
        assert.deepEqual(
          groups
            .listGroups([], [])
            .groups.filter((g) => g.groupId === groupId)
            .map((g) => g.groupType),
          ['classic'],
        );
        await producer.send({
          messages: Array.from({ length: 60 }, (_, i) => ({ topic, partition: i % 6, value: `w${i}` })),
        });
        await until('kafka-python reads every record produced after the downgrade', 60_000, () => {
          const got = classicSeen();
          return Array.from({ length: 60 }, (_, i) => `w${i}`).every((v) => got.has(v));
        });
      } finally {
        closing = true;
        await stream?.close().catch(() => {});
        await consumer?.close().catch(() => {});
        await producer.close().catch(() => {});
        if (classic) await stopMember(classic);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
