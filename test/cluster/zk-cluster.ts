// Scaffolding shared by the tests that run in-process brokers on a real ZooKeeper: the brokers' config,
// their ZooKeeper metadata store, polling for a condition, and topics with a fixed replica assignment.
import { randomUUID } from 'node:crypto';
import { ZkSession } from '../../src/cluster/zookeeper/zk-session.js';
import type { ZooKeeperMetadataStore } from '../../src/cluster/zookeeper/zookeeper-metadata-store.js';
import { createLogger } from '../../src/logger.js';
import { makeTempDir, removeDir, startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper, type ZooKeeper } from '../helpers/zookeeper.js';

/**
 * Config of broker `nodeId` on `zk`: a 3 s ZooKeeper session (a dead broker is noticed quickly) and one
 * __consumer_offsets partition (fast start), then `extra` over it.
 */
export function zkBrokerConfig(
  zk: ZooKeeper,
  nodeId: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'node.id': String(nodeId),
    'zookeeper.connect': zk.connect,
    'zookeeper.session.timeout.ms': '3000',
    'offsets.topic.num.partitions': '1',
    ...extra,
  };
}

/** The broker's cluster view, which in ZooKeeper mode is its ZooKeeperMetadataStore. */
export const zkStore = (b: TestBroker): ZooKeeperMetadataStore =>
  b.broker.services.cluster as ZooKeeperMetadataStore;

export { waitFor };

/**
 * Creates a topic with a fixed assignment through the store (as CreateTopics with replica assignments does)
 * and waits until every partition has a state, or with `inSync` until every replica is in its ISR.
 */
export async function createAssigned(
  b: TestBroker,
  assignment: number[][],
  opts: { prefix?: string; inSync?: boolean } = {},
): Promise<string> {
  const name = uniqueTopic(opts.prefix ?? 'assigned');
  const store = zkStore(b);
  await store.putTopic(
    {
      name,
      topicId: randomUUID(),
      partitions: assignment.length,
      replicationFactor: assignment[0]!.length,
      configs: {},
    },
    assignment,
  );
  if (opts.inSync === true) {
    await waitFor('all replicas in sync', () =>
      assignment.every((r, p) => store.partitionState(name, p)?.isr.length === r.length),
    );
  } else {
    await waitFor('initial states', () => assignment.every((_, p) => store.partitionState(name, p)));
  }
  return name;
}

/**
 * A one-server ZooKeeper and brokers 1..n in this process, each with its own data dir, stopped and removed
 * after the test. `brokers` is mutable: a test may stop one (set its slot to null) or replace it.
 */
export async function startZkCluster(
  t: { after(fn: () => Promise<void>): void },
  n: number,
  config: (zk: ZooKeeper, nodeId: number) => Record<string, string> = zkBrokerConfig,
): Promise<{ zk: ZooKeeper; brokers: (TestBroker | null)[]; dirs: string[] }> {
  const zk = await startZooKeeper(1);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const dirs = ids.map((id) => makeTempDir(`brook-zk${id}-`));
  const brokers: (TestBroker | null)[] = [];
  t.after(async () => {
    for (const b of brokers) await b?.stop();
    for (const d of dirs) removeDir(d);
    await zk.stop();
  });
  for (const id of ids) brokers.push(await startTestBroker(config(zk, id), dirs[id - 1]));
  await waitFor(`${n} brokers registered`, () => zkStore(brokers[0]!).liveBrokers().length === n);
  return { zk, brokers, dirs };
}

/** A plain ZooKeeper session for reading (and, in fencing tests, writing) znodes as zkCli.sh would. */
export async function openZkReader(zk: ZooKeeper): Promise<ZkSession> {
  return ZkSession.open({
    connect: zk.connect,
    sessionTimeoutMs: 10_000,
    connectionTimeoutMs: 10_000,
    logger: createLogger({ level: 'error', name: 'zk-reader' }),
  });
}
