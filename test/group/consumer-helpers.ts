// ConsumerGroupHeartbeat / ConsumerGroupDescribe requests and consumer-protocol bytes shared by the
// KIP-848 group tests.
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { ConsumerGroupHeartbeatResponse } from '../../src/protocol/generated/consumer-group-heartbeat.js';
import type { ConsumerGroupDescribeResponse } from '../../src/protocol/generated/consumer-group-describe.js';
import { encodeToBuffer } from '../../src/protocol/codec.js';
import { ConsumerProtocolSubscriptionSchema } from '../../src/protocol/generated/consumer-protocol-subscription.js';
import type { TestClient } from './helpers.js';

export type Owned = { topicId: string; partitions: number[] }[];

export interface Hb {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId?: string | null;
  rebalanceTimeoutMs?: number;
  topics?: string[] | null;
  regex?: string | null;
  assignor?: string | null;
  owned?: Owned | null;
}

export function hb(c: TestClient, o: Hb): Promise<ConsumerGroupHeartbeatResponse> {
  return c.send<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, 1, {
    groupId: o.groupId,
    memberId: o.memberId,
    memberEpoch: o.memberEpoch,
    instanceId: o.instanceId ?? null,
    rackId: null,
    rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? (o.memberEpoch === 0 ? 30_000 : -1),
    subscribedTopicNames: o.topics === undefined ? null : o.topics,
    subscribedTopicRegex: o.regex ?? null,
    serverAssignor: o.assignor ?? null,
    topicPartitions: o.owned === undefined ? (o.memberEpoch === 0 ? [] : null) : o.owned,
  });
}

export async function describeConsumer(c: TestClient, groupId: string) {
  const r = await c.send<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, 0, {
    groupIds: [groupId],
    includeAuthorizedOperations: false,
  });
  return r.groups[0]!;
}

/** Partitions in an assignment, as "p" strings for one topic (tests use one topic unless said). */
export function parts(owned: Owned | null | undefined): number[] {
  return (owned ?? []).flatMap((t) => t.partitions).sort((a, b) => a - b);
}

/** A classic consumer's JoinGroup metadata: ConsumerProtocolSubscription v1 (topics, owned partitions). */
export function subscriptionBytes(
  topics: string[],
  owned: { topic: string; partitions: number[] }[] = [],
): Buffer {
  const version = Buffer.alloc(2);
  version.writeInt16BE(1);
  return Buffer.concat([
    version,
    encodeToBuffer(ConsumerProtocolSubscriptionSchema, 1, { topics, userData: null, ownedPartitions: owned }),
  ]);
}
