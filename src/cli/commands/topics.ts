// brook topics list | create <name> [--partitions N] [--replication-factor N] [--config k=v ...]
//              | delete <name> | describe <name>
// Output follows kafka-topics.sh where it has an equivalent.
import { parseArgs } from 'node:util';
import { Admin } from '../../client/admin.js';
import { COMMON_OPTIONS, CliError, intOption, keyValues, runClient, write } from './common.js';

export const TOPICS_USAGE = `  brook topics list                     List topic names
  brook topics create <name> [--partitions N] [--replication-factor N] [--config key=value ...]
  brook topics delete <name>
  brook topics describe <name>          Partitions (leader, epoch, replicas, ISR, offline), offsets, configs
`;

export async function topicsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      config: { type: 'string', multiple: true },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, name, ...extra] = positionals;
  if (values.help || action === undefined) {
    write(`Usage:\n${TOPICS_USAGE}`);
    return;
  }
  if (action !== 'list' && name === undefined)
    throw new CliError(`"brook topics ${action}" needs a topic name.`);
  if (extra.length > 0) throw new CliError(`Unexpected argument "${extra[0]}".`);
  const partitions = intOption('partitions', values.partitions, 1);
  const replicationFactor = intOption('replication-factor', values['replication-factor'], 1);
  const configs = keyValues('config', values.config);

  await runClient(async () => {
    const admin = await Admin.connect(values['bootstrap-server']);
    try {
      switch (action) {
        case 'list':
          for (const t of await admin.listTopics()) write(`${t}\n`);
          return;
        case 'create':
          await admin.createTopics([{ name: name!, partitions, replicationFactor, configs }]);
          write(`Created topic ${name}.\n`);
          return;
        case 'delete':
          await admin.deleteTopics([name!]);
          write(`Deleted topic ${name}.\n`);
          return;
        case 'describe':
          return await describe(admin, name!);
        default:
          throw new CliError(`Unknown action "topics ${action}": expected list, create, delete or describe.`);
      }
    } finally {
      await admin.close();
    }
  });
}

async function describe(admin: Admin, name: string): Promise<void> {
  const [topic] = await admin.describeTopics([name]);
  const configs = (await admin.describeConfigs([{ type: 'topic', name }])).get(name) ?? [];
  const set = configs
    .filter((c) => !c.isDefault && c.source === 1) // DYNAMIC_TOPIC_CONFIG: what was set on this topic
    .map((c) => `${c.name}=${c.isSensitive ? '(sensitive)' : c.value}`)
    .join(',');
  const rf = topic!.partitions[0]?.replicas.length ?? 0;
  write(
    `Topic: ${name}\tTopicId: ${topic!.topicId}\tPartitionCount: ${topic!.partitions.length}\t` +
      `ReplicationFactor: ${rf}\tConfigs: ${set}\n`,
  );
  // kafka-topics.sh's line, plus the leader epoch, offline replicas (only when there are some, as
  // kafka-topics.sh adds its optional fields) and the offsets; "none"/"N/A" when there is no leader.
  const offset = (o: number | null) => (o === null ? 'N/A' : String(o));
  for (const p of topic!.partitions) {
    const offline = p.offlineReplicas.length > 0 ? `Offline: ${p.offlineReplicas.join(',')}\t` : '';
    write(
      `\tTopic: ${name}\tPartition: ${p.partition}\tLeader: ${p.leader >= 0 ? p.leader : 'none'}\t` +
        `LeaderEpoch: ${p.leaderEpoch}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\t${offline}` +
        `LogStartOffset: ${offset(p.earliestOffset)}\tLogEndOffset: ${offset(p.latestOffset)}\n`,
    );
  }
}
