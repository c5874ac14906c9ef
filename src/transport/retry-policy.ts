import { Code, ConnectError } from "@connectrpc/connect";
import { REFUSED_CODE } from "./h2/refused.js";
import { isRepeatable } from "./method-policy.js";

// Which RPCs are repeatable (Go clientv3's `retry.go`, and where this differs from Go) is in method-policy.ts.
export { isRepeatable } from "./method-policy.js";

/**
 * Errors that mean nothing reached a server: socket errors before a request
 * is written, and HTTP/2 streams the server refused unprocessed (GOAWAY above
 * its last stream, REFUSED_STREAM; RFC 9113 8.7).
 */
const neverSentCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL", REFUSED_CODE]);

/**
 * Whether the call failed before its request could reach any server (connection refused, no route, a refused
 * stream), read from the error codes in the cause chain (both transports keep the socket error as a cause). A
 * message alone is never taken as proof: wrongly saying "never sent" would re-send a write.
 */
export function neverSent(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && neverSentCodes.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether a failure means "this endpoint cannot serve now": `Unavailable`
 * (connection trouble, and etcd's no-leader, leader-changed, timeout, server
 * stopped), or a connection lost mid-call, which Connect reports as
 * `Aborted` or `Canceled` although the caller canceled nothing.
 */
export function isUnavailable(err: unknown, callerAborted: boolean): boolean {
  if (!(err instanceof ConnectError)) return false;
  if (err.code === Code.Unavailable) return true;
  return !callerAborted && (err.code === Code.Aborted || err.code === Code.Canceled);
}

/** What to do with a failed unary call. */
export interface RetryQuestion {
  /** `"etcdserverpb.KV/Put"` */
  method: string;
  error: unknown;
  /** The caller opted in to retrying this call (`{ retry: true }`). */
  retryWrites: boolean;
  /** The caller's signal aborted (or the client closed). */
  callerAborted: boolean;
}

/**
 * Whether to retry a failed unary call on the next endpoint: never after the
 * caller's abort; always when nothing was sent; for repeatable RPCs (or an
 * opted-in write) when the endpoint was unavailable.
 */
export function shouldRetry(q: RetryQuestion): boolean {
  if (q.callerAborted) return false;
  if (neverSent(q.error)) return true;
  return isUnavailable(q.error, false) && (q.retryWrites || isRepeatable(q.method));
}

/**
 * The endpoint itself failed (refused, reset, closed, unreachable), as opposed to etcd answering `Unavailable` (no
 * leader, ...): Connect reports these without one of etcd's messages.
 */
export function isConnectionFailure(err: unknown): boolean {
  if (neverSent(err)) return true;
  if (!(err instanceof ConnectError) || !isUnavailable(err, false)) return false;
  return !err.rawMessage.startsWith("etcdserver: ");
}
