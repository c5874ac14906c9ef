import * as http2 from "node:http2";
import type { TlsOptions } from "../options.js";

/** Options of a {@link LeanSession}. */
export interface LeanSessionOptions {
  tls?: TlsOptions;
  /** PING interval while streams are open, in ms; 0: no pings. */
  keepAliveTimeMs: number;
  /** An unanswered PING drops the connection after this long, in ms. */
  keepAliveTimeoutMs: number;
}

/**
 * The one HTTP/2 connection to an endpoint, opened on first use and again
 * after it closes, GOAWAY or fails. PINGs run only while streams are open
 * (etcd answers pings on idle connections with GOAWAY too_many_pings).
 */
export class LeanSession {
  private session: http2.ClientHttp2Session | undefined;
  /** The error that ended the current connection attempt or session, for calls that fail with it. */
  private lastError: Error | undefined;
  private open = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly options: LeanSessionOptions,
  ) {}

  /** The session to start a stream on (connecting if needed). */
  get(): http2.ClientHttp2Session {
    if (this.closed) throw Object.assign(new Error("the transport is closed"), { code: "ERR_CLOSED" });
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    return this.connect();
  }

  /** Why the session failed, when it did (a connection error carries e.g. `code: "ECONNREFUSED"`). */
  failure(session: http2.ClientHttp2Session): Error | undefined {
    return (session as { etcdConnectError?: Error }).etcdConnectError ?? (session === this.session ? this.lastError : undefined);
  }

  /** Counts a stream in (for pings). */
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
    this.session?.destroy();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    const tls = this.options.tls;
    const session = http2.connect(this.url, {
      ...(tls?.ca === undefined ? {} : { ca: pem(tls.ca) }),
      ...(tls?.cert === undefined ? {} : { cert: pem(tls.cert) }),
      ...(tls?.key === undefined ? {} : { key: pem(tls.key) }),
      ...(tls?.serverName === undefined ? {} : { servername: tls.serverName }),
    });
    this.session = session;
    this.lastError = undefined;
    session.on("error", (err: Error) => {
      (session as { etcdConnectError?: Error }).etcdConnectError = err;
      if (this.session === session) this.lastError = err;
    });
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on("close", forget);
    // A GOAWAY ends the session for new streams; the open ones may finish.
    session.on("goaway", forget);
    // Idle connections should not keep a Node process alive.
    session.on("connect", () => {
      if (this.open === 0) session.unref();
    });
    return session;
  }

  private startPings(): void {
    this.session?.ref();
    const every = this.options.keepAliveTimeMs;
    if (every <= 0 || this.pingTimer !== undefined) return;
    this.pingTimer = setInterval(() => {
      const s = this.session;
      if (!s || s.closed || s.destroyed || s.connecting) return;
      const timeout = setTimeout(() => s.destroy(new Error(`no PING answer from ${this.url} within ${this.options.keepAliveTimeoutMs} ms`)), this.options.keepAliveTimeoutMs);
      const sent = s.ping((err) => {
        clearTimeout(timeout);
        if (err && !s.destroyed) s.destroy(err);
      });
      if (!sent) clearTimeout(timeout);
    }, every);
    this.pingTimer.unref?.();
  }

  private stopPings(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    const s = this.session;
    if (s && !s.destroyed) s.unref();
  }
}

function pem(value: string | Uint8Array): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}
