#!/usr/bin/env node
// The `brook` command.
//   brook broker start [--port N] [--host H] [--data-dir D] [--broker-id N] [--config server.properties]
//                      [--zookeeper host:port[,host:port][/chroot]] [--set key=value ...]
//   brook cluster start --brokers N [...]              (a local ZooKeeper and N brokers, commands/cluster-start.ts)
//   brook topics|produce|consume|groups|cluster ...   (client commands, in commands/*.ts)
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Broker } from '../broker/broker.js';
import { StartupError } from '../broker/startup-error.js';
import { CLUSTER_USAGE, clusterCommand } from './commands/cluster.js';
import { CLUSTER_START_USAGE, clusterStartCommand } from './commands/cluster-start.js';
import { CliError } from './commands/common.js';
import { CONSUME_USAGE, consumeCommand } from './commands/consume.js';
import { GROUPS_USAGE, groupsCommand } from './commands/groups.js';
import { PRODUCE_USAGE, produceCommand } from './commands/produce.js';
import { TOPICS_USAGE, topicsCommand } from './commands/topics.js';
import { ConfigError } from '../config/config-error.js';
import { parseServerProperties } from '../config/properties.js';
import { createLogger, isLogLevel } from '../logger.js';

const USAGE = `Usage:
  brook broker start [options]     Run a broker (Ctrl-C stops it cleanly)
${TOPICS_USAGE}${PRODUCE_USAGE}${CONSUME_USAGE}${GROUPS_USAGE}${CLUSTER_USAGE}${CLUSTER_START_USAGE}
Client commands take --bootstrap-server <host:port> (default localhost:9092).

Options for "broker start":
  --port <n>               Port to listen on (default 9092)
  --host <h>               Interface to listen on (default 127.0.0.1)
  --data-dir <dir>         Where partition logs live (log.dirs, default ./data)
  --broker-id <n>          node.id / broker.id (default 1)
  --config <file>          A Kafka server.properties file
  --zookeeper <connect>    Join a cluster coordinated by ZooKeeper (zookeeper.connect):
                           host:port[,host:port...][/chroot]
  --set <key=value>        Any Kafka config key; repeatable; wins over --config
`;

/** Reports a problem the user can fix in one sentence, and exits 1. */
function fail(message: string): never {
  process.stderr.write(`brook: ${message}\n`);
  process.exit(1);
}

async function brokerStart(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'broker-id': { type: 'string' },
      config: { type: 'string' },
      zookeeper: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  let raw: Record<string, string> = {};
  if (values.config) {
    let text: string;
    try {
      text = await readFile(values.config, 'utf8');
    } catch (err) {
      fail(
        `Cannot read config file ${values.config}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      );
    }
    raw = parseServerProperties(text);
  }
  for (const item of values.set ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) fail(`--set expects key=value, got "${item}".`);
    raw[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  if (values.zookeeper !== undefined) raw['zookeeper.connect'] = values.zookeeper;
  if (values['broker-id'] !== undefined) {
    raw['node.id'] = values['broker-id'];
    delete raw['broker.id'];
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535)
      fail(`Invalid --port "${values.port}": expected 0-65535.`);
  }
  const levelText = raw['log.level'] ?? 'info';
  const logger = createLogger({ level: isLogLevel(levelText) ? levelText : 'info', name: 'brook' });
  const useListenersFromConfig =
    port === undefined && values.host === undefined && raw.listeners !== undefined;

  // Installed before the broker starts: its ready log line goes out inside Broker.start, and a SIGTERM sent on
  // seeing it must stop the broker cleanly (marker, lock released), not kill it with the default action.
  const running: { broker?: Broker } = {};
  let pendingSignal: string | null = null;
  let stopping = false;
  const shutdown = (signal: string): void => {
    const started = running.broker;
    if (started === undefined) {
      // A second signal while starting (a recovery that takes long) exits at once, as a user expects.
      if (pendingSignal !== null) process.exit(1);
      pendingSignal = signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    logger.info('Shutting down', { signal });
    started.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('Shutdown failed', { err: (err as Error).stack });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  let broker: Broker;
  try {
    broker = await Broker.start({
      port: useListenersFromConfig ? undefined : port,
      host: useListenersFromConfig ? undefined : values.host,
      dataDir:
        values['data-dir'] ??
        (raw['log.dirs'] === undefined && raw['log.dir'] === undefined ? './data' : undefined),
      config: raw,
      logger,
      onUnknownConfigKey: (key) => logger.warn(`Unknown configuration key ${key} is ignored`, { key }),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) fail(err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') fail(e.message);
    throw err;
  }
  process.stdout.write(`Brook broker ${broker.config.nodeId} started on ${broker.bootstrapServers}\n`);
  running.broker = broker;
  if (pendingSignal !== null) shutdown(pendingSignal);
}

async function main(argv: string[]): Promise<void> {
  const [group, command, ...rest] = argv;
  if (group === 'broker' && command === 'start') return brokerStart(rest);
  // A server command like "broker start", not a client one (it takes no --bootstrap-server).
  if (group === 'cluster' && command === 'start') return clusterStartCommand(rest);
  const client = {
    topics: topicsCommand,
    produce: produceCommand,
    consume: consumeCommand,
    groups: groupsCommand,
    cluster: clusterCommand,
  };
  if (group !== undefined && Object.hasOwn(client, group)) {
    return client[group as keyof typeof client](argv.slice(1));
  }
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  fail(`Unknown command "${[group, command].filter(Boolean).join(' ')}". Run "brook --help".`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) fail(err.message);
  if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    fail(`${err.message}. Run "brook --help".`);
  }
  process.stderr.write(`brook: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
