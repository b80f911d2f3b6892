// A real ZooKeeper for tests (Debian's `zookeeper` package, on its JVM): one server or a three-server
// ensemble on free 127.0.0.1 ports, each with its own temp data dir, lean JVM options (two cores are
// shared by everything), stopped by PID. Tests check hasZooKeeper() through requireTool() first.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, makeTempDir, removeDir } from './broker.js';
import { spawnLongRunning, type LongRunning } from './run.js';

/** zookeeper.jar's manifest names its dependencies; slf4j-nop keeps its logging quiet. */
const CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-nop.jar'].join(':');
const JVM_OPTS = ['-Xmx256m', '-Xms32m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];

export interface ZooKeeperServer {
  /** host:port of this server. */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** SIGKILL (a crash): the data dir is kept, start it again with restart(). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Kills it and removes its data dir. */
  stop(): Promise<void>;
}

export interface ZooKeeper {
  /** The connection string for zookeeper.connect (every server, no chroot). */
  readonly connect: string;
  readonly servers: readonly ZooKeeperServer[];
  stop(): Promise<void>;
}

/** Sends a four-letter command ("ruok", "srvr") and returns the answer ('' when none). */
export function fourLetter(port: number, cmd: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(cmd));
    const done = (): void => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    s.setTimeout(timeoutMs, done);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', done);
    s.on('error', done);
  });
}

/** Waits until the server serves clients (standalone, or leader/follower of a quorum). */
async function waitServing(port: number, proc: LongRunning, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`ZooKeeper on port ${port} exited: ${proc.stderr().slice(-2000)}`);
    }
    const srvr = await fourLetter(port, 'srvr', 1000);
    if (/Mode: (standalone|leader|follower)/.test(srvr)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `ZooKeeper on port ${port} did not serve within ${timeoutMs} ms: ${proc.stderr().slice(-2000)}`,
  );
}

interface ServerSpec {
  id: number;
  clientPort: number;
  peerPort: number;
  electionPort: number;
}

function writeConfig(dir: string, me: ServerSpec, all: readonly ServerSpec[]): string {
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const lines = [
    'tickTime=500',
    'initLimit=20',
    'syncLimit=10',
    `dataDir=${dataDir}`,
    `clientPort=${me.clientPort}`,
    'clientPortAddress=127.0.0.1',
    // Brokers ask for 18 s sessions by default; let them have up to a minute.
    'minSessionTimeout=1000',
    'maxSessionTimeout=60000',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat',
    'autopurge.purgeInterval=0',
    'preAllocSize=1024',
    'snapCount=100000',
  ];
  if (all.length > 1) {
    for (const s of all) lines.push(`server.${s.id}=127.0.0.1:${s.peerPort}:${s.electionPort}`);
    writeFileSync(join(dataDir, 'myid'), `${me.id}\n`);
  }
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, lines.join('\n') + '\n');
  return cfg;
}

function launch(cfg: string): LongRunning {
  return spawnLongRunning('java', [
    ...JVM_OPTS,
    '-Dzookeeper.jmx.log4j.disable=true',
    '-Dzookeeper.admin.enableServer=false',
    '-cp',
    CLASSPATH,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    cfg,
  ]);
}

async function makeServer(
  dir: string,
  me: ServerSpec,
  all: readonly ServerSpec[],
): Promise<{ server: ZooKeeperServer; ready: Promise<void> }> {
  const cfg = writeConfig(dir, me, all);
  let proc = launch(cfg);
  const timeoutMs = 60_000;
  const kill = async (): Promise<void> => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.kill('SIGKILL');
      await proc.waitExit();
    }
  };
  const server: ZooKeeperServer = {
    address: `127.0.0.1:${me.clientPort}`,
    port: me.clientPort,
    get pid() {
      return proc.pid;
    },
    dataDir: dir,
    kill,
    async restart() {
      await kill();
      proc = launch(cfg);
      await waitServing(me.clientPort, proc, timeoutMs);
    },
    async stop() {
      await kill();
      removeDir(dir);
    },
  };
  return { server, ready: waitServing(me.clientPort, proc, timeoutMs) };
}

/** Starts `servers` (1 or 3) ZooKeeper servers and waits until they serve. */
export async function startZooKeeper(servers = 1): Promise<ZooKeeper> {
  const specs: ServerSpec[] = [];
  for (let id = 1; id <= servers; id++) {
    specs.push({
      id,
      clientPort: await freePort(),
      peerPort: await freePort(),
      electionPort: await freePort(),
    });
  }
  const started: ZooKeeperServer[] = [];
  const readies: Promise<void>[] = [];
  for (const spec of specs) {
    const { server, ready } = await makeServer(makeTempDir('brook-zk-'), spec, specs);
    started.push(server);
    readies.push(ready);
  }
  const zk: ZooKeeper = {
    connect: started.map((s) => s.address).join(','),
    servers: started,
    async stop() {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
  try {
    await Promise.all(readies);
  } catch (err) {
    await zk.stop();
    throw err;
  }
  return zk;
}
