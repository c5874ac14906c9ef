import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { Log } from "../log.js";
import type { EtcdTransport } from "./etcd-transport.js";
import { isUnavailable, neverSent, shouldRetry } from "./retry-policy.js";
import { retryWritesKey } from "./etcd-transport.js";
import { sleep } from "../util/backoff.js";

/** Where one endpoint stands, for dashboards. */
export interface EndpointState {
  endpoint: string;
  /**
   * `idle`: not used yet; `connecting`: first call under way; `ready`: the
   * last call or stream worked; `failing`: it was unavailable, and is skipped
   * until `retryAt`.
   */
  state: "idle" | "connecting" | "ready" | "failing";
  /** The last failure's message, while failing. */
  error?: string;
  /** When a failing endpoint is tried again (ms since the epoch). */
  retryAt?: number;
}


/**
 * A Connect transport over the client's endpoints (Go's balancer plus
 * `retry.go`). Each call goes to the current endpoint; an unavailable
 * endpoint is skipped for a while (backoff with jitter) and the call is
 * retried on the next one when the retry policy allows. While every endpoint
 * is failing, calls wait for one (bounded by their deadline), like gRPC's
 * wait-for-ready.
 */
export interface EndpointTransport extends Transport {
  /** The configured endpoint URLs, in order. */
  readonly endpoints: readonly string[];
  /** The endpoint the next call goes to. */
  readonly current: string;
  /** Whether the endpoints' transports can only stream responses (gRPC-Web). */
  readonly halfDuplex: boolean;
  /** Reports that a long-lived call on `endpoint` broke: it is skipped for a while. */
  failed(endpoint: string, error?: unknown): void;
  /** Reports that a long-lived call on `endpoint` works. */
  succeeded(endpoint: string): void;
  /** The transport of one endpoint, for calls that must reach that member. */
  endpoint(endpoint: string): Transport;
  /** Makes `endpoint` the current one. */
  use(endpoint: string): void;
  /** Replaces the endpoint list; connections to endpoints still listed are kept. */
  setEndpoints(endpoints: readonly string[]): void;
  /** Every endpoint's state. */
  states(): EndpointState[];
  /** Closes every endpoint's connections and ends waiting calls. */
  close(): void;
}

interface Slot {
  url: string;
  transport: EtcdTransport | undefined;
  state: EndpointState["state"];
  failures: number;
  retryAt: number;
  error?: string;
  /** Why it is failing: reported by calls that time out waiting for it. */
  failure?: unknown;
}

/** Delay between retries of one call (Go: 25 ms, jittered). */
const RETRY_PAUSE_MS = 25;
/** Retries on etcd's own `Unavailable` answers (no-leader, timeout, ...) per call (Go's default max). */
const MAX_SERVER_RETRIES = 100;
/** How long a failing endpoint is skipped: doubling from 500 ms to 10 s, jittered. */
const SKIP_BASE_MS = 500;
const SKIP_MAX_MS = 10000;

