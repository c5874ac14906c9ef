import type { Interceptor } from "@connectrpc/connect";
import type { EtcdTransport } from "./transport/etcd-transport.js";

/**
 * Options every call accepts as the last argument (merged into the call's own
 * options object where it has one).
 */
export interface CallOptions {
  /**
   * Aborting it cancels the call: the call rejects with an `EtcdError` of kind
   * `"canceled"` carrying `signal.reason` as `cause` (kind `"deadline-exceeded"`
   * when the reason is a `TimeoutError`, as from `AbortSignal.timeout()`).
   */
  signal?: AbortSignal;
  /**
   * Deadline of this call in milliseconds, also sent to etcd as `grpc-timeout`.
   * Retries and waiting for an available endpoint count against it.
   * Default: the client's `timeoutMs`; when neither is set, no deadline.
   */
  timeoutMs?: number;
  /**
   * Only let a member that has a leader serve this call (`hasleader`
   * metadata); one cut off from the quorum answers `no-leader` and the call
   * moves on to another endpoint when it may be retried.
   * Default: the client's `requireLeader`.
   */
  requireLeader?: boolean;
  /**
   * Retry this call on `Unavailable` even if it is a write. Only for writes
   * you know are safe to apply twice. Default: false (writes are retried only
   * when the request provably never reached a server).
   */
  retry?: boolean;
}

/** TLS settings for `https://` endpoints (Node, Deno, Bun; browsers use their own). */
export interface TlsOptions {
  /** PEM CA certificate(s) to verify etcd's certificate. Default: the runtime's trusted CAs. */
  ca?: string | Uint8Array;
  /** PEM client certificate, for etcd with `--client-cert-auth`. */
  cert?: string | Uint8Array;
  /** PEM private key of `cert`. */
  key?: string | Uint8Array;
  /** Name to verify etcd's certificate against. Default: the endpoint's host. */
  serverName?: string;
}

/** Creates the Connect transport for one endpoint URL. */
export type TransportFactory = (endpoint: string, options: TransportFactoryOptions) => EtcdTransport;

/** What a {@link TransportFactory} is given besides the endpoint. */
export interface TransportFactoryOptions {
  /** TLS settings for https:// endpoints. */
  tls?: TlsOptions;
  /** HTTP/2 PING interval while calls are open, in ms (0: no pings). */
  keepAliveTimeMs: number;
  /** How long a PING may go unanswered before the connection is dropped, in ms. */
  keepAliveTimeoutMs: number;
  /** Largest request the transport may send, in bytes (`maxCallSendMsgSize`). */
  writeMaxBytes: number;
  /** Largest response the transport may accept, in bytes (`maxCallRecvMsgSize`). */
  readMaxBytes: number;
  /** Interceptors to install, in order. */
  interceptors: Interceptor[];
}

/** Options of `createClient()` and `connect()`. */
export interface ClientOptions {
  /**
   * etcd client URLs, e.g. `["http://127.0.0.1:2379"]` (a comma-separated
   * string is accepted too). Calls go to one endpoint at a time; when it
   * fails with `unavailable`, the next call goes to the next endpoint.
   */
  endpoints: readonly string[] | string;
  /**
   * How long `connect()` waits for an endpoint to answer before rejecting with
   * an `EtcdError` of kind `"unavailable"`. Default: 5000.
   */
  dialTimeoutMs?: number;
  /** Default deadline for every call, in milliseconds. Default: none (like Go's clientv3). */
  timeoutMs?: number;
  /**
   * Largest request the client sends, in bytes; larger ones reject with
   * `"request-too-large"` before anything is sent. Default: 2 MiB (as Go's clientv3).
   * etcd's own limit is `--max-request-bytes` (1.5 MiB by default).
   */
  maxCallSendMsgSize?: number;
  /**
   * Largest response the client accepts, in bytes. Default: 2^31 - 1 (as Go's
   * clientv3). Enforced by the Node transports; gRPC-Web over fetch has no such limit.
   */
  maxCallRecvMsgSize?: number;
  /**
   * Creates the Connect transport for one endpoint. Default: the runtime's own
   * (HTTP/2 gRPC on Node, one shared session per endpoint).
   */
  transport?: TransportFactory;
  /** Connect interceptors installed on every endpoint's transport. Default: none. */
  interceptors?: Interceptor[];
  /**
   * Authenticate as this user: the client gets a token on first use, sends
   * it with every call, and gets a new one (retrying the call once) when etcd
   * answers `invalid-auth-token`, `auth-old-revision` or `user-empty`.
   * Default: none (no auth).
   */
  username?: string;
  /** Password of `username`. */
  password?: string;
  /**
   * Default of every call's and watch's `requireLeader`: only members with a
   * leader serve them. Lease keepalives always require a leader. Default: false.
   */
  requireLeader?: boolean;
  /** TLS settings for `https://` endpoints (Node, Deno, Bun). Default: the runtime's trusted CAs, no client certificate. */
  tls?: TlsOptions;
  /**
   * HTTP/2 PING interval while calls or streams are open, to find members
   * that hang without closing the connection (their watches then move to
   * another member). etcd refuses pings more often than every 5 s, so values
   * below 5000 are refused. 0 turns pings off. Default: 30000.
   */
  keepAliveTimeMs?: number;
  /** How long a PING may go unanswered before the connection is dropped. Default: 10000. */
  keepAliveTimeoutMs?: number;
  /**
   * Refresh `endpoints` from the member list this often (client URLs of
   * started, non-learner members), like Go's `AutoSyncInterval`. Default: off.
   */
  autoSyncIntervalMs?: number;
  /**
   * Where the client reports reconnects, failovers, retries, token refreshes
   * and lost leases (never tokens, passwords or values). `console` works.
   * Default: silent.
   */
  logger?: import("./log.js").Logger;
  /** Called when an endpoint's state changes (idle, connecting, ready, failing), for dashboards. */
  onEndpointStateChange?: (state: import("./transport/endpoints.js").EndpointState) => void;
}

/** Go's clientv3 default for MaxCallSendMsgSize. */
export const DEFAULT_MAX_CALL_SEND_MSG_SIZE = 2 * 1024 * 1024;
/** Go's clientv3 default for MaxCallRecvMsgSize (math.MaxInt32). */
export const DEFAULT_MAX_CALL_RECV_MSG_SIZE = 2 ** 31 - 1;
/** Default for `dialTimeoutMs`. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5000;
/** Default for `keepAliveTimeMs`. */
export const DEFAULT_KEEPALIVE_TIME_MS = 30000;
/** Default for `keepAliveTimeoutMs`. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 10000;
/** etcd's minimum interval between client PINGs (its keepalive enforcement policy). */
export const MIN_KEEPALIVE_TIME_MS = 5000;

/** The longest time any millisecond option may be: what JavaScript timers hold (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks a duration option: a finite number of milliseconds from `min` (default: above 0) to {@link MAX_TIMER_MS},
 * else a RangeError naming it.
 */
export function checkMs(value: unknown, name: string, min = 0): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value < min || value > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be a number of milliseconds from ${min > 0 ? min : "above 0"} to ${MAX_TIMER_MS} (about 24.8 days), got ${String(value)}`);
  }
  return value;
}
