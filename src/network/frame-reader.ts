// Splits a TCP byte stream into Kafka request frames: int32 size, then `size` bytes.
// Socket chunks are kept in a list and a frame is copied only when it spans chunks; a frame inside one chunk is
// a zero-copy view of it. So a burst of small pipelined requests costs no copies, and a large request arriving in
// many chunks is copied once, never re-concatenated per chunk (which would be quadratic).
// The size prefix is checked before anything is allocated for it: a bogus 2 GB prefix costs nothing.

export class FrameSizeError extends Error {
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(
      size < 0
        ? `Invalid request size ${size}: negative size prefix`
        : `Request size ${size} exceeds socket.request.max.bytes (${maxBytes})`,
    );
    this.name = 'FrameSizeError';
  }
}

const SIZE_BYTES = 4;

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Index of the first unread chunk in `chunks`. */
  private head = 0;
  /** Read position inside chunks[head]. */
  private offset = 0;
  private buffered = 0;
  /** Size of the frame whose prefix has been read, or -1. */
  private pendingSize = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Declared size of the frame being read (its prefix is read, its body not complete), or 0. */
  get partialFrameBytes(): number {
    return this.pendingSize >= 0 ? SIZE_BYTES + this.pendingSize : 0;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame (without its size prefix), or null until more bytes arrive. */
  next(): Buffer | null {
    if (this.pendingSize < 0) {
      if (this.buffered < SIZE_BYTES) return null;
      const size = this.readSize();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      this.pendingSize = size;
    }
    const size = this.pendingSize;
    if (this.buffered < size) return null;
    this.pendingSize = -1;
    return this.take(size);
  }

  /** Drops everything buffered (the connection is closing). */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    this.pendingSize = -1;
  }

  private readSize(): number {
    const first = this.chunks[this.head]!;
    let size: number;
    if (first.length - this.offset >= SIZE_BYTES) {
      size = first.readInt32BE(this.offset);
      this.advance(SIZE_BYTES);
    } else {
      const bytes = this.take(SIZE_BYTES);
      size = bytes.readInt32BE(0);
    }
    return size;
  }

  private take(size: number): Buffer {
    const first = this.chunks[this.head]!;
    if (size === 0) return Buffer.alloc(0);
    if (first.length - this.offset >= size) {
      const view = first.subarray(this.offset, this.offset + size);
      this.advance(size);
      return view;
    }
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.chunks[this.head]!;
      const n = Math.min(chunk.length - this.offset, size - filled);
      chunk.copy(out, filled, this.offset, this.offset + n);
      filled += n;
      this.advance(n);
    }
    return out;
  }

  private advance(n: number): void {
    this.offset += n;
    this.buffered -= n;
    const chunk = this.chunks[this.head]!;
    if (this.offset < chunk.length) return;
    this.offset = 0;
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
