import { type Bytes, toBytes } from "../util/bytes.js";
import type { ClientContext } from "../context.js";
import { type KV, type OpRunner, createKV, createOpRunner } from "../kv/kv.js";
import type { DeleteOp, GetOp, PutOp, TxnOp } from "../op/op.js";
import type { Lease } from "../lease/lease.js";
import { resolveRange } from "../op/range.js";
import type { WatchFn } from "../watch/watch.js";
import type { WatchOptions, WatchResponse, Watcher } from "../watch/types.js";
import { type Prefixer, createPrefixer } from "./prefix.js";

/**
 * A view of the client inside a key prefix (Go's `namespace.NewKV`,
 * `NewWatcher`, `NewLease`): KV calls, txns (compares and ops), watches and
 * lease key listings work as if the prefix were the root, and never touch or
 * show a key outside it. It shares the client's connections and watch
 * stream; closing the client ends it.
 */
export interface Namespace extends KV {
  /** The full prefix of this view (nested views add up). */
  readonly prefix: Uint8Array;
  /** Watches inside the prefix; event keys come without it. */
  watch(key: Bytes, options?: WatchOptions): Watcher;
  /** The client's leases; `timeToLive` with keys lists only the keys inside the prefix, without it. */
  readonly lease: Lease;
  /** A view nested inside this one: its prefix is this prefix followed by `prefix`. */
  namespace(prefix: Bytes): Namespace;
}

/** Builds a namespaced view over the client's facades. @internal */
export function createNamespace(ctx: ClientContext, watch: WatchFn, lease: Lease, prefix: Bytes): Namespace {
  const p = toBytes(prefix, "prefix");
  if (p.length === 0) throw new TypeError("a namespace needs a non-empty prefix");
  const ns = createPrefixer(p);
  return {
    ...createKV(ctx, prefixed(createOpRunner(ctx), ns)),
    prefix: p,
    watch(key, options = {}) {
      const [k, end] = ns.range(...resolveRange(key, options));
      const { prefix: _p, fromKey: _f, end: _e, ...rest } = options;
      return unprefixed(watch(k, end.length === 0 ? rest : { ...rest, end }), ns);
    },
    lease: {
      ...lease,
      async timeToLive(id, options) {
        const r = await lease.timeToLive(id, options);
        r.keys = r.keys.filter((key) => startsWith(key, p)).map((key) => key.subarray(p.length));
        return r;
      },
    },
    namespace(inner) {
      const q = toBytes(inner, "prefix");
      const joined = new Uint8Array(p.length + q.length);
      joined.set(p);
      joined.set(q, p.length);
      return createNamespace(ctx, watch, lease, joined);
    },
  };
}

/** The decorator: ops go to `run` inside the prefix, and what comes back has the prefix taken off its keys. */
function prefixed(run: OpRunner, ns: Prefixer): OpRunner {
  return {
    async get(o, options) {
      const r = await run.get(ns.op(o) as GetOp, options);
      for (const kv of r.kvs) ns.kv(kv);
      return r;
    },
    async *getStream(o, options) {
      for await (const chunk of run.getStream(ns.op(o) as GetOp, options)) {
        for (const kv of chunk.kvs) ns.kv(kv);
        yield chunk;
      }
    },
    async put(o, options) {
      const r = await run.put(ns.op(o) as PutOp, options);
      ns.kv(r.prevKv);
      return r;
    },
    async delete(o, options) {
      const r = await run.delete(ns.op(o) as DeleteOp, options);
      for (const kv of r.prevKvs) ns.kv(kv);
      return r;
    },
    async txn(o, options) {
      const r = await run.txn(ns.op(o) as TxnOp, options);
      for (const x of r.responses) ns.opResponse(x);
      return r;
    },
  };
}

/** A watcher whose events come without the prefix. */
function unprefixed(inner: Watcher, ns: Prefixer): Watcher {
  return {
    get state() {
      return inner.state;
    },
    requestProgress: () => inner.requestProgress(),
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner[Symbol.asyncDispose](),
    [Symbol.asyncIterator]() {
      const it = inner[Symbol.asyncIterator]();
      return {
        async next(): Promise<IteratorResult<WatchResponse>> {
          const r = await it.next();
          if (!r.done) {
            for (const e of r.value.events) {
              ns.kv(e.kv);
              ns.kv(e.prevKv);
            }
          }
          return r;
        },
        async return() {
          return (await it.return?.()) ?? { done: true, value: undefined };
        },
      };
    },
  };
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
