import { Code } from "@connectrpc/connect";
import { Lease as LeaseService, type LeaseKeepAliveResponse as LeaseKeepAliveResponseMessage } from "../../gen/etcdserverpb/rpc_pb.js";
import { requireLeaderHeaders } from "../call.js";
import type { ClientContext } from "../context.js";
import { EtcdError, invalid } from "../errors.js";
import { type Int64, toInt64 } from "../util/int64.js";
import { type ResponseHeader, header } from "../header.js";
import type { CallOptions } from "../options.js";
import { callHalfDuplex } from "../transport/half-duplex.js";
import { createKeepAliveScheduler } from "./scheduler.js";
import { createCallSender } from "./senders.js";
import type {
  LeaseGrantResponse,
  LeaseKeepAlive,
  LeaseKeepAliveOptions,
  LeaseKeepAliveResponse,
  LeaseStatus,
  LeaseTimeToLiveResponse,
} from "./types.js";
import { anySignal } from "../util/any-signal.js";

/** etcd's largest lease TTL in seconds (`MaxLeaseTTL`). */
export const MAX_LEASE_TTL = 9_000_000_000;

/** Before the first renewal answer, a lease counts as lost after this long (Go's default TTL). */
const FIRST_KEEPALIVE_TIMEOUT_MS = 5000;

/** Keepalives only go through members that have a leader, so a partitioned member cannot swallow them. */
const requireLeaderHeader = requireLeaderHeaders;

/** Options of `lease.grant()`. */
export interface LeaseGrantOptions {
  /** Choose the lease ID (0 or absent: etcd picks one). */
  id?: Int64;
}

/** Options of `lease.timeToLive()`. */
export interface LeaseTimeToLiveOptions {
  /** Also list the keys attached to the lease. Default: false. */
  keys?: boolean;
}

/** Lease calls (Go's `clientv3.Lease`). */
export interface Lease {
  /** Grants a lease of `ttl` seconds. */
  grant(ttl: number, options?: LeaseGrantOptions & CallOptions): Promise<LeaseGrantResponse>;
  /** Revokes a lease: its keys are deleted and its renewals stop. */
  revoke(id: Int64, options?: CallOptions): Promise<{
    /** Header of the member that answered; `header.revision` is the store's revision after the keys were deleted. */
    header: ResponseHeader;
  }>;
  /**
   * Keeps a lease alive, renewing it at TTL/3 on the client's shared stream
   * until the lease is lost or the keeper is stopped. Iterate the keeper for
   * each renewal, or just hold it and await `keeper.done`.
   */
  keepAlive(id: Int64, options?: LeaseKeepAliveOptions): LeaseKeepAlive;
  /** Renews a lease once. Rejects with `lease-not-found` when etcd does not have it. */
  keepAliveOnce(id: Int64, options?: CallOptions): Promise<LeaseKeepAliveResponse>;
  /** A lease's remaining TTL (-1 when it does not exist), granted TTL and optionally its keys. */
  timeToLive(id: Int64, options?: LeaseTimeToLiveOptions & CallOptions): Promise<LeaseTimeToLiveResponse>;
  /** Every lease etcd has. */
  leases(options?: CallOptions): Promise<LeaseStatus[]>;
}

function leaseId(id: Int64): bigint {
  const n = toInt64(id, "lease id", 0n);
  if (n === 0n) throw new RangeError("lease id must not be 0 (0 means no lease)");
  return n;
}

/** Builds the Lease facade and its keepalive scheduler. @internal */
export function createLease(ctx: ClientContext): Lease {
  const scheduler = createKeepAliveScheduler(
    (events) =>
      ctx.transport.halfDuplex || ctx.fullDuplex === undefined
        ? createCallSender(events, ctx.transport, requireLeaderHeader)
        : ctx.fullDuplex.keepAliveSender(
            events,
            (requests, signal) => ctx.services.lease.leaseKeepAlive(requests, { signal, headers: requireLeaderHeader }),
            ctx.transport,
            ctx.log,
          ),
    FIRST_KEEPALIVE_TIMEOUT_MS,
    ctx.log,
  );
  ctx.onClose(() => scheduler.close());

  return {
    async grant(ttl, options) {
      if (!Number.isSafeInteger(ttl) || ttl < 0) throw new RangeError(`ttl must be a whole number of seconds >= 0, got ${ttl}`);
      if (ttl > MAX_LEASE_TTL) throw invalid("lease-ttl-too-large", `ttl ${ttl} s is over etcd's maximum of ${MAX_LEASE_TTL} s`);
      const request = { TTL: BigInt(ttl), ID: options?.id === undefined ? 0n : toInt64(options.id, "id", 0n) };
      const r = await ctx.call(options, (c) => ctx.services.lease.leaseGrant(request, c));
      if (r.error !== "") throw EtcdError.fromMessage(r.error) ?? new EtcdError("unknown", Code.Unknown, r.error);
      return { header: header(r.header), id: r.ID, ttl: Number(r.TTL) };
    },
    async revoke(id, options) {
      const ID = leaseId(id);
      const r = await ctx.call(options, (c) => ctx.services.lease.leaseRevoke({ ID }, c));
      scheduler.forget(ID);
      return { header: header(r.header) };
    },
    keepAlive(id, options) {
      ctx.ensureOpen();
      return scheduler.keepAlive(leaseId(id), options);
    },
    async keepAliveOnce(id, options) {
      const ID = leaseId(id);
      const r = await ctx.call(options, async (c) => {
        // One request, one answer, then end the call (Connect's iterators ignore break).
        const done = new AbortController();
        const signal = c?.signal ? anySignal([c.signal, done.signal]) : done.signal;
        try {
          for await (const m of callHalfDuplex(ctx.transport, LeaseService.method.leaseKeepAlive, { ID }, signal, undefined, c?.timeoutMs)) {
            return m;
          }
          throw new EtcdError("unavailable", Code.Unavailable, "LeaseKeepAlive ended without an answer");
        } finally {
          done.abort();
        }
      });
      return renewal(r);
    },
    async timeToLive(id, options) {
      const ID = leaseId(id);
      const r = await ctx.call(options, (c) => ctx.services.lease.leaseTimeToLive({ ID, keys: options?.keys === true }, c));
      return { header: header(r.header), id: r.ID, ttl: Number(r.TTL), grantedTtl: Number(r.grantedTTL), keys: r.keys };
    },
    async leases(options) {
      const r = await ctx.call(options, (c) => ctx.services.lease.leaseLeases({}, c));
      return r.leases.map((l) => ({ id: l.ID }));
    },
  };
}

function renewal(r: LeaseKeepAliveResponseMessage): LeaseKeepAliveResponse {
  if (r.TTL <= 0n) throw new EtcdError("lease-not-found", Code.NotFound, `lease ${r.ID} is not found (revoked or expired)`);
  return { header: header(r.header), id: r.ID, ttl: Number(r.TTL) };
}
