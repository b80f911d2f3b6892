// brook groups list | describe <group> | delete <group>
// `describe` prints what kafka-consumer-groups.sh --describe does: one row per partition the group has
// committed to or has assigned to a member, with its lag, and the member that owns it ('-' for none).
import { parseArgs } from 'node:util';
import { Admin, type GroupDescription } from '../../client/admin.js';
import { COMMON_OPTIONS, CliError, formatTable, runClient, write } from './common.js';

export const GROUPS_USAGE = `  brook groups list                     List consumer group ids
  brook groups describe <group>         Offsets, log end offsets, lag and owners per partition
  brook groups delete <group>           Delete an empty group and its committed offsets
`;

const HEADER = [
  'TOPIC',
  'PARTITION',
  'CURRENT-OFFSET',
  'LOG-END-OFFSET',
  'LAG',
  'CONSUMER-ID',
  'HOST',
  'CLIENT-ID',
];

export async function groupsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
  const [action, group, ...extra] = positionals;
  if (values.help || action === undefined) {
    write(`Usage:\n${GROUPS_USAGE}`);
    return;
  }
  if (action !== 'list' && group === undefined)
    throw new CliError(`"brook groups ${action}" needs a group id.`);
  if (extra.length > 0) throw new CliError(`Unexpected argument "${extra[0]}".`);

  await runClient(async () => {
    const admin = await Admin.connect(values['bootstrap-server']);
    try {
      switch (action) {
        case 'list':
          for (const g of await admin.listGroups()) write(`${g.groupId}\n`);
          return;
        case 'describe':
          return await describe(admin, group!);
        case 'delete':
          await admin.deleteGroups([group!]);
          write(`Deletion of requested consumer groups ('${group}') was successful.\n`);
          return;
        default:
          throw new CliError(`Unknown action "groups ${action}": expected list, describe or delete.`);
      }
    } finally {
      await admin.close();
    }
  });
}

async function describe(admin: Admin, groupId: string): Promise<void> {
  const [desc] = (await admin.describeGroups([groupId])) as [GroupDescription];
  const owners = new Map<string, { memberId: string; clientHost: string; clientId: string }>();
  for (const m of desc.members) {
    for (const tp of m.assignment) owners.set(`${tp.topic}\u0000${tp.partition}`, m);
  }
  const assigned = desc.members.flatMap((m) => m.assignment);
  const lags = await admin.groupLag(groupId, assigned);
  if (desc.state === 'Dead' && lags.length === 0)
    throw new CliError(`Consumer group '${groupId}' does not exist.`);
  if (desc.members.length === 0) write(`\nConsumer group '${groupId}' has no active members.\n\n`);
  const rows = lags.map((l) => {
    const owner = owners.get(`${l.topic}\u0000${l.partition}`);
    return [
      l.topic,
      String(l.partition),
      l.committedOffset === null ? '-' : String(l.committedOffset),
      l.logEndOffset < 0 ? '-' : String(l.logEndOffset),
      l.lag === null ? '-' : String(l.lag),
      owner?.memberId ?? '-',
      owner?.clientHost ?? '-',
      owner?.clientId ?? '-',
    ];
  });
  // Members without partitions still show, as kafka-consumer-groups.sh does.
  for (const m of desc.members) {
    if (m.assignment.length === 0) rows.push(['-', '-', '-', '-', '-', m.memberId, m.clientHost, m.clientId]);
  }
  write(formatTable(HEADER, rows));
}
