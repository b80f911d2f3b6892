// The transaction coordinator's protocol answers, request by request over a socket (no client
// library hides them): timeouts, epoch bumps, fencing codes per version, AddPartitionsToTxn v3 and
// batched verify-only v4, KIP-890's refusal of a produce to a partition outside the transaction,
// EndTxn retries and wrong decisions, DescribeTransactions and ListTransactions, the state surviving
// a restart, and transactional.id.expiration.ms writing a tombstone that survives one too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeBatchSync } from '../../src/protocol/records.js';
import { makeTempDir, removeDir, startTestBroker, uniqueTopic } from '../helpers/broker.js';
import { rawRequest } from '../admin/raw-client.js';

interface InitAnswer {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}
interface AddAnswerV3 {
  resultsByTopicV3AndBelow: {
    name: string;
    resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[];
  }[];
}
interface DescribeAnswer {
  transactionStates: {
    errorCode: number;
    transactionalId: string;
    transactionState: string;
    producerId: bigint;
    producerEpoch: number;
    topics: { topic: string; partitions: number[] }[];
  }[];
}

const codesV3 = (a: AddAnswerV3) =>
  a.resultsByTopicV3AndBelow.flatMap((t) =>
    t.resultsByPartition.map((p) => [t.name, p.partitionIndex, p.partitionErrorCode]),
  );

