// `partition.metadata` in each partition directory, as Kafka writes it (KIP-516):
//
//   version: 0
//   topic_id: <topic ID, Kafka's base64url form>
//
// It ties the directory to the topic ID it was created for, so that the topic list can be rebuilt
// from the directories with the same IDs when the cluster metadata is lost
// (metadata.recovery.rebuild.from.logs), and clients that cached topic IDs keep working.
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PARTITION_METADATA_FILE = 'partition.metadata';

/** Canonical UUID text → Kafka's Uuid.toString() (URL-safe base64 of the 16 bytes, no padding). */
export function uuidToKafkaBase64(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

export function kafkaBase64ToUuid(text: string): string | null {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return null;
  const hex = Buffer.from(text, 'base64url').toString('hex');
  if (hex.length !== 32) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Writes the file into a partition directory just created for the topic and fsyncs it. The
 * directory is new, so there is no old file to replace atomically; the caller fsyncs the
 * directory (a new file's name is durable only then).
 */
export async function writePartitionMetadata(dir: string, topicId: string): Promise<void> {
  const fh = await open(join(dir, PARTITION_METADATA_FILE), 'w');
  try {
    await fh.writeFile(`version: 0\ntopic_id: ${uuidToKafkaBase64(topicId)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The topic ID recorded in a partition directory, or null when the file is missing or unreadable. */
export async function readPartitionMetadata(dir: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(join(dir, PARTITION_METADATA_FILE), 'utf8');
  } catch {
    return null;
  }
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (fields.get('version') !== '0') return null;
  return kafkaBase64ToUuid(fields.get('topic_id') ?? '');
}
