// The records of __transaction_state, in Kafka's own format (TransactionLogKey.json and
// TransactionLogValue.json of Kafka's transaction-coordinator module), so a Kafka tool reading the
// topic sees what Kafka would write. Key and value each start with an int16 version.
//   key v0    TransactionLogKey    transactionalId
//   value v0  TransactionLogValue  producer id/epoch, timeout, status, partitions, timestamps
//   value v1  the same, flexible, with tagged previous/next producer ids and the client's
//             transaction version (Kafka 4.0); read, never written here.
// A null value is a tombstone: the transactional id expired.
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { VERSION_MAX as MAX, type MessageSchema } from '../protocol/schema.js';
import { ProtocolError, Reader, Writer } from '../protocol/wire.js';

const TransactionLogKeySchema: MessageSchema = {
  name: 'TransactionLogKey',
  kind: 'data',
  validVersions: [0, 0],
  flexibleVersions: null,
  fields: [{ name: 'transactionalId', type: 'string', versions: [0, MAX] }],
};

const TransactionLogValueSchema: MessageSchema = {
  name: 'TransactionLogValue',
  kind: 'data',
  validVersions: [0, 1],
  flexibleVersions: [1, MAX],
  fields: [
    { name: 'producerId', type: 'int64', versions: [0, MAX] },
    { name: 'previousProducerId', type: 'int64', versions: [1, MAX], tagged: [1, MAX], tag: 0, default: -1n },
    { name: 'nextProducerId', type: 'int64', versions: [1, MAX], tagged: [1, MAX], tag: 1, default: -1n },
    { name: 'producerEpoch', type: 'int16', versions: [0, MAX] },
    { name: 'transactionTimeoutMs', type: 'int32', versions: [0, MAX] },
    { name: 'transactionStatus', type: 'int8', versions: [0, MAX] },
    {
      name: 'transactionPartitions',
      type: 'struct',
      array: true,
      versions: [0, MAX],
      nullable: [0, MAX],
      fields: [
        { name: 'topic', type: 'string', versions: [0, MAX] },
        { name: 'partitionIds', type: 'int32', array: true, versions: [0, MAX] },
      ],
    },
    { name: 'transactionLastUpdateTimestampMs', type: 'int64', versions: [0, MAX] },
    { name: 'transactionStartTimestampMs', type: 'int64', versions: [0, MAX] },
    {
      name: 'clientTransactionVersion',
      type: 'int16',
      versions: [1, MAX],
      tagged: [1, MAX],
      tag: 2,
      default: 0,
    },
  ],
};

export interface TransactionLogValue {
  producerId: bigint;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /** TransactionState id (transaction-metadata.ts). */
  transactionStatus: number;
  transactionPartitions: { topic: string; partitionIds: number[] }[] | null;
  transactionLastUpdateTimestampMs: bigint;
  transactionStartTimestampMs: bigint;
}

function versioned(schema: MessageSchema, version: number, value: object): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeMessage(schema, version, w, value);
  return w.toBuffer();
}

export function transactionLogKey(transactionalId: string): Buffer {
  return versioned(TransactionLogKeySchema, 0, { transactionalId });
}

export function transactionLogValue(v: TransactionLogValue): Buffer {
  return versioned(TransactionLogValueSchema, 0, v);
}

/** The transactional id of a key, or null for a key version this broker does not know. */
export function parseTransactionLogKey(buf: Buffer): string | null {
  const r = new Reader(buf);
  const version = r.int16();
  if (version !== 0) return null;
  return decodeMessage<{ transactionalId: string }>(TransactionLogKeySchema, 0, r).transactionalId;
}

export function parseTransactionLogValue(buf: Buffer): TransactionLogValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 1) throw new ProtocolError(`unknown TransactionLogValue version ${version}`);
  return decodeMessage<TransactionLogValue>(TransactionLogValueSchema, version, r);
}
