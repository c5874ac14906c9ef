import { type CallOptions as ConnectCallOptions, createContextValues } from "@connectrpc/connect";
import { EtcdError } from "./errors.js";
import type { CallOptions } from "./options.js";
import { retryWritesKey } from "./transport/etcd-transport.js";

/** etcd's metadata that makes a member refuse work while it has no leader. */
export const requireLeaderHeaders: HeadersInit = { hasleader: "true" };

function checkTimeout(timeoutMs: number | undefined): number | undefined {
  if (timeoutMs !== undefined && !(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  return timeoutMs;
}

/**
 * Runs one RPC with the caller's signal and deadline, and turns whatever it
 * throws into an `EtcdError`. An already aborted signal rejects before
 * anything is sent.
 */
export async function runCall<T>(
  options: CallOptions | undefined,
  defaultTimeoutMs: number | undefined,
  defaultRequireLeader: boolean,
  rpc: (connectOptions: ConnectCallOptions | undefined) => Promise<T>,
): Promise<T> {
  const signal = options?.signal;
  if (signal?.aborted) throw EtcdError.aborted(signal);
  const timeoutMs = checkTimeout(options?.timeoutMs ?? defaultTimeoutMs);
  const requireLeader = options?.requireLeader ?? defaultRequireLeader;
  const retry = options?.retry === true;
  let connectOptions: ConnectCallOptions | undefined;
  // No options object at all on the common path: nothing for Connect to wire up.
  if (signal !== undefined || timeoutMs !== undefined || requireLeader || retry) {
    connectOptions = { signal, timeoutMs };
    if (requireLeader) connectOptions.headers = requireLeaderHeaders;
    if (retry) connectOptions.contextValues = createContextValues().set(retryWritesKey, true);
  }
  try {
    return await rpc(connectOptions);
  } catch (err) {
    // The caller's own abort wins over whatever the transport reported for it.
    if (signal?.aborted) throw EtcdError.aborted(signal);
    throw EtcdError.from(err);
  }
}

/**
 * Runs one server-streaming RPC as an async generator with the caller's signal and deadline (for the whole
 * stream). `break` ends the call, which Connect's own iterators do not do; errors come out as `EtcdError`, or as
 * `mapError` makes them.
 */
export async function* runServerStream<T>(
  options: CallOptions | undefined,
  defaultRequireLeader: boolean,
  rpc: (connectOptions: ConnectCallOptions) => AsyncIterable<T>,
  mapError: (err: unknown) => EtcdError = EtcdError.from,
): AsyncGenerator<T, void, undefined> {
  const signal = options?.signal;
  if (signal?.aborted) throw EtcdError.aborted(signal);
  const timeoutMs = checkTimeout(options?.timeoutMs);
  const done = new AbortController();
  const connectOptions: ConnectCallOptions = { signal: signal ? AbortSignal.any([signal, done.signal]) : done.signal, timeoutMs };
  if (options?.requireLeader ?? defaultRequireLeader) connectOptions.headers = requireLeaderHeaders;
  try {
    for await (const r of rpc(connectOptions)) {
      if (signal?.aborted) throw EtcdError.aborted(signal);
      yield r;
    }
  } catch (err) {
    if (signal?.aborted) throw EtcdError.aborted(signal);
    throw mapError(err);
  } finally {
    done.abort();
  }
}
