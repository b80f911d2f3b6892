// One ZooKeeper session for the broker, on node-zookeeper-client, with a promise API and the
// session's life made explicit:
// - open() waits until ZooKeeper answers; an unreachable ensemble is said once, in one sentence,
//   and retried until it answers (as a broker started before its ZooKeeper must come up after it);
// - a chroot (`host:port,host:port/chroot`) is created first, as Kafka does;
// - 'lost': the session can no longer be proven (disconnected for longer than the session timeout,
//   or expired). Ephemeral znodes (registration, controllership) may be gone and other brokers may
//   have taken over: whoever acts on them must stop until 'renewed' or 'reconnected';
// - 'renewed': after an expiry, a new session is open. Its ephemeral znodes and watches are gone, so
//   the owner re-registers, re-reads and re-arms everything;
// - 'reconnected': the same session is back after 'lost' (ephemerals and watches survived).
// Watches are one-shot in ZooKeeper; callers re-arm them by reading again (the store does).
import { EventEmitter } from 'node:events';
import zookeeper from 'node-zookeeper-client';
import type { Logger } from '../../logger.js';

const { CreateMode, Exception } = zookeeper;
export { CreateMode };

export const ZkCode = {
  NO_NODE: Exception.NO_NODE,
  NODE_EXISTS: Exception.NODE_EXISTS,
  BAD_VERSION: Exception.BAD_VERSION,
  NOT_EMPTY: Exception.NOT_EMPTY,
  CONNECTION_LOSS: Exception.CONNECTION_LOSS,
  SESSION_EXPIRED: Exception.SESSION_EXPIRED,
} as const;

/** A ZooKeeper error with its code (ZkCode); `path` is the znode it concerns, when known. */
export class ZkError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export function isZkCode(err: unknown, code: number): boolean {
  return err instanceof ZkError && err.code === code;
}

