// Errors raised by the storage layer. Each carries a stable code that the broker maps to the
// Kafka error code of the same name, so storage never needs to know the wire numbers.

export type StorageErrorCode =
  | 'CORRUPT_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'DUPLICATE_SEQUENCE_NUMBER'
  | 'KAFKA_STORAGE_ERROR'
  | 'INVALID_RECORD'
  | 'INVALID_TIMESTAMP';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A batch on disk that fails its CRC or cannot be walked (bit rot, a damaged file). Answered to
 * consumers as CORRUPT_MESSAGE; `resumeOffset` is the first offset after the damage that a reader
 * such as the offsets loader can continue from.
 */
export class CorruptBatchError extends StorageError {
  constructor(
    readonly batchBaseOffset: number,
    readonly resumeOffset: number,
    message: string,
  ) {
    super('CORRUPT_MESSAGE', message);
  }
}

/**
 * A broken storage invariant (offsets going backwards, an index pointing past its file).
 * Thrown loudly so the partition stops instead of quietly corrupting data.
 */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new StorageError('KAFKA_STORAGE_ERROR', `storage invariant violated: ${message}`);
}
