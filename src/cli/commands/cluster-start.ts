// brook cluster start --brokers N [--data-dir D] [--port P] [--zookeeper-port Z] [--host H] [--set k=v ...]
// A cluster to try out on one machine: a local ZooKeeper (Debian's zookeeper package) and N brokers,
// each a child process running `brook broker start` with broker.id 1..N, listeners on consecutive ports
// from P, log.dirs under D and zookeeper.connect to the local ZooKeeper. One line per process says where
// it listens; their logs go to D/logs/. Ctrl-C (SIGINT) or SIGTERM stops the brokers first (each stops
// cleanly: in-flight requests answered, logs flushed and marked clean, its ZooKeeper session closed so
// leadership moves at once), then ZooKeeper, each by PID, and exits 0.
//
// The children run in their own process groups: a Ctrl-C at the terminal reaches only this process, so
// ZooKeeper is not killed while brokers still need it to close their sessions.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalZooKeeperServer, zooKeeperMissing } from '../../cluster/zookeeper/local-server.js';
import { CliError, intOption, write } from './common.js';

export const CLUSTER_START_USAGE = `  brook cluster start --brokers N [--data-dir D] [--port P] [--zookeeper-port Z] [--set key=value ...]
                                        A local ZooKeeper and N brokers on ports P.. (Ctrl-C stops all)
`;

const BROKER_READY_TIMEOUT_MS = 120_000;
const BROKER_STOP_GRACE_MS = 30_000;

interface BrokerChild {
  id: number;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  done: boolean;
  log: WriteStream;
}

/** Checks that host:port can be listened on, so a taken port fails in one sentence before anything starts. */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen(port, host, () => srv.close(() => resolvePort(true)));
  });
}

export async function clusterStartCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      brokers: { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      'zookeeper-port': { type: 'string' },
      host: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    write(`Usage:\n${CLUSTER_START_USAGE}`);
    return;
  }
  if (positionals.length > 0) throw new CliError(`Unexpected argument "${positionals[0]}".`);
  const count = intOption('brokers', values.brokers, 1) ?? 3;
  if (count < 1 || count > 100) throw new CliError(`--brokers must be 1-100, got ${count}.`);
  const basePort = intOption('port', values.port, 1) ?? 9092;
  const zkPort = intOption('zookeeper-port', values['zookeeper-port'], 1) ?? 2181;
  if (basePort < 1 || basePort + count - 1 > 65535) throw new CliError(`Invalid --port ${basePort}.`);
  if (zkPort < 1 || zkPort > 65535) throw new CliError(`Invalid --zookeeper-port ${zkPort}.`);
  const host = values.host ?? '127.0.0.1';
  for (const item of values.set ?? []) {
    if (item.indexOf('=') <= 0) throw new CliError(`--set expects key=value, got "${item}".`);
  }
  const missing = zooKeeperMissing();
  if (missing) throw new CliError(missing);
  const dataDir = resolve(values['data-dir'] ?? './data-cluster');
  const ports = Array.from({ length: count }, (_, i) => basePort + i);
  if (ports.includes(zkPort)) throw new CliError(`--zookeeper-port ${zkPort} overlaps the broker ports.`);
  if (!(await portFree(host, zkPort))) {
    throw new CliError(`Port ${zkPort} on ${host} is in use; pick ZooKeeper's port with --zookeeper-port.`);
  }
  for (const p of ports) {
    if (!(await portFree(host, p))) {
      throw new CliError(
        `Port ${p} on ${host} is in use; brokers take ${basePort}-${basePort + count - 1} (--port).`,
      );
    }
  }
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const zk = new LocalZooKeeperServer({
    dir: join(dataDir, 'zookeeper'),
    me: { id: 1, clientPort: zkPort },
    host,
    output: createWriteStream(join(logDir, 'zookeeper.log'), { flags: 'a' }),
    ownProcessGroup: true,
  });
  const brokers: BrokerChild[] = [];
  let stopping: Promise<void> | null = null;

  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      // Brokers first, all at once: each closes its ZooKeeper session on the way out.
      await Promise.all(
        brokers.map(async (b) => {
          if (b.done) return;
          b.child.kill('SIGTERM');
          const timer = setTimeout(() => b.child.kill('SIGKILL'), BROKER_STOP_GRACE_MS);
          await b.exited;
          clearTimeout(timer);
        }),
      );
      await zk.stop('SIGTERM');
      for (const b of brokers) b.log.end();
    })());

  let signalled = false;
  const onSignal = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    write(`${signal}: stopping ${brokers.filter((b) => !b.done).length} broker(s), then ZooKeeper.\n`);
    void stopAll().then(() => {
      write('Cluster stopped.\n');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    await zk.waitServing(60_000);
  } catch (err) {
    await stopAll();
    throw new CliError(
      `ZooKeeper did not start on ${host}:${zkPort} (see ${join(logDir, 'zookeeper.log')}): ${firstLine(String((err as Error).message))}`,
    );
  }
  write(`ZooKeeper listening on ${zk.address} (pid ${zk.pid}, data ${zk.dir})\n`);

  // The brokers run this same program (under the same Node flags, e.g. tsx when run from source).
  const self = process.argv[1]!;
  for (let i = 0; i < count; i++) {
    const id = i + 1;
    const brokerDir = join(dataDir, `broker-${id}`);
    const args = [
      ...process.execArgv,
      self,
      'broker',
      'start',
      '--broker-id',
      String(id),
      '--host',
      host,
      '--port',
      String(ports[i]),
      '--data-dir',
      brokerDir,
      '--zookeeper',
      zk.address,
    ];
    for (const item of values.set ?? []) args.push('--set', item);
    const log = createWriteStream(join(logDir, `broker-${id}.log`), { flags: 'a' });
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const b: BrokerChild = {
      id,
      port: ports[i]!,
      child,
      log,
      done: false,
      exited: new Promise((r) => child.on('close', () => r())),
    };
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    void b.exited.then(() => {
      b.done = true;
      if (stopping === null) {
        write(
          `Broker ${id} exited (code ${child.exitCode ?? child.signalCode}); see ${join(logDir, `broker-${id}.log`)}\n`,
        );
      }
    });
    brokers.push(b);
  }
  const ready = await Promise.all(brokers.map((b) => waitReady(b)));
  if (signalled) return;
  const failed = ready.findIndex((ok) => !ok);
  if (failed >= 0) {
    await stopAll();
    throw new CliError(
      `Broker ${failed + 1} did not start; see ${join(logDir, `broker-${failed + 1}.log`)}.`,
    );
  }
  for (const b of brokers) {
    write(
      `Broker ${b.id} listening on ${host}:${b.port} (pid ${b.child.pid}, log.dirs ${join(dataDir, `broker-${b.id}`)})\n`,
    );
  }
  write(
    `Cluster ready: --bootstrap-server ${ports.map((p) => `${host}:${p}`).join(',')} (logs in ${logDir}; Ctrl-C stops it)\n`,
  );
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Resolves true when the broker printed its started line, false if it exited or timed out first. */
function waitReady(b: BrokerChild): Promise<boolean> {
  return new Promise((resolveReady) => {
    let text = '';
    const timer = setTimeout(() => finish(false), BROKER_READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (/Brook broker \d+ started on/.test(text)) finish(true);
      else if (text.length > 10_000) text = text.slice(-1000);
    };
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      b.child.stdout!.off('data', onData);
      resolveReady(ok);
    };
    b.child.stdout!.on('data', onData);
    void b.exited.then(() => finish(false));
  });
}
