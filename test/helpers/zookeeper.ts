// A real ZooKeeper for tests (Debian's `zookeeper` package, on its JVM), launched as `brook cluster
// start` launches it (src/cluster/zookeeper/local-server.ts): one server or a three-server ensemble on
// free 127.0.0.1 ports, each with its own temp data dir, stopped by PID. Tests check hasZooKeeper()
// through requireTool() first.
import {
  fourLetter,
  LocalZooKeeperServer,
  type ZooKeeperServerSpec,
} from '../../src/cluster/zookeeper/local-server.js';
import { freePort, makeTempDir, removeDir } from './broker.js';

export { fourLetter };

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

function wrap(server: LocalZooKeeperServer): ZooKeeperServer {
  return {
    address: server.address,
    port: server.port,
    get pid() {
      return server.pid;
    },
    dataDir: server.dir,
    async kill() {
      await server.kill();
    },
    restart: () => server.restart(),
    async stop() {
      await server.kill();
      removeDir(server.dir);
    },
  };
}

/** Starts `servers` (1 or 3) ZooKeeper servers and waits until they serve. */
export async function startZooKeeper(servers = 1): Promise<ZooKeeper> {
  const specs: ZooKeeperServerSpec[] = [];
  for (let id = 1; id <= servers; id++) {
    specs.push({
      id,
      clientPort: await freePort(),
      peerPort: await freePort(),
      electionPort: await freePort(),
    });
  }
  const started = specs.map(
    (me) => new LocalZooKeeperServer({ dir: makeTempDir('brook-zk-'), me, ensemble: specs }),
  );
  const wrapped = started.map(wrap);
  const zk: ZooKeeper = {
    connect: wrapped.map((s) => s.address).join(','),
    servers: wrapped,
    async stop() {
      await Promise.all(wrapped.map((s) => s.stop()));
    },
  };
  try {
    await Promise.all(started.map((s) => s.waitServing(60_000)));
  } catch (err) {
    await zk.stop();
    throw err;
  }
  return zk;
}
