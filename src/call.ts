import type { CallOptions as ConnectCallOptions } from "@connectrpc/connect";
import { EtcdError } from "./errors.js";
import type { CallOptions } from "./options.js";

/**
 * Runs one RPC with the caller's signal and deadline, and turns whatever it
 * throws into an `EtcdError`. An already aborted signal rejects before
 * anything is sent.
 */
export async function runCall<T>(
  options: CallOptions | undefined,
  defaultTimeoutMs: number | undefined,
  rpc: (connectOptions: ConnectCallOptions | undefined) => Promise<T>,
): Promise<T> {
  const signal = options?.signal;
  if (signal?.aborted) throw EtcdError.aborted(signal);
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  try {
    // No options object at all on the common path: nothing for Connect to wire up.
    return await rpc(signal === undefined && timeoutMs === undefined ? undefined : { signal, timeoutMs });
  } catch (err) {
    // The caller's own abort wins over whatever the transport reported for it.
    if (signal?.aborted) throw EtcdError.aborted(signal);
    throw EtcdError.from(err);
  }
}
