// One client connection: frames in, handler calls, responses out in request order.
//
// - Requests are handed to the handler as soon as they are framed, so a slow one (a Fetch long-poll) does not
//   hold back the next (a Heartbeat); responses still go out strictly in request order, as Kafka promises.
// - Bounds (TigerBeetle style, everything has a limit): at most `maxInFlight` requests between framing and their
//   response being written; at the bound, and while the socket's write buffer is above its high-water mark (a
//   client that does not read), the connection stops reading, so TCP pushes back on the client.
// - Memory (queued.max.request.bytes): the bytes this connection holds (requests read and not yet answered, the
//   declared size of the request being read, responses not yet handed to the kernel) count in the broker-wide
//   MemoryPool; while it is used up the connection reads no new request, so the total stays bounded whatever the
//   clients send. A request's size is admitted before its body is read.
// - A failing handler or a bad frame closes this connection only, with one warn line naming the peer.
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
import { FrameReader, FrameSizeError } from './frame-reader.js';
import type { MemoryPool, MemoryWaiter } from './memory-pool.js';

/** Response chunks without the size prefix; the server writes prefix + chunks without concatenating. */
export type ResponseFrame = Buffer[];

/** What a handler may know about the connection a request came from. */
export interface ConnectionContext {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True once the socket is closed (by either side); a long-poll can stop waiting. */
  readonly closed: boolean;
  /** Calls `cb` once when the connection closes (immediately if it already has). */
  onClose(cb: () => void): void;
}

/**
 * Handles one request frame (without its size prefix). The frame may be a view into a larger socket buffer:
 * copy it (Buffer.from) before keeping it past the request, or it pins that buffer in memory.
 * Return the response chunks, null for no response (acks=0), or throw to close the connection.
 */
export type RequestHandler = (
  frame: Buffer,
  conn: ConnectionContext,
) => Promise<ResponseFrame | null> | ResponseFrame | null;

/**
 * Thrown by a handler to drop the connection (e.g. an unparseable header). With `response`, that response is
 * written, in order, before the connection is closed (e.g. a final error answer).
 */
export class CloseConnection extends Error {
  constructor(
    reason: string,
    readonly response?: ResponseFrame,
  ) {
    super(reason);
    this.name = 'CloseConnection';
  }
}

interface Slot {
  done: boolean;
  /** The request frame's bytes (with its size prefix), held in the memory pool until the response is written. */
  requestBytes: number;
  /** A large-response request (see isLargeResponse): the next one waits until this one is written. */
  large: boolean;
  response: ResponseFrame | null;
  /** Close the connection once this slot's response is written. */
  closeAfter: boolean;
}

export interface ConnectionOptions {
  maxRequestBytes: number;
  maxInFlight: number;
  handler: RequestHandler;
  logger: Logger;
  isLargeResponse?: (frame: Buffer) => boolean;
  /** Broker-wide budget of request and response bytes; none = unbounded. */
  memory?: MemoryPool;
}

export class Connection implements ConnectionContext, MemoryWaiter {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Date.now() of the last request or response; the server's idle sweep reads it. */
  lastActivityMs = Date.now();

