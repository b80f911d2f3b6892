// Test messages that cover the awkward cases (binary, null key, tombstone, empty, large, unicode headers), in a
// JSON shape any client script can produce from and print back, so tests compare exactly what went in and out.

/** One message, bytes as lowercase hex (null = Kafka null); headers keep their order and may repeat keys. */
export interface WireMessage {
  key: string | null;
  value: string | null;
  headers: [string, string][];
  /** CreateTime in ms since the epoch. */
  timestamp: number;
}

/** A consumed message: WireMessage plus where it was stored and its timestamp type. */
export interface ConsumedMessage extends WireMessage {
  partition: number;
  offset: number;
  /** 'create' (CreateTime) or 'append' (LogAppendTime). */
  timestampType: string;
}

/** What was produced of a consumed message: without its partition, offset and timestamp type. */
export const wireMessageOf = (m: ConsumedMessage): WireMessage => ({
  key: m.key,
  value: m.value,
  headers: m.headers,
  timestamp: m.timestamp,
});

/** Hex of a UTF-8 string. */
export const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/**
 * n messages (n >= 8) with explicit, distinct, past timestamps from baseTimestamp. Includes: all 256 byte values,
 * a tombstone (null value), a null key, an empty value, a 256 KiB value, no headers, repeated and unicode headers.
 */
export function sampleMessages(n: number, baseTimestamp = 1_700_000_000_000): WireMessage[] {
  const out: WireMessage[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: hex(`key-${i}`),
      value: hex(`value-${i} ${'x'.repeat(i % 17)}`),
      headers: [
        ['idx', hex(String(i))],
        ['source', hex('brook-test')],
      ],
      timestamp: baseTimestamp + i * 1000,
    });
  }
  out[1]!.value = Buffer.from(Array.from({ length: 256 }, (_, b) => b)).toString('hex');
  out[2]!.value = null; // tombstone
  out[3]!.key = null;
  out[4]!.value = '';
  out[5]!.value = Buffer.alloc(256 * 1024, 'brook large message ').toString('hex');
  out[6]!.headers = [];
  out[7]!.headers = [
    ['dup', hex('first')],
    ['dup', hex('second')],
    ['ünïcødé', hex('värde ✓')],
  ];
  return out;
}

/** Short description of a message list for assertion failures (large values shortened). */
export function summarize(msgs: WireMessage[]): string {
  return JSON.stringify(
    msgs.map((m) => ({
      ...m,
      value:
        m.value && m.value.length > 80 ? `${m.value.slice(0, 40)}…(${m.value.length / 2} bytes)` : m.value,
    })),
  );
}
