// Declarations use Symbol.asyncDispose: projects whose lib lacks it (es2022 + dom, no @types/node) get its types here.
/// <reference lib="esnext.disposable" preserve="true" />
import { Code, createClient as createServiceClient } from "@connectrpc/connect";
import {
  Auth as AuthService,
  Cluster as ClusterService,
  KV as KVService,
  Lease as LeaseService,
  Maintenance as MaintenanceService,
  Watch as WatchService,
} from "../gen/etcdserverpb/rpc_pb.js";
import type { Bytes } from "./util/bytes.js";
import { runCall } from "./call.js";
import { type Cluster, createCluster } from "./cluster/cluster.js";
import type { ClientContext, FullDuplexStreams } from "./context.js";
import { EtcdError } from "./errors.js";
import { describe } from "./util/bytes.js";
import { type KV, createKV } from "./kv/kv.js";
import { type Lease, createLease } from "./lease/lease.js";
import { type Auth, createAuth } from "./auth/auth.js";
import { type Maintenance, createMaintenance, endpointStatus } from "./maintenance/maintenance.js";
import type { EndpointStatus } from "./maintenance/types.js";
import { type Namespace, createNamespace } from "./namespace/namespace.js";
import {
  type ClientOptions,
  type CallOptions,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIME_MS,
  DEFAULT_MAX_CALL_RECV_MSG_SIZE,
  DEFAULT_MAX_CALL_SEND_MSG_SIZE,
  MIN_KEEPALIVE_TIME_MS,
  checkMs,
  type TransportFactory,
  type TransportFactoryOptions,
} from "./options.js";
import { createTokenStore } from "./auth/tokens.js";
import { createLog } from "./log.js";
import { type EndpointState, type EndpointTransport, createEndpointPool, isTlsFailure } from "./transport/endpoints.js";
import { withRetry } from "./transport/retry.js";
import type { WatchOptions, Watcher } from "./watch/types.js";
import { createWatch } from "./watch/watch.js";
import { createBackoff, sleep } from "./util/backoff.js";
import { anySignal } from "./util/any-signal.js";