test('transaction coordinator: InitProducerId, AddPartitionsToTxn, produce checks, EndTxn, Describe/List, restart, expiry', async () => {
  const dataDir = makeTempDir('brook-txn-coord-');
  let b = await startTestBroker({ 'num.partitions': '2', 'transaction.max.timeout.ms': '60000' }, dataDir);
  try {
    const topic = uniqueTopic('coord');
    await rawRequest(b.bootstrapServers, ApiKey.CreateTopics, 4, {
      topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10000,
    });
    const init = (timeoutMs: number, version = 4, id = 'raw-1') =>
      rawRequest<InitAnswer>(b.bootstrapServers, ApiKey.InitProducerId, version, {
        transactionalId: id,
        transactionTimeoutMs: timeoutMs,
        producerId: -1n,
        producerEpoch: -1,
      });
    assert.equal((await init(60001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const first = await init(30000);
    assert.deepEqual([first.errorCode, first.producerEpoch], [ErrorCode.NONE, 0]);
    const second = await init(30000);
    assert.deepEqual([second.producerId, second.producerEpoch], [first.producerId, 1], 'epoch bump');
    const pid = second.producerId;

    const add = (version: number, epoch: number, partitions: number[], name = topic) =>
      rawRequest<AddAnswerV3>(b.bootstrapServers, ApiKey.AddPartitionsToTxn, version, {
        v3AndBelowTransactionalId: 'raw-1',
        v3AndBelowProducerId: pid,
        v3AndBelowProducerEpoch: epoch,
        v3AndBelowTopics: [{ name, partitions }],
      });
    assert.deepEqual(codesV3(await add(3, 0, [0])), [[topic, 0, ErrorCode.PRODUCER_FENCED]]);
    assert.deepEqual(codesV3(await add(1, 0, [0])), [[topic, 0, ErrorCode.INVALID_PRODUCER_EPOCH]]);
    assert.deepEqual(codesV3(await add(3, 1, [0, 7])), [
      [topic, 0, ErrorCode.OPERATION_NOT_ATTEMPTED],
      [topic, 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    assert.deepEqual(codesV3(await add(3, 1, [0])), [[topic, 0, ErrorCode.NONE]]);

    // Verify-only (v4, batched): partition 0 is in the transaction, partition 1 is not.
    const verify = await rawRequest<{
      resultsByTransaction: {
        topicResults: { resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[] }[];
      }[];
    }>(b.bootstrapServers, ApiKey.AddPartitionsToTxn, 4, {
      transactions: [
        {
          transactionalId: 'raw-1',
          producerId: pid,
          producerEpoch: 1,
          verifyOnly: true,
          topics: [{ name: topic, partitions: [0, 1] }],
        },
      ],
    });
    assert.deepEqual(
      verify.resultsByTransaction[0]!.topicResults[0]!.resultsByPartition.map((p) => p.partitionErrorCode),
      [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE],
    );

    // KIP-890: a transactional produce to partition 1 (not added) is refused; to partition 0 it is written.
    const produce = (partition: number) =>
      rawRequest<{ responses: { partitionResponses: { errorCode: number }[] }[] }>(
        b.bootstrapServers,
        ApiKey.Produce,
        8,
        {
          transactionalId: 'raw-1',
          acks: -1,
          timeoutMs: 10000,
          topicData: [
            {
              name: topic,
              partitionData: [
                {
                  index: partition,
                  records: encodeBatchSync({
                    records: [{ value: 'v' }],
                    producerId: pid,
                    producerEpoch: 1,
                    baseSequence: 0,
                    transactional: true,
                  }),
                },
              ],
            },
          ],
        },
      );
    assert.equal(
      (await produce(1)).responses[0]!.partitionResponses[0]!.errorCode,
      ErrorCode.INVALID_TXN_STATE,
    );
    assert.equal((await produce(0)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);

    const describe = async (ids: string[]) =>
      (
        await rawRequest<DescribeAnswer>(b.bootstrapServers, ApiKey.DescribeTransactions, 0, {
          transactionalIds: ids,
        })
      ).transactionStates;
    const [ongoing, unknown] = await describe(['raw-1', 'nobody']);
    assert.deepEqual(
      [ongoing!.transactionState, ongoing!.producerEpoch, ongoing!.topics],
      ['Ongoing', 1, [{ topic, partitions: [0] }]],
    );
    assert.equal(unknown!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const listed = await rawRequest<{
      unknownStateFilters: string[];
      transactionStates: { transactionalId: string; transactionState: string }[];
    }>(b.bootstrapServers, ApiKey.ListTransactions, 1, {
      stateFilters: ['Ongoing', 'Bogus'],
      producerIdFilters: [],
      durationFilter: -1n,
    });
    assert.deepEqual(listed.unknownStateFilters, ['Bogus']);
    assert.deepEqual(listed.transactionStates, [
      { transactionalId: 'raw-1', producerId: pid, transactionState: 'Ongoing' },
    ]);

    const end = (committed: boolean, epoch = 1) =>
      rawRequest<{ errorCode: number }>(b.bootstrapServers, ApiKey.EndTxn, 3, {
        transactionalId: 'raw-1',
        producerId: pid,
        producerEpoch: epoch,
        committed,
      });
    assert.equal((await end(true, 0)).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await end(true)).errorCode, ErrorCode.NONE);
    assert.equal((await end(true)).errorCode, ErrorCode.NONE, 'a retried commit');
    assert.equal((await end(false)).errorCode, ErrorCode.INVALID_TXN_STATE, 'abort after commit');
    assert.equal((await describe(['raw-1']))[0]!.transactionState, 'CompleteCommit');

    // The state is read back from __transaction_state after a restart.
    await b.broker.stop();
    b = await startTestBroker({ 'num.partitions': '2', 'transaction.max.timeout.ms': '60000' }, dataDir);
    const reloaded = (await describe(['raw-1']))[0]!;
    assert.deepEqual(
      [reloaded.transactionState, reloaded.producerId, reloaded.producerEpoch],
      ['CompleteCommit', pid, 1],
    );
    // transactional.id.expiration.ms: an idle id is forgotten, durably.
    await b.broker.services.transactions.removeExpired(Date.now() + 8 * 86_400_000);
    assert.equal((await describe(['raw-1']))[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    await b.broker.stop();
    b = await startTestBroker({ 'num.partitions': '2' }, dataDir);
    assert.equal((await describe(['raw-1']))[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const fresh = await init(30000);
    assert.equal(fresh.producerEpoch, 0, 'a forgotten id starts over');
  } finally {
    await b.broker.stop();
    removeDir(dataDir);
  }
});

test('WriteTxnMarkers: a marker from an older coordinator epoch is fenced, also after a restart', async () => {
  const dataDir = makeTempDir('brook-txn-fence-');
  let b = await startTestBroker({}, dataDir);
  try {
    const topic = uniqueTopic('fence');
    await rawRequest(b.bootstrapServers, ApiKey.CreateTopics, 4, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10000,
    });
    const marker = async (coordinatorEpoch: number): Promise<number> => {
      const res = await rawRequest<{
        markers: { topics: { partitions: { errorCode: number }[] }[] }[];
      }>(b.bootstrapServers, ApiKey.WriteTxnMarkers, 1, {
        markers: [
          {
            producerId: 4242n,
            producerEpoch: 0,
            transactionResult: false,
            topics: [{ name: topic, partitionIndexes: [0] }],
            coordinatorEpoch,
          },
        ],
      });
      return res.markers[0]!.topics[0]!.partitions[0]!.errorCode;
    };
    assert.equal(await marker(5), ErrorCode.NONE);
    assert.equal(await marker(3), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(await marker(5), ErrorCode.NONE);
    await b.broker.stop();
    b = await startTestBroker({}, dataDir);
    assert.equal(await marker(4), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(await marker(6), ErrorCode.NONE);
  } finally {
    await b.broker.stop();
    removeDir(dataDir);
  }
});
