/**
 * Software transactional memory (Go's `concurrency.NewSTM`): run a function
 * that reads and writes keys, and commit its writes atomically, retrying it
 * on conflict as the isolation level requires.
 */
import {
  type Bytes,
  type Client,
  type Compare,
  EtcdError,
  type GetResponse,
  type Op,
  type PutOptions,
  type TxnResponse,
  compare,
  op,
  text,
  Code,
} from "../api.js";

/**
 * How a transaction conflicts with concurrent writes (Go's `Isolation`).
 * - `"serializable-snapshot"` (default): serializable, and also fails when a
 *   key it writes changed after its first read (Go's `SerializableSnapshot`).
 * - `"serializable"`: every read sees the store at the revision of the first
 *   read; commit fails when a key read changed since (Go's `Serializable`).
 * - `"repeatable-reads"`: reading a key twice gives the same value; commit
 *   fails when a key read changed since it was read (Go's `RepeatableReads`).
 *   Reads of different keys may come from different revisions.
 * - `"read-committed"`: reads see any committed value and commit never
 *   conflicts (Go's `ReadCommitted`): not serializable; concurrent
 *   read-modify-write transactions can lose updates.
 */
export type Isolation = "serializable-snapshot" | "serializable" | "repeatable-reads" | "read-committed";

/** Options of {@link stm}. */
export interface StmOptions {
  /** Default: `"serializable-snapshot"`. */
  isolation?: Isolation;
  /**
   * Keys to read in one request before the function runs (Go's
   * `WithPrefetch`), saving a round trip per key the function reads anyway.
   */
  prefetch?: readonly string[];
  /**
   * Aborts the transaction for good (Go's `WithAbortContext`): every read and
   * the commit use it, and no retry starts after it aborted.
   */
  signal?: AbortSignal;
}

/**
 * One attempt of a transaction. Reads go to etcd (or the attempt's read set);
 * writes are buffered and sent together at commit. The function may run
 * several times: keep side effects out of it.
 */
export interface StmTx {
  /**
   * The value of `key` as text: the value this attempt wrote to it, else the
   * stored value, `""` when missing (like Go). The key joins the read set.
   */
  get(key: string): Promise<string>;
  /** Like `get`, as bytes (empty when missing). */
  getBytes(key: string): Promise<Uint8Array>;
  /** Buffers a put of `key` (Go's `Put`, with the same options as `client.put`). */
  put(key: string, value: Bytes, options?: PutOptions): void;
  /** Buffers a delete of `key` (a later `get` of it in this attempt returns `""`). */
  del(key: string): void;
  /** The mod revision of `key` as read by this attempt (0 when missing); the key joins the read set. */
  rev(key: string): Promise<bigint>;
}

/** A buffered write: the value a later get returns, and the op to commit. */
interface Write {
  value: Uint8Array;
  op: Op;
}

const EMPTY = new Uint8Array(0);

const valueOf = (r: GetResponse): Uint8Array => r.kvs[0]?.value ?? EMPTY;

/**
 * Runs `fn` as a transaction and commits its writes (Go's
 * `concurrency.NewSTM`). On conflict, `fn` runs again on fresh reads, until a
 * commit succeeds; resolves with that commit's txn response.
 *
 * ```ts
 * await stm(client, async (s) => {
 *   const from = Number(await s.get("acct/a")), to = Number(await s.get("acct/b"));
 *   s.put("acct/a", String(from - 10));
 *   s.put("acct/b", String(to + 10));
 * });
 * ```
 *
 * Rejects with what `fn` throws (nothing is committed), with the error of a
 * failed read or commit (even when `fn` caught it), or with `canceled` when
 * the signal aborts.
 */
