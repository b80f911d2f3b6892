// The server-side assignors this coordinator knows, by the names group.consumer.assignors and
// ConsumerGroupHeartbeat's ServerAssignor use.
import type { PartitionAssignor } from './assignor.js';
import { rangeAssignor } from './range.js';
import { uniformAssignor } from './uniform.js';

export type { AssignorMember, AssignorTopic, PartitionAssignor } from './assignor.js';

export const ASSIGNORS: ReadonlyMap<string, PartitionAssignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
]);
