/**
 * The concurrency recipes of Go's `clientv3/concurrency`, on the public
 * client API: sessions, mutexes, elections and software transactional
 * memory. Runtime-neutral (Node, browsers, Deno, workers).
 *
 * ```ts
 * import { connect } from "etcd-connect";
 * import { createSession, createMutex, createElection, stm } from "./concurrency/index.js"; // no package entry yet
 *
 * await using session = await createSession(client, { ttl: 10 });
 * const mutex = createMutex(session, "locks/job");
 * await mutex.lock({ signal: AbortSignal.timeout(5000) });
 * try {
 *   // fence writes with the lock: they fail once the lock is lost
 *   await client.txn({ compare: [mutex.isOwner()], success: [op.put("job/state", "running")] });
 * } finally {
 *   await mutex.unlock();
 * }
 * ```
 *
 * Errors are `EtcdError`s: `tryLock()` refuses with kind `"locked"`,
 * `proclaim()` by a non-leader with `"not-leader"`, and a lock or campaign
 * whose session lost its lease fails with the lease's error
 * (`"lease-not-found"` or `"lease-expired"`).
 * @module
 */

/**
 * Sessions: a lease kept alive in the background (Go's `concurrency.Session`).
 * `createSession(client, { ttl, lease, signal })`.
 */
export { createSession, DEFAULT_SESSION_TTL, type Session, type SessionOptions } from "./session.js";

/**
 * Fair distributed locks (Go's `concurrency.Mutex`):
 * `createMutex(session, prefix)` with `lock`, `tryLock`, `unlock`, `isOwner`.
 */
export { createMutex, type Mutex, type LockOptions, type UnlockOptions } from "./mutex.js";

/**
 * Leader election (Go's `concurrency.Election`): `createElection(session,
 * prefix)` with `campaign`, `proclaim`, `resign`, `leader`, `observe`,
 * `isLeader`; `resumeElection` continues as an existing leader.
 */
export {
  createElection,
  resumeElection,
  type Election,
  type Leader,
  type ElectionCallOptions,
  type ObserveOptions,
} from "./election.js";

/**
 * Software transactional memory (Go's `concurrency.NewSTM`):
 * `stm(client, async (s) => { ... }, { isolation, prefetch, signal })`.
 */
export { stm, type StmTx, type StmOptions, type Isolation } from "./stm.js";
