// brook topics list | create <name> [--partitions N] [--replication-factor N] [--config k=v ...]
//              | delete <name> | describe <name>
//              | elect-leaders [--topic T [--partition P ...]] [--election-type preferred|unclean]
//              | reassign --topic T --partition P (--replicas 2,3 | --cancel) | reassignments [--topic T]
// Output follows kafka-topics.sh where it has an equivalent.
import { parseArgs } from 'node:util';
import { Admin } from '../../client/admin.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { COMMON_OPTIONS, CliError, intOption, keyValues, runClient, write } from './common.js';

export const TOPICS_USAGE = `  brook topics list                     List topic names
  brook topics create <name> [--partitions N] [--replication-factor N] [--config key=value ...]
  brook topics delete <name>
  brook topics describe <name>          Partitions (leader, epoch, replicas, ISR, offline), offsets, configs
  brook topics elect-leaders [--topic T [--partition P ...]] [--election-type preferred|unclean]
                                        Leadership back to preferred replicas (default: every partition)
  brook topics reassign --topic T --partition P [--partition P ...] (--replicas 2,3 | --cancel)
                                        Move partitions to other brokers, or cancel their move
  brook topics reassignments [--topic T]
                                        The partition reassignments in progress
`;

export async function topicsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      config: { type: 'string', multiple: true },
      topic: { type: 'string' },
      partition: { type: 'string', multiple: true },
      'election-type': { type: 'string' },
      replicas: { type: 'string' },
      cancel: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, name, ...extra] = positionals;
  if (values.help || action === undefined) {
    write(`Usage:\n${TOPICS_USAGE}`);
    return;
  }
  if (action === 'elect-leaders') {
    if (name !== undefined) throw new CliError(`Unexpected argument "${name}": name the topic with --topic.`);
    return electLeaders(values);
  }
  if (action === 'reassign' || action === 'reassignments') {
    if (name !== undefined) throw new CliError(`Unexpected argument "${name}": name the topic with --topic.`);
    return action === 'reassign' ? reassign(values) : listReassignments(values);
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
          throw new CliError(
            `Unknown action "topics ${action}": expected list, create, delete, describe, elect-leaders, ` +
              `reassign or reassignments.`,
          );
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

/**
 * Preferred (or unclean) leader election at the controller, reported as kafka-leader-election.sh does:
 * the partitions elected, those whose leader was already right, and each failure (exit 1 on any).
 */
async function electLeaders(values: {
  'bootstrap-server': string;
  topic?: string;
  partition?: string[];
  'election-type'?: string;
}): Promise<void> {
  const type = values['election-type'] ?? 'preferred';
  if (type !== 'preferred' && type !== 'unclean') {
    throw new CliError(`Invalid --election-type "${type}": expected preferred or unclean.`);
  }
  if (values.partition !== undefined && values.topic === undefined) {
    throw new CliError('--partition needs --topic.');
  }
  const wanted = (values.partition ?? []).map((p) => intOption('partition', p, 0)!);
  await runClient(async () => {
    const admin = await Admin.connect(values['bootstrap-server']);
    try {
      let partitions: { topic: string; partition: number }[] | null = null;
      if (values.topic !== undefined) {
        const topic = values.topic;
        const numbers =
          wanted.length > 0
            ? wanted
            : (await admin.describeTopics([topic]))[0]!.partitions.map((p) => p.partition);
        partitions = numbers.map((partition) => ({ topic, partition }));
      }
      const outcomes = await admin.electLeaders(type, partitions);
      const label = type.toUpperCase();
      const names = (os: typeof outcomes) => os.map((o) => `${o.topic}-${o.partition}`).join(', ');
      const elected = outcomes.filter((o) => o.errorCode === ErrorCode.NONE);
      const notNeeded = outcomes.filter((o) => o.errorCode === ErrorCode.ELECTION_NOT_NEEDED);
      const failed = outcomes.filter(
        (o) => o.errorCode !== ErrorCode.NONE && o.errorCode !== ErrorCode.ELECTION_NOT_NEEDED,
      );
      if (elected.length > 0) {
        write(`Successfully completed leader election (${label}) for partitions ${names(elected)}\n`);
      }
      if (notNeeded.length > 0) write(`Valid replica already elected for partitions ${names(notNeeded)}\n`);
      if (outcomes.length === 0) write(`No partition needed a leader election (${label}).\n`);
      for (const o of failed) {
        write(
          `Error completing leader election (${label}) for partition ${o.topic}-${o.partition}: ` +
            `${errorName(o.errorCode)}${o.errorMessage ? `: ${o.errorMessage}` : ''}\n`,
        );
      }
      if (failed.length > 0) {
        throw new CliError(`Leader election failed for ${failed.length} partition(s).`);
      }
    } finally {
      await admin.close();
    }
  });
}

/**
 * AlterPartitionReassignments at the controller, reported as kafka-reassign-partitions.sh --execute
 * (or --cancel) does; a refused partition is one sentence and exit 1.
 */
async function reassign(values: {
  'bootstrap-server': string;
  topic?: string;
  partition?: string[];
  replicas?: string;
  cancel?: boolean;
}): Promise<void> {
  const topic = values.topic;
  if (topic === undefined || values.partition === undefined) {
    throw new CliError('"brook topics reassign" needs --topic and --partition.');
  }
  if ((values.replicas === undefined) === (values.cancel !== true)) {
    throw new CliError('"brook topics reassign" needs either --replicas (e.g. --replicas 2,3) or --cancel.');
  }
  let replicas: number[] | null = null;
  if (values.replicas !== undefined) {
    const items = values.replicas.split(',').map((r) => r.trim());
    if (items.some((r) => !/^\d+$/.test(r))) {
      throw new CliError(`Invalid --replicas "${values.replicas}": expected broker ids such as 2,3.`);
    }
    replicas = items.map(Number);
  }
  const partitions = values.partition.map((p) => intOption('partition', p, 0)!);
  await runClient(async () => {
    const admin = await Admin.connect(values['bootstrap-server']);
    try {
      const outcomes = await admin.alterPartitionReassignments(
        partitions.map((partition) => ({ topic, partition, replicas })),
      );
      const names = (os: typeof outcomes) => os.map((o) => `${o.topic}-${o.partition}`).join(', ');
      const ok = outcomes.filter((o) => o.errorCode === ErrorCode.NONE);
      const failed = outcomes.filter((o) => o.errorCode !== ErrorCode.NONE);
      if (ok.length > 0) {
        write(
          replicas === null
            ? `Successfully cancelled partition reassignments for: ${names(ok)}\n`
            : `Successfully started partition reassignment for ${names(ok)}\n`,
        );
      }
      if (failed.length > 0) {
        const f = failed[0]!;
        const what = replicas === null ? 'Cancelling the reassignment' : 'Reassigning';
        const why = (f.errorMessage ?? errorName(f.errorCode)).replace(/\.$/, '');
        const more = failed.length > 1 ? ` (and ${failed.length - 1} more partition(s) failed)` : '';
        throw new CliError(
          `${what} of ${f.topic}-${f.partition} failed: ${why} (${errorName(f.errorCode)})${more}.`,
        );
      }
    } finally {
      await admin.close();
    }
  });
}

/** ListPartitionReassignments, printed as kafka-reassign-partitions.sh --list does. */
async function listReassignments(values: { 'bootstrap-server': string; topic?: string }): Promise<void> {
  await runClient(async () => {
    const admin = await Admin.connect(values['bootstrap-server']);
    try {
      const ongoing = (await admin.listPartitionReassignments()).filter(
        (r) => values.topic === undefined || r.topic === values.topic,
      );
      if (ongoing.length === 0) {
        write('No partition reassignments found.\n');
        return;
      }
      write('Current partition reassignments:\n');
      for (const r of ongoing.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)) {
        write(
          `${r.topic}-${r.partition}: replicas: ${r.replicas.join(',')}. adding: ${r.addingReplicas.join(',')}. ` +
            `removing: ${r.removingReplicas.join(',')}.\n`,
        );
      }
    } finally {
      await admin.close();
    }
  });
}
