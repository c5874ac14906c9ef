import { createLogger, type Logger } from "./logger.js";

/** Where the proxy writes its log lines. Each method gets one line, without a trailing newline. */
export interface ProxyLogger {
  /** Per-request and per-connection detail (logged with `logLevel: "debug"` only). */
  debug(msg: string): void;
  /** The proxy's lifecycle, such as where it listens. */
  info(msg: string): void;
  /** Trouble the proxy works around, such as an upstream endpoint skipped after a failure. */
  warn(msg: string): void;
  /** Server errors and requests that failed unexpectedly. */
  error(msg: string): void;
}

/** The lowest level that is logged; `"silent"` logs nothing. */
export type ProxyLogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** PEM material for the upstream (proxy -> etcd) TLS connections. */
export interface ProxyUpstreamTls {
  /** CA certificate(s) that sign etcd's server certificate. Default: Node's bundled root CAs. */
  ca?: string | Uint8Array;
  /** Client certificate, for etcd's `--client-cert-auth` (mTLS). Default: none. */
  cert?: string | Uint8Array;
  /** Private key of `cert`. Default: none. */
  key?: string | Uint8Array;
  /** Name to verify etcd's certificate against (and to send as SNI). Default: the endpoint's host name. */
  serverName?: string;
}

/** Options of {@link createProxy}. */
export interface ProxyOptions {
  /**
   * Upstream etcd client URLs, `http://` or `https://` (required, at least one). Requests go to one endpoint at a
   * time, in this order; a failing endpoint is skipped for a while.
   */
  endpoints: string[];
  /**
   * Origins (exact `scheme://host[:port]` strings) that may call the proxy cross-origin. Default: none, so no CORS
   * headers are sent and only same-origin pages can read the answers. `"*"` allows every origin, only when given.
   */
  allowOrigins?: string[];
  /**
   * PEM certificate and key to serve HTTPS. With them the proxy speaks HTTP/2 and HTTP/1.1 on the same port
   * (ALPN). Default: none, plain HTTP/1.1.
   */
  tls?: {
    /** The server certificate chain (PEM). */
    cert: string | Uint8Array;
    /** The private key of `cert` (PEM). */
    key: string | Uint8Array;
  };
  /** TLS settings for `https://` endpoints. Default: none (Node's root CAs, no client certificate). */
  upstreamTls?: ProxyUpstreamTls;
  /**
   * Allow only the read methods (Range, RangeStream, Watch, LeaseTimeToLive, LeaseLeases, MemberList, Status,
   * AuthStatus, Authenticate, UserList, UserGet, RoleList, RoleGet) and Txns whose operations, nested ones too, are
   * all ranges (decoded from the whole request before it is sent). Every other method gets gRPC status 7
   * PermissionDenied without reaching etcd; so do Hash and HashKV, which only read but make etcd hash its whole
   * store, too costly to hand to viewers. Default: false.
   */
  readOnly?: boolean;
  /**
   * Largest request body in bytes, and so also the largest single gRPC frame. Larger requests get gRPC status 8
   * ResourceExhausted. Default: 4 MiB (4194304).
   */
  maxRequestBytes?: number;
  /**
   * Request body bytes the proxy holds for all requests together (each request holds at most its one incomplete
   * frame, or a unary call's whole message, until etcd answers). A request that would go over gets gRPC status 8
   * ResourceExhausted at once. Default: 64 MiB (67108864).
   */
  maxBufferedBytes?: number;
  /** Client connections open at once; more are closed as they arrive. Default: 4096. */
  maxConnections?: number;
  /** Client connections open at once from one IP address; more are closed as they arrive. Default: 256. */
  maxConnectionsPerAddress?: number;
  /** Streams one HTTP/2 client connection may have open (`SETTINGS_MAX_CONCURRENT_STREAMS`). Default: 100. */
  maxConcurrentStreams?: number;
  /**
   * Time for a request to arrive: the TLS handshake, the headers, and then the first whole gRPC frame (a unary
   * call's whole body). A slower request gets gRPC status 4 DeadlineExceeded and its connection (HTTP/1.1) or
   * stream (HTTP/2) is closed; nothing of it reaches etcd. Default: 10000 ms.
   */
  requestTimeoutMs?: number;
  /**
   * How long a client connection with no request in flight stays open (HTTP/1.1 keep-alive, HTTP/2 sessions).
   * Connections with a call in flight, such as a quiet watch, are never idle. Default: 60000 ms.
   */
  idleTimeoutMs?: number;
  /** Where log lines go. Default: info, warn and error lines to stderr. */
  logger?: ProxyLogger;
  /**
   * The lowest level logged (applies to `logger` too). `"debug"` adds one line per request. Default: `"info"`.
   */
  logLevel?: ProxyLogLevel;
}