function wrap(err: unknown, path?: string): Error {
  if (err instanceof zookeeper.Exception) {
    return new ZkError(err.getCode(), `ZooKeeper ${err.getName()}${path ? ` on ${path}` : ''}`, path);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export type Watcher = () => void;

/** One operation of a multi (ZooKeeper transaction): all apply or none. */
export type ZkOp =
  | { op: 'create'; path: string; data: Buffer; mode?: number }
  | { op: 'set'; path: string; data: Buffer; version: number }
  | { op: 'check'; path: string; version: number }
  | { op: 'remove'; path: string; version?: number };

export interface ZkSessionOptions {
  /** zookeeper.connect: host:port[,host:port...][/chroot] */
  connect: string;
  /** zookeeper.session.timeout.ms */
  sessionTimeoutMs: number;
  /** zookeeper.connection.timeout.ms: how long before "unreachable" is said (retrying goes on). */
  connectionTimeoutMs: number;
  logger: Logger;
}

/** Splits `hosts/chroot` (Kafka's zookeeper.connect) into the servers and the chroot ('' when none). */
export function parseConnectString(connect: string): { hosts: string; chroot: string } {
  const slash = connect.indexOf('/');
  if (slash < 0) return { hosts: connect, chroot: '' };
  const chroot = connect.slice(slash).replace(/\/+$/, '');
  return { hosts: connect.slice(0, slash), chroot };
}

export class ZkSession extends EventEmitter {
  private client!: zookeeper.Client;
  private closed = false;
  private lost = false;
  /** A new session is being opened after expiry (renew()); its connect is not a reconnect. */
  private renewing = false;
  private lostTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly opts: ZkSessionOptions) {
    super();
  }

  static async open(opts: ZkSessionOptions): Promise<ZkSession> {
    const { hosts, chroot } = parseConnectString(opts.connect);
    if (hosts === '') throw new Error(`zookeeper.connect "${opts.connect}" names no server`);
    if (chroot !== '') {
      // Operations under a chroot that does not exist fail: create it through a session without one.
      const root = new ZkSession({ ...opts, connect: hosts });
      await root.connect();
      try {
        await root.mkdirp(chroot);
      } finally {
        root.close();
      }
    }
    const session = new ZkSession(opts);
    await session.connect();
    return session;
  }

  /** True while the session is provably ours (connected, or disconnected for less than its timeout). */
  get valid(): boolean {
    return !this.lost && !this.closed;
  }

  /** True while a ZooKeeper server answers this session now (not closed, not reconnecting). */
  get connected(): boolean {
    return !this.closed && this.client.getState() === zookeeper.State.SYNC_CONNECTED;
  }

  /** The session id (hex), for logs and for telling our own ephemeral znodes from another session's. */
  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  private newClient(): zookeeper.Client {
    const { hosts, chroot } = parseConnectString(this.opts.connect);
    const client = zookeeper.createClient(hosts + chroot, {
      sessionTimeout: this.opts.sessionTimeoutMs,
      spinDelay: 500,
      retries: 1,
    });
    client.on('disconnected', () => {
      if (this.client !== client || this.closed) return;
      this.opts.logger.warn('Disconnected from ZooKeeper; reconnecting', { connect: this.opts.connect });
      this.lostTimer ??= setTimeout(() => {
        this.lostTimer = null;
        this.markLost('no ZooKeeper server answered within the session timeout');
      }, this.opts.sessionTimeoutMs);
      this.lostTimer.unref();
    });
    client.on('connected', () => {
      if (this.client !== client || this.closed) return;
      this.clearLostTimer();
      // A new session after expiry is renew()'s to announce ('renewed'): saying 'reconnected' too made the
      // store re-read on the old generation at the same time, and those reads took the new session's
      // watches, so the broker stopped seeing partition state changes.
      if (this.lost && !this.renewing) {
        this.lost = false;
        this.opts.logger.info('ZooKeeper session is back');
        this.emit('reconnected');
      }
    });
    client.on('expired', () => {
      if (this.client !== client || this.closed) return;
      this.markLost('the ZooKeeper session expired');
      client.close();
      this.renewing = true;
      void this.renew();
    });
    return client;
  }

  private markLost(reason: string): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.opts.logger.warn(`ZooKeeper session lost: ${reason}`, { connect: this.opts.connect });
    this.emit('lost');
  }

  private clearLostTimer(): void {
    if (this.lostTimer !== null) clearTimeout(this.lostTimer);
    this.lostTimer = null;
  }

  /** Connects a new client (a new session); says once when ZooKeeper does not answer, keeps trying. */
  private connect(): Promise<void> {
    const client = this.newClient();
    this.client = client;
    return new Promise((resolve, reject) => {
      const slow = setTimeout(() => {
        this.opts.logger.warn(
          `ZooKeeper at ${this.opts.connect} is unreachable after ${this.opts.connectionTimeoutMs} ms; ` +
            'still trying, the broker starts once it answers',
        );
      }, this.opts.connectionTimeoutMs);
      const onClose = (): void => {
        clearTimeout(slow);
        reject(new Error('ZooKeeper session closed before it connected'));
      };
      this.once('closing', onClose);
      client.once('connected', () => {
        clearTimeout(slow);
        this.off('closing', onClose);
        resolve();
      });
      client.connect();
    });
  }

  private async renew(): Promise<void> {
    while (!this.closed) {
      try {
        await this.connect();
        this.renewing = false;
        this.lost = false;
        this.opts.logger.info('New ZooKeeper session after expiry', { sessionId: this.sessionId });
        this.emit('renewed');
        return;
      } catch (err) {
        if (this.closed) return;
        this.opts.logger.warn('Could not open a new ZooKeeper session; retrying', { error: String(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearLostTimer();
    this.emit('closing');
    const connected = this.client.getState() === zookeeper.State.SYNC_CONNECTED;
    this.client.close();
    if (!connected) stopReconnecting(this.client);
  }

  /**
   * Data, version, czxid (the zxid of the transaction that created it: a znode deleted and created
   * again has a new one), mzxid (of the transaction that last wrote it) and creation time (ms) of a znode, or null when it does not exist. A watcher
   * fires once on change/deletion.
   */
  get(
    path: string,
    watcher?: Watcher,
  ): Promise<{ data: Buffer; version: number; czxid: bigint; mzxid: bigint; ctimeMs: number } | null> {
    return new Promise((resolve, reject) => {
      const cb = (err: unknown, data: Buffer, stat: zookeeper.Stat): void => {
        if (err) {
          if (err instanceof zookeeper.Exception && err.getCode() === Exception.NO_NODE) {
            // A watcher on a missing node must still fire when it appears: arm an exists watch.
            if (watcher) {
              this.existsWatch(path, watcher, () => resolve(null));
              return;
            }
            resolve(null);
            return;
          }
          reject(wrap(err, path));
          return;
        }
        resolve({
          data: data ?? Buffer.alloc(0),
          version: stat.version,
          czxid: stat.czxid.readBigInt64BE(0),
          mzxid: stat.mzxid.readBigInt64BE(0),
          ctimeMs: Number(stat.ctime.readBigInt64BE(0)),
        });
      };
      if (watcher) this.client.getData(path, () => watcher(), cb);
      else this.client.getData(path, cb);
    });
  }

  /** Child names, or null when the znode does not exist (a watcher then fires when it is created). */
  children(path: string, watcher?: Watcher): Promise<string[] | null> {
    return new Promise((resolve, reject) => {
      const cb = (err: unknown, children: string[]): void => {
        if (err) {
          if (err instanceof zookeeper.Exception && err.getCode() === Exception.NO_NODE) {
            if (watcher) {
              this.existsWatch(path, watcher, () => resolve(null));
              return;
            }
            resolve(null);
            return;
          }
          reject(wrap(err, path));
          return;
        }
        resolve(children);
      };
      if (watcher) this.client.getChildren(path, () => watcher(), cb);
      else this.client.getChildren(path, cb);
    });
  }

  /**
   * Arms a watch for a znode that was missing a moment ago. Created in between, the exists watch
   * would only fire on its next change: the watcher runs at once instead, to read it now.
   */
  private existsWatch(path: string, watcher: Watcher, done: () => void): void {
    let fired = false;
    const once = (): void => {
      if (fired) return;
      fired = true;
      watcher();
    };
    this.client.exists(path, once, (err, stat) => {
      done();
      if (!err && stat) setImmediate(once);
    });
  }

  /** Ephemeral owner (session id hex) of a znode, or null when missing or persistent. */
  ephemeralOwner(path: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.client.exists(path, (err, stat) => {
        if (err) return reject(wrap(err, path));
        if (!stat) return resolve(null);
        const owner = stat.ephemeralOwner.toString('hex');
        resolve(/^0+$/.test(owner) ? null : owner);
      });
    });
  }

  create(path: string, data: Buffer, mode: number = CreateMode.PERSISTENT): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.create(path, data, mode, (err) => (err ? reject(wrap(err, path)) : resolve()));
    });
  }

  /** Conditional write: resolves with the new version; BAD_VERSION when the znode changed meanwhile. */
  setData(path: string, data: Buffer, version: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client.setData(path, data, version, (err, stat) =>
        err ? reject(wrap(err, path)) : resolve(stat.version),
      );
    });
  }

  remove(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.remove(path, version, (err) => (err ? reject(wrap(err, path)) : resolve()));
    });
  }

  mkdirp(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.mkdirp(path, (err) => (err ? reject(wrap(err, path)) : resolve()));
    });
  }

  /**
   * A transaction: every op applies or none. Rejects with the first failing op's ZkError (its path
   * set), e.g. BAD_VERSION from a `check` of a version that moved on.
   */
  multi(ops: readonly ZkOp[]): Promise<void> {
    const tx = this.client.transaction();
    // node-zookeeper-client 1.1.3's Transaction turns version 0 into -1 (`version || -1`), i.e. "any
    // version": a check or conditional write of a znode never written since its creation (the first
    // controller epoch, a new partition state) would not be conditional at all. Put the version back.
    const queued = (tx as unknown as { ops: { version?: number }[] }).ops;
    for (const o of ops) {
      if (o.op === 'create') tx.create(o.path, o.data, o.mode ?? CreateMode.PERSISTENT);
      else if (o.op === 'set') tx.setData(o.path, o.data, o.version);
      else if (o.op === 'check') tx.check(o.path, o.version);
      else tx.remove(o.path, o.version ?? -1);
      if (o.op !== 'create') queued[queued.length - 1]!.version = o.version ?? -1;
    }
    return new Promise((resolve, reject) => {
      tx.commit((err, results: unknown) => {
        if (!err) return resolve();
        // The failing op is the one whose result carries an error code other than OK / rolled back.
        const list = Array.isArray(results) ? (results as { err?: number }[]) : [];
        const i = list.findIndex((r) => r.err !== undefined && r.err !== 0 && r.err !== -2);
        const code = i >= 0 ? list[i]!.err! : err instanceof zookeeper.Exception ? err.getCode() : -1;
        const path = i >= 0 ? ops[i]?.path : undefined;
        reject(new ZkError(code, `ZooKeeper multi failed (code ${code}${path ? ` on ${path}` : ''})`, path));
      });
    });
  }
}

/**
 * node-zookeeper-client 1.1.3 closed while it is not connected keeps reconnecting forever (its
 * reconnect attempt overwrites the CLOSING state), which would keep a stopped broker's process
 * alive while ZooKeeper is down. Nothing more is sent on a session we are closing: stop its
 * connection manager from connecting again and drop the socket it may be opening. The server
 * expires the session after its timeout.
 */
function stopReconnecting(client: zookeeper.Client): void {
  const cm = (client as unknown as { connectionManager?: Record<string, unknown> }).connectionManager;
  if (!cm) return;
  cm.connect = () => undefined;
  const timer = cm.connectTimeoutHandler as NodeJS.Timeout | undefined;
  if (timer) clearTimeout(timer);
  (cm.socket as { destroy?: () => void } | undefined)?.destroy?.();
}
