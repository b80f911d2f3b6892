// `brook groups describe` of a KIP-848 (consumer protocol) group: the CLI asks ConsumerGroupDescribe, as
// kafka-consumer-groups.sh does, and shows the member that owns each partition with its lag. It used to ask
// DescribeGroups only, which answers Dead for such a group, and printed it as having no active members.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { ConsumerGroupHeartbeatResponse } from '../../src/protocol/generated/consumer-group-heartbeat.js';
import { Admin, Producer } from '../../src/index.js';
import { REPO_ROOT, uniqueTopic, withBroker } from '../helpers/broker.js';
import { runCommand } from '../helpers/run.js';
import { TestClient, commitOffsets } from '../group/helpers.js';
import { BROOK_CLI } from '../helpers/cli.js';

const MAIN = BROOK_CLI;

test(
  'brook groups describe shows a consumer-protocol group with its member, offsets and lag',
  { timeout: 120_000 },
  async () => {
    await withBroker({}, async (b) => {
      const topic = uniqueTopic('cli-kip848');
      const group = uniqueTopic('cli-kip848-group');
      const admin = await Admin.connect(b.bootstrapServers);
      const producer = await Producer.connect(b.bootstrapServers);
      const member = await TestClient.connect(b.port, 'kip848-member');
      const brook = (args: string[]) =>
        runCommand(process.execPath, [MAIN, ...args, '--bootstrap-server', b.bootstrapServers], {
          cwd: REPO_ROOT,
          timeoutMs: 30_000,
        });
      try {
        await admin.createTopics([{ name: topic, partitions: 2 }]);
        await producer.send({
          topic,
          messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
        });
        const joined = await member.send<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, 1, {
          groupId: group,
          memberId: 'm-kip848',
          memberEpoch: 0,
          instanceId: null,
          rackId: null,
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: [topic],
          subscribedTopicRegex: null,
          serverAssignor: null,
          topicPartitions: [],
        });
        assert.equal(joined.errorCode, 0);
        const committed = await commitOffsets(
          member,
          { groupId: group, generationId: joined.memberEpoch, memberId: 'm-kip848', version: 9 },
          [
            { topic, partition: 0, offset: 3n },
            { topic, partition: 1, offset: 1n },
          ],
        );
        assert.deepEqual(committed, [0, 0]);

        const [desc] = await admin.describeGroups([group]);
        assert.equal(desc!.type, 'consumer');
        assert.equal(desc!.state, 'Stable');
        assert.equal(desc!.groupEpoch, 1);
        assert.equal(desc!.members[0]!.memberEpoch, 1);

        const r = await brook(['groups', 'describe', group]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /no active members/);
        const rows = r.stdout
          .trimEnd()
          .split('\n')
          .filter((l) => l.startsWith(topic))
          .map((l) => l.split(/\s+/));
        assert.deepEqual(
          rows.map((row) => row.slice(0, 6)),
          [
            [topic, '0', '3', '3', '0', 'm-kip848'],
            [topic, '1', '1', '3', '2', 'm-kip848'],
          ],
        );
        for (const row of rows) {
          assert.match(row[6]!, /127\.0\.0\.1/);
          assert.equal(row[7], 'kip848-member');
        }

        // A group that does not exist: GROUP_ID_NOT_FOUND from ConsumerGroupDescribe, Dead from DescribeGroups.
        const classic = await brook(['groups', 'describe', 'no-such-group']);
        assert.equal(classic.code, 1);
        assert.match(classic.stderr, /does not exist/);
      } finally {
        member.close();
        await producer.close();
        await admin.close();
      }
    });
  },
);
