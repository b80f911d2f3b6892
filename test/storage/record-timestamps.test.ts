// message.timestamp.before/after.max.ms on the append path (Kafka's LogValidator.validateTimestamp):
// every record is checked, inside compressed batches too, and a producer's LogAppendTime batch is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompressionType } from '../../src/protocol/batch-header.js';
import { encodeBatchSync } from '../../src/protocol/records.js';
import { StorageError } from '../../src/storage/errors.js';
import { checkRecordTimestamps } from '../../src/storage/record-timestamps.js';

const NOW = 1_700_000_000_000;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const HOUR = 3_600_000;

function batch(timestamps: number[], compression = CompressionType.None, logAppendTime = false): Buffer {
  return encodeBatchSync({
    records: timestamps.map((timestamp) => ({ value: 'v', timestamp })),
    compression,
    timestampType: logAppendTime ? 'LogAppendTime' : 'CreateTime',
  });
}

const invalidTimestamp = (err: unknown) => err instanceof StorageError && err.code === 'INVALID_TIMESTAMP';

test('a record outside the window fails the batch, even the second record of a gzip batch', () => {
  const limits = { messageTimestampBeforeMaxMs: HOUR, messageTimestampAfterMaxMs: HOUR };
  checkRecordTimestamps(batch([NOW, NOW - HOUR + 1, NOW + HOUR]), limits, NOW);
  // The first record is in range and the batch's max timestamp too: only decoding finds the old one.
  assert.throws(
    () => checkRecordTimestamps(batch([NOW, NOW - 2 * HOUR], CompressionType.Gzip), limits, NOW),
    (err) => invalidTimestamp(err) && /offset 1 is out of range/.test((err as Error).message),
  );
  assert.throws(() => checkRecordTimestamps(batch([NOW + 2 * HOUR]), limits, NOW), invalidTimestamp);
  const none = { messageTimestampBeforeMaxMs: NO_LIMIT, messageTimestampAfterMaxMs: NO_LIMIT };
  checkRecordTimestamps(batch([0, NOW * 2], CompressionType.Gzip), none, NOW);
});

test('a producer may not mark its batch LogAppendTime', () => {
  const none = { messageTimestampBeforeMaxMs: NO_LIMIT, messageTimestampAfterMaxMs: NO_LIMIT };
  assert.throws(
    () => checkRecordTimestamps(batch([NOW], CompressionType.None, true), none, NOW),
    invalidTimestamp,
  );
});
