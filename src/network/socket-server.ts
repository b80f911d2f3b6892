// The broker's TCP listener. It knows Kafka framing (int32 size + bytes) and nothing else: each request frame
// goes to `handler`, whose response chunks come back size-prefixed, in request order per connection.
// See connection.ts for ordering, pipelining bounds and backpressure.
//
//   const server = new SocketServer({ host, port: 0, maxRequestBytes, idleTimeoutMs, maxInFlightPerConnection,
//                                     logger, handler });
//   const port = await server.listen();
//   ...
//   await server.close();   // stop accepting, answer what is in flight, then close every socket
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.js';
import { Connection, type RequestHandler } from './connection.js';
import { MemoryPool } from './memory-pool.js';

export { CloseConnection } from './connection.js';
export type { ConnectionContext, RequestHandler, ResponseFrame } from './connection.js';

export interface SocketServerOptions {
  /** '' binds every interface. */
  host: string;
  /** 0 picks a free port; listen() resolves with it. */
  port: number;
  /** socket.request.max.bytes: a larger size prefix closes the connection. */
  maxRequestBytes: number;
  /** connections.max.idle.ms: close a connection with no request in flight and no traffic for this long. */
  idleTimeoutMs: number;
  /** queued.max.requests: requests in flight per connection before reading from it pauses. */
  maxInFlightPerConnection: number;
  logger: Logger;
  handler: RequestHandler;
  /**
   * Requests with large responses (Fetch): at most one runs per connection, and only once earlier
   * responses have left the socket buffer, so a client that pipelines them without reading cannot make
   * the broker hold more than one such response for it. Kafka goes further and runs one request of any
   * kind per connection at a time.
   */
  isLargeResponse?: (frame: Buffer) => boolean;
  /**
   * queued.max.request.bytes, resolved: bytes of requests and responses all connections may hold before they
   * stop reading; negative = no bound. See memory-pool.ts.
   */
  maxQueuedBytes?: number;
  /** How long close() lets in-flight requests finish and responses flush before destroying sockets. */
  closeGraceMs?: number;
}

const DEFAULT_CLOSE_GRACE_MS = 5_000;
/** The idle sweep runs a few times per idle period, but at least once a second is plenty. */
const MAX_IDLE_SWEEP_MS = 1_000;

export class SocketServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private idleSweep: NodeJS.Timeout | null = null;
  private boundPort = -1;
  private closing: Promise<void> | null = null;
  /** The broker-wide budget every connection counts its request and response bytes in. */
  readonly memory: MemoryPool;

  constructor(private readonly options: SocketServerOptions) {
    if (!(options.maxRequestBytes > 0)) throw new RangeError('maxRequestBytes must be positive');
    if (!(options.maxInFlightPerConnection >= 1))
      throw new RangeError('maxInFlightPerConnection must be at least 1');
    this.memory = new MemoryPool(options.maxQueuedBytes ?? -1);
    this.server = createServer({ noDelay: true, keepAlive: true }, (socket) => this.onConnection(socket));
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The bound port, or -1 before listen(). */
  get port(): number {
    return this.boundPort;
  }

  /** Starts listening; resolves with the bound port. Rejects with a one-sentence message (e.g. port in use). */
  listen(): Promise<number> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, host, port));
      this.server.once('error', onError);
      this.server.listen({ host: host === '' ? undefined : host, port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.options.logger.error('Listener error', { error: err }));
        const address = this.server.address();
        this.boundPort = typeof address === 'object' && address !== null ? address.port : port;
        this.startIdleSweep();
        this.options.logger.info('Listening', { host: host === '' ? '*' : host, port: this.boundPort });
        resolve(this.boundPort);
      });
    });
  }

  /**
   * Stops accepting, lets in-flight requests finish and their responses flush (up to closeGraceMs), then
   * destroys whatever is left. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.idleSweep) clearInterval(this.idleSweep);
    this.idleSweep = null;
    const stopped = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    const connections = [...this.connections];
    for (const conn of connections) conn.drain();
    const graceMs = this.options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(connections.map((c) => c.whenClosed())), timedOut]);
    clearTimeout(timer);
    for (const conn of this.connections) {
      this.options.logger.warn('Closing connection', {
        conn: conn.id,
        remote: conn.remote,
        reason: `shutdown grace period of ${graceMs} ms elapsed with ${conn.inFlight} request(s) in flight`,
      });
      conn.destroy();
    }
    await stopped;
  }

  private onConnection(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn = new Connection(this.nextConnectionId++, socket, {
      maxRequestBytes: this.options.maxRequestBytes,
      maxInFlight: this.options.maxInFlightPerConnection,
      handler: this.options.handler,
      isLargeResponse: this.options.isLargeResponse,
      memory: this.memory,
      logger: this.options.logger,
    });
    this.connections.add(conn);
    conn.onClose(() => {
      this.connections.delete(conn);
      this.options.logger.debug('Connection closed', { conn: conn.id, remote: conn.remote });
    });
    this.options.logger.debug('Connection opened', { conn: conn.id, remote: conn.remote });
  }

  /** One timer for all connections instead of one per socket: idle checks need no precision. */
  private startIdleSweep(): void {
    const idleMs = this.options.idleTimeoutMs;
    if (!(idleMs > 0) || !Number.isFinite(idleMs)) return;
    const everyMs = Math.max(10, Math.min(MAX_IDLE_SWEEP_MS, Math.floor(idleMs / 4)));
    this.idleSweep = setInterval(() => {
      const now = Date.now();
      for (const conn of this.connections) {
        if (conn.inFlight === 0 && now - conn.lastActivityMs >= idleMs) {
          this.options.logger.debug('Closing idle connection', {
            conn: conn.id,
            remote: conn.remote,
            idleMs: now - conn.lastActivityMs,
          });
          conn.destroy();
        }
      }
    }, everyMs);
    this.idleSweep.unref();
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = host === '' ? `port ${port} on all interfaces` : `port ${port} on ${host}`;
  const capital = where[0]!.toUpperCase() + where.slice(1);
  let message: string;
  switch (err.code) {
    case 'EADDRINUSE':
      message = `${capital} is already in use.`;
      break;
    case 'EACCES':
      message = `Permission denied to listen on ${where}.`;
      break;
    case 'EADDRNOTAVAIL':
      message = `Cannot listen on ${where}: ${host} is not an address of this machine.`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `Cannot listen on ${where}: host ${host} does not resolve.`;
      break;
    default:
      message = `Cannot listen on ${where}: ${err.message}.`;
  }
  return Object.assign(new Error(message, { cause: err }), { code: err.code });
}