export async function stm(
  client: Client,
  fn: (s: StmTx) => Promise<void> | void,
  options: StmOptions = {},
): Promise<TxnResponse> {
  const isolation = options.isolation ?? "serializable-snapshot";
  const { signal } = options;
  const prefetch = [...(options.prefetch ?? [])];
  const serializable = isolation === "serializable-snapshot" || isolation === "serializable";
  if (!serializable && isolation !== "repeatable-reads" && isolation !== "read-committed") {
    throw new TypeError(`isolation must be serializable-snapshot, serializable, repeatable-reads or read-committed, got ${String(isolation)}`);
  }
  const callOptions = signal ? { signal } : {};

  // Go's stmSerializable keeps these across attempts: the read set loaded
  // from a failed commit's else branch, and the read options.
  let prefetched = new Map<string, GetResponse>();
  let pinnedRevision: bigint | undefined;

  for (;;) {
    if (signal?.aborted) throw EtcdError.aborted(signal);
    const rset = new Map<string, GetResponse>();
    const wset = new Map<string, Write>();
    let failure: { error: unknown } | undefined;
    let live = true;
    let queue: Promise<unknown> = Promise.resolve();

    const ended = () => new TypeError("this StmTx belongs to an attempt that has ended");

    /** Reads keys in one txn unless one is in the read set already (Go's `stm.fetch`); returns the first key's response. */
    const fetch = async (keys: readonly string[]): Promise<GetResponse> => {
      for (const key of keys) {
        const known = rset.get(key);
        if (known) return known;
      }
      // Serializable levels pin reads to the first read's revision once it is
      // known; the weaker levels read the member's local store (Go's WithSerializable).
      const getOptions = !serializable
        ? { serializable: true }
        : pinnedRevision === undefined
          ? {}
          : { revision: pinnedRevision, serializable: true };
      // A read-only txn: safe to retry on failover (the commit below is not).
      const resp = await client.txn({ success: keys.map((k) => op.get(k, getOptions)) }, { ...callOptions, retry: true });
      keys.forEach((k, i) => rset.set(k, getResponseAt(resp, i)));
      return rset.get(keys[0]!)!;
    };

    /** Go's `Get`: the attempt's own write, else the read set (or prefetched data), else etcd. */
    const getValue = async (keys: readonly string[]): Promise<Uint8Array> => {
      for (const key of keys) {
        const w = wset.get(key);
        if (w) return w.value;
      }
      if (!serializable) return valueOf(await fetch(keys));
      const firstRead = rset.size === 0;
      for (const key of keys) {
        const p = prefetched.get(key);
        if (p) {
          prefetched.delete(key);
          rset.set(key, p);
        }
      }
      const resp = await fetch(keys);
      // The transaction's base revision is that of its first read.
      if (firstRead) pinnedRevision = resp.header.revision;
      return valueOf(resp);
    };

    /**
     * Runs reads one at a time, in call order (fn may start several at once).
     * A failed read fails the whole transaction, even if fn catches it (Go panics there).
     */
    const serial = <T>(task: () => Promise<T>): Promise<T> => {
      const result = queue.then(async () => {
        if (!live) throw ended();
        if (failure) throw failure.error;
        try {
          return await task();
        } catch (err) {
          failure ??= { error: signal?.aborted ? EtcdError.aborted(signal) : EtcdError.from(err) };
          throw failure.error;
        }
      });
      queue = result.catch(() => {});
      return result;
    };

    const checkKey = (key: string) => {
      if (typeof key !== "string") throw new TypeError("STM keys are strings");
      if (!live) throw ended();
    };

    const tx: StmTx = {
      async get(key) {
        checkKey(key);
        return text(await serial(() => getValue([key])));
      },
      async getBytes(key) {
        checkKey(key);
        return serial(() => getValue([key]));
      },
      put(key, value, putOptions) {
        checkKey(key);
        const o = op.put(key, value, putOptions);
        wset.set(key, { value: o.request.value, op: o });
      },
      del(key) {
        checkKey(key);
        wset.set(key, { value: EMPTY, op: op.delete(key) });
      },
      async rev(key) {
        checkKey(key);
        return serial(async () => {
          // Go: stmSerializable.Rev reads the key first (which pins the revision), then both use the read set.
          if (serializable) await getValue([key]);
          return (await fetch([key])).kvs[0]?.modRevision ?? 0n;
        });
      },
    };

    try {
      if (prefetch.length > 0) await serial(() => getValue(prefetch));
      await fn(tx);
      await queue;
    } catch (err) {
      live = false;
      throw failure ? failure.error : err;
    }
    live = false;
    if (failure) throw failure.error;

    // Commit: the writes, if nothing the isolation level guards changed.
    const conflicts: Compare[] = [];
    if (isolation !== "read-committed") {
      for (const [key, r] of rset) conflicts.push(compare.modRevision(key, "=", r.kvs[0]?.modRevision ?? 0n));
    }
    if (isolation === "serializable-snapshot") {
      // No write since the first read: mod revision < first read's revision + 1.
      let first = 2n ** 63n - 2n;
      for (const r of rset.values()) if (r.header.revision < first) first = r.header.revision;
      for (const key of wset.keys()) conflicts.push(compare.modRevision(key, "<", first + 1n));
    }
    const readKeys = [...rset.keys()];
    let resp: TxnResponse;
    try {
      resp = await client.txn(
        {
          compare: conflicts,
          success: [...wset.values()].map((w) => w.op),
          // Serializable levels reload the read set on conflict, saving the retry a round trip.
          failure: serializable ? readKeys.map((k) => op.get(k)) : [],
        },
        callOptions,
      );
    } catch (err) {
      throw signal?.aborted ? EtcdError.aborted(signal) : EtcdError.from(err);
    }
    if (resp.succeeded) return resp;
    if (serializable) {
      prefetched = new Map(readKeys.map((k, i) => [k, getResponseAt(resp, i)]));
      pinnedRevision = undefined;
    }
  }
}

function getResponseAt(resp: TxnResponse, index: number): GetResponse {
  const r = resp.responses[index];
  if (r?.type !== "get") throw new EtcdError("internal", Code.Internal, "STM: a txn answered without the expected get");
  return r.response;
}
