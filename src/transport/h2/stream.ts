import type { H2Headers } from "./hpack.js";

/** What a stream reports to its owner; each callback runs on the connection's read path. */
export interface H2StreamListener {
  /** Response headers, then (with `endStream`) trailers; a trailers-only answer is one call with `endStream`. */
  onHeaders(headers: H2Headers, endStream: boolean): void;
  /** A DATA payload, as a view into the received bytes. */
  onData(data: Uint8Array): void;
  /**
   * The stream is over, exactly once: `error` when the connection failed or
   * the server reset the stream (with its HTTP/2 `rstCode`), none after a
   * clean end or the client's own cancel.
   */
  onClose(error: Error | undefined, rstCode: number): void;
}

/** The connection as its streams see it. */
export interface StreamHost {
  sendData(stream: H2Stream): void;
  sendReset(stream: H2Stream, code: number): void;
  sendStreamWindow(stream: H2Stream, increment: number): void;
  forget(stream: H2Stream): void;
}

/** One request/response exchange on an {@link H2Connection}. */
export class H2Stream {
  /** Stream id; 0 while the stream waits for a free slot (MAX_CONCURRENT_STREAMS). */
  id = 0;
  /** How much DATA the server still accepts on this stream. */
  sendWindow = 0;
  /** DATA received and not yet returned to the server with WINDOW_UPDATE. */
  unacked = 0;
  paused = false;
  /** Outgoing DATA not yet sent (flow control), in order. */
  readonly pending: Uint8Array[] = [];
  pendingBytes = 0;
  /** The client's END_STREAM is queued (after `pending`) or sent. */
  localEnd = false;
  /** The client's END_STREAM went out. */
  localEndSent = false;
  remoteEnd = false;
  closed = false;
  /** The header block to send when the stream gets its id (queued streams only). */
  headerBlock: Uint8Array | undefined;
  private drainWaiters: (() => void)[] | undefined;

  constructor(
    private readonly host: StreamHost,
    readonly listener: H2StreamListener,
  ) {}

  /**
   * Queues DATA (and the end of the request with `end`). Returns false when
   * the data waits for the server's flow-control window: wait for `drained()`
   * before writing more.
   */
  write(data: Uint8Array | undefined, end = false): boolean {
    if (this.closed || this.localEnd) return false;
    if (data !== undefined && data.length > 0) {
      this.pending.push(data);
      this.pendingBytes += data.length;
    }
    if (end) this.localEnd = true;
    if (this.id !== 0) this.host.sendData(this);
    return this.pendingBytes === 0;
  }

  /** Queues several chunks as one write (they may share a DATA frame). */
  writev(chunks: readonly Uint8Array[], end = false): boolean {
    if (this.closed || this.localEnd) return false;
    for (const c of chunks) {
      if (c.length === 0) continue;
      this.pending.push(c);
      this.pendingBytes += c.length;
    }
    return this.write(undefined, end);
  }

  /** Ends the request side. */
  end(): void {
    this.write(undefined, true);
  }

  /** Resolves when all queued DATA went out (or the stream closed). */
  drained(): Promise<void> {
    if (this.pendingBytes === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** Resets the stream (CANCEL by default) and closes it; `onClose` reports no error. */
  cancel(code = 8): void {
    if (this.closed) return;
    this.host.sendReset(this, code);
    this.finish(undefined, code);
  }

  /** Stops returning flow-control credit: the server stops once the window is used up. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.unacked > 0 && !this.closed && !this.remoteEnd) {
      this.host.sendStreamWindow(this, this.unacked);
      this.unacked = 0;
    }
  }

  /** Called by the connection when queued data went out. */
  notifyDrained(): void {
    const waiters = this.drainWaiters;
    if (waiters === undefined || this.pendingBytes > 0) return;
    this.drainWaiters = undefined;
    for (const w of waiters) w();
  }

  /** Closes the stream once; the connection and `cancel()` call it. */
  finish(error: Error | undefined, rstCode: number): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.host.forget(this);
    this.notifyDrained();
    this.listener.onClose(error, rstCode);
  }
}
