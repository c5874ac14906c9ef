/**
 * Leader election (Go's `concurrency.Election`).
 */
import {
  type Bytes,
  type Client,
  type Compare,
  EtcdError,
  type Int64,
  type KeyValue,
  type ResponseHeader,
  type TxnResponse,
  compare,
  op,
  toBytes,
} from "../api.js";
import { toInt64 } from "../util/int64.js";
import { notLeaderError, toEtcdError } from "./errors.js";
import type { Session } from "./session.js";
import { waitTurn } from "./wait.js";

/** The current leader of an election: its key-value pair and when it was read. */
export interface Leader {
  /** The header of the read, or for `observe()`, the revision at which this became the leader's state. */
  header: ResponseHeader;
  /** The leader's key, `<prefix>/<lease hex>`. */
  key: Uint8Array;
  /** The leader's value, as campaigned or last proclaimed. */
  value: Uint8Array;
  /** The revision that created the leader's key (its candidacy). */
  createRevision: bigint;
  /** The revision of the value's last change (the campaign or last proclaim). */
  modRevision: bigint;
  /** The leader's session lease. */
  lease: bigint;
}

/** Options of `campaign()`, `proclaim()`, `resign()` and `leader()`. */
export interface ElectionCallOptions {
  /**
   * Aborts the call. An abort while `campaign()` waits rejects with
   * `canceled` (or `deadline-exceeded`) and withdraws the candidacy.
   */
  signal?: AbortSignal;
}

/** Options of `observe()`. */
export interface ObserveOptions {
  /** Aborting it ends the iteration quietly. */
  signal?: AbortSignal;
}

/**
 * An election on a prefix (Go's `concurrency.Election`). Each campaigner puts
 * its key `<prefix>/<lease hex>` with its session's lease; the oldest key is
 * the leader. A leader that resigns, or whose session dies, hands leadership
 * to the next oldest candidate.
 *
 * An election object belongs to one session. Do not campaign on one object
 * concurrently.
 */
export interface Election {
  /** The session whose lease holds the candidacy key. */
  readonly session: Session;
  /** The prefix the candidates' keys are under, with a trailing `/`. */
  readonly prefix: string;
  /**
   * This campaigner's key while campaigning or leading, `""` otherwise (Go's
   * `Key()`).
   */
  readonly key: string;
  /** The create revision of `key` while campaigning or leading, 0 otherwise (Go's `Rev()`). */
  readonly revision: bigint;
  /** The header of the last successful campaign, proclaim or resign (Go's `Header()`). */
  readonly header: ResponseHeader | undefined;
  /**
   * Puts `value` as a candidate and waits until it is the leader (Go's
   * `Campaign`). If this session is already a candidate, its key is reused
   * (and its value proclaimed when it differs). Rejects with:
   * - `canceled`/`deadline-exceeded` when the signal aborts (the candidacy is withdrawn);
   * - `lease-not-found` or `lease-expired` when the session's lease is lost,
   *   `closed` when the session is closed;
   * - the error of any call that fails (e.g. `compacted`).
   */
  campaign(value: Bytes, options?: ElectionCallOptions): Promise<void>;
  /**
   * Changes the leader's value without a new election (Go's `Proclaim`).
   * Rejects with `not-leader` when this campaigner is not the leader (never
   * campaigned, resigned, or lost its key with its lease).
   */
  proclaim(value: Bytes, options?: ElectionCallOptions): Promise<void>;
  /** Gives up leadership (or the candidacy), so that the next candidate leads (Go's `Resign`). No-op when not a candidate. */
  resign(options?: ElectionCallOptions): Promise<void>;
  /**
   * The current leader, or `undefined` when there is none. (Go's `Leader`
   * returns `ErrElectionNoLeader` instead.)
   */
  leader(options?: ElectionCallOptions): Promise<Leader | undefined>;
  /**
   * Every leader change, in revision order (Go's `Observe`): the current
   * leader first (when there is one), then each new leader and each value it
   * proclaims. Unlike Go's, it never skips a leader that lasted only briefly:
   * it follows every candidate under the prefix with one watch. Periods
   * without a leader are not reported. The iteration ends quietly when the
   * signal aborts or the client closes, and throws the watch's error
   * otherwise (e.g. `compacted`).
   */
  observe(options?: ObserveOptions): AsyncIterableIterator<Leader>;
  /**
   * Txn conditions that hold only while this campaigner is the leader with
   * the candidacy it won: its key still has the same create revision, and no
   * key under the prefix is older. Spread them into a txn's `compare` to fence
   * writes against a deposed leader: `compare: [...election.isLeader()]`.
   * (Go has no such helper; comparing only the key's create revision, as
   * `Mutex.isOwner()` does, would also hold for a campaigner still waiting.)
   */
  isLeader(): Compare[];
}

