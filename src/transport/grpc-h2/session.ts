import type { TlsOptions } from "../../options.js";
import { type H2Connection, connectH2 } from "../h2/connection.js";
import { pemCredentials } from "../../util/pem.js";

/** Options of a {@link H2Session}. */
export interface H2SessionOptions {
  tls?: TlsOptions;
  /** PING interval while streams are open, in ms; 0: no pings. */
  keepAliveTimeMs: number;
  /** An unanswered PING drops the connection after this long, in ms. */
  keepAliveTimeoutMs: number;
  /** A connection the server has not answered within this long is dropped, in ms. Default: none (calls have deadlines). */
  connectTimeoutMs?: number;
  /** Called when a connection ends: `error` when it failed, `established` when the server had answered on it. */
  onConnectionEnd?: (error: Error | undefined, established: boolean) => void;
}

/**
 * The one HTTP/2 connection to an endpoint, opened on first use and again
 * after it closes, GOAWAY or fails. PINGs run only while streams are open
 * (etcd answers pings on idle connections with GOAWAY too_many_pings).
 */
export class H2Session {
  private connection: H2Connection | undefined;
  private open = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly options: H2SessionOptions,
  ) {}

  /** The connection to start a stream on (connecting if needed). */
  get(): H2Connection {
    if (this.closed) throw Object.assign(new Error("the transport is closed"), { code: "ERR_CLOSED" });
    const c = this.connection;
    if (c !== undefined && c.usable) return c;
    return this.connect();
  }

  /** Counts a stream in (for pings, and to keep the process alive). */
  streamOpened(): void {
    if (this.open++ === 0) this.startPings();
  }

  /** Counts a stream out. */
  streamClosed(): void {
    if (--this.open === 0) this.stopPings();
  }

  close(): void {
    this.closed = true;
    this.stopPings();
    this.connection?.destroy();
    this.connection = undefined;
  }

  private connect(): H2Connection {
    const tls = this.options.tls;
    const forget = () => {
      if (this.connection === connection) this.connection = undefined;
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connection = connectH2(this.url, {
      ...(tls === undefined
        ? {}
        : {
            tls: {
              ...pemCredentials(tls),
              ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
            },
          }),
      onClose: (error) => {
        if (timer !== undefined) clearTimeout(timer);
        forget();
        this.options.onConnectionEnd?.(error, connection.established);
      },
      // A GOAWAY ends the connection for new streams; the open ones may finish.
      onGoaway: forget,
    });
    this.connection = connection;
    const limit = this.options.connectTimeoutMs;
    if (limit !== undefined) {
      // E.g. a member that accepts TCP but never completes TLS (stopped with SIGSTOP) must not hold calls forever.
      timer = setTimeout(() => {
        if (!connection.established) connection.destroy(new Error(`no HTTP/2 answer from ${this.url} within ${limit} ms`));
      }, limit);
      timer.unref?.();
    }
    // Idle connections should not keep a Node process alive.
    if (this.open === 0) connection.unref();
    return connection;
  }

  private startPings(): void {
    this.connection?.ref();
    const every = this.options.keepAliveTimeMs;
    if (every <= 0 || this.pingTimer !== undefined) return;
    this.pingTimer = setInterval(() => {
      const c = this.connection;
      if (c === undefined || c.destroyed || c.connecting) return;
      const timeout = setTimeout(() => c.destroy(new Error(`no PING answer from ${this.url} within ${this.options.keepAliveTimeoutMs} ms`)), this.options.keepAliveTimeoutMs);
      const sent = c.ping((err) => {
        clearTimeout(timeout);
        if (err && !c.destroyed) c.destroy(err);
      });
      if (!sent) clearTimeout(timeout);
    }, every);
    this.pingTimer.unref?.();
  }

  private stopPings(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    const c = this.connection;
    if (c !== undefined && !c.destroyed) c.unref();
  }
}
