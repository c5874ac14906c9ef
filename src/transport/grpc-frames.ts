/**
 * gRPC length-prefixed message frames: 1 flag byte (0: uncompressed), 4 bytes
 * big-endian length, then the message.
 */

/** The 5-byte frame prefix of an uncompressed message of `length` bytes. */
export function framePrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(5);
  prefix[1] = length >>> 24;
  prefix[2] = (length >>> 16) & 0xff;
  prefix[3] = (length >>> 8) & 0xff;
  prefix[4] = length & 0xff;
  return prefix;
}

/** The message length in a frame's 5-byte head, or -1 when the frame is compressed (or the flags are invalid). */
function messageLength(head: Uint8Array): number {
  return head[0] === 0 ? ((head[1]! << 24) >>> 0) + (head[2]! << 16) + (head[3]! << 8) + head[4]! : -1;
}

/**
 * The message of `chunk` when the chunk is exactly one whole uncompressed
 * frame within `readMaxBytes` (the usual case: no reader needed); undefined
 * otherwise, for a {@link FrameReader} to handle and report.
 */
export function wholeFrame(chunk: Uint8Array, readMaxBytes: number): Uint8Array | undefined {
  if (chunk.length < 5) return undefined;
  const length = messageLength(chunk);
  return length >= 0 && length + 5 === chunk.length && length <= readMaxBytes ? chunk.subarray(5) : undefined;
}

/**
 * Splits a byte stream into frames. Chunks are kept as they come; a frame
 * that lies inside one chunk is returned as a view, without copying.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly readMaxBytes: number) {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return; // an empty chunk would stall take()
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes received but not yet returned as frames. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * The next complete frame's message, or undefined when more bytes are needed.
   * @throws Error with `code` "compressed" or "too-large".
   */
  next(): Uint8Array | undefined {
    if (this.buffered < 5) return undefined;
    const length = messageLength(this.peek(5));
    if (length < 0) throw Object.assign(new Error("protocol error: received a compressed or invalid frame"), { code: "compressed" });
    if (length > this.readMaxBytes) {
      throw Object.assign(new Error(`message size ${length} is larger than configured readMaxBytes ${this.readMaxBytes}`), {
        code: "too-large",
      });
    }
    if (this.buffered < 5 + length) return undefined;
    const first = this.chunks[0]!;
    let message: Uint8Array;
    if (first.length >= 5 + length) {
      message = first.subarray(5, 5 + length);
      this.consume(5 + length);
    } else {
      this.consume(5);
      message = this.take(length);
    }
    return message;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (at === n) break;
    }
    return out;
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      this.consume(k);
    }
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        n -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}
