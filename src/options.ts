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
   * Default: the client's `timeoutMs`; when neither is set, no deadline.
   */
  timeoutMs?: number;
}

/** Creates the Connect transport for one endpoint URL. */
export type TransportFactory = (endpoint: string, options: TransportFactoryOptions) => EtcdTransport;

/** What a {@link TransportFactory} is given besides the endpoint. */
export interface TransportFactoryOptions {
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
}

/** Go's clientv3 default for MaxCallSendMsgSize. */
export const DEFAULT_MAX_CALL_SEND_MSG_SIZE = 2 * 1024 * 1024;
/** Go's clientv3 default for MaxCallRecvMsgSize (math.MaxInt32). */
export const DEFAULT_MAX_CALL_RECV_MSG_SIZE = 2 ** 31 - 1;
/** Default for `dialTimeoutMs`. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5000;