/** Creates an {@link EndpointTransport}; each endpoint's transport is made on first use. */
export function createEndpointTransport(
  endpoints: readonly string[],
  create: (endpoint: string) => EtcdTransport,
  onStateChange?: (state: EndpointState) => void,
  log?: Log,
): EndpointTransport {
  let slots: Slot[] = endpoints.map(newSlot);
  let index = 0;
  const closed = new AbortController();

  function newSlot(url: string): Slot {
    return { url, transport: undefined, state: "idle", failures: 0, retryAt: 0 };
  }
  const transportOf = (slot: Slot): EtcdTransport => (slot.transport ??= create(slot.url));

  function emit(slot: Slot): void {
    onStateChange?.(snapshot(slot));
  }
  function snapshot(slot: Slot): EndpointState {
    const s: EndpointState = { endpoint: slot.url, state: slot.state };
    if (slot.state === "failing") {
      if (slot.error !== undefined) s.error = slot.error;
      s.retryAt = slot.retryAt;
    }
    return s;
  }
  function markReady(slot: Slot): void {
    slot.failures = 0;
    slot.retryAt = 0;
    if (slot.state !== "ready") {
      slot.state = "ready";
      delete slot.error;
      emit(slot);
    }
  }
  function markFailed(slot: Slot, err: unknown): void {
    slot.failures++;
    const ceiling = Math.min(SKIP_MAX_MS, SKIP_BASE_MS * 2 ** (slot.failures - 1));
    slot.retryAt = Date.now() + ceiling / 2 + Math.random() * (ceiling / 2);
    slot.state = "failing";
    slot.failure = err;
    slot.error = err instanceof Error ? err.message : err === undefined ? "stream broke" : String(err);
    emit(slot);
    // Move on from a failing endpoint at once, so the next call does not wait on it.
    if (slots[index] === slot && slots.length > 1) index = (index + 1) % slots.length;
  }
  function rotateFrom(slot: Slot): void {
    if (slots[index] === slot && slots.length > 1) index = (index + 1) % slots.length;
  }
  function markConnecting(slot: Slot): void {
    if (slot.state === "idle") {
      slot.state = "connecting";
      emit(slot);
    }
  }

  /** The endpoint to use now (the current one unless it is being skipped), and how long to wait for it. */
  function pick(): { slot: Slot; waitMs: number } {
    const now = Date.now();
    for (let i = 0; i < slots.length; i++) {
      const at = (index + i) % slots.length;
      const slot = slots[at]!;
      if (slot.state !== "failing" || slot.retryAt <= now) {
        index = at;
        return { slot, waitMs: 0 };
      }
    }
    // Every endpoint is failing: wait for the one that may be tried first.
    let best = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i]!.retryAt < slots[best]!.retryAt) best = i;
    index = best;
    return { slot: slots[best]!, waitMs: slots[best]!.retryAt - now };
  }

  function find(endpoint: string): Slot {
    const slot = slots.find((s) => s.url === endpoint);
    if (slot === undefined) throw new RangeError(`${endpoint} is not one of the client's endpoints`);
    return slot;
  }

  return {
    get endpoints() {
      return slots.map((s) => s.url);
    },
    get current() {
      return pick().slot.url;
    },
    get halfDuplex() {
      return transportOf(slots[index]!).halfDuplex === true;
    },
    failed(endpoint, error) {
      const slot = slots.find((s) => s.url === endpoint);
      if (slot) markFailed(slot, error);
    },
    succeeded(endpoint) {
      const slot = slots.find((s) => s.url === endpoint);
      if (slot) markReady(slot);
    },
    endpoint(endpoint) {
      const slot = find(endpoint);
      const tls = (err: unknown): never => {
        throw isTlsError(err) ? tlsError(slot.url, err) : err;
      };
      return {
        async unary(method, signal, timeoutMs, header, input, contextValues) {
          return transportOf(slot).unary(method, signal, timeoutMs, header, input, contextValues).catch(tls);
        },
        async stream(method, signal, timeoutMs, header, input, contextValues) {
          return transportOf(slot).stream(method, signal, timeoutMs, header, input, contextValues).catch(tls);
        },
      };
    },
    use(endpoint) {
      index = slots.indexOf(find(endpoint));
    },
    setEndpoints(list) {
      const keep = new Map(slots.map((s) => [s.url, s]));
      const currentUrl = slots[index]?.url;
      const next = list.map((url) => keep.get(url) ?? newSlot(url));
      for (const s of slots) if (!list.includes(s.url)) s.transport?.close?.();
      slots = next;
      const at = slots.findIndex((s) => s.url === currentUrl);
      index = at >= 0 ? at : 0;
    },
    states() {
      return slots.map(snapshot);
    },
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
      const retryWrites = contextValues?.get(retryWritesKey) === true;
      let lastError: unknown;
      let serverRetries = 0;
      for (;;) {
        const { slot, waitMs } = pick();
        if (waitMs > 0) await pause(waitMs, deadline, signal, closed.signal);
        const remaining = deadline === undefined ? undefined : deadline - Date.now();
        if (closed.signal.aborted) throw new ConnectError("the client is closed", Code.Canceled);
        if (signal?.aborted) throw lastError ?? new ConnectError("the operation was aborted", Code.Canceled);
        // Out of time: the last failure says more than "deadline exceeded".
        if (remaining !== undefined && remaining <= 0) throw lastError ?? (slot.failure instanceof ConnectError ? slot.failure : deadlineError());
        markConnecting(slot);
        try {
          const response = await transportOf(slot).unary(method, signal, remaining, header, input, contextValues);
          markReady(slot);
          return response;
        } catch (err) {
          const callerAborted = signal?.aborted === true || closed.signal.aborted;
          const name = `${method.parent.typeName}/${method.name}`;
          if (isTlsError(err)) throw tlsError(slot.url, err);
          // The deadline ran out during a retry: the earlier failure says why.
          if (lastError !== undefined && deadline !== undefined && Date.now() >= deadline) throw lastError;
          const lost = !callerAborted && isConnectionFailure(err);
          if (lost) markFailed(slot, err);
          else if (!callerAborted && isUnavailable(err, false)) rotateFrom(slot); // etcd's own no-leader, timeout, ...
          if (!shouldRetry({ method: name, error: err, retryWrites, callerAborted }) || (!neverSent(err) && ++serverRetries > MAX_SERVER_RETRIES)) {
            throw lost && !neverSent(err) ? connectionLost(slot.url, err) : err;
          }
          lastError = err;
          log?.debug("retrying on the next endpoint", { method: name, endpoint: slot.url, error: err instanceof Error ? err.message : String(err) });
          await pause(RETRY_PAUSE_MS * (0.9 + Math.random() * 0.2), deadline, signal, closed.signal);
        }
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const { slot } = pick();
      markConnecting(slot);
      try {
        return await transportOf(slot).stream(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        if (isTlsError(err)) throw tlsError(slot.url, err);
        if (!signal?.aborted && isConnectionFailure(err)) markFailed(slot, err);
        throw err;
      }
    },
    close() {
      closed.abort();
      for (const s of slots) s.transport?.close?.();
    },
  };
}

