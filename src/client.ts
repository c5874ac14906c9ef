import { Code, createClient as createServiceClient } from "@connectrpc/connect";
import {
  Cluster as ClusterService,
  KV as KVService,
  Lease as LeaseService,
  Maintenance,
  Watch as WatchService,
} from "../gen/etcdserverpb/rpc_pb.js";
import type { Bytes } from "./bytes.js";
import { runCall } from "./call.js";
import { type Cluster, createCluster } from "./cluster/cluster.js";
import type { ClientContext } from "./context.js";
import { EtcdError } from "./errors.js";
import { type KV, createKV } from "./kv/kv.js";
import { type Lease, createLease } from "./lease/lease.js";
import {
  type ClientOptions,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_MAX_CALL_RECV_MSG_SIZE,
  DEFAULT_MAX_CALL_SEND_MSG_SIZE,
  type TransportFactory,
} from "./options.js";
import { type EndpointTransport, createEndpointTransport } from "./transport/endpoints.js";
import type { WatchOptions, Watcher } from "./watch/types.js";
import { createWatch } from "./watch/watch.js";

/** An etcd client: KV calls on the client itself, other services as properties. */
export interface Client extends KV {
  /** Cluster membership calls. */
  readonly cluster: Cluster;
  /** Leases: grant, revoke, keep alive, inspect. */
  readonly lease: Lease;
  /** The configured endpoints, in order. */
  readonly endpoints: readonly string[];
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

/**
 * Creates a client without contacting etcd: connections are opened by the
 * first call. `runtimeTransport` is the runtime's default transport factory.
 * @internal
 */
export function createClientWith(options: ClientOptions, runtimeTransport: TransportFactory): Client {
  return build(options, runtimeTransport).client;
}

/**
 * Creates a client and waits until an endpoint answers (Go's `clientv3.New`
 * with `DialTimeout`); rejects with `unavailable` after `dialTimeoutMs`.
 * @internal
 */
export async function connectWith(options: ClientOptions, runtimeTransport: TransportFactory): Promise<Client> {
  const dialTimeoutMs = positive(options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS, "dialTimeoutMs");
  const { client, transport } = build(options, runtimeTransport);
  try {
    transport.use(await firstAnswering(transport, dialTimeoutMs));
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}

function build(options: ClientOptions, runtimeTransport: TransportFactory): ClientInternals {
  const endpoints = parseEndpoints(options.endpoints);
  const maxCallSendMsgSize = positive(options.maxCallSendMsgSize ?? DEFAULT_MAX_CALL_SEND_MSG_SIZE, "maxCallSendMsgSize");
  const maxCallRecvMsgSize = positive(options.maxCallRecvMsgSize ?? DEFAULT_MAX_CALL_RECV_MSG_SIZE, "maxCallRecvMsgSize");
  const defaultTimeoutMs = options.timeoutMs === undefined ? undefined : positive(options.timeoutMs, "timeoutMs");
  const factory = options.transport ?? runtimeTransport;
  const factoryOptions = {
    // The client checks request sizes itself with a clearer error; the
    // transport's limit stays a backstop for calls that skip that check.
    writeMaxBytes: Math.max(maxCallSendMsgSize, 1) + 1024,
    readMaxBytes: maxCallRecvMsgSize,
    interceptors: options.interceptors ?? [],
  };
  const transport = createEndpointTransport(endpoints, (endpoint) => factory(endpoint, factoryOptions));
  let closed = false;
  const cleanups: (() => void)[] = [];

  const ctx: ClientContext = {
    services: {
      kv: createServiceClient(KVService, transport),
      cluster: createServiceClient(ClusterService, transport),
      maintenance: createServiceClient(Maintenance, transport),
      watch: createServiceClient(WatchService, transport),
      lease: createServiceClient(LeaseService, transport),
    },
    transport,
    maxCallSendMsgSize,
    call(callOptions, rpc) {
      if (closed) return Promise.reject(closedError());
      return runCall(callOptions, defaultTimeoutMs, rpc);
    },
    ensureOpen() {
      if (closed) throw closedError();
    },
    onClose(fn) {
      cleanups.push(fn);
    },
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    // Long-lived calls stop first, so that none of them sees the closing
    // connections as a failure to recover from.
    for (const fn of cleanups.splice(0)) fn();
    transport.close();
  };
  const client: Client = {
    ...createKV(ctx),
    cluster: createCluster(ctx),
    lease: createLease(ctx),
    watch: createWatch(ctx),
    endpoints,
    close,
    [Symbol.asyncDispose]: async () => close(),
  };
  return { client, transport };
}

/** Probes every endpoint with Maintenance.Status until one answers; returns its index. */
async function firstAnswering(transport: EndpointTransport, dialTimeoutMs: number): Promise<number> {
  const deadline = AbortSignal.timeout(dialTimeoutMs);
  const done = new AbortController();
  const signal = AbortSignal.any([deadline, done.signal]);
  const errors: string[] = transport.endpoints.map(() => "no answer");

  const probe = async (i: number): Promise<number> => {
    const status = createServiceClient(Maintenance, transport.endpoint(i));
    for (let attempt = 0; ; attempt++) {
      try {
        await status.status({}, { signal });
        return i;
      } catch (err) {
        if (signal.aborted) throw err;
        errors[i] = EtcdError.from(err).message;
        // Back off like a dialer (100 ms doubling to 1 s), until the dial deadline.
        await sleep(Math.min(100 * 2 ** attempt, 1000), signal);
      }
    }
  };

  try {
    return await Promise.any(transport.endpoints.map((_, i) => probe(i)));
  } catch {
    const detail = transport.endpoints.map((e, i) => `${e}: ${errors[i]}`).join("; ");
    throw new EtcdError("unavailable", Code.Unavailable, `no endpoint answered within ${dialTimeoutMs} ms (${detail})`);
  } finally {
    done.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function closedError(): EtcdError {
  return new EtcdError("closed", Code.Canceled, "the client is closed");
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Checks and normalises the `endpoints` option. */
function parseEndpoints(endpoints: readonly string[] | string): string[] {
  const list = typeof endpoints === "string" ? endpoints.split(",") : [...(endpoints ?? [])];
  const result = list.map((e) => e.trim()).filter((e) => e !== "");
  if (result.length === 0) throw new TypeError("endpoints must name at least one etcd client URL");
  for (const e of result) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new TypeError(`endpoint ${JSON.stringify(e)} is not a URL like http://127.0.0.1:2379`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`endpoint ${JSON.stringify(e)} must use http: or https:`);
    }
  }
  return result.map((e) => e.replace(/\/+$/, ""));
}
