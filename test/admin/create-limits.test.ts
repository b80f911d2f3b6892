// What one CreateTopics or CreatePartitions request may create is bounded, as Kafka's controller
// bounds it (10,000 partitions, here max.partitions.per.request): a larger request fails whole with
// POLICY_VIOLATION for every topic and creates nothing.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { CreatePartitionsResponse } from '../../src/protocol/generated/create-partitions.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { rawRequest } from './raw-client.js';

const topic = (name: string, numPartitions: number) => ({
  name,
  numPartitions,
  replicationFactor: 1,
  assignments: [],
  configs: [],
});

function createTopics(b: TestBroker, topics: ReturnType<typeof topic>[]): Promise<CreateTopicsResponse> {
  return rawRequest(b.bootstrapServers, ApiKey.CreateTopics, 5, {
    topics,
    timeoutMs: 30_000,
    validateOnly: false,
  });
}

describe('partitions per request', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ 'max.partitions.per.request': '20', 'num.partitions': '4' });
  });
  after(async () => {
    await b?.stop();
  });

  test('CreateTopics over the bound: POLICY_VIOLATION for every topic, nothing created', async () => {
    const r = await createTopics(b, [topic('over-a', 10), topic('over-b', 7), topic('over-c', -1)]);
    assert.deepEqual(
      r.topics.map((t) => [t.name, t.errorCode, t.errorMessage]),
      ['over-a', 'over-b', 'over-c'].map((n) => [
        n,
        ErrorCode.POLICY_VIOLATION,
        'Excessively large number of partitions per request.',
      ]),
    );
    for (const n of ['over-a', 'over-b', 'over-c']) assert.equal(b.broker.services.topics.get(n), undefined);
    assert.deepEqual(
      readdirSync(b.dataDir).filter((n) => n.startsWith('over-')),
      [],
    );
  });

  test('CreateTopics at the bound succeeds', async () => {
    const r = await createTopics(b, [topic('at-a', 10), topic('at-b', 6), topic('at-c', -1)]);
    assert.deepEqual(
      r.topics.map((t) => t.errorCode),
      [0, 0, 0],
    );
    assert.equal(b.broker.services.topics.get('at-c')?.partitions, 4);
  });

  test('CreatePartitions over the bound: POLICY_VIOLATION for every topic, nothing added', async () => {
    const over: CreatePartitionsResponse = await rawRequest(b.bootstrapServers, ApiKey.CreatePartitions, 2, {
      topics: [
        { name: 'at-a', count: 25, assignments: null },
        { name: 'at-b', count: 22, assignments: null },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.deepEqual(
      over.results.map((t) => [t.name, t.errorCode]),
      [
        ['at-a', ErrorCode.POLICY_VIOLATION],
        ['at-b', ErrorCode.POLICY_VIOLATION],
      ],
    );
    assert.equal(b.broker.services.topics.get('at-a')?.partitions, 10);
    assert.equal(b.broker.services.topics.get('at-b')?.partitions, 6);
    const ok: CreatePartitionsResponse = await rawRequest(b.bootstrapServers, ApiKey.CreatePartitions, 2, {
      topics: [{ name: 'at-a', count: 30, assignments: null }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.equal(ok.results[0]!.errorCode, 0);
    assert.equal(b.broker.services.topics.get('at-a')?.partitions, 30);
  });
});

test("Kafka's default bound: a request for 10,001 partitions is refused before anything is created", async () => {
  const b = await startTestBroker();
  try {
    const r = await createTopics(b, [topic('huge', 10_000), topic('one-more', 1)]);
    assert.deepEqual(
      r.topics.map((t) => t.errorCode),
      [ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION],
    );
    assert.deepEqual(
      readdirSync(b.dataDir).filter((n) => n.startsWith('huge-') || n.startsWith('one-more-')),
      [],
    );
  } finally {
    await b.stop();
  }
});
