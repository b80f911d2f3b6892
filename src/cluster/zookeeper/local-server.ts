// A ZooKeeper server on this machine, from Debian's `zookeeper` package on the JVM it pulls in: one
// server or one member of an ensemble, with its own zoo.cfg and data dir, lean JVM options (a try-out
// cluster and the tests share small machines with the brokers), stopped by PID. `brook cluster start`
// and the tests (test/helpers/zookeeper.ts) both launch it through here, so there is one way to do it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';

/** zookeeper.jar's manifest names its dependencies; slf4j-nop keeps its logging quiet. */
export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const SLF4J_NOP_JAR = '/usr/share/java/slf4j-nop.jar';
const JVM_OPTS = ['-Xmx256m', '-Xms32m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];

/** How much of the server's output is kept for error messages. */
const OUTPUT_TAIL_CHARS = 4000;

function onPath(program: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, program)));
}

/** Null when ZooKeeper can run here, else one sentence saying what to install. */
export function zooKeeperMissing(): string | null {
  if (!existsSync(ZOOKEEPER_JAR)) {
    return `ZooKeeper is not installed (${ZOOKEEPER_JAR} is missing): install Debian's "zookeeper" package (apt-get install zookeeper), which also brings Java.`;
  }
  if (!onPath('java')) {
    return 'Java is not installed (no "java" on PATH): install Debian\'s "zookeeper" package again or a JRE such as "default-jre-headless".';
  }
  return null;
}

/** One server of an ensemble (a single server is an ensemble of one). */
export interface ZooKeeperServerSpec {
  /** myid, 1..255. */
  id: number;
  clientPort: number;
  /** Quorum and leader-election ports; only used in an ensemble of more than one. */
  peerPort?: number;
  electionPort?: number;
}

export interface LocalZooKeeperOptions {
  /** Holds zoo.cfg and data/ (kept across restarts). */
  dir: string;
  me: ZooKeeperServerSpec;
  /** Every server of the ensemble, this one included (default: just this one). */
  ensemble?: readonly ZooKeeperServerSpec[];
  /** Interface for clients (default 127.0.0.1). */
  host?: string;
  /** tickTime: sessions may last between 2 and 20 ticks by default; minSessionTimeout is set below. */
  tickTimeMs?: number;
  /** Where the server's stdout/stderr go besides the kept tail (e.g. a log file). */
  output?: Writable;
  /**
   * Its own process group, so a Ctrl-C at the terminal reaches only the parent, which can then stop
   * the brokers before ZooKeeper (brook cluster start). Tests leave it in theirs.
   */
  ownProcessGroup?: boolean;
}

/** Sends a four-letter command ("ruok", "srvr") and returns the answer ('' when none). */
export function fourLetter(port: number, cmd: string, timeoutMs = 2000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(port, host, () => s.write(cmd));
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

function writeConfig(opts: LocalZooKeeperOptions): string {
  const dataDir = join(opts.dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const all = opts.ensemble ?? [opts.me];
  const lines = [
    `tickTime=${opts.tickTimeMs ?? 500}`,
    'initLimit=20',
    'syncLimit=10',
    `dataDir=${dataDir}`,
    `clientPort=${opts.me.clientPort}`,
    `clientPortAddress=${opts.host ?? '127.0.0.1'}`,
    // Brokers ask for 18 s sessions by default (zookeeper.session.timeout.ms); allow 1 s to a minute.
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
    writeFileSync(join(dataDir, 'myid'), `${opts.me.id}\n`);
  }
  const cfg = join(opts.dir, 'zoo.cfg');
  writeFileSync(cfg, lines.join('\n') + '\n');
  return cfg;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running (or stopped) ZooKeeper server; restart() starts it again on the same dir. */
export class LocalZooKeeperServer {
  private child!: ChildProcess;
  private exited!: Promise<ExitStatus>;
  private exitStatus: ExitStatus | null = null;
  private tail = '';
  private readonly cfg: string;

  constructor(private readonly opts: LocalZooKeeperOptions) {
    this.cfg = writeConfig(opts);
    this.launch();
  }

  get port(): number {
    return this.opts.me.clientPort;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  /** host:port for zookeeper.connect. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** The exit status once the current process has exited, else null. */
  get exitedWith(): ExitStatus | null {
    return this.exitStatus;
  }

  /** The last few KB of the server's output (for error messages). */
  outputTail(): string {
    return this.tail;
  }

  private launch(): void {
    this.exitStatus = null;
    this.tail = '';
    const child = spawn(
      'java',
      [
        ...JVM_OPTS,
        '-Dzookeeper.jmx.log4j.disable=true',
        '-Dzookeeper.admin.enableServer=false',
        '-cp',
        [ZOOKEEPER_JAR, SLF4J_NOP_JAR].join(':'),
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        this.cfg,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: this.opts.ownProcessGroup === true },
    );
    if (child.pid === undefined) throw new Error('could not start java');
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
      this.opts.output?.write(chunk);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
    this.child = child;
  }

  /** Resolves once the server serves clients (standalone, or leader/follower of a quorum). */
  async waitServing(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitStatus !== null) {
        throw new Error(`ZooKeeper on port ${this.port} exited: ${this.tail.slice(-2000)}`);
      }
      const srvr = await fourLetter(
        this.port,
        'srvr',
        1000,
        this.host === '0.0.0.0' ? '127.0.0.1' : this.host,
      );
      if (/Mode: (standalone|leader|follower)/.test(srvr)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `ZooKeeper on port ${this.port} did not serve within ${timeoutMs} ms: ${this.tail.slice(-2000)}`,
    );
  }

  /** Signals the server by PID and waits for it to exit; SIGKILL after graceMs if a signal was ignored. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ExitStatus> {
    if (this.exitStatus !== null) return this.exitStatus;
    this.child.kill(signal);
    if (signal === 'SIGKILL') return this.exited;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL (a crash); the data dir is kept. */
  kill(): Promise<ExitStatus> {
    return this.stop('SIGKILL');
  }

  /** Kills the server if it runs, starts it again on the same config and data, waits until it serves. */
  async restart(timeoutMs = 60_000): Promise<void> {
    await this.kill();
    this.launch();
    await this.waitServing(timeoutMs);
  }
}
