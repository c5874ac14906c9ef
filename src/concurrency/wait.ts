/**
 * Waiting for one's turn under a prefix: Go's `waitDeletes`, shared by the
 * mutex and the election.
 * @internal
 */
import { type Client, Code, EtcdError, type ResponseHeader } from "../api.js";
import { keyLostError } from "./errors.js";
import { type Session, sessionSignal } from "./session.js";
import { anySignal } from "../util/any-signal.js";

/** A key under a mutex or election prefix, with the revision that created it. @internal */
export interface Turn {
  /** The prefix, with its trailing `/`. */
  prefix: string;
  /** The session's key under the prefix. */
  key: string;
  /** The key's create revision. */
  revision: bigint;
}

/**
 * Waits until `turn.key` is the oldest key under `turn.prefix`, like Go's
 * `waitDeletes(prefix, revision - 1)`: it repeatedly takes the newest key
 * created before `turn.revision` and waits for its deletion, watching from the
 * revision it was read at, so no deletion is missed and only the next waiter
 * wakes up when a holder leaves.
 *
 * Unlike Go, it also stops waiting as soon as the session's own key is
 * deleted (its lease was revoked or expired: `lease-not-found`), the session
 * loses its lease (the keeper's error) or is closed (`closed`), and it checks
 * at the end that the own key still exists with the same create revision
 * (Go's mutex does that check, its election does not). Resolves with the
 * header of that check.
 * @throws EtcdError: `canceled`/`deadline-exceeded` when `signal` aborts, the
 *   lease errors above, or any call's error (e.g. `compacted`).
 */
export async function waitTurn(session: Session, turn: Turn, signal: AbortSignal | undefined): Promise<ResponseHeader> {
  const { client } = session;
  const ended = sessionSignal(session);
  const stop = new AbortController();
  const inner = anySignal(signal ? [signal, ended, stop.signal] : [ended, stop.signal]);
  const failure = (): EtcdError | undefined => {
    if (signal?.aborted) return EtcdError.aborted(signal);
    if (ended.aborted) return EtcdError.from(ended.reason);
    if (stop.signal.aborted) return EtcdError.from(stop.signal.reason);
    return undefined;
  };
  if (inner.aborted) throw failure();

  // The own key's deletion tells at once that the lease is gone: the keeper
  // would only notice at its next renewal, up to TTL/3 later.
  void waitDelete(client, turn.key, turn.revision + 1n, inner).then(
    () => stop.abort(keyLostError(turn.key, session.lease)),
    (err) => {
      if (!inner.aborted) stop.abort(EtcdError.from(err));
    },
  );
  try {
    for (;;) {
      const r = await client.get(turn.prefix, {
        prefix: true,
        sort: { target: "create", order: "descend" },
        limit: 1,
        maxCreateRevision: turn.revision - 1n,
        keysOnly: true,
        signal: inner,
      });
      const last = r.kvs[0];
      if (!last) break;
      await waitDelete(client, last.key, r.header.revision, inner);
    }
    const own = await client.get(turn.key, { keysOnly: true, signal: inner });
    if (own.kvs[0]?.createRevision !== turn.revision) throw keyLostError(turn.key, session.lease);
    return own.header;
  } catch (err) {
    throw failure() ?? EtcdError.from(err);
  } finally {
    stop.abort();
  }
}

/**
 * Resolves once `key` is deleted at or after `revision` (Go's `waitDelete`).
 * Rejects when the watch fails or ends without a deletion (the signal
 * aborted, or the client was closed).
 */
async function waitDelete(client: Client, key: string | Uint8Array, revision: bigint, signal: AbortSignal): Promise<void> {
  const watcher = client.watch(key, { startRevision: revision, filters: { noPut: true }, signal });
  for await (const response of watcher) {
    if (response.events.some((e) => e.type === "delete")) return;
  }
  if (signal.aborted) throw signal.reason;
  throw new EtcdError("closed", Code.Canceled, "the watch ended before the key was deleted (the client is closed)");
}
