// One failed producer-ID block reservation used to stay cached as a rejected promise, so every InitProducerId
// failed until a restart. Now the failure is answered with a retriable error and the next request reserves again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { ProducerIdManager } from '../../src/broker/producer-id-manager.js';
import type { MetadataStore } from '../../src/cluster/metadata-store.js';
import { startTestBroker } from '../helpers/broker.js';

/** Makes the store's next `failures` allocateProducerIds calls reject, as a failed metadata write would. */
function failAllocations(store: MetadataStore, failures: number): { calls: () => number } {
  const real = store.allocateProducerIds.bind(store);
  let calls = 0;
  store.allocateProducerIds = async (count) => {
    calls++;
    if (calls <= failures) throw new Error('injected: metadata store write failed');
    return real(count);
  };
  return { calls: () => calls };
}

test('ProducerIdManager retries the block allocation after a failure', async () => {
  let first = 0;
  const store = {
    async allocateProducerIds(count: number) {
      first += count;
      if (first === count) throw new Error('injected');
      return { first: first - count, count };
    },
  } as unknown as MetadataStore;
  const ids = new ProducerIdManager(store);
  await assert.rejects(ids.generate(), /injected/);
  assert.equal(await ids.generate(), 1000);
  assert.equal(await ids.generate(), 1001);
});

test('InitProducerId succeeds over the wire after a failed producer ID allocation', async () => {
  const b = await startTestBroker({ 'auto.create.topics.enable': 'true' });
  try {
    const injected = failAllocations(b.broker.services.metadata, 1);
    const kafka = new Kafka({
      brokers: [b.bootstrapServers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 50 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // kafkajs sends InitProducerId on the first send: it meets the failure, retries, and must then succeed.
      const [meta] = await producer.send({ topic: 'pid-retry', acks: -1, messages: [{ value: 'v' }] });
      assert.equal(meta!.errorCode, 0);
      assert.ok(injected.calls() >= 2, 'the allocation was tried again after the failure');
    } finally {
      await producer.disconnect();
    }
  } finally {
    await b.stop();
  }
});
