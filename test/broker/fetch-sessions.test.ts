// Incremental fetch sessions (KIP-227) over the wire, request by request, as Kafka's FetchManager answers
// them: a full fetch (SessionEpoch 0) opens a session; incremental fetches name only what changed and get
// only partitions with something new; the session errors (FETCH_SESSION_ID_NOT_FOUND,
// INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR), epoch -1 and ForgottenTopicsData, and the
// cache limit max.incremental.fetch.session.cache.slots. No installed client uses sessions (librdkafka,
// kafka-python 2.0.2, kafkajs and sarama send SessionEpoch -1 or Fetch < v7; docs/client-notes.md), so
// these requests are written by hand with the generated codec.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, Producer } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { rawRequest } from '../admin/raw-client.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';

const PARTITIONS = 8;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

interface Want {
  topic: string;
  topicId: string;
  partition: number;
  offset: number;
}

interface FetchArgs {
  version: number;
  sessionId: number;
  epoch: number;
  partitions?: Want[];
  forget?: Want[];
  minBytes?: number;
  maxWaitMs?: number;
}

/** One Fetch; answers as [topic-or-id:partition, error, records bytes] lists for easy comparison. */
async function fetch(b: TestBroker, a: FetchArgs) {
  const byId = a.version >= 13;
  const group = (list: Want[]) => {
    const topics = new Map<string, { topic: string; topicId: string; items: Want[] }>();
    for (const w of list) {
      const key = byId ? w.topicId : w.topic;
      if (!topics.has(key)) topics.set(key, { topic: w.topic, topicId: w.topicId, items: [] });
      topics.get(key)!.items.push(w);
    }
    return [...topics.values()];
  };
  const res = await rawRequest<FetchResponse>(b.bootstrapServers, ApiKey.Fetch, a.version, {
    replicaId: -1,
    maxWaitMs: a.maxWaitMs ?? 0,
    minBytes: a.minBytes ?? 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: a.sessionId,
    sessionEpoch: a.epoch,
    topics: group(a.partitions ?? []).map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.items.map((w) => ({
        partition: w.partition,
        currentLeaderEpoch: -1,
        fetchOffset: BigInt(w.offset),
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1 << 20,
      })),
    })),
    forgottenTopicsData: group(a.forget ?? []).map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.items.map((w) => w.partition),
    })),
    rackId: '',
  });
  const parts = res.responses.flatMap((t) =>
    t.partitions.map((p) => ({
      partition: p.partitionIndex,
      errorCode: p.errorCode,
      highWatermark: Number(p.highWatermark),
      bytes: p.records?.length ?? 0,
    })),
  );
  return { errorCode: res.errorCode, sessionId: res.sessionId, parts };
}