  private readonly reader: FrameReader;
  private readonly slots: (Slot | undefined)[] = [];
  private slotHead = 0;
  private closeCallbacks: (() => void)[] = [];
  private isClosed = false;
  private readPaused = false;
  private writeBlocked = false;
  /** Server shutdown: read no more, answer what is in flight, then end. */
  private draining = false;
  /** A CloseConnection response is queued: read no more. */
  private closing = false;
  private dispatching = false;
  /** A large-response request is running or its response is not yet written. */
  private largeInFlight = false;
  /** A large-response frame read but not dispatched yet (waiting for the previous one to be written). */
  private heldFrame: Buffer | null = null;
  /** end() was called: nothing more may be written. */
  private ended = false;
  private readonly closedPromise: Promise<void>;
  /** Bytes of frames taken from the reader whose responses are not written yet (held frame included). */
  private requestBytesInFlight = 0;
  /** Declared size of the frame being read, admitted into the memory pool before its body is read. */
  private admittedFrameBytes = 0;
  /** Responses completed but not yet handed to the kernel. */
  private unflushedResponseBytes = 0;
  /** What this connection has counted in the memory pool. */
  private heldBytes = 0;
  private waitingForMemory = false;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? 0;
    this.reader = new FrameReader(options.maxRequestBytes);
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', resolve));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      options.logger.debug('Connection error', {
        conn: id,
        remote: this.remote,
        error: err.code ?? err.message,
      });
    });
    socket.once('close', () => this.onSocketClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get remote(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Requests framed whose response has not been written yet. */
  get inFlight(): number {
    return this.slots.length - this.slotHead;
  }

  onClose(cb: () => void): void {
    if (this.isClosed) cb();
    else this.closeCallbacks.push(cb);
  }

  /** Resolves when the socket has closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Stop reading, let in-flight requests answer, then end the connection. */
  drain(): void {
    if (this.isClosed || this.draining) return;
    this.draining = true;
    this.updateReading();
    if (this.inFlight === 0) this.end();
  }

  destroy(): void {
    this.reader.clear();
    this.heldFrame = null;
    this.socket.destroy();
  }

  /** Closes this connection with one warn line; everyone else keeps being served. */
  fail(reason: string): void {
    if (this.isClosed) return;
    this.options.logger.warn('Closing connection', { conn: this.id, remote: this.remote, reason });
    this.destroy();
  }

  private onData(chunk: Buffer): void {
    this.lastActivityMs = Date.now();
    this.reader.push(chunk);
    this.dispatchFrames();
  }

  private onDrain(): void {
    this.writeBlocked = false;
    // Frames may already be buffered (a pipelining client sent them before we paused): dispatch them now,
    // since no new 'data' event may ever come to trigger it.
    this.dispatchFrames();
  }

  private onSocketClose(): void {
    this.isClosed = true;
    this.reader.clear();
    this.requestBytesInFlight = 0;
    this.admittedFrameBytes = 0;
    this.unflushedResponseBytes = 0;
    this.syncHeldBytes();
    this.options.memory?.forget(this);
    this.heldFrame = null;
    this.slots.length = 0;
    this.slotHead = 0;
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = [];
    for (const cb of callbacks) {
      try {
        cb();
      } catch (err) {
        this.options.logger.warn('Connection close callback threw', { conn: this.id, error: err });
      }
    }
  }

  private canDispatch(): boolean {
    return (
      !this.isClosed &&
      !this.draining &&
      !this.closing &&
      !this.ended &&
      !this.writeBlocked &&
      this.inFlight < this.options.maxInFlight
    );
  }

  /** Hands every complete frame to the handler while the bounds allow, then pauses or resumes the socket. */
  private dispatchFrames(): void {
    if (this.dispatching) return; // re-entered from a synchronous response; the outer loop continues
    this.dispatching = true;
    try {
      while (this.canDispatch()) {
        let frame: Buffer | null = this.heldFrame;
        try {
          frame ??= this.reader.next();
        } catch (err) {
          if (!(err instanceof FrameSizeError)) throw err;
          this.fail(err.message);
          return;
        }
        if (frame === null) break;
        if (frame !== this.heldFrame) {
          this.requestBytesInFlight += frame.length + 4;
          this.admittedFrameBytes = 0;
        }
        const large = this.options.isLargeResponse?.(frame) ?? false;
        if (large && this.largeInFlight) {
          this.heldFrame = frame;
          break;
        }
        this.heldFrame = null;
        if (large) this.largeInFlight = true;
        this.dispatch(frame, large, frame.length + 4);
      }
    } finally {
      this.dispatching = false;
    }
    this.updateReading();
  }

  private dispatch(frame: Buffer, large: boolean, requestBytes: number): void {
    const slot: Slot = { done: false, requestBytes, large, response: null, closeAfter: false };
    this.slots.push(slot);
    let result: Promise<ResponseFrame | null> | ResponseFrame | null;
    try {
      result = this.options.handler(frame, this);
    } catch (err) {
      this.onHandlerError(slot, err);
      return;
    }
    if (result === null || Array.isArray(result)) {
      this.complete(slot, result);
    } else {
      result.then(
        (response) => this.complete(slot, response),
        (err: unknown) => this.onHandlerError(slot, err),
      );
    }
  }

  private complete(slot: Slot, response: ResponseFrame | null): void {
    if (this.isClosed || this.ended) return;
    slot.done = true;
    slot.response = response;
    if (response !== null) this.unflushedResponseBytes += frameBytes(response);
    this.flush();
  }

  private onHandlerError(slot: Slot, err: unknown): void {
    if (this.isClosed) return;
    if (err instanceof CloseConnection && err.response !== undefined) {
      this.options.logger.warn('Closing connection', {
        conn: this.id,
        remote: this.remote,
        reason: err.message,
      });
      this.closing = true;
      slot.closeAfter = true;
      this.complete(slot, err.response);
      return;
    }
    const reason = err instanceof Error ? err.message : String(err);
    this.fail(err instanceof CloseConnection ? reason : `request handler failed: ${reason}`);
  }

  /** Writes every response that is next in request order; one cork so several become one writev. */
  private flush(): void {
    const socket = this.socket;
    let corked = false;
    let end = false;
    while (this.slotHead < this.slots.length) {
      const slot = this.slots[this.slotHead]!;
      if (!slot.done) break;
      this.slots[this.slotHead++] = undefined;
      if (slot.large) this.largeInFlight = false;
      this.requestBytesInFlight -= slot.requestBytes;
      if (slot.response !== null) {
        if (!corked) {
          socket.cork();
          corked = true;
        }
        const bytes = frameBytes(slot.response);
        writeFrame(socket, slot.response, () => this.onResponseFlushed(bytes));
      }
      if (slot.closeAfter) {
        end = true;
        break;
      }
    }
    if (this.slotHead === this.slots.length) {
      this.slots.length = 0;
      this.slotHead = 0;
    } else if (this.slotHead >= 1024) {
      this.slots.splice(0, this.slotHead);
      this.slotHead = 0;
    }
    if (corked) {
      socket.uncork();
      this.lastActivityMs = Date.now();
      if (socket.writableNeedDrain) this.writeBlocked = true;
    }
    if (end || (this.draining && this.inFlight === 0)) {
      this.end();
      return;
    }
    this.dispatchFrames();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.reader.clear();
    this.socket.end(() => this.socket.destroy());
  }

  private onResponseFlushed(bytes: number): void {
    if (this.isClosed) return;
    this.unflushedResponseBytes -= bytes;
    this.updateReading();
  }

  /** MemoryWaiter: some connection released memory; maybe this one may read again. */
  onMemoryReleased(): void {
    this.waitingForMemory = false;
    if (!this.isClosed) this.dispatchFrames();
  }

  /** Reports to the pool what this connection holds now. */
  private syncHeldBytes(): void {
    const pool = this.options.memory;
    if (pool === undefined) return;
    const held =
      this.requestBytesInFlight +
      Math.max(this.admittedFrameBytes, this.reader.bufferedBytes) +
      this.unflushedResponseBytes;
    pool.adjust(held - this.heldBytes);
    this.heldBytes = held;
  }

  /**
   * Whether the memory budget lets this connection read on: the rest of a request already admitted always; a
   * request whose size prefix was read once its declared size fits; a new request while the budget is not used up.
   */
  private memoryAllowsReading(): boolean {
    const pool = this.options.memory;
    if (pool === undefined || !pool.bounded) return true;
    const partial = this.reader.partialFrameBytes;
    if (partial > 0) {
      if (this.admittedFrameBytes >= partial) return true;
      const extra = Math.max(0, partial - this.reader.bufferedBytes);
      if (!pool.fits(extra, this.heldBytes)) return false;
      this.admittedFrameBytes = partial;
      this.syncHeldBytes();
      return true;
    }
    return pool.available;
  }

  private updateReading(): void {
    this.syncHeldBytes();
    let read = this.canDispatch() && this.heldFrame === null;
    if (read && !this.memoryAllowsReading()) {
      read = false;
      if (!this.waitingForMemory && !this.isClosed) {
        this.waitingForMemory = true;
        this.options.memory!.wait(this);
      }
    }
    if (read && this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    } else if (!read && !this.readPaused && !this.isClosed) {
      this.readPaused = true;
      this.socket.pause();
    }
  }
}

/** A response's size on the wire, prefix included. */
function frameBytes(chunks: ResponseFrame): number {
  let size = 4;
  for (let i = 0; i < chunks.length; i++) size += chunks[i]!.length;
  return size;
}

/** Writes prefix + chunks; `flushed` runs once the last of them is handed to the kernel (or the socket fails). */
function writeFrame(socket: Socket, chunks: ResponseFrame, flushed: () => void): void {
  let size = 0;
  let last = -1;
  for (let i = 0; i < chunks.length; i++) {
    size += chunks[i]!.length;
    if (chunks[i]!.length > 0) last = i;
  }
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeInt32BE(size, 0);
  if (last < 0) {
    socket.write(prefix, () => flushed());
    return;
  }
  socket.write(prefix);
  for (let i = 0; i < last; i++) {
    const chunk = chunks[i]!;
    if (chunk.length > 0) socket.write(chunk);
  }
  socket.write(chunks[last]!, () => flushed());
}
