// The framing of the metadata log and snapshot files: one CRC-checked record after another.
//
//   length   uint32 BE   bytes of payload
//   crc      uint32 BE   CRC-32C of payload
//   payload  UTF-8 JSON  one MetadataRecord
//
// A record whose length runs past the end of the file, whose CRC does not match or whose payload
// does not parse ends the valid part of the file (a torn or damaged tail); decodeRecords says where.
import crc from '@node-rs/crc32';
import type { BrokerConfigScope, TopicMetadata } from './metadata-store.js';

export const RECORD_HEADER_BYTES = 8;
/** A record is one topic or one config map: anything this big is damage, not data. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export type MetadataRecord =
  /** First record of every log and snapshot file. The log says which snapshot it follows (0 = none). */
  | { type: 'header'; version: 1; clusterId: string; snapshotId: number }
  | { type: 'topic'; topic: TopicMetadata }
  /** A topic deleted from the metadata whose partition directories may still exist. */
  | { type: 'topic-deleted'; name: string; topicId: string; partitions: number }
  /** Every partition directory of a deleted topic is renamed away: nothing is left to clean up. */
  | { type: 'topic-deletion-done'; topicId: string }
  /** Dynamic broker configs of one scope (absent scope: the cluster-wide defaults). */
  | { type: 'broker-configs'; configs: Record<string, string>; scope?: BrokerConfigScope }
  /** The next producer ID never handed out (absolute, so replaying a record twice is harmless). */
  | { type: 'producer-ids'; next: number }
  /** Last record of a snapshot: a snapshot without it is incomplete. */
  | { type: 'end'; records: number };

export function encodeRecord(record: MetadataRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc.crc32c(payload) >>> 0, 4);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

export interface DecodedRecords {
  records: MetadataRecord[];
  /** Bytes from the start of the file that hold whole, valid records. */
  validBytes: number;
  /** Why decoding stopped before the end of the buffer, or null when every byte was valid. */
  problem: string | null;
}

export function decodeRecords(buf: Buffer): DecodedRecords {
  const records: MetadataRecord[] = [];
  let pos = 0;
  const stop = (problem: string): DecodedRecords => ({ records, validBytes: pos, problem });
  while (pos < buf.length) {
    if (buf.length - pos < RECORD_HEADER_BYTES) return stop(`a partial record header at byte ${pos}`);
    const length = buf.readUInt32BE(pos);
    if (length > MAX_RECORD_BYTES) return stop(`an impossible record length ${length} at byte ${pos}`);
    const end = pos + RECORD_HEADER_BYTES + length;
    if (end > buf.length) return stop(`a record at byte ${pos} that runs past the end of the file`);
    const payload = buf.subarray(pos + RECORD_HEADER_BYTES, end);
    if (crc.crc32c(payload) >>> 0 !== buf.readUInt32BE(pos + 4)) {
      return stop(`a record at byte ${pos} whose CRC does not match`);
    }
    let record: MetadataRecord;
    try {
      record = JSON.parse(payload.toString('utf8')) as MetadataRecord;
    } catch {
      return stop(`a record at byte ${pos} that is not valid JSON`);
    }
    if (typeof record !== 'object' || record === null || typeof record.type !== 'string') {
      return stop(`a record at byte ${pos} without a type`);
    }
    records.push(record);
    pos = end;
  }
  return { records, validBytes: pos, problem: null };
}
