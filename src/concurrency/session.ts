/**
 * Sessions: a lease kept alive for as long as the session lives (Go's
 * `concurrency.Session`). Mutexes and elections attach their keys to it, so
 * that a process that dies (or loses its lease) lets go of them.
 */
import { type Client, Code, EtcdError, type Int64 } from "../api.js";
import { toInt64 } from "../util/int64.js";
import { sessionClosedError } from "./errors.js";

/** Go's `defaultSessionTTL`, in seconds. */
export const DEFAULT_SESSION_TTL = 60;

/** Options of {@link createSession}. */
export interface SessionOptions {
  /**
   * TTL of the session's lease, in whole seconds (Go's `WithTTL`). Default: 60,
   * or the granted TTL of `lease` when one is given.
   */
  ttl?: number;
  /**
   * Use this existing lease instead of granting one (Go's `WithLease`), e.g.
   * to take back a lock or a leadership after a restart. It must exist.
   * 0 or absent: grant a new lease.
   */
  lease?: Int64;
  /**
   * Aborts `createSession()` while it is under way; aborting it later stops
   * renewing the lease, like `orphan()` (Go's `WithContext`). A `close()`
   * after the abort leaves the lease to expire instead of revoking it.
   */
  signal?: AbortSignal;
}

/** A lease kept alive in the background, for mutexes and elections. */
export interface Session extends AsyncDisposable {
  /** The client the session runs on; mutexes and elections use it for their calls. */
  readonly client: Client;
  /** The session's lease ID; keys of its mutexes and elections are attached to it. */
  readonly lease: bigint;
  /** The lease's TTL in seconds. */
  readonly ttl: number;
  /**
   * Resolves when the session stops renewing its lease (Go's `Done()`): with
   * the `EtcdError` that lost the lease (`lease-not-found`: revoked or expired
   * on etcd; `lease-expired`: no renewal succeeded in time), or with
   * `undefined` after `close()`, `orphan()` or an abort of the signal.
   */
  readonly done: Promise<EtcdError | undefined>;
  /**
   * Stops renewing and revokes the lease, which deletes every key of the
   * session (its locks and candidacies). Resolves once revoked, quietly when
   * the lease was already gone or the session's signal aborted (the lease then
   * expires after its TTL). Waits at most the TTL, like Go's `Close()`.
   * Calling it again returns the same promise.
   */
  close(): Promise<void>;
  /**
   * Stops renewing without revoking (Go's `Orphan()`): the lease and its keys
   * live on until the TTL runs out, or until a new session takes the lease
   * over with `{ lease }`.
   */
  orphan(): void;
}

/** Per session: aborted when its locks and campaigns can no longer succeed. @internal */
const ends = new WeakMap<Session, AbortSignal>();

/**
 * A signal that aborts when a lock or campaign of the session can no longer
 * succeed: with the lease error (an `EtcdError`) when the lease was lost, or a
 * `closed` error after `close()`. It does not abort after `orphan()`: the
 * lease may still be alive.
 * @internal
 */
export function sessionSignal(session: Session): AbortSignal {
  const end = ends.get(session);
  if (!end) throw new TypeError("expected a session made by createSession()");
  return end;
}

/**
 * Creates a session: grants a lease of `ttl` seconds (or takes `lease` over)
 * and keeps it alive with `client.lease.keepAlive` until the session is
 * closed, orphaned or the lease is lost (Go's `concurrency.NewSession`).
 *
 * ```ts
 * await using session = await createSession(client, { ttl: 10 });
 * const lost = await session.done; // EtcdError when the lease was lost
 * ```
 * @throws RangeError for a TTL that is not a positive whole number;
 *   EtcdError `lease-not-found` when the given `lease` does not exist.
 */
export async function createSession(client: Client, options: SessionOptions = {}): Promise<Session> {
  const { signal } = options;
  if (options.ttl !== undefined && (!Number.isSafeInteger(options.ttl) || options.ttl <= 0)) {
    throw new RangeError(`ttl must be a positive whole number of seconds, got ${String(options.ttl)}`);
  }
  if (signal?.aborted) throw EtcdError.aborted(signal);
  const existing = options.lease === undefined ? 0n : toInt64(options.lease, "lease", 0n);
  let id: bigint;
  let ttl: number;
  if (existing === 0n) {
    ttl = options.ttl ?? DEFAULT_SESSION_TTL;
    id = (await client.lease.grant(ttl, { signal })).id;
  } else {
    // Go does not check; a missing lease would only show as a lost session later.
    const info = await client.lease.timeToLive(existing, { signal });
    if (info.ttl < 0) {
      throw new EtcdError("lease-not-found", Code.NotFound, `lease ${existing.toString(16)} is not found (revoked or expired)`);
    }
    id = existing;
    ttl = options.ttl ?? info.grantedTtl;
  }

  const keeper = client.lease.keepAlive(id, signal ? { signal } : {});
  let closing: Promise<void> | undefined;
  const ended = new AbortController();
  void keeper.done.then((e) => {
    if (e) ended.abort(e);
  });

  const session: Session = {
    client,
    lease: id,
    ttl,
    done: keeper.done,
    close() {
      closing ??= (async () => {
        keeper.close();
        if (!ended.signal.aborted) ended.abort(sessionClosedError(id));
        if (signal?.aborted) return;
        try {
          await client.lease.revoke(id, { timeoutMs: ttl * 1000, ...(signal ? { signal } : {}) });
        } catch (err) {
          const e = EtcdError.from(err);
          // Already gone is what close() is for; an abort means "leave it to expire".
          if (e.kind === "lease-not-found" || signal?.aborted) return;
          throw e;
        }
      })();
      return closing;
    },
    orphan() {
      keeper.close();
    },
    [Symbol.asyncDispose]() {
      return session.close();
    },
  };
  ends.set(session, ended.signal);
  return session;
}
