import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { EtcdTransport } from "./etcd-transport.js";
import { isConnectionFailure } from "./retry-policy.js";
import { type Backoff, createBackoff } from "../util/backoff.js";

/** Where one endpoint stands, for dashboards. */
export interface EndpointState {
  /** The endpoint's URL, as configured. */
  endpoint: string;
  /**
   * `idle`: not used yet; `connecting`: first call under way; `ready`: etcd
   * answered the last call or stream (an etcd error such as permission-denied counts); `failing`: it was unavailable, and is skipped
   * until `retryAt`.
   */
  state: "idle" | "connecting" | "ready" | "failing";
  /** The last failure's message, while failing. */
  error?: string;
  /** When a failing endpoint is tried again (ms since the epoch). */
  retryAt?: number;
}


/**
 * The client's endpoints (Go's balancer): which one the next call goes to, and where each one stands. An
 * unavailable endpoint is skipped for a while (backoff with jitter). The pool ({@link createEndpointPool}) streams
 * with one attempt per call; unary calls come from the retry layer (retry.ts `withRetry`), which re-sends them on
 * the next endpoint when the retry policy allows.
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
  /** Aborted by `close()`. */
  readonly closedSignal: AbortSignal;
  /**
   * The endpoint for the next attempt: the current one unless it is being skipped; while every endpoint is
   * failing, the one to be tried first and how long until then (`waitMs`), with the reason it is failing.
   */
  pick(): Pick;
  /** An attempt on `endpoint` is starting (idle -> connecting). */
  attempting(endpoint: string): void;
  /** An attempt on `endpoint` failed with etcd's own `Unavailable` (no leader, ...): move the next call on. */
  rotateFrom(endpoint: string): void;
}

/** The endpoints without the unary method, which the retry layer adds (retry.ts). */
export type EndpointPool = Omit<EndpointTransport, "unary">;

/** See {@link EndpointTransport.pick}. */
export interface Pick {
  endpoint: string;
  transport: EtcdTransport;
  /** How long until the endpoint may be tried; 0: now. */
  waitMs: number;
  /** Why the endpoint is failing, when it is. */
  failure: unknown;
}

interface Slot {
  url: string;
  transport: EtcdTransport | undefined;
  state: EndpointState["state"];
  /** How long it is skipped after each failure in a row. */
  skip: Backoff;
  retryAt: number;
  error?: string;
  /** Why it is failing: reported by calls that time out waiting for it. */
  failure?: unknown;
}

/** How long a failing endpoint is skipped: doubling from 500 ms to 10 s, jittered. */
const SKIP_BACKOFF = { initialMs: 500, maxMs: 10000, firstImmediate: false };

/** Creates an {@link EndpointPool}; each endpoint's transport is made on first use. */
export function createEndpointPool(
  endpoints: readonly string[],
  create: (endpoint: string) => EtcdTransport,
  onStateChange?: (state: EndpointState) => void,
): EndpointPool {
  let slots: Slot[] = endpoints.map(newSlot);
  let index = 0;
  const closed = new AbortController();

  function newSlot(url: string): Slot {
    return { url, transport: undefined, state: "idle", skip: createBackoff(SKIP_BACKOFF), retryAt: 0 };
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
    slot.skip.reset();
    slot.retryAt = 0;
    if (slot.state !== "ready") {
      slot.state = "ready";
      delete slot.error;
      emit(slot);
    }
  }
  function markFailed(slot: Slot, err: unknown): void {
    slot.retryAt = Date.now() + slot.skip.next();
    slot.state = "failing";
    slot.failure = err;
    slot.error = err instanceof Error ? err.message : err === undefined ? "stream broke" : String(err);
    emit(slot);
    // Move on from a failing endpoint at once, so the next call does not wait on it.
    if (slots[index] === slot && slots.length > 1) index = (index + 1) % slots.length;
  }
  function markConnecting(slot: Slot): void {
    if (slot.state === "idle") {
      slot.state = "connecting";
      emit(slot);
    }
  }

  /** The endpoint to use now (the current one unless it is being skipped), and how long to wait for it. */
  function pickSlot(): { slot: Slot; waitMs: number } {
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

  const slotOf = (endpoint: string): Slot | undefined => slots.find((s) => s.url === endpoint);
  function find(endpoint: string): Slot {
    const slot = slotOf(endpoint);
    if (slot === undefined) throw new RangeError(`${endpoint} is not one of the client's endpoints`);
    return slot;
  }

  return {
    get endpoints() {
      return slots.map((s) => s.url);
    },
    get current() {
      return pickSlot().slot.url;
    },
    get halfDuplex() {
      return transportOf(slots[index]!).halfDuplex === true;
    },
    failed(endpoint, error) {
      const slot = slotOf(endpoint);
      if (slot) markFailed(slot, error);
    },
    succeeded(endpoint) {
      const slot = slotOf(endpoint);
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
    closedSignal: closed.signal,
    pick() {
      const { slot, waitMs } = pickSlot();
      return { endpoint: slot.url, transport: transportOf(slot), waitMs, failure: slot.failure };
    },
    attempting(endpoint) {
      const slot = slotOf(endpoint);
      if (slot) markConnecting(slot);
    },
    rotateFrom(endpoint) {
      if (slots[index]?.url === endpoint && slots.length > 1) index = (index + 1) % slots.length;
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const { slot } = pickSlot();
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

/** A certificate or TLS handshake problem: a configuration error that retrying does not fix. */
export function isTlsError(err: unknown): boolean {
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

export function tlsError(endpoint: string, err: unknown): ConnectError {
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