/** An etcd client: KV calls on the client itself, other services as properties. */
export interface Client extends KV {
  /** Cluster membership calls. */
  readonly cluster: Cluster;
  /** Leases: grant, revoke, keep alive, inspect. */
  readonly lease: Lease;
  /** Status, alarms, defragment, hashes, snapshots, leadership, downgrade. */
  readonly maintenance: Maintenance;
  /** Auth administration: users, roles, permissions, enable/disable. */
  readonly auth: Auth;
  /**
   * A view of this client inside a key prefix (Go's namespace package): KV,
   * txn, watch and lease key listings as if the prefix were the root.
   */
  namespace(prefix: Bytes): Namespace;
  /**
   * Every configured endpoint's status, or the error it gave, side by side
   * (`etcdctl endpoint status` and `endpoint health`), for dashboards.
   */
  endpointStatus(options?: CallOptions): Promise<EndpointStatus[]>;
  /** The current endpoints, in order (they change with `setEndpoints`, `sync` and `autoSyncIntervalMs`). */
  readonly endpoints: readonly string[];
  /**
   * Replaces the endpoints at runtime. Connections to endpoints still listed
   * are kept; streams on removed ones move to the others.
   */
  setEndpoints(endpoints: readonly string[] | string): void;
  /** Sets the endpoints to the client URLs of the started, non-learner members (Go's `Sync`). */
  sync(options?: CallOptions): Promise<void>;
  /** Every endpoint's connection state: idle, connecting, ready or failing. */
  endpointStates(): EndpointState[];
  /**
   * Watches a key, a prefix or a range. Iterate the watcher with `for await`;
   * `break`, `close()` or the `signal` cancel the watch on etcd.
   */
  watch(key: Bytes, options?: WatchOptions): Watcher;
  /**
   * Closes every connection. In-flight calls fail and later calls reject with
   * an `EtcdError` of kind `"closed"`. Safe to call more than once.
   */
  close(): void;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The parts of a client that `connect()` needs besides the public API. @internal */
interface ClientInternals {
  client: Client;
  transport: EndpointTransport;
}

/** What a runtime entry (node.ts, web.ts) gives the client. @internal */
export interface Runtime {
  /** The runtime's default transport factory. */
  transport: TransportFactory;
  /** The full-duplex streams, where the runtime has full-duplex transports (Node, Deno, Bun). */
  fullDuplex?: FullDuplexStreams;
  /** Endpoint URLs may have a base path (proxy URLs in the web entry). Default: false. */
  basePaths?: boolean;
}

/**
 * Creates a client without contacting etcd: connections are opened by the
 * first call.
 * @internal
 */
export function createClientWith(options: ClientOptions, runtime: Runtime): Client {
  return build(options, runtime).client;
}

/**
 * Creates a client and waits until an endpoint answers (Go's `clientv3.New`
 * with `DialTimeout`); rejects with `unavailable` after `dialTimeoutMs`.
 * @internal
 */
export async function connectWith(options: ClientOptions, runtime: Runtime): Promise<Client> {
  const dialTimeoutMs = checkMs(options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS, "dialTimeoutMs");
  const { client, transport } = build(options, runtime);
  try {
    transport.use(await firstAnswering(transport, dialTimeoutMs));
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}

function build(options: ClientOptions, runtime: Runtime): ClientInternals {
  const basePaths = runtime.basePaths === true;
  const endpoints = parseEndpoints(options.endpoints, basePaths);
  const maxCallSendMsgSize = byteSize(options.maxCallSendMsgSize ?? DEFAULT_MAX_CALL_SEND_MSG_SIZE, "maxCallSendMsgSize");
  const maxCallRecvMsgSize = byteSize(options.maxCallRecvMsgSize ?? DEFAULT_MAX_CALL_RECV_MSG_SIZE, "maxCallRecvMsgSize");
  const defaultTimeoutMs = options.timeoutMs === undefined ? undefined : checkMs(options.timeoutMs, "timeoutMs");
  const keepAliveTimeMs = options.keepAliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS;
  // 0 turns pings off; etcd answers pings more frequent than every 5 s with GOAWAY too_many_pings.
  if (keepAliveTimeMs !== 0) checkMs(keepAliveTimeMs, "keepAliveTimeMs (0 turns pings off; etcd refuses more frequent pings)", MIN_KEEPALIVE_TIME_MS);
  const keepAliveTimeoutMs = checkMs(options.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS, "keepAliveTimeoutMs");
  // Used by connect() only, but a bad value is a mistake whichever way the client is made.
  if (options.dialTimeoutMs !== undefined) checkMs(options.dialTimeoutMs, "dialTimeoutMs");
  if ((options.username === undefined) !== (options.password === undefined)) {
    throw new TypeError("username and password go together");
  }
  const log = createLog(options.logger);
  const tokens = options.username === undefined ? undefined : createTokenStore(options.username, options.password!, log);
  const requireLeader = options.requireLeader === true;
  const factory = options.transport ?? runtime.transport;
  const base: Omit<TransportFactoryOptions, "interceptors"> = {
    // The client checks request sizes itself with a clearer error; the
    // transport's limit stays a backstop for calls that skip that check.
    writeMaxBytes: Math.max(maxCallSendMsgSize, 1) + 1024,
    readMaxBytes: maxCallRecvMsgSize,
    keepAliveTimeMs,
    keepAliveTimeoutMs,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  };
  const userInterceptors = options.interceptors ?? [];
  const pool = createEndpointPool(
    endpoints,
    (endpoint) => {
      // The auth interceptor is per endpoint: simple tokens are per member.
      const interceptors = tokens ? [tokens.interceptor(endpoint, () => transport.endpoint(endpoint)), ...userInterceptors] : userInterceptors;
      return factory(endpoint, { ...base, interceptors });
    },
    (state) => {
      if (state.state === "failing") log.warn("endpoint failing", { endpoint: state.endpoint, error: state.error });
      else if (state.state === "ready") log.info("endpoint ready", { endpoint: state.endpoint });
      options.onEndpointStateChange?.(state);
    },
  );
  const transport: EndpointTransport = withRetry(pool, log);
  let closed = false;
  const cleanups: (() => void)[] = [];

  const ctx: ClientContext = {
    services: {
      kv: createServiceClient(KVService, transport),
      cluster: createServiceClient(ClusterService, transport),
      maintenance: createServiceClient(MaintenanceService, transport),
      watch: createServiceClient(WatchService, transport),
      lease: createServiceClient(LeaseService, transport),
      auth: createServiceClient(AuthService, transport),
    },
    transport,
    fullDuplex: runtime.fullDuplex,
    maxCallSendMsgSize,
    log,
    requireLeader,
    canReauthenticate: tokens !== undefined,
    forgetToken: (endpoint) => tokens?.forget(endpoint),
    call(callOptions, rpc) {
      if (closed) return Promise.reject(closedError());
      return runCall(callOptions, defaultTimeoutMs, requireLeader, rpc);
    },
    ensureOpen() {
      if (closed) throw closedError();
    },
    onClose(fn) {
      cleanups.push(fn);
    },
  };

  const cluster = createCluster(ctx);
  const sync = async (callOptions?: CallOptions): Promise<void> => {
    const { members } = await cluster.memberList(callOptions);
    const urls = members.filter((m) => m.name !== "" && !m.isLearner).flatMap((m) => m.clientURLs);
    if (urls.length > 0) transport.setEndpoints(parseEndpoints(urls, basePaths));
  };
  if (options.autoSyncIntervalMs !== undefined) {
    const every = checkMs(options.autoSyncIntervalMs, "autoSyncIntervalMs");
    const timer = setInterval(() => void sync({ timeoutMs: Math.min(every, 5000) }).catch(() => {}), every);
    // The sync alone should not keep a Node process alive.
    (timer as { unref?: () => void }).unref?.();
    cleanups.push(() => clearInterval(timer));
  }

  const close = (): void => {
    if (closed) return;
    closed = true;
    // Long-lived calls stop first, so that none of them sees the closing
    // connections as a failure to recover from.
    for (const fn of cleanups.splice(0)) fn();
    transport.close();
  };
  const lease = createLease(ctx);
  const watch = createWatch(ctx);
  const client: Client = {
    ...createKV(ctx),
    cluster,
    lease,
    maintenance: createMaintenance(ctx),
    auth: createAuth(ctx),
    endpointStatus: (callOptions) => endpointStatus(ctx, callOptions),
    watch,
    namespace: (prefix) => createNamespace(ctx, watch, lease, prefix),
    get endpoints() {
      return transport.endpoints;
    },
    setEndpoints(list) {
      transport.setEndpoints(parseEndpoints(list, basePaths));
    },
    sync,
    endpointStates: () => transport.states(),
    close,
    [Symbol.asyncDispose]: async () => close(),
  };
  return { client, transport };
}

/** Dial probes back off like a dialer: 100 ms doubling to 1 s (jittered), until the dial deadline. */
const DIAL_BACKOFF = { initialMs: 100, maxMs: 1000, firstImmediate: false };

/** Probes every endpoint with Maintenance.Status until one answers; returns it. */
async function firstAnswering(transport: EndpointTransport, dialTimeoutMs: number): Promise<string> {
  const deadline = AbortSignal.timeout(dialTimeoutMs);
  const done = new AbortController();
  const signal = anySignal([deadline, done.signal]);
  const errors: string[] = transport.endpoints.map(() => "no answer");

  const probe = async (i: number): Promise<string> => {
    const endpoint = transport.endpoints[i]!;
    const status = createServiceClient(MaintenanceService, transport.endpoint(endpoint));
    const backoff = createBackoff(DIAL_BACKOFF);
    for (;;) {
      try {
        await status.status({}, { signal });
        transport.succeeded(endpoint);
        return endpoint;
      } catch (err) {
        if (signal.aborted) throw err;
        const e = EtcdError.from(err);
        // Refusals that waiting does not fix (wrong password, TLS) end the dial at once.
        if (e.kind === "auth-failed" || isTlsFailure(err)) throw new FatalDialError(e);
        errors[i] = e.message;
        await sleep(backoff.next(), signal);
        if (signal.aborted) throw signal.reason;
      }
    }
  };

  try {
    return await Promise.any(transport.endpoints.map((_, i) => probe(i)));
  } catch (err) {
    const fatal = err instanceof AggregateError ? err.errors.find((e) => e instanceof FatalDialError) : undefined;
    if (fatal) throw (fatal as FatalDialError).error;
    const detail = transport.endpoints.map((e, i) => `${e}: ${errors[i]}`).join("; ");
    throw new EtcdError("unavailable", Code.Unavailable, `no endpoint answered within ${dialTimeoutMs} ms (${detail})`);
  } finally {
    done.abort();
  }
}

/** A dial failure that retrying would not fix. */
class FatalDialError extends Error {
  constructor(readonly error: EtcdError) {
    super(error.message);
  }
}

function closedError(): EtcdError {
  return new EtcdError("closed", Code.Canceled, "the client is closed");
}

/** A message size option: a whole number of bytes from 1 to 2^31 - 1. */
function byteSize(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw new RangeError(`${name} must be a whole number of bytes from 1 to ${2 ** 31 - 1}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks and normalises the `endpoints` option. `basePaths`: a URL may have a path, which the transport puts before
 * every method path (gRPC-Web through a proxy mounted under a path); otherwise a path is refused, as gRPC over
 * HTTP/2 to etcd would drop it.
 */
export function parseEndpoints(endpoints: readonly string[] | string, basePaths = false): string[] {
  if (typeof endpoints !== "string" && !Array.isArray(endpoints)) {
    throw new TypeError(`endpoints must be a URL string or an array of them, got ${describe(endpoints)}`);
  }
  const list: unknown[] = typeof endpoints === "string" ? endpoints.split(",") : [...endpoints];
  for (const e of list) {
    if (typeof e !== "string") throw new TypeError(`endpoints must be strings like http://127.0.0.1:2379, got ${describe(e)}`);
  }
  const result = (list as string[]).map((e) => e.trim()).filter((e) => e !== "");
  if (result.length === 0) throw new TypeError("endpoints must name at least one etcd client URL");
  return result.map((e) => {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new TypeError(`endpoint ${JSON.stringify(e)} is not a URL like http://127.0.0.1:2379`);
    }
    if (url.username !== "" || url.password !== "") {
      // Say which endpoint without repeating its password.
      throw new TypeError(
        `endpoint ${url.protocol}//${url.host} must not carry credentials in the URL: use the username and password options`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`endpoint ${JSON.stringify(e)} must use http: or https:`);
    }
    if (url.search !== "" || url.hash !== "") throw new TypeError(`endpoint ${JSON.stringify(e)} must not have a query or fragment`);
    const path = url.pathname.replace(/\/+$/, "");
    if (path !== "" && !basePaths) {
      // etcd serves gRPC at the root: a path would be dropped without a word.
      throw new TypeError(`endpoint ${JSON.stringify(e)} must be scheme://host:port, without a path`);
    }
    return `${url.protocol}//${url.host}${path}`;
  });
}
