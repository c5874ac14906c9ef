import { type CallOptions as ConnectCallOptions, createContextValues } from "@connectrpc/connect";
import { EtcdError } from "./errors.js";
import { type CallOptions, checkMs } from "./options.js";
import { retryWritesKey } from "./transport/etcd-transport.js";
import { anySignal } from "./util/any-signal.js";

/** etcd's metadata that makes a member refuse work while it has no leader. */
export const requireLeaderHeaders: HeadersInit = { hasleader: "true" };

function checkTimeout(timeoutMs: number | undefined): number | undefined {
  return timeoutMs === undefined ? undefined : checkMs(timeoutMs, "timeoutMs");
}

/**
 * The longest deadline `grpc-timeout` carries in milliseconds (8 digits, as Connect's transports write it). A longer
 * one is kept by the client alone: the call is canceled when it passes, and etcd gets no deadline.
 */
const WIRE_TIMEOUT_MAX_MS = 99_999_999;

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
  let timeoutMs = checkTimeout(options?.timeoutMs ?? defaultTimeoutMs);
  const requireLeader = options?.requireLeader ?? defaultRequireLeader;
  const retry = options?.retry === true;
  let longDeadline: AbortSignal | undefined;
  if (timeoutMs !== undefined && timeoutMs > WIRE_TIMEOUT_MAX_MS) {
    longDeadline = AbortSignal.timeout(timeoutMs);
    timeoutMs = undefined;
  }
  let connectOptions: ConnectCallOptions | undefined;
  // No options object at all on the common path: nothing for Connect to wire up.
  if (signal !== undefined || timeoutMs !== undefined || longDeadline !== undefined || requireLeader || retry) {
    const callSignal = longDeadline === undefined ? signal : signal === undefined ? longDeadline : anySignal([signal, longDeadline]);
    connectOptions = { signal: callSignal, timeoutMs };
    if (requireLeader) connectOptions.headers = requireLeaderHeaders;
    if (retry) connectOptions.contextValues = createContextValues().set(retryWritesKey, true);
  }
  try {
    return await rpc(connectOptions);
  } catch (err) {
    // The caller's own abort wins over whatever the transport reported for it.
    if (signal?.aborted) throw EtcdError.aborted(signal);
    if (longDeadline?.aborted) throw EtcdError.aborted(longDeadline);
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
  let timeoutMs = checkTimeout(options?.timeoutMs);
  const done = new AbortController();
  const signals = [done.signal];
  if (signal) signals.push(signal);
  let longDeadline: AbortSignal | undefined;
  if (timeoutMs !== undefined && timeoutMs > WIRE_TIMEOUT_MAX_MS) {
    signals.push((longDeadline = AbortSignal.timeout(timeoutMs)));
    timeoutMs = undefined;
  }
  const connectOptions: ConnectCallOptions = { signal: signals.length === 1 ? done.signal : anySignal(signals), timeoutMs };
  if (options?.requireLeader ?? defaultRequireLeader) connectOptions.headers = requireLeaderHeaders;
  try {
    for await (const r of rpc(connectOptions)) {
      if (signal?.aborted) throw EtcdError.aborted(signal);
      yield r;
    }
  } catch (err) {
    if (signal?.aborted) throw EtcdError.aborted(signal);
    if (longDeadline?.aborted) throw EtcdError.aborted(longDeadline);
    throw mapError(err);
  } finally {
    done.abort();
  }
}
