import type { H2Connection } from "../transport/h2/connection.js";
import { H2Session } from "../transport/grpc-h2/session.js";
import { DEFAULT_KEEPALIVE_TIMEOUT_MS, DEFAULT_KEEPALIVE_TIME_MS } from "../options.js";
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
  readonly session: H2Session;
  downUntil: number;
  backoffMs: number;
}

/** A connection to start a stream on, and the index of its endpoint. */
export interface Lease {
  connection: H2Connection;
  session: H2Session;
  index: number;
  endpoint: string;
}

/**
 * One shared HTTP/2 connection per etcd endpoint (the client's own HTTP/2 client, `transport/h2/`, through
 * `H2Session`), with failover: endpoints are tried in order from the current one, and one whose connection fails
 * (refused, TLS error, GOAWAY, connection lost, no answer within 5 s) is skipped for a backoff.
 */
export class UpstreamPool {
  readonly #endpoints: Endpoint[];
  readonly #log: Logger;
  #current = 0;
  #closed = false;

  constructor(endpoints: readonly URL[], tls: ProxyUpstreamTls | undefined, log: Logger) {
    this.#log = log;
    this.#endpoints = endpoints.map((url) => {
      const ep: Endpoint = {
        url: url.origin,
        origin: url.origin,
        downUntil: 0,
        backoffMs: 0,
        session: new H2Session(url.origin, {
          ...(url.protocol === "https:" && tls !== undefined ? { tls } : {}),
          keepAliveTimeMs: DEFAULT_KEEPALIVE_TIME_MS,
          keepAliveTimeoutMs: DEFAULT_KEEPALIVE_TIMEOUT_MS,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
          onConnectionEnd: (error, established) => {
            if (this.#closed) return;
            if (established) ep.backoffMs = 0; // it worked: a later failure starts the backoff over
            if (!established) this.#markDown(ep, `connection failed: ${describe(error)}`);
            else if (error !== undefined) this.#markDown(ep, describe(error));
          },
        }),
      };
      return ep;
    });
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
   * A connection to start a stream on: the current endpoint's, else the next one's. Endpoints in `skip` or in
   * backoff are passed over, and the one returned is added to `skip`. Undefined when none is left. A new
   * connection is not waited for: a stream started on it fails with the connection's error if it never comes up,
   * and nothing of it has reached etcd then.
   */
  acquire(skip: Set<number>): Lease | undefined {
    const n = this.#endpoints.length;
    const start = this.#current;
    const now = Date.now();
    for (let k = 0; k < n && !this.#closed; k++) {
      const index = (start + k) % n;
      const ep = this.#endpoints[index]!;
      if (skip.has(index) || ep.downUntil > now) continue;
      skip.add(index);
      this.#current = index;
      return { connection: ep.session.get(), session: ep.session, index, endpoint: ep.url };
    }
    return undefined;
  }

  /** Closes every connection (their streams end); later calls to `acquire` get nothing. */
  close(): void {
    this.#closed = true;
    for (const ep of this.#endpoints) ep.session.close();
  }

  #markDown(ep: Endpoint, reason: string): void {
    ep.backoffMs = ep.backoffMs === 0 ? BACKOFF_START_MS : Math.min(BACKOFF_MAX_MS, ep.backoffMs * 2);
    ep.downUntil = Date.now() + ep.backoffMs;
    this.#log.warn(`upstream ${ep.url}: ${reason}; skipping it for ${ep.backoffMs} ms`);
  }
}

/** A short description of an error for log lines and grpc-message. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
