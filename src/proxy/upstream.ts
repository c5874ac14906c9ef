import * as http2 from "node:http2";
import type { Logger } from "./logger.js";
import type { ProxyUpstreamTls } from "./options.js";

/** First and largest time an endpoint is skipped after a failed connection (doubling in between). */
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** A member that accepts TCP but never completes TLS (e.g. stopped with SIGSTOP) must not hold requests forever. */
const CONNECT_TIMEOUT_MS = 5_000;

interface Endpoint {
  readonly url: string;
  readonly origin: string;
  readonly tls: boolean;
  session: http2.ClientHttp2Session | undefined;
  connecting: Promise<http2.ClientHttp2Session> | undefined;
  downUntil: number;
  backoffMs: number;
}

/** A connected session and the index of its endpoint. */
export interface Lease {
  session: http2.ClientHttp2Session;
  index: number;
  endpoint: string;
}

/**
 * One shared HTTP/2 session per etcd endpoint, with failover: endpoints are tried in order from the current one,
 * and one whose connection fails (refused, TLS error, GOAWAY, connection lost) is skipped for a backoff.
 */
export class UpstreamPool {
  readonly #endpoints: Endpoint[];
  readonly #tls: ProxyUpstreamTls | undefined;
  readonly #log: Logger;
  #current = 0;
  #closed = false;

  constructor(endpoints: readonly URL[], tls: ProxyUpstreamTls | undefined, log: Logger) {
    this.#endpoints = endpoints.map((url) => ({
      url: url.origin,
      origin: url.origin,
      tls: url.protocol === "https:",
      session: undefined,
      connecting: undefined,
      downUntil: 0,
      backoffMs: 0,
    }));
    this.#tls = tls;
    this.#log = log;
  }

  /** Endpoint URLs, in order. */
  get endpoints(): string[] {
    return this.#endpoints.map((e) => e.url);
  }

  /** Index of the endpoint with this URL's origin, or undefined (also for a URL that does not parse). */
  indexOf(url: string): number | undefined {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return undefined;
    }
    const index = this.#endpoints.findIndex((e) => e.origin === origin);
    return index < 0 ? undefined : index;
  }

  /**
   * A connected session: the current endpoint's, else the next one that connects. Endpoints in `skip` or in
   * backoff are passed over, and each one tried is added to `skip`. Undefined when none connects, or on abort.
   */
  async acquire(signal: AbortSignal, skip: Set<number>): Promise<Lease | undefined> {
    const n = this.#endpoints.length;
    const start = this.#current;
    for (let k = 0; k < n && !this.#closed && !signal.aborted; k++) {
      const index = (start + k) % n;
      const ep = this.#endpoints[index]!;
      if (skip.has(index)) continue;
      const live = ep.session;
      if (live && !live.closed && !live.destroyed) {
        this.#current = index;
        return { session: live, index, endpoint: ep.url };
      }
      if (ep.downUntil > Date.now()) continue;
      skip.add(index);
      try {
        const session = await abortable(this.#connect(ep), signal);
        if (signal.aborted || this.#closed) return undefined;
        this.#current = index;
        return { session, index, endpoint: ep.url };
      } catch {
        // #connect has marked the endpoint down; try the next one.
      }
    }
    return undefined;
  }

  /** Reports that `index`'s session failed a request in a way that shows the connection is broken. */
  failed(index: number, reason: string): void {
    const ep = this.#endpoints[index];
    if (!ep) return;
    const session = ep.session;
    ep.session = undefined;
    session?.destroy();
    this.#markDown(ep, reason);
  }

  /** Destroys every session (their streams are reset); later calls to `acquire` get nothing. */
  close(): void {
    this.#closed = true;
    for (const ep of this.#endpoints) {
      const session = ep.session;
      ep.session = undefined;
      session?.destroy();
    }
  }

  #connect(ep: Endpoint): Promise<http2.ClientHttp2Session> {
    if (ep.connecting) return ep.connecting;
    const options: http2.SecureClientSessionOptions = {
      // Paused watch streams each keep up to a stream window of data; allow many of them.
      maxSessionMemory: 64,
    };
    if (ep.tls && this.#tls) {
      const t = this.#tls;
      if (t.ca !== undefined) options.ca = toPem(t.ca);
      if (t.cert !== undefined) options.cert = toPem(t.cert);
      if (t.key !== undefined) options.key = toPem(t.key);
      if (t.serverName !== undefined) options.servername = t.serverName;
    }
    const connecting = new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      let session: http2.ClientHttp2Session;
      try {
        session = http2.connect(ep.origin, options);
      } catch (err) {
        reject(err);
        return;
      }
      let connected = false;
      const timer = setTimeout(() => {
        session.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      timer.unref();
      // The proxy's own server keeps the process alive; idle upstream sessions should not.
      session.unref();
      session.on("error", (err) => {
        if (!connected) reject(err);
        else this.#log.warn(`upstream ${ep.url}: ${describe(err)}`);
      });
      session.on("goaway", (code) => {
        // No new streams on this session; running streams with lower ids may finish.
        if (ep.session === session) ep.session = undefined;
        if (connected && !this.#closed) this.#markDown(ep, `GOAWAY (code ${code})`);
      });
      session.on("close", () => {
        clearTimeout(timer);
        if (!connected) reject(new Error("connection closed before it was established"));
        if (ep.session === session) {
          ep.session = undefined;
          if (!this.#closed) this.#markDown(ep, "connection closed");
        }
      });
      session.once("connect", () => {
        clearTimeout(timer);
        connected = true;
        if (this.#closed) {
          session.destroy();
          reject(new Error("proxy closed"));
          return;
        }
        ep.session = session;
        ep.backoffMs = 0;
        ep.downUntil = 0;
        this.#log.debug(`upstream ${ep.url}: connected`);
        resolve(session);
      });
    });
    ep.connecting = connecting;
    // Marked down once per failed attempt, however many requests were waiting for it.
    connecting.then(
      () => {
        if (ep.connecting === connecting) ep.connecting = undefined;
      },
      (err: unknown) => {
        if (ep.connecting === connecting) ep.connecting = undefined;
        if (!this.#closed) this.#markDown(ep, `connection failed: ${describe(err)}`);
      },
    );
    return connecting;
  }

  #markDown(ep: Endpoint, reason: string): void {
    ep.backoffMs = ep.backoffMs === 0 ? BACKOFF_START_MS : Math.min(BACKOFF_MAX_MS, ep.backoffMs * 2);
    ep.downUntil = Date.now() + ep.backoffMs;
    this.#log.warn(`upstream ${ep.url}: ${reason}; skipping it for ${ep.backoffMs} ms`);
  }
}

function toPem(v: string | Uint8Array): string | Buffer {
  return typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A short description of an error for log lines and grpc-message. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
