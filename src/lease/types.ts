import type { EtcdError } from "../errors.js";
import type { ResponseHeader } from "../header.js";

/** Result of `lease.grant()`. */
export interface LeaseGrantResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
  /** The lease ID. */
  id: bigint;
  /** The granted TTL in seconds (etcd may raise a small TTL to its minimum). */
  ttl: number;
}

/** One successful renewal. */
export interface LeaseKeepAliveResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
  /** The lease that was renewed. */
  id: bigint;
  /** The TTL in seconds the lease was renewed to. */
  ttl: number;
}

/** Result of `lease.timeToLive()`. */
export interface LeaseTimeToLiveResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
  /** The lease asked about. */
  id: bigint;
  /** Seconds left; -1 when the lease does not exist (expired or revoked). */
  ttl: number;
  /** The TTL the lease was granted with, in seconds. */
  grantedTtl: number;
  /** The keys attached to the lease (with `keys: true`). */
  keys: Uint8Array[];
}

/** One lease in `lease.leases()`. */
export interface LeaseStatus {
  /** The lease's ID. */
  id: bigint;
}

/** Options of `lease.keepAlive()`. */
export interface LeaseKeepAliveOptions {
  /** Aborting it stops renewing (the lease is not revoked; it expires after its TTL). */
  signal?: AbortSignal;
}

/**
 * Renewals of one lease, kept going at TTL/3 until the lease is lost or the
 * keeper is stopped. Use it either way:
 * - iterate it: one `{ id, ttl }` per renewal; a lost lease ends the iteration
 *   by throwing `lease-not-found` or `lease-expired`; `break` stops renewing;
 * - or don't: renewals go on by themselves, and `done` tells when they stop.
 */
export interface LeaseKeepAlive extends AsyncIterable<LeaseKeepAliveResponse> {
  /** The lease being renewed. */
  readonly id: bigint;
  /**
   * Resolves when renewals stop: with the `EtcdError` that lost the lease
   * (`lease-not-found`: etcd no longer has it; `lease-expired`: no renewal
   * succeeded before its TTL ran out), or with undefined when stopped by
   * `close()`, the signal, `break`, `revoke()` or `client.close()`.
   */
  readonly done: Promise<EtcdError | undefined>;
  /** Stops renewing through this keeper (others of the same lease go on). Does not revoke. */
  close(): void;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
