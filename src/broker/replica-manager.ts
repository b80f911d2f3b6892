// Appends to and reads from the partitions this broker leads (on a single node: all of them), and
// parks Fetch requests until data arrives. Storage errors become Kafka error codes here, so that
// handlers deal only in codes.
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { BATCH_OFFSET_MAGIC } from '../protocol/batch-header.js';
import { CompressionError } from '../protocol/compression.js';
import { convertLegacyMessageSet } from '../protocol/legacy-records.js';
import { CorruptRecordError } from '../protocol/records.js';
import { StorageError } from '../storage/errors.js';
import type { LogManager } from '../storage/log-manager.js';
import {
  maxDecompressedBytesFor,
  RecordValidationError,
  validateCompressedRecords,
  validateRecords,
  type RecordError,
  timestampWindow,
  type ValidateOptions,
} from '../storage/record-batches.js';
import type { AppendResult, UnifiedLog } from '../storage/unified-log.js';

/** On a single node every partition has one leader epoch, stamped into every batch it stores. */
export const LEADER_EPOCH = 0;

export interface AppendOutcome {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Records refused one by one (KIP-467); empty unless errorCode is INVALID_RECORD. */
  recordErrors: RecordError[];
}

const STORAGE_ERROR_CODES: Record<string, number> = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  OUT_OF_ORDER_SEQUENCE_NUMBER: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH: ErrorCode.INVALID_PRODUCER_EPOCH,
  DUPLICATE_SEQUENCE_NUMBER: ErrorCode.DUPLICATE_SEQUENCE_NUMBER,
  KAFKA_STORAGE_ERROR: ErrorCode.KAFKA_STORAGE_ERROR,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
  INVALID_TIMESTAMP: ErrorCode.INVALID_TIMESTAMP,
};

/** The Kafka error code for an error thrown by storage (unknown errors are UNKNOWN_SERVER_ERROR). */
export function errorCodeOf(err: unknown): number {
  if (err instanceof StorageError) return STORAGE_ERROR_CODES[err.code] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  // Legacy (magic 0/1) message sets are decoded before storage sees them.
  if (err instanceof CompressionError)
    return err.tooLarge ? ErrorCode.MESSAGE_TOO_LARGE : ErrorCode.CORRUPT_MESSAGE;
  if (err instanceof CorruptRecordError) return ErrorCode.CORRUPT_MESSAGE;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Checks a client's view of the leader epoch against ours (KIP-320); NONE when it matches or is unset. */
export function checkLeaderEpoch(currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0 || currentLeaderEpoch === LEADER_EPOCH) return ErrorCode.NONE;
  return currentLeaderEpoch > LEADER_EPOCH ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}

export class ReplicaManager {
  /** Per partition, the last append still waiting for an earlier one or for its records' check. */
  private readonly appendQueues = new Map<UnifiedLog, Promise<void>>();

  constructor(
    private readonly logs: LogManager,
    private readonly logger: Logger,
  ) {}

  getLog(topic: string, partition: number): UnifiedLog | undefined {
    return this.logs.getLog(topic, partition);
  }

  /**
   * Appends a client's records. Resolves once the bytes are written (and fsynced when
   * log.flush.before.ack is on), so an acknowledged write survives a process crash.
   */
  async appendRecords(
    topic: string,
    partition: number,
    records: Buffer | null,
    waitForWrite: boolean,
  ): Promise<AppendOutcome> {
    const log = this.logs.getLog(topic, partition);
    if (!log) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
    if (!records || records.length === 0) {
      return failure(ErrorCode.CORRUPT_MESSAGE, 'Produce request carries no records.');
    }
    try {
      if (records.length > BATCH_OFFSET_MAGIC && records[BATCH_OFFSET_MAGIC]! < 2) {
        // Magic v0/v1 message sets (old client versions) are stored as v2 like everything else.
        const maxDecompressedBytes = maxDecompressedBytesFor(log.config.maxMessageBytes);
        records = await convertLegacyMessageSet(records, { maxDecompressedBytes });
      }
      // Everything Kafka checks before storing a client's records (record-batches.ts). Compressed
      // batches are inflated to check their records, off the event loop where the codec allows.
      const config = log.config;
      const opts: ValidateOptions = {
        compacted: config.cleanupPolicy !== 'delete',
        origin: 'client',
        topicPartition: `${topic}-${partition}`,
        timestamps: timestampWindow(config, Date.now()),
      };
      const validated = validateRecords(records, config.maxMessageBytes, opts);
      const inflated =
        validated.compressedBatches > 0
          ? validateCompressedRecords(records, maxDecompressedBytesFor(config.maxMessageBytes), opts)
          : null;
      const stamped = records;
      const result = await this.appendInOrder(log, inflated, () =>
        log.append(stamped, { leaderEpoch: LEADER_EPOCH, assignOffsets: true, validated }),
      );
      if (waitForWrite) await result.durable;
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        baseOffset: result.baseOffset,
        logAppendTimeMs: result.logAppendTimeMs,
        logStartOffset: result.logStartOffset,
        recordErrors: [],
      };
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.logger.error('Append failed', { topic, partition, err: (err as Error).stack });
      }
      const outcome = failure(code, (err as Error).message);
      if (err instanceof RecordValidationError) outcome.recordErrors = err.recordErrors;
      return outcome;
    }
  }

  /**
   * Appends to one partition in request order, even when one of them first waits for its compressed
   * records to be checked: an idempotent producer's pipelined batches must not overtake each other.
   * With nothing to wait for, the append happens now, synchronously.
   */
  private appendInOrder(
    log: UnifiedLog,
    check: Promise<void> | null,
    append: () => AppendResult,
  ): AppendResult | Promise<AppendResult> {
    const previous = this.appendQueues.get(log);
    if (check === null && previous === undefined) return append();
    check?.catch(() => undefined); // observed below, after the previous append; not unhandled meanwhile
    const turn = (async (): Promise<AppendResult> => {
      if (previous !== undefined) await previous;
      if (check !== null) await check;
      return append();
    })();
    const done = turn.then(
      () => undefined,
      () => undefined,
    );
    this.appendQueues.set(log, done);
    void done.then(() => {
      if (this.appendQueues.get(log) === done) this.appendQueues.delete(log);
    });
    return turn;
  }

  /**
   * Waits until one of `logs` gets new data or `timeoutMs` passes: Fetch's long poll (MaxWaitMs,
   * MinBytes). A client that disconnects meanwhile is noticed by the caller when this returns, as
   * Kafka's purgatory does; the wait is bounded by the client's own MaxWaitMs.
   */
  waitForData(logs: UnifiedLog[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const unsubscribes: (() => void)[] = [];
      const done = (): void => {
        clearTimeout(timer);
        for (const u of unsubscribes) u();
        resolve();
      };
      for (const log of logs) unsubscribes.push(log.onAppend(done));
      const timer = setTimeout(done, timeoutMs);
    });
  }
}

function failure(errorCode: number, errorMessage: string | null): AppendOutcome {
  return {
    errorCode,
    errorMessage,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
  };
}
