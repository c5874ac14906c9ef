import { Code, ConnectError } from "@connectrpc/connect";
import type { Log } from "../log.js";
import { sleep } from "../util/backoff.js";
import { type EndpointPool, type EndpointTransport, isTlsError, tlsError } from "./endpoints.js";
import { retryWritesKey } from "./etcd-transport.js";
import { isConnectionFailure, isUnavailable, neverSent, shouldRetry } from "./retry-policy.js";

/** Delay between retries of one call (Go: 25 ms, jittered). */
const RETRY_PAUSE_MS = 25;
/** Retries on etcd's own `Unavailable` answers (no-leader, timeout, ...) per call (Go's default max). */
const MAX_SERVER_RETRIES = 100;

/**
 * The client's one retry layer (Go clientv3's `retry.go` around its balancer): gives the endpoint pool a unary
 * method that sends each call to the endpoint the pool picks and, when the call fails in a way the retry policy
 * (retry-policy.ts, method-policy.ts) allows, sends it again on the next one, until the deadline. While every
 * endpoint is failing, calls wait for one (bounded by their deadline), like gRPC's wait-for-ready. Streams are
 * not retried here: their owners resume them (util/resumable-stream.ts).
 */
export function withRetry(pool: EndpointPool, log?: Log): EndpointTransport {
  const closed = pool.closedSignal;
  const unary: EndpointTransport["unary"] = async (method, signal, timeoutMs, header, input, contextValues) => {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const retryWrites = contextValues?.get(retryWritesKey) === true;
    let lastError: unknown;
    let serverRetries = 0;
    for (;;) {
      const { endpoint, transport, waitMs, failure } = pool.pick();
      if (waitMs > 0) await pause(waitMs, deadline, signal, closed);
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (closed.aborted) throw new ConnectError("the client is closed", Code.Canceled);
      if (signal?.aborted) throw lastError ?? new ConnectError("the operation was aborted", Code.Canceled);
      // Out of time: the last failure says more than "deadline exceeded".
      if (remaining !== undefined && remaining <= 0) throw lastError ?? (failure instanceof ConnectError ? failure : deadlineError());
      pool.attempting(endpoint);
      try {
        const response = await transport.unary(method, signal, remaining, header, input, contextValues);
        pool.succeeded(endpoint);
        return response;
      } catch (err) {
        const callerAborted = signal?.aborted === true || closed.aborted;
        const name = `${method.parent.typeName}/${method.name}`;
        if (isTlsError(err)) throw tlsError(endpoint, err);
        // The deadline ran out during a retry: the earlier failure says why. (The transport's own timer may fire a
        // moment before Date.now() reaches the deadline, so its DeadlineExceeded counts as the deadline too.)
        const outOfTime = deadline !== undefined && (Date.now() >= deadline || (err instanceof ConnectError && err.code === Code.DeadlineExceeded));
        if (lastError !== undefined && outOfTime) throw lastError;
        const lost = !callerAborted && isConnectionFailure(err);
        if (lost) pool.failed(endpoint, err);
        else if (answeredByEtcd(err)) pool.succeeded(endpoint); // refused, but etcd answered: the endpoint works
        else if (!callerAborted && isUnavailable(err, false)) pool.rotateFrom(endpoint); // etcd's own no-leader, timeout, ...
        if (!shouldRetry({ method: name, error: err, retryWrites, callerAborted }) || (!neverSent(err) && ++serverRetries > MAX_SERVER_RETRIES)) {
          throw lost && !neverSent(err) ? connectionLost(endpoint, err) : err;
        }
        lastError = err;
        log?.debug("retrying on the next endpoint", { method: name, endpoint, error: err instanceof Error ? err.message : String(err) });
        await pause(RETRY_PAUSE_MS * (0.9 + Math.random() * 0.2), deadline, signal, closed);
      }
    }
  };
  return Object.assign(pool, { unary });
}

/**
 * Codes only etcd's own answers carry (a refusal, not trouble reaching it): InvalidArgument, NotFound,
 * AlreadyExists, PermissionDenied, FailedPrecondition, OutOfRange, Unimplemented, Unauthenticated. (Numbers, as
 * this file is in the browser bundle.)
 */
const ETCD_ANSWERS: readonly number[] = [3, 5, 6, 7, 9, 11, 12, 16];

function answeredByEtcd(err: unknown): boolean {
  return err instanceof ConnectError && ETCD_ANSWERS.includes(err.code);
}

/** Sleeps `ms`, cut short by the deadline or an abort. */
function pause(ms: number, deadline: number | undefined, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return sleep(deadline === undefined ? ms : Math.min(ms, deadline - Date.now()), ...signals);
}

function deadlineError(): ConnectError {
  return new ConnectError("deadline exceeded while waiting for an available endpoint", Code.DeadlineExceeded);
}

/** A call whose connection broke after the request went out: it may or may not have been applied. */
function connectionLost(endpoint: string, err: unknown): ConnectError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConnectError(
    `connection to ${endpoint} lost during the call; it may or may not have been applied (${reason})`,
    Code.Unavailable,
    undefined,
    undefined,
    err,
  );
}