describe('fetch sessions (KIP-227)', () => {
  let b: TestBroker;
  let admin: Admin;
  let producer: Producer;
  before(async () => {
    b = await startTestBroker();
    admin = await Admin.connect(b.bootstrapServers);
    producer = await Producer.connect(b.bootstrapServers);
  });
  after(async () => {
    await producer.close();
    await admin.close();
    await b.stop();
  });

  async function newTopic(): Promise<{ topic: string; topicId: string; all: Want[] }> {
    const topic = uniqueTopic('sess');
    await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
    const topicId = b.broker.services.topics.get(topic)!.topicId;
    const all = Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic,
      topicId,
      partition,
      offset: 0,
    }));
    return { topic, topicId, all };
  }

  const produce = (topic: string, partition: number, n = 1) =>
    producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ value: `v${i}`, partition })) });

  for (const version of [12, 13, 17]) {
    test(`v${version}: a full fetch opens a session; incremental fetches answer only what is new`, async () => {
      const { topic, all } = await newTopic();
      await produce(topic, 2, 3);
      const full = await fetch(b, { version, sessionId: 0, epoch: 0, partitions: all });
      assert.equal(full.errorCode, ErrorCode.NONE);
      assert.notEqual(full.sessionId, 0, 'a full fetch with epoch 0 opens a session');
      assert.equal(full.parts.length, PARTITIONS, 'the full answer lists every partition');
      assert.ok(full.parts.find((p) => p.partition === 2)!.bytes > 0);
      const id = full.sessionId;

      // The client consumed partition 2 up to 3: it names only that partition.
      let r = await fetch(b, { version, sessionId: id, epoch: 1, partitions: [{ ...all[2]!, offset: 3 }] });
      assert.deepEqual(
        r,
        { errorCode: ErrorCode.NONE, sessionId: id, parts: [] },
        'nothing new: no partitions',
      );

      // New data on partition 5, which this request does not name: the session still reads it.
      await produce(topic, 5, 2);
      r = await fetch(b, { version, sessionId: id, epoch: 2 });
      assert.deepEqual(
        r.parts.map((p) => [p.partition, p.highWatermark, p.bytes > 0]),
        [[5, 2, true]],
      );

      // A long poll over the session's partitions wakes up for data on any of them.
      setTimeout(() => void produce(topic, 7), 200);
      r = await fetch(b, {
        version,
        sessionId: id,
        epoch: 3,
        partitions: [{ ...all[5]!, offset: 2 }],
        minBytes: 1,
        maxWaitMs: 10_000,
      });
      assert.deepEqual(
        r.parts.map((p) => p.partition),
        [7],
      );

      // Forgotten partitions leave the session.
      await produce(topic, 0);
      r = await fetch(b, {
        version,
        sessionId: id,
        epoch: 4,
        partitions: [{ ...all[7]!, offset: 1 }],
        forget: [all[0]!],
      });
      assert.deepEqual(r.parts, [], 'partition 0 was forgotten; 7 is caught up');
      // The same epoch again: another fetch already used it.
      r = await fetch(b, { version, sessionId: id, epoch: 4 });
      assert.deepEqual(r, { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, parts: [] });
      // Epoch -1 closes the session and answers as a sessionless full fetch.
      r = await fetch(b, { version, sessionId: id, epoch: -1, partitions: [all[1]!] });
      assert.equal(r.sessionId, 0);
      assert.equal(r.parts.length, 1);
      r = await fetch(b, { version, sessionId: id, epoch: 5 });
      assert.deepEqual(r, { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, parts: [] });
    });
  }

  test('a session keeps the naming of its request version: FETCH_SESSION_TOPIC_ID_ERROR', async () => {
    const { all } = await newTopic();
    const byId = await fetch(b, { version: 13, sessionId: 0, epoch: 0, partitions: all });
    const byName = await fetch(b, { version: 12, sessionId: 0, epoch: 0, partitions: all });
    assert.equal(
      (await fetch(b, { version: 12, sessionId: byId.sessionId, epoch: 1 })).errorCode,
      ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
    );
    assert.equal(
      (await fetch(b, { version: 13, sessionId: byName.sessionId, epoch: 1 })).errorCode,
      ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
    );
    // The error does not end the session: the right version still works.
    assert.equal((await fetch(b, { version: 13, sessionId: byId.sessionId, epoch: 1 })).errorCode, 0);
  });

  test('partitions added later, unknown topic ids, and forgetting everything', async () => {
    const { all } = await newTopic();
    const first = await fetch(b, { version: 13, sessionId: 0, epoch: 0, partitions: all.slice(0, 2) });
    const id = first.sessionId;
    const ghost = { topic: '', topicId: '0b7e1b9a-6a5e-4b43-9f7e-5a1c2d3e4f50', partition: 0, offset: 0 };
    // An added partition is answered once (its high watermark is news); an unknown id every time.
    let r = await fetch(b, { version: 13, sessionId: id, epoch: 1, partitions: [all[4]!, ghost] });
    assert.deepEqual(
      r.parts.map((p) => [p.partition, p.errorCode]),
      [
        [4, ErrorCode.NONE],
        [0, ErrorCode.UNKNOWN_TOPIC_ID],
      ],
    );
    r = await fetch(b, { version: 13, sessionId: id, epoch: 2 });
    assert.deepEqual(
      r.parts.map((p) => [p.partition, p.errorCode]),
      [[0, ErrorCode.UNKNOWN_TOPIC_ID]],
    );
    // Forgetting every partition ends the session; this answer is sessionless.
    r = await fetch(b, { version: 13, sessionId: id, epoch: 3, forget: [all[0]!, all[1]!, all[4]!, ghost] });
    assert.deepEqual(r, { errorCode: 0, sessionId: 0, parts: [] });
    assert.equal(
      (await fetch(b, { version: 13, sessionId: id, epoch: 4 })).errorCode,
      ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
    );
  });

  /** A broker with `slots` session slots and a 2-partition topic; fn gets both partitions at offset 0. */
  async function withSlots(slots: number, fn: (b: TestBroker, all: Want[]) => Promise<void>): Promise<void> {
    const small = await startTestBroker({ 'max.incremental.fetch.session.cache.slots': String(slots) });
    try {
      const a = await Admin.connect(small.bootstrapServers);
      const topic = uniqueTopic('slots');
      await a.createTopics([{ name: topic, partitions: 2 }]);
      await a.close();
      await fn(
        small,
        [0, 1].map((partition) => ({ topic, topicId: ZERO_UUID, partition, offset: 0 })),
      );
    } finally {
      await small.stop();
    }
  }

  test('max.incremental.fetch.session.cache.slots bounds the sessions; a full cache answers sessionless', () =>
    withSlots(3, async (b3, all) => {
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push((await fetch(b3, { version: 12, sessionId: 0, epoch: 0, partitions: all })).sessionId);
      }
      assert.equal(ids.filter((id) => id !== 0).length, 3, ids.join(','));
      assert.equal(ids[3], 0, 'no free slot and no session old enough to evict: SessionId 0');
      assert.equal(b3.broker.services.fetchSessions.size, 3);
      // A full fetch that names its own session closes it, so the new one gets the slot.
      const again = await fetch(b3, { version: 12, sessionId: ids[0]!, epoch: 0, partitions: all });
      assert.notEqual(again.sessionId, 0);
      assert.equal(b3.broker.services.fetchSessions.get(ids[0]!), undefined);
      assert.equal(b3.broker.services.fetchSessions.size, 3);
    }));

  test('with 0 slots every fetch is sessionless (Fetch v7+ clients then send full fetches)', () =>
    withSlots(0, async (b0, all) => {
      const r = await fetch(b0, { version: 12, sessionId: 0, epoch: 0, partitions: all });
      assert.equal(r.sessionId, 0);
      assert.equal(r.parts.length, 2);
    }));
});
