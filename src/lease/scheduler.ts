import { Code } from "@connectrpc/connect";
import type { LeaseKeepAliveResponse as LeaseKeepAliveResponseMessage } from "../../gen/etcdserverpb/rpc_pb.js";
import { EtcdError } from "../errors.js";
import type { Log } from "../log.js";
import { header } from "../header.js";
import { type KeeperSink, createKeeper } from "./keeper.js";
import type { LeaseKeepAlive, LeaseKeepAliveOptions } from "./types.js";

/** How renewal requests reach etcd (one shared stream, or one call each). @internal */
export interface RenewalSender {
  /** Sends one renewal request; its answer comes back through `renewed()`. */
  send(id: bigint): void;
  /** No lease left to renew: release the stream or calls. */
  idle(): void;
}

/** What a sender reports back. @internal */
export interface RenewalEvents {
  /** A renewal answer from etcd. */
  renewed(response: LeaseKeepAliveResponseMessage): void;
  /** The stream broke: requests in flight will not be answered. */
  broken(): void;
}

/** Renews leases on one shared schedule (Go's `lessor` keepalive loops). @internal */
export interface KeepAliveScheduler {
  keepAlive(id: bigint, options: LeaseKeepAliveOptions | undefined): LeaseKeepAlive;
  /** Stops renewing `id` (after a revoke): its keepers end quietly. */
  forget(id: bigint): void;
  /** Stops every renewal (client closed): keepers end quietly, nothing is revoked. */
  close(): void;
}

/** How long to wait for a renewal answer before asking again (Go retries every 500 ms). */
const RESEND_AFTER_MS = 500;

interface LeaseState {
  id: bigint;
  keepers: Set<KeeperSink>;
  /** When the next renewal is due: TTL/3 after the last success. */
  nextAt: number;
  /** When the lease is considered lost without a successful renewal: last success + TTL. */
  deadline: number;
  /** A request is in flight until then. */
  waitUntil: number;
}

/**
 * Creates the scheduler. Each lease is renewed TTL/3 after its last successful
 * renewal and declared lost when etcd answers TTL <= 0 (`lease-not-found`) or
 * when no renewal succeeded before its deadline (`lease-expired`). Before the
 * first answer the deadline is `firstTimeoutMs` away. Many keepers of one
 * lease share its schedule.
 * @internal
 */
export function createKeepAliveScheduler(
  createSender: (events: RenewalEvents) => RenewalSender,
  firstTimeoutMs: number,
  log?: Log,
): KeepAliveScheduler {
  const leases = new Map<bigint, LeaseState>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  const sender = createSender({
    renewed(r) {
      const st = leases.get(r.ID);
      if (st === undefined) return;
      if (r.TTL <= 0n) {
        lose(st, new EtcdError("lease-not-found", Code.NotFound, `lease ${r.ID} is not found (revoked or expired)`));
        schedule();
        return;
      }
      const now = Date.now();
      const ttlMs = Number(r.TTL) * 1000;
      st.nextAt = now + ttlMs / 3;
      st.deadline = now + ttlMs;
      st.waitUntil = 0;
      const response = { header: header(r.header), id: r.ID, ttl: Number(r.TTL) };
      for (const k of st.keepers) k.renewed(response);
      schedule();
    },
    broken() {
      for (const st of leases.values()) st.waitUntil = 0;
      schedule();
    },
  });

  function lose(st: LeaseState, err: EtcdError): void {
    log?.warn("lease lost", { lease: st.id.toString(16), kind: err.kind });
    leases.delete(st.id);
    for (const k of st.keepers) k.end(err);
  }

  function tick(): void {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (const st of leases.values()) {
      if (st.deadline <= now) {
        lose(st, new EtcdError("lease-expired", Code.NotFound, `lease ${st.id} expired: no renewal succeeded within its TTL`));
      } else if (now >= st.nextAt && now >= st.waitUntil) {
        st.waitUntil = now + RESEND_AFTER_MS;
        sender.send(st.id);
      }
    }
    schedule();
  }

  /** Sets the one timer to the earliest due renewal or deadline. */
  function schedule(): void {
    if (leases.size === 0) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      sender.idle();
      return;
    }
    let at = Number.POSITIVE_INFINITY;
    for (const st of leases.values()) {
      at = Math.min(at, st.deadline, Math.max(st.nextAt, st.waitUntil));
    }
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(tick, Math.max(0, at - Date.now()));
  }

  return {
    keepAlive(id, options) {
      if (options?.signal?.aborted) return createKeeper(id, options.signal, () => {}).keeper;
      let st = leases.get(id);
      if (st === undefined) {
        const now = Date.now();
        st = { id, keepers: new Set(), nextAt: now, deadline: now + firstTimeoutMs, waitUntil: 0 };
        leases.set(id, st);
      }
      const state = st;
      const { keeper, sink } = createKeeper(id, options?.signal, () => {
        state.keepers.delete(sink);
        if (state.keepers.size === 0 && leases.get(id) === state) {
          leases.delete(id);
          schedule();
        }
      });
      state.keepers.add(sink);
      schedule();
      return keeper;
    },
    forget(id) {
      const st = leases.get(id);
      if (st === undefined) return;
      leases.delete(id);
      for (const k of st.keepers) k.end(undefined);
      schedule();
    },
    close() {
      const all = [...leases.values()];
      leases.clear();
      for (const st of all) for (const k of st.keepers) k.end(undefined);
      schedule();
    },
  };
}