/**
 * Creates an election on `prefix` for `session` (Go's
 * `concurrency.NewElection`). Nothing is sent until a call.
 */
export function createElection(session: Session, prefix: string): Election {
  if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
  return build(session, `${prefix}/`, undefined);
}

/**
 * Continues an election as the leader it already is, e.g. after a restart
 * with a session that took over the old lease (`createSession(client, {
 * lease })`), from the leader's key and create revision (Go's
 * `ResumeElection`, with `election.key` and `election.revision`). Nothing is
 * checked until a call: `proclaim()` rejects with `not-leader` when the key
 * is gone or was created again. `prefix` is given as to `createElection()`
 * (Go's `ResumeElection` takes it with the trailing slash; here both add it).
 */
export function resumeElection(session: Session, prefix: string, leaderKey: string, leaderRevision: Int64): Election {
  if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
  if (typeof leaderKey !== "string" || leaderKey === "") throw new TypeError("leaderKey must be a non-empty string");
  return build(session, `${prefix}/`, { key: leaderKey, revision: toInt64(leaderRevision, "leaderRevision", 1n) });
}

function build(session: Session, pfx: string, resumed: { key: string; revision: bigint } | undefined): Election {
  const { client } = session;
  // Go's leaderKey/leaderRev/leaderSession: set while campaigning or leading.
  let leaderKey = resumed?.key ?? "";
  let leaderRev = resumed?.revision ?? 0n;
  let candidate = resumed !== undefined;
  let hdr: ResponseHeader | undefined;

  // Every txn here is safe to apply twice (a campaign's second run finds its
  // key; proclaim and resign compare the create revision), so each may be
  // retried on failover.
  const callOptions = (signal: AbortSignal | undefined) => (signal ? { signal, retry: true } : { retry: true });
  const clear = () => {
    leaderKey = "";
    leaderRev = 0n;
    candidate = false;
  };

  async function proclaim(value: Bytes, options: ElectionCallOptions = {}): Promise<void> {
    const v = toBytes(value, "value");
    if (!candidate) throw notLeaderError(pfx);
    const resp = await client.txn(
      {
        compare: [compare.createRevision(leaderKey, "=", leaderRev)],
        success: [op.put(leaderKey, v, { lease: session.lease })],
      },
      callOptions(options.signal),
    );
    if (!resp.succeeded) {
      clear();
      throw notLeaderError(pfx);
    }
    hdr = resp.header;
  }

  async function resign(options: ElectionCallOptions & { timeoutMs?: number } = {}): Promise<void> {
    if (!candidate) return;
    try {
      const resp = await client.txn(
        { compare: [compare.createRevision(leaderKey, "=", leaderRev)], success: [op.delete(leaderKey)] },
        { ...callOptions(options.signal), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) },
      );
      hdr = resp.header;
    } finally {
      clear();
    }
  }

  const election: Election = {
    session,
    prefix: pfx,
    get key() {
      return leaderKey;
    },
    get revision() {
      return leaderRev;
    },
    get header() {
      return hdr;
    },
    async campaign(value, options = {}) {
      const { signal } = options;
      const v = toBytes(value, "value");
      if (signal?.aborted) throw EtcdError.aborted(signal);
      const key = `${pfx}${session.lease.toString(16)}`;
      const wasCandidate = candidate;
      let resp: Awaited<ReturnType<typeof client.txn>>;
      try {
        resp = await client.txn(
          {
            compare: [compare.createRevision(key, "=", 0)],
            success: [op.put(key, v, { lease: session.lease })],
            failure: [op.get(key)],
          },
          callOptions(signal),
        );
      } catch (err) {
        // The txn may have reached etcd before the abort or the lost connection:
        // take back a candidacy key this call may have created.
        if (!wasCandidate) await client.delete(key, { timeoutMs: session.ttl * 1000, retry: true }).catch(() => {});
        throw toEtcdError(err, signal);
      }
      leaderKey = key;
      leaderRev = resp.header.revision;
      candidate = true;
      if (!resp.succeeded) {
        const kv = firstKv(resp);
        leaderRev = kv?.createRevision ?? -1n;
        if (!kv || !equal(kv.value, v)) {
          try {
            await proclaim(v, options);
          } catch (err) {
            await resign({ timeoutMs: session.ttl * 1000 }).catch(() => {}); // not with the (maybe aborted) signal
            throw toEtcdError(err, signal);
          }
        }
      }
      try {
        await waitTurn(session, { prefix: pfx, key, revision: leaderRev }, signal);
      } catch (err) {
        // Like Go: withdraw after an abort; otherwise (lease lost, call failed) just forget the candidacy.
        if (signal?.aborted) await resign({ timeoutMs: session.ttl * 1000 }).catch(() => {});
        else clear();
        throw toEtcdError(err, signal);
      }
      hdr = resp.header;
    },
    proclaim,
    resign,
    async leader(options = {}) {
      const r = await client.get(pfx, {
        prefix: true,
        sort: { target: "create", order: "ascend" },
        limit: 1,
        ...callOptions(options.signal),
      });
      const kv = r.kvs[0];
      return kv && leaderOf(r.header, kv);
    },
    observe(options = {}) {
      return observe(client, pfx, options.signal);
    },
    isLeader() {
      if (!candidate) return [compare.createRevision("\0", "=", -1)];
      return [
        compare.createRevision(leaderKey, "=", leaderRev),
        compare.createRevision(pfx, ">", leaderRev - 1n, { prefix: true }),
      ];
    },
  };
  return election;
}

