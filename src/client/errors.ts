// Errors of Brook's client: always a KafkaError carrying the Kafka error code, plus where it came from
// (the API and the topic, partition, group or resource the code was attached to), so a caller can
// both switch on `code` and show one readable sentence.
import { ErrorCode, KafkaError, errorDescription, errorName } from '../protocol/errors.js';

export class KafkaClientError extends KafkaError {
  /** The API whose response carried the code, e.g. 'CreateTopics'; 'Connection' for network failures. */
  readonly api: string;
  /** What the code was attached to, e.g. "topic 'orders'" or "orders-3"; '' when the whole response failed. */
  readonly source: string;

  constructor(code: ErrorCode, api: string, source: string, detail?: string | null, options?: ErrorOptions) {
    const where = source ? `${api} ${source}` : api;
    const why = (detail || errorDescription(code) || 'failed').replace(/\.$/, '');
    super(code, `${where}: ${why} (${errorName(code)}).`, options);
    this.api = api;
    this.source = source;
  }
}

/** Throws a KafkaClientError when `code` is not NONE. */
export function check(code: number, api: string, source = '', detail?: string | null): void {
  if (code !== ErrorCode.NONE) throw new KafkaClientError(code as ErrorCode, api, source, detail);
}

/** A failure of the connection itself (refused, reset, timed out), as NETWORK_EXCEPTION or REQUEST_TIMED_OUT. */
export function networkError(address: string, detail: string, cause?: unknown): KafkaClientError {
  return new KafkaClientError(ErrorCode.NETWORK_EXCEPTION, 'Connection', `to ${address}`, detail, { cause });
}
