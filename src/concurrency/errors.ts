/**
 * Errors of the concurrency recipes. They are plain `EtcdError`s: the project
 * has one error class, matched on `kind`.
 * @internal
 */
import { Code, EtcdError, type EtcdErrorKind } from "../api.js";

/** The kind of `tryLock()`'s refusal (Go's `ErrLocked`). */
const LOCKED: EtcdErrorKind = "locked";

/** `tryLock()` found the mutex held by another session (Go's `ErrLocked`). */
export function lockedError(prefix: string): EtcdError {
  return new EtcdError(LOCKED, Code.FailedPrecondition, `mutex: ${prefix} is locked by another session`);
}

/** A proclaim or a fenced call by a campaigner that is not (or no longer) the leader (Go's `ErrElectionNotLeader`). */
export function notLeaderError(prefix: string): EtcdError {
  return new EtcdError("not-leader", Code.FailedPrecondition, `election: not leader of ${prefix}`);
}

/**
 * The session's own key under a mutex or election prefix is gone: its lease
 * was revoked or expired (Go's `ErrSessionExpired`).
 */
export function keyLostError(key: string, lease: bigint): EtcdError {
  return new EtcdError(
    "lease-not-found",
    Code.NotFound,
    `${key} was deleted: the session's lease ${lease.toString(16)} was revoked or expired`,
  );
}

/** The session was closed while a lock or campaign was waiting. */
export function sessionClosedError(lease: bigint): EtcdError {
  return new EtcdError("closed", Code.Canceled, `the session of lease ${lease.toString(16)} is closed`);
}

/** Normalises an error, preferring the caller's abort reason when its signal aborted. */
export function toEtcdError(err: unknown, signal: AbortSignal | undefined): EtcdError {
  if (signal?.aborted) return EtcdError.aborted(signal);
  return EtcdError.from(err);
}
