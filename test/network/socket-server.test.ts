import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../../src/logger.js';
import {
  CloseConnection,
  SocketServer,
  type ConnectionContext,
  type RequestHandler,
  type SocketServerOptions,
} from '../../src/network/socket-server.js';

/** A size-prefixed frame. */
function frame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    logger: createLogger({ level: 'warn', env: {}, stream: { write: (l: string) => lines.push(l) } }),
  };
}

/** A raw client that collects size-prefixed responses. */
class Client {
  readonly responses: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private needBytes = 4;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      // Concatenate only once a whole response is here, so 1 MiB responses do not cost quadratic copying.
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      if (this.chunkBytes < this.needBytes) return;
      this.pending = Buffer.concat([this.pending, ...this.chunks]);
      this.chunks = [];
      this.chunkBytes = 0;
      while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
        const size = this.pending.readInt32BE(0);
        this.responses.push(this.pending.subarray(4, 4 + size));
        this.pending = this.pending.subarray(4 + size);
      }
      this.needBytes = (this.pending.length >= 4 ? 4 + this.pending.readInt32BE(0) : 4) - this.pending.length;
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<Client> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new Client(socket);
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Waits until `n` responses arrived (or fails after timeoutMs); returns them as strings. */
  async waitFor(n: number, timeoutMs = 5000): Promise<string[]> {
    await this.waitForCount(n, timeoutMs);
    return this.responses.map((r) => r.toString());
  }

  async waitForCount(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n) {
      if (this.isClosed) throw new Error(`closed after ${this.responses.length}/${n} responses`);
      if (Date.now() > deadline) throw new Error(`timed out after ${this.responses.length}/${n} responses`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const timer = sleep(timeoutMs).then(() => {
      throw new Error('connection was not closed');
    });
    await Promise.race([this.closed, timer]);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

const servers: SocketServer[] = [];
const clients: Client[] = [];

async function startServer(
  handler: RequestHandler,
  overrides: Partial<SocketServerOptions> = {},
): Promise<{ server: SocketServer; port: number; lines: string[] }> {
  const { logger, lines } = captureLogger();
  const server = new SocketServer({
    host: '127.0.0.1',
    port: 0,
    maxRequestBytes: 1024 * 1024,
    idleTimeoutMs: 60_000,
    maxInFlightPerConnection: 100,
    logger,
    handler,
    closeGraceMs: 2000,
    ...overrides,
  });
  servers.push(server);
  const port = await server.listen();
  return { server, port, lines };
}

async function client(port: number): Promise<Client> {
  const c = await Client.connect(port);
  clients.push(c);
  return c;
}

const echo: RequestHandler = (f) => [Buffer.from(f)];

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('SocketServer framing', () => {
  it('echoes a request', async () => {
    const { port } = await startServer(echo);
    const c = await client(port);
    c.send(frame('hello'));
    assert.deepEqual(await c.waitFor(1), ['hello']);
  });

  it('answers several frames pipelined in one write, in order', async () => {
    const { port } = await startServer(echo);
    const c = await client(port);
    c.send(frame('a'), frame('bb'), frame(''), frame('ccc'));
    assert.deepEqual(await c.waitFor(4), ['a', 'bb', '', 'ccc']);
  });

  it('reassembles frames split byte by byte across packets', async () => {
    const { port } = await startServer(echo);
    const c = await client(port);
    c.socket.setNoDelay(true);
    const bytes = Buffer.concat([frame('split-one'), frame('two')]);
    for (const byte of bytes) {
      c.socket.write(Buffer.from([byte]));
      await sleep(1);
    }
    assert.deepEqual(await c.waitFor(2), ['split-one', 'two']);
  });

  it('reassembles a large frame arriving in many chunks', async () => {
    const { port } = await startServer((f) => [
      Buffer.from(String(f.length)),
      Buffer.from(':'),
      f.subarray(0, 3),
    ]);
    const c = await client(port);
    const big = Buffer.alloc(900_000, 7);
    big.write('xyz');
    c.send(frame(big));
    assert.deepEqual(await c.waitFor(1), ['900000:xyz']);
  });

  it('writes a response given as several chunks with one size prefix', async () => {
    const { port } = await startServer(() => [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde')]);
    const c = await client(port);
    c.send(frame('x'));
    assert.deepEqual(await c.waitFor(1), ['abcde']);
  });
});

describe('SocketServer ordering', () => {
  it('writes responses in request order when handlers finish out of order', async () => {
    const started: string[] = [];
    const { port } = await startServer(async (f) => {
      const text = f.toString();
      started.push(text);
      await sleep(text === 'slow' ? 150 : 5);
      return [Buffer.from(text)];
    });
    const c = await client(port);
    c.send(frame('slow'), frame('fast'), frame('sync?'));
    await sleep(50);
    // Every request was handed to the handler before the slow one finished.
    assert.deepEqual(started, ['slow', 'fast', 'sync?']);
    assert.equal(c.responses.length, 0);
    assert.deepEqual(await c.waitFor(3), ['slow', 'fast', 'sync?']);
  });

  it('sends nothing for a null response and keeps the order of the rest', async () => {
    const { port } = await startServer(async (f) => (f.toString() === 'acks=0' ? null : [Buffer.from(f)]));
    const c = await client(port);
    c.send(frame('a'), frame('acks=0'), frame('b'));
    assert.deepEqual(await c.waitFor(2), ['a', 'b']);
    await sleep(50);
    assert.equal(c.responses.length, 2);
  });
});

describe('SocketServer bad input', () => {
  it('closes a connection with a 2 GB size prefix without allocating it, and serves others', async () => {
    const { port, lines } = await startServer(echo);
    const good = await client(port);
    const bad = await client(port);
    const before = process.memoryUsage().arrayBuffers;
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(0x7fffffff);
    bad.send(prefix, Buffer.from('tail'));
    await bad.waitClosed();
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
    good.send(frame('still here'));
    assert.deepEqual(await good.waitFor(1), ['still here']);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /level=warn .*remote=127\.0\.0\.1:\d+ .*reason=.*exceeds socket\.request\.max\.bytes/,
    );
  });

  it('closes a connection with a negative size prefix', async () => {
    const { port } = await startServer(echo);
    const c = await client(port);
    c.send(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
    await c.waitClosed();
  });

  it('closes a connection that sends garbage (HTTP) and keeps serving others', async () => {
    const { port } = await startServer(echo);
    const http = await client(port);
    http.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await http.waitClosed();
    const c = await client(port);
    c.send(frame('ok'));
    assert.deepEqual(await c.waitFor(1), ['ok']);
  });

  it('closes only the connection whose handler throws, with one warn line', async () => {
    const { port, lines } = await startServer((f) => {
      if (f.toString() === 'bad') throw new Error('cannot parse request header');
      return [Buffer.from(f)];
    });
    const a = await client(port);
    const b = await client(port);
    a.send(frame('bad'));
    await a.waitClosed();
    b.send(frame('good'));
    assert.deepEqual(await b.waitFor(1), ['good']);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /reason="request handler failed: cannot parse request header"/);
  });

  it('closes the connection when an async handler rejects with CloseConnection', async () => {
    const { port } = await startServer(async () => {
      throw new CloseConnection('unsupported request');
    });
    const c = await client(port);
    c.send(frame('x'));
    await c.waitClosed();
  });

  it('writes the CloseConnection response after earlier responses, then closes', async () => {
    const { port } = await startServer(async (f) => {
      if (f.toString() === 'last') throw new CloseConnection('auth failed', [Buffer.from('bye')]);
      await sleep(30);
      return [Buffer.from(f)];
    });
    const c = await client(port);
    c.send(frame('first'), frame('last'), frame('never'));
    await c.waitClosed();
    assert.deepEqual(
      c.responses.map((r) => r.toString()),
      ['first', 'bye'],
    );
  });
});

describe('SocketServer connections', () => {
  it('closes idle connections but not active ones', async () => {
    const { server, port } = await startServer(echo, { idleTimeoutMs: 150 });
    const idle = await client(port);
    const active = await client(port);
    const start = Date.now();
    for (let i = 0; i < 12; i++) {
      active.send(frame(`ping${i}`));
      await sleep(40);
    }
    await idle.waitClosed(2000);
    assert.ok(Date.now() - start >= 140);
    assert.equal(active.isClosed, false);
    assert.equal(server.connectionCount, 1);
  });

  it('does not close a connection as idle while a request is in flight', async () => {
    let release!: () => void;
    const { port } = await startServer(
      () =>
        new Promise((resolve) => {
          release = () => resolve([Buffer.from('late')]);
        }),
      { idleTimeoutMs: 50 },
    );
    const c = await client(port);
    c.send(frame('long-poll'));
    await sleep(300);
    assert.equal(c.isClosed, false);
    release();
    assert.deepEqual(await c.waitFor(1), ['late']);
  });

  it('tells handlers when the client goes away', async () => {
    let seen: ConnectionContext | undefined;
    const gone = new Promise<void>((resolve) => {
      void startServer((_f, conn) => {
        seen = conn;
        conn.onClose(resolve);
        return new Promise(() => {}); // a long poll that never answers
      }).then(async ({ port }) => {
        const c = await client(port);
        c.send(frame('fetch'));
        await sleep(50);
        c.socket.destroy();
      });
    });
    await gone;
    assert.equal(seen?.closed, true);
    assert.equal(seen?.remoteAddress, '127.0.0.1');
    assert.ok(seen!.id > 0);
  });

  it('stops reading from a client that does not read its responses', async () => {
    let invocations = 0;
    const oneMiB = Buffer.alloc(1024 * 1024, 1);
    const { port } = await startServer(
      () => {
        invocations++;
        return [oneMiB];
      },
      { maxInFlightPerConnection: 4 },
    );
    const c = await client(port);
    c.socket.pause(); // never read
    const requests = 100;
    for (let i = 0; i < requests; i++) c.send(frame(`r${i}`));
    await sleep(500);
    const whilePaused = invocations;
    await sleep(300);
    // The kernel buffers a few MB of responses on loopback; after that the server must stop handling.
    assert.ok(whilePaused < 40, `handler ran ${whilePaused} times for a client that never reads`);
    assert.equal(invocations, whilePaused, 'handler kept running while the client was not reading');
    c.socket.resume();
    await c.waitForCount(requests, 20_000);
    assert.equal(invocations, requests);
  });

  it('pauses a pipelining client at the in-flight bound', async () => {
    let inFlight = 0;
    let maxSeen = 0;
    const { port } = await startServer(
      async (f) => {
        inFlight++;
        maxSeen = Math.max(maxSeen, inFlight);
        await sleep(2);
        inFlight--;
        return [Buffer.from(f)];
      },
      { maxInFlightPerConnection: 3 },
    );
    const c = await client(port);
    const frames = Array.from({ length: 50 }, (_, i) => frame(String(i)));
    c.send(...frames);
    const got = await c.waitFor(50);
    assert.deepEqual(
      got,
      frames.map((_, i) => String(i)),
    );
    assert.equal(maxSeen, 3);
  });
});

describe('SocketServer large responses', () => {
  it('runs one large-response request at a time per connection, the rest still in order', async () => {
    // Frames starting with 'L' have big answers; a client pipelining them without reading must not make
    // the server build every answer at once.
    let largeRunning = 0;
    let largeMax = 0;
    let largeInvocations = 0;
    const { port } = await startServer(
      async (f) => {
        const large = f[0] === 0x4c;
        if (!large) return [Buffer.from(f)];
        largeInvocations++;
        largeRunning++;
        largeMax = Math.max(largeMax, largeRunning);
        await sleep(1);
        largeRunning--;
        return [Buffer.alloc(1024 * 1024, f[1]!)];
      },
      { isLargeResponse: (f) => f[0] === 0x4c },
    );
    const c = await client(port);
    c.socket.pause();
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) frames.push(frame(Buffer.from([0x4c, i % 256])), frame(`s${i}`));
    c.send(...frames);
    await sleep(500);
    // A few answers fit in the kernel's loopback socket buffers; the rest must wait for the reader.
    assert.ok(
      largeInvocations <= 10,
      `${largeInvocations} large answers built for a client that never reads`,
    );
    c.socket.resume();
    await c.waitForCount(400, 30_000);
    assert.equal(largeMax, 1);
    assert.equal(largeInvocations, 200);
    for (let i = 0; i < 200; i++) {
      assert.equal(c.responses[2 * i]!.length, 1024 * 1024);
      assert.equal(c.responses[2 * i]![0], i % 256);
      assert.equal(c.responses[2 * i + 1]!.toString(), `s${i}`);
    }
  });
});

describe('SocketServer listen and close', () => {
  it('rejects with one clear sentence when the port is in use', async () => {
    const { port } = await startServer(echo);
    const second = new SocketServer({
      host: '127.0.0.1',
      port,
      maxRequestBytes: 1024,
      idleTimeoutMs: 1000,
      maxInFlightPerConnection: 1,
      logger: captureLogger().logger,
      handler: echo,
    });
    await assert.rejects(second.listen(), { message: `Port ${port} on 127.0.0.1 is already in use.` });
    await second.close();
  });

  it('close() lets in-flight requests finish and flush before closing', async () => {
    const { server, port } = await startServer(async (f) => {
      await sleep(200);
      return [Buffer.from(f)];
    });
    const c = await client(port);
    c.send(frame('in-flight'));
    await sleep(20);
    const start = Date.now();
    await server.close();
    assert.ok(Date.now() - start >= 150, 'close() returned before the request finished');
    assert.deepEqual(
      c.responses.map((r) => r.toString()),
      ['in-flight'],
    );
    await c.waitClosed(1000);
    assert.equal(server.connectionCount, 0);
    await assert.rejects(Client.connect(port));
  });

  it('close() destroys connections still busy after the grace period', async () => {
    const { server, port, lines } = await startServer(() => new Promise(() => {}), { closeGraceMs: 100 });
    const c = await client(port);
    c.send(frame('stuck'));
    await sleep(20);
    const start = Date.now();
    await server.close();
    assert.ok(Date.now() - start < 1000);
    await c.waitClosed(1000);
    assert.ok(lines.some((l) => l.includes('grace period')));
  });

  it('counts connections', async () => {
    const { server, port } = await startServer(echo);
    const a = await client(port);
    await client(port);
    await sleep(20);
    assert.equal(server.connectionCount, 2);
    a.socket.destroy();
    await sleep(50);
    assert.equal(server.connectionCount, 1);
  });
});
