// The high watermarks of a data dir's replicated partitions, in Kafka's `replication-offset-checkpoint`
// ("0\n<count>\n<topic> <partition> <offset>\n..."). Written periodically and at shutdown, read at
// start: a restarted broker starts each partition at its checkpointed high watermark, never at its
// log end, so it does not expose records the ISR had not acknowledged.
import { join } from 'node:path';
import { readOptional, SerialWriter } from '../storage/checkpoint-file.js';

export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';

export class HighWatermarkCheckpoint {
  private readonly writer: SerialWriter;

  constructor(dataDir: string) {
    this.writer = new SerialWriter(join(dataDir, REPLICATION_OFFSET_CHECKPOINT));
  }

  /** topic -> partition -> offset; empty when the file is missing or not in Kafka's format. */
  static async read(dataDir: string): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>();
    const buf = await readOptional(join(dataDir, REPLICATION_OFFSET_CHECKPOINT));
    if (buf === null) return out;
    const lines = buf.toString('utf8').split('\n');
    const count = Number(lines[1]);
    if (lines[0] !== '0' || !Number.isSafeInteger(count) || count < 0) return out;
    for (let i = 0; i < count; i++) {
      const m = /^(\S+) (\d+) (\d+)$/.exec(lines[2 + i] ?? '');
      if (m === null) return new Map();
      let partitions = out.get(m[1]!);
      if (partitions === undefined) out.set(m[1]!, (partitions = new Map()));
      partitions.set(Number(m[2]), Number(m[3]));
    }
    return out;
  }

  write(entries: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    const lines = entries.map((e) => `${e.topic} ${e.partition} ${e.offset}\n`);
    return this.writer.write(`0\n${entries.length}\n${lines.join('')}`);
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}
