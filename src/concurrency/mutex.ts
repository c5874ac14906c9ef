/**
 * A distributed, fair mutex (Go's `concurrency.Mutex`).
 */
import { type Compare, EtcdError, type ResponseHeader, type TxnResponse, compare, op } from "../api.js";
import { lockedError, toEtcdError } from "./errors.js";
import type { Session } from "./session.js";
import { waitTurn } from "./wait.js";

/** Options of `lock()` and `tryLock()`. */
export interface LockOptions {
  /**
   * Aborting it stops waiting: `lock()` rejects with `canceled` (or
   * `deadline-exceeded` for `AbortSignal.timeout`) and removes its key.
   */
  signal?: AbortSignal;
}

/** Options of `unlock()`. */
export interface UnlockOptions {
  /** Aborts the delete. */
  signal?: AbortSignal;
}

/**
 * A lock shared by every session that makes a mutex on the same prefix
 * (Go's `concurrency.Mutex`). Each waiter puts its key `<prefix>/<lease hex>`
 * with its session's lease; the oldest key holds the lock, and waiters get it
 * in the order they asked (fair). When the holder's session dies, its key goes
 * with its lease and the next waiter gets the lock.
 *
 * A mutex object belongs to one session; several objects of the same session
 * and prefix share its one key. Do not lock one mutex object concurrently.
 */
export interface Mutex {
  /** The session whose lease holds the lock's key. */
  readonly session: Session;
  /** The prefix the lock's keys are under, with a trailing `/`. */
  readonly prefix: string;
  /**
   * The session's key under the prefix while locking or holding the lock;
   * `"\0"` before and after (Go's `Key()`).
   */
  readonly key: string;
  /** The create revision of `key` while locking or holding the lock; -1 otherwise. */
  readonly revision: bigint;
  /**
   * The response header from when the lock was acquired (Go's `Header()`):
   * that of the txn that put the key when the lock was free, else that of the
   * read that found the key the oldest after waiting. Its revision is at or
   * after the previous holder's release.
   */
  readonly header: ResponseHeader | undefined;
  /**
   * Acquires the lock, waiting for the waiters before this one (Go's `Lock`).
   * Resolves with `header`. While waiting it rejects with:
   * - `canceled`/`deadline-exceeded` when the signal aborts (the key is removed);
   * - `lease-not-found` or `lease-expired` when the session's lease is lost,
   *   `closed` when the session is closed (the waiter never gets the lock);
   * - the error of any call that fails, after removing the key (as Go does).
   *
   * Locking again a mutex whose session already holds the lock resolves at once.
   */
  lock(options?: LockOptions): Promise<ResponseHeader>;
  /**
   * Acquires the lock only if no other session holds it or waits for it
   * (Go's `TryLock`): otherwise removes its key and rejects at once with an
   * `EtcdError` of kind `"locked"` (code `FailedPrecondition`).
   */
  tryLock(options?: LockOptions): Promise<ResponseHeader>;
  /** Releases the lock by deleting the key (Go's `Unlock`). Resolves with the delete's header. */
  unlock(options?: UnlockOptions): Promise<ResponseHeader>;
  /**
   * A txn condition that holds only while this mutex holds the lock (Go's
   * `IsOwner`): put it in the `compare` of a txn to fence writes, so that a
   * holder that lost the lock (its session died) cannot write any more.
   */
  isOwner(): Compare;
}

/** No key: the create revision of `"\0"` is never -1, so `isOwner()` fails. */
const NO_KEY = "\0";

/**
 * Creates a mutex on `prefix` for `session` (Go's `concurrency.NewMutex`).
 * Nothing is sent until `lock()` or `tryLock()`.
 */
export function createMutex(session: Session, prefix: string): Mutex {
  if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
  const { client } = session;
  const pfx = `${prefix}/`;
  let myKey = NO_KEY;
  let myRev = -1n;
  let hdr: ResponseHeader | undefined;

  /**
   * Puts the key if absent (or finds it), and reads the current holder, in
   * one txn (Go's `tryAcquire`). If the txn fails after it may have reached
   * etcd (an abort or a lost connection mid-call) and this mutex held no key
   * before, the key it may have created is removed again, so an aborted lock
   * never leaves a place in the queue behind.
   */
  async function tryAcquire(signal: AbortSignal | undefined): Promise<TxnResponse> {
    if (signal?.aborted) throw EtcdError.aborted(signal); // nothing sent, nothing to clean up
    const key = `${pfx}${session.lease.toString(16)}`;
    const hadKey = myKey !== NO_KEY;
    try {
      return await acquireTxn(key, signal);
    } catch (err) {
      if (!hadKey) await client.delete(key, { timeoutMs: session.ttl * 1000, retry: true }).catch(() => {});
      throw toEtcdError(err, signal);
    }
  }

  async function acquireTxn(key: string, signal: AbortSignal | undefined): Promise<TxnResponse> {
    const getOwner = op.get(pfx, { prefix: true, sort: { target: "create", order: "ascend" }, limit: 1, keysOnly: true });
    const resp = await client.txn(
      {
        compare: [compare.createRevision(key, "=", 0)],
        success: [op.put(key, "", { lease: session.lease }), getOwner],
        failure: [op.get(key, { keysOnly: true }), getOwner],
      },
      // Safe to apply twice (the second run finds the key), so it may be retried on failover.
      { retry: true, ...(signal ? { signal } : {}) },
    );
    myKey = key;
    myRev = resp.succeeded ? resp.header.revision : (firstKv(resp, 0)?.createRevision ?? -1n);
    return resp;
  }

  /** Whether the txn found no holder, or this session's key as the holder. */
  function holds(resp: TxnResponse): boolean {
    const owner = firstKv(resp, 1);
    return owner === undefined || owner.createRevision === myRev;
  }

  function reset(): void {
    myKey = NO_KEY;
    myRev = -1n;
  }

  async function deleteKey(key: string, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<ResponseHeader> {
    const r = await client.delete(key, { ...options, retry: true });
    if (myKey === key) reset();
    return r.header;
  }

  const mutex: Mutex = {
    session,
    prefix: pfx,
    get key() {
      return myKey;
    },
    get revision() {
      return myRev;
    },
    get header() {
      return hdr;
    },
    async lock(options = {}) {
      const { signal } = options;
      const resp = await tryAcquire(signal);
      if (holds(resp)) return (hdr = resp.header);
      const key = myKey;
      try {
        return (hdr = await waitTurn(session, { prefix: pfx, key, revision: myRev }, signal));
      } catch (err) {
        const e = toEtcdError(err, signal);
        // Like Go: give up the place in the queue (a no-op when the lease took the key already).
        await deleteKey(key, { timeoutMs: session.ttl * 1000 }).catch(() => {});
        throw e;
      }
    },
    async tryLock(options = {}) {
      const { signal } = options;
      const resp = await tryAcquire(signal);
      if (holds(resp)) return (hdr = resp.header);
      await deleteKey(myKey, signal ? { signal } : {});
      throw lockedError(pfx);
    },
    async unlock(options = {}) {
      return deleteKey(myKey, options.signal ? { signal: options.signal } : {});
    },
    isOwner() {
      return compare.createRevision(myKey, "=", myRev);
    },
  };
  return mutex;
}

/** The first key-value of the get at `index` in a txn's responses. */
function firstKv(resp: TxnResponse, index: number) {
  const r = resp.responses[index];
  return r?.type === "get" ? r.response.kvs[0] : undefined;
}
