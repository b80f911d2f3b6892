// The "consumer" group protocol's member metadata and assignment (ConsumerProtocolSubscription /
// ConsumerProtocolAssignment): an int16 version, then the versioned body. A newer version than the
// generated schema knows is read as the newest known one, as Kafka's clients do (fields are only appended).
import { decodeMessage } from '../protocol/codec.js';
import {
  ConsumerProtocolAssignmentSchema,
  type ConsumerProtocolAssignment,
} from '../protocol/generated/consumer-protocol-assignment.js';
import {
  ConsumerProtocolSubscriptionSchema,
  type ConsumerProtocolSubscription,
} from '../protocol/generated/consumer-protocol-subscription.js';
import type { MessageSchema } from '../protocol/schema.js';
import { Reader } from '../protocol/wire.js';

function decodeVersioned<T>(schema: MessageSchema, data: Buffer): T | null {
  if (data.length < 2) return null;
  const r = new Reader(data);
  const version = Math.min(r.int16(), schema.validVersions[1]);
  if (version < 0) return null;
  return decodeMessage<T>(schema, version, r);
}

/** Assigned partitions by topic, or null for an empty or unreadable assignment. */
export function decodeAssignment(data: Buffer): ConsumerProtocolAssignment | null {
  try {
    return decodeVersioned<ConsumerProtocolAssignment>(ConsumerProtocolAssignmentSchema, data);
  } catch {
    return null;
  }
}

export function decodeSubscription(data: Buffer): ConsumerProtocolSubscription | null {
  try {
    return decodeVersioned<ConsumerProtocolSubscription>(ConsumerProtocolSubscriptionSchema, data);
  } catch {
    return null;
  }
}