/** Sleeps `ms`, cut short by the deadline or an abort. */
function pause(ms: number, deadline: number | undefined, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return sleep(deadline === undefined ? ms : Math.min(ms, deadline - Date.now()), ...signals);
}

function deadlineError(): ConnectError {
  return new ConnectError("deadline exceeded while waiting for an available endpoint", Code.DeadlineExceeded);
}

/**
 * The endpoint itself failed (refused, reset, closed, unreachable), as
 * opposed to etcd answering `Unavailable` (no leader, ...): Connect reports
 * these without one of etcd's messages.
 */
function isConnectionFailure(err: unknown): boolean {
  if (neverSent(err)) return true;
  if (!(err instanceof ConnectError) || !isUnavailable(err, false)) return false;
  return !err.rawMessage.startsWith("etcdserver: ");
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

/** A certificate or TLS handshake problem: a configuration error that retrying does not fix. */
function isTlsError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The cause of a call that failed on a certificate or TLS handshake problem (see {@link isTlsFailure}). */
class TlsFailure extends Error {}

/** Whether `err` (or one of its causes) is a TLS failure: a configuration error that waiting does not fix. */
export function isTlsFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    if (e instanceof TlsFailure) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function tlsError(endpoint: string, err: unknown): ConnectError {
  let cause: unknown = err;
  while (cause instanceof ConnectError && cause.cause !== undefined) cause = cause.cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ConnectError(
    `TLS with ${endpoint} failed: ${reason} (check the tls options: ca, cert, key, serverName)`,
    Code.Unavailable,
    undefined,
    undefined,
    new TlsFailure(reason, { cause: err }),
  );
}

