// Leader epoch -> first offset written in that epoch, after Kafka's LeaderEpochFileCache, kept in
// the text file `leader-epoch-checkpoint` ("0\n<count>\n<epoch> <offset>\n..."). Answers
// OffsetForLeaderEpoch so a follower/consumer can detect divergence after a leader change.

import { join } from 'node:path';
import { readOptional, SerialWriter } from './checkpoint-file.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
/** Epochs change on leader elections only; this bounds a corrupt or hostile checkpoint. */
const MAX_EPOCH_ENTRIES = 100_000;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];
  private readonly writer: SerialWriter;

  private constructor(readonly dir: string) {
    this.writer = new SerialWriter(join(dir, LEADER_EPOCH_CHECKPOINT));
  }

  static async load(dir: string): Promise<LeaderEpochCache> {
    const cache = new LeaderEpochCache(dir);
    const buf = await readOptional(join(dir, LEADER_EPOCH_CHECKPOINT));
    if (buf !== null) cache.entries = parseCheckpoint(buf.toString('utf8')) ?? [];
    return cache;
  }

  get latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  all(): readonly EpochEntry[] {
    return this.entries;
  }

  /** Records that `epoch` starts at `startOffset`; returns true when the cache changed. */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || epoch <= this.latestEpoch) return false;
    // A new epoch starting below an older entry means the log was truncated under it.
    while (this.entries.length > 0 && this.entries.at(-1)!.startOffset >= startOffset) this.entries.pop();
    this.entries.push({ epoch, startOffset });
    if (this.entries.length > MAX_EPOCH_ENTRIES) this.entries.shift();
    return true;
  }

  /** Kafka's endOffsetFor: the end offset of `requestedEpoch` as seen by this log. */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { leaderEpoch: number; endOffset: number } {
    const undefinedResult = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedResult;
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > requestedEpoch);
    if (higher < 0) return undefinedResult;
    const startOfHigher = this.entries[higher]!.startOffset;
    if (higher === 0) return { leaderEpoch: requestedEpoch, endOffset: startOfHigher };
    return { leaderEpoch: this.entries[higher - 1]!.epoch, endOffset: startOfHigher };
  }

  /** Log truncated to `endOffset`: epochs that started at or after it never happened here. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.startOffset < endOffset);
    return this.entries.length !== before;
  }

  /** Log start moved to `startOffset`: the epoch covering it now starts there. */
  truncateFromStart(startOffset: number): boolean {
    let firstKept = this.entries.findIndex((e) => e.startOffset > startOffset);
    if (firstKept < 0) firstKept = this.entries.length;
    if (firstKept === 0) return false;
    const covering = this.entries[firstKept - 1]!;
    const changed = firstKept > 1 || covering.startOffset !== startOffset;
    this.entries = [{ epoch: covering.epoch, startOffset }, ...this.entries.slice(firstKept)];
    return changed;
  }

  /** Writes the checkpoint; writes are serialised so the file always ends at the newest state. */
  persist(): Promise<void> {
    const lines = this.entries.map((e) => `${e.epoch} ${e.startOffset}`);
    return this.writer.write(`0\n${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`);
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}

function parseCheckpoint(text: string): EpochEntry[] | null {
  const lines = text.split('\n');
  if (lines[0] !== '0') return null;
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_EPOCH_ENTRIES) return null;
  const out: EpochEntry[] = [];
  for (let i = 0; i < count; i++) {
    const m = /^(\d+) (\d+)$/.exec(lines[2 + i] ?? '');
    if (m === null) return null;
    out.push({ epoch: Number(m[1]), startOffset: Number(m[2]) });
  }
  return out;
}
