// Reading a topic back with kcat (librdkafka), for the interop tests that check what another client wrote.
import { runCommand } from './run.js';

/** One record as `kcat -J` prints it, its headers as [key, value] pairs in order. */
export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  key: string | null;
  payload: string | null;
  headers: Array<[string, string | null]>;
}

/** Reads a whole topic from the beginning with kcat (-e: stop at the end of every partition), as JSON. */
export async function kcatReadAll(bootstrapServers: string, topic: string): Promise<KcatMessage[]> {
  const r = await runCommand(
    'kcat',
    ['-C', '-b', bootstrapServers, '-t', topic, '-o', 'beginning', '-e', '-J', '-q'],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0) {
    throw new Error(
      `kcat exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr.slice(-4000)}`,
    );
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => {
      // kcat -J prints headers as one flat array: [k1, v1, k2, v2, ...]
      const j = JSON.parse(l) as Omit<KcatMessage, 'headers'> & { headers?: unknown };
      const headers: Array<[string, string | null]> = [];
      if (Array.isArray(j.headers)) {
        for (let i = 0; i + 1 < j.headers.length; i += 2) {
          headers.push([String(j.headers[i]), j.headers[i + 1] === null ? null : String(j.headers[i + 1])]);
        }
      }
      return { ...j, headers };
    });
}

/** Sort order: by partition, then by offset. */
export function byPartitionOffset(
  a: { partition: number; offset: number },
  b: { partition: number; offset: number },
): number {
  return a.partition - b.partition || a.offset - b.offset;
}