/** {@link ProxyOptions} checked and with defaults filled in. */
export interface ResolvedOptions {
  endpoints: URL[];
  allowOrigins: readonly string[];
  tls: { cert: string | Uint8Array; key: string | Uint8Array } | undefined;
  upstreamTls: ProxyUpstreamTls | undefined;
  readOnly: boolean;
  maxRequestBytes: number;
  maxBufferedBytes: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxConcurrentStreams: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  log: Logger;
}

/** Default of {@link ProxyOptions.maxRequestBytes}. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Defaults of the proxy's resource limits (see {@link ProxyOptions}). */
export const PROXY_LIMIT_DEFAULTS = {
  /** Default of {@link ProxyOptions.maxBufferedBytes}: 64 MiB. */
  maxBufferedBytes: 64 * 1024 * 1024,
  /** Default of {@link ProxyOptions.maxConnections}. */
  maxConnections: 4096,
  /** Default of {@link ProxyOptions.maxConnectionsPerAddress}. */
  maxConnectionsPerAddress: 256,
  /** Default of {@link ProxyOptions.maxConcurrentStreams}. */
  maxConcurrentStreams: 100,
  /** Default of {@link ProxyOptions.requestTimeoutMs}, in ms. */
  requestTimeoutMs: 10_000,
  /** Default of {@link ProxyOptions.idleTimeoutMs}, in ms. */
  idleTimeoutMs: 60_000,
} as const;

const LOG_LEVELS: readonly ProxyLogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Validates options; throws `TypeError`/`RangeError` with a message naming the option. */
export function resolveOptions(options: ProxyOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("createProxy: options are required");
  const { endpoints } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new TypeError("createProxy: endpoints must be a non-empty array of etcd client URLs");
  }
  const urls = endpoints.map((e) => {
    let url: URL;
    try {
      url = new URL(String(e));
    } catch {
      throw new TypeError(`createProxy: invalid endpoint URL ${JSON.stringify(e)}: use http://host:port or https://host:port`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`createProxy: endpoint ${JSON.stringify(e)} must be http:// or https://`);
    }
    return url;
  });
  const allowOrigins = options.allowOrigins ?? [];
  if (!Array.isArray(allowOrigins) || allowOrigins.some((o) => typeof o !== "string" || o === "")) {
    throw new TypeError("createProxy: allowOrigins must be an array of non-empty origin strings");
  }
  if (options.tls !== undefined && (options.tls.cert === undefined || options.tls.key === undefined)) {
    throw new TypeError("createProxy: tls needs both cert and key");
  }
  const max = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  if (!Number.isSafeInteger(max) || max < 5) {
    throw new RangeError(`createProxy: maxRequestBytes must be an integer >= 5, got ${String(max)}`);
  }
  const limit = (name: keyof typeof PROXY_LIMIT_DEFAULTS, min: number): number => {
    const value = options[name] ?? PROXY_LIMIT_DEFAULTS[name];
    if (!Number.isSafeInteger(value) || value < min || value > 2 ** 31 - 1) {
      throw new RangeError(`createProxy: ${name} must be an integer from ${min} to ${2 ** 31 - 1}, got ${String(value)}`);
    }
    return value;
  };
  const limits = {
    maxBufferedBytes: limit("maxBufferedBytes", 5),
    maxConnections: limit("maxConnections", 1),
    maxConnectionsPerAddress: limit("maxConnectionsPerAddress", 1),
    maxConcurrentStreams: limit("maxConcurrentStreams", 1),
    requestTimeoutMs: limit("requestTimeoutMs", 1),
    idleTimeoutMs: limit("idleTimeoutMs", 1),
  };
  const level = options.logLevel ?? "info";
  if (!LOG_LEVELS.includes(level)) {
    throw new RangeError(`createProxy: logLevel must be one of ${LOG_LEVELS.join(", ")}`);
  }
  return {
    endpoints: urls,
    allowOrigins: [...allowOrigins],
    tls: options.tls,
    upstreamTls: options.upstreamTls,
    readOnly: options.readOnly === true,
    maxRequestBytes: max,
    ...limits,
    log: createLogger(options.logger, level),
  };
}