/** Every leader change under `pfx`, in revision order, from one read and one watch of the whole prefix. */
async function* observe(client: Client, pfx: string, signal: AbortSignal | undefined): AsyncGenerator<Leader, void, undefined> {
  if (signal?.aborted) return;
  let start;
  try {
    start = await client.get(pfx, { prefix: true, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) return;
    throw EtcdError.from(err);
  }
  const candidates = new Map<string, KeyValue>();
  for (const kv of start.kvs) candidates.set(hex(kv.key), kv);
  let current = oldest(candidates);
  if (current) yield leaderOf(start.header, current);

  const watcher = client.watch(pfx, { prefix: true, startRevision: start.header.revision + 1n, ...(signal ? { signal } : {}) });
  try {
    for await (const { header, events } of watcher) {
      // Apply each revision's events together (a txn can change several keys at once), then see who leads.
      for (let i = 0; i < events.length; ) {
        const revision = events[i]!.kv.modRevision;
        for (; i < events.length && events[i]!.kv.modRevision === revision; i++) {
          const e = events[i]!;
          if (e.type === "put") candidates.set(hex(e.kv.key), e.kv);
          else candidates.delete(hex(e.kv.key));
        }
        const next = oldest(candidates);
        const changed = next !== undefined && (current === undefined || !equal(next.key, current.key) || next.modRevision !== current.modRevision);
        current = next;
        if (changed) yield leaderOf({ ...header, revision }, next);
      }
    }
  } finally {
    watcher.close();
  }
}

function oldest(candidates: Map<string, KeyValue>): KeyValue | undefined {
  let first: KeyValue | undefined;
  for (const kv of candidates.values()) if (!first || kv.createRevision < first.createRevision) first = kv;
  return first;
}

function leaderOf(header: ResponseHeader, kv: KeyValue): Leader {
  return {
    header,
    key: kv.key,
    value: kv.value,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    lease: kv.lease,
  };
}

function firstKv(resp: TxnResponse): KeyValue | undefined {
  const r = resp.responses[0];
  return r?.type === "get" ? r.response.kvs[0] : undefined;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
