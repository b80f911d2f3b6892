// brook cluster describe | log-dirs [--topic T ...] (--topic repeatable)
// `describe` asks DescribeCluster: the cluster id, the controller and every live broker (id,
// advertised host:port, rack). `log-dirs` asks each broker DescribeLogDirs, as kafka-log-dirs.sh
// --describe does, and prints one row per directory then one per partition in it.
import { parseArgs } from 'node:util';
import { Admin } from '../../client/admin.js';
import { ErrorCode } from '../../protocol/errors.js';
import { COMMON_OPTIONS, CliError, formatTable, runClient, write } from './common.js';

export const CLUSTER_USAGE = `  brook cluster describe                Cluster id, controller and brokers (id, host:port, rack)
  brook cluster log-dirs [--topic T]    Each broker's log dirs: disk space, partition sizes, lag
`;

export async function clusterCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, topic: { type: 'string', multiple: true } },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...extra] = positionals;
  if (values.help || action === undefined) {
    write(`Usage:\n${CLUSTER_USAGE}`);
    return;
  }
  if (extra.length > 0) throw new CliError(`Unexpected argument "${extra[0]}".`);
  if (action !== 'describe' && action !== 'log-dirs') {
    throw new CliError(`Unknown action "cluster ${action}": expected describe or log-dirs.`);
  }

  await runClient(async () => {
    const admin = await Admin.connect(values['bootstrap-server']);
    try {
      if (action === 'describe') await describe(admin);
      else await logDirs(admin, values.topic);
    } finally {
      await admin.close();
    }
  });
}

async function describe(admin: Admin): Promise<void> {
  const c = await admin.describeCluster();
  const controller = c.controllerId >= 0 ? String(c.controllerId) : 'none';
  write(`ClusterId: ${c.clusterId ?? 'none'}\tController: ${controller}\tBrokers: ${c.brokers.length}\n`);
  for (const b of c.brokers) {
    write(`\tBroker: ${b.nodeId}\tEndpoint: ${b.host}:${b.port}\tRack: ${b.rack ?? 'none'}\n`);
  }
}

async function logDirs(admin: Admin, topics: string[] | undefined): Promise<void> {
  const dirs = await admin.describeLogDirs(undefined, topics);
  const bytes = (n: number | null) => (n === null ? '-' : String(n));
  write(
    formatTable(
      ['BROKER', 'LOG-DIR', 'STATUS', 'TOTAL-BYTES', 'USABLE-BYTES'],
      dirs.map((d) => [
        String(d.broker),
        d.path,
        d.errorCode === ErrorCode.NONE ? 'online' : 'offline',
        bytes(d.totalBytes),
        bytes(d.usableBytes),
      ]),
    ),
  );
  const rows = dirs.flatMap((d) =>
    d.partitions
      .map((p) => [String(d.broker), p.topic, String(p.partition), String(p.size), String(p.offsetLag)])
      .sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : Number(a[2]) - Number(b[2]))),
  );
  write('\n');
  write(formatTable(['BROKER', 'TOPIC', 'PARTITION', 'SIZE', 'OFFSET-LAG'], rows));
}
