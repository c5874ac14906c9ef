import {
  DeleteRangeRequestSchema,
  PutRequestSchema,
  RangeRequestSchema,
  TxnRequestSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { Bytes } from "../util/bytes.js";
import type { ClientContext } from "../context.js";
import { type Int64, toInt64 } from "../util/int64.js";
import {
  type DeleteOp,
  type DeleteOptions,
  type GetOp,
  type GetOptions,
  type Op,
  type PutOp,
  type PutOptions,
  type TxnOp,
  type TxnSpec,
  op,
} from "../op/op.js";
import { runServerStream } from "../call.js";
import { type ResponseHeader, header } from "../header.js";
import { needsVersion } from "../errors.js";
import type { CallOptions } from "../options.js";
import { checkRequestSize, opSizeBound } from "../op/request-size.js";
import {
  type CompactResponse,
  type DeleteResponse,
  type GetResponse,
  type KeyValue,
  type OpResponse,
  type PutResponse,
  type TxnResponse,
  deleteResponse,
  getResponse,
  putResponse,
  txnResponse,
} from "./responses.js";

/** Options of a compaction. */
export interface CompactOptions {
  /**
   * Wait until the compaction is physically applied in the backend, so that
   * compacted entries are gone. Default: false.
   */
  physical?: boolean;
}

/** One chunk of `getStream()`: the next keys in key order; the last chunk also says how the read ended. */
export interface GetStreamChunk {
  /** The chunk's pairs, following the previous chunk's in key order. */
  kvs: KeyValue[];
  /**
   * On the last chunk only: the revision every chunk was read at (`header.revision`), whether `limit` left keys
   * out (`more`) and how many keys match in all (`count`), as a get's response has them.
   */
  last?: {
    /** Header of the member that answered; `header.revision` is the revision every chunk was read at. */
    header: ResponseHeader;
    /** Whether more keys match than `limit` returned. */
    more: boolean;
    /** How many keys match in all. */
    count: bigint;
  };
}

/** The key-value calls of a client (Go's `clientv3.KV`). */
export interface KV {
  /** Reads a key, a prefix (`prefix`), a range (`end`) or every key from one on (`fromKey`). */
  get(key: Bytes, options?: GetOptions & CallOptions): Promise<GetResponse>;
  /**
   * Reads a key range in chunks as etcd streams them (etcd 3.7+ `RangeStream`, Go's `KV.GetStream`), all at one
   * revision: for ranges too large to hold or send as one response. Takes get's options except `sort` and the
   * min/max revision filters (a TypeError before sending). `break`, `signal` or `timeoutMs` (for the whole stream)
   * end the call. On etcd before 3.7 the iteration throws `unimplemented`, saying so.
   */
  getStream(key: Bytes, options?: GetOptions & CallOptions): AsyncIterable<GetStreamChunk>;
  /** Writes one key. */
  put(key: Bytes, value: Bytes, options?: PutOptions & CallOptions): Promise<PutResponse>;
  /** Deletes a key, a prefix or a range. */
  delete(key: Bytes, options?: DeleteOptions & CallOptions): Promise<DeleteResponse>;
  /** Runs a transaction: `success` when every compare holds, else `failure`. */
  txn(spec: TxnSpec, options?: CallOptions): Promise<TxnResponse>;
  /** Compacts the key history up to `revision` (exclusive). */
  compact(revision: Int64, options?: CompactOptions & CallOptions): Promise<CompactResponse>;
  /** Runs one op built with `op.*` (Go's `KV.Do`). */
  do(operation: Op, options?: CallOptions): Promise<OpResponse>;
}

/**
 * Runs built ops against etcd: what the KV facade is made of, and what a namespace decorates (Go's `namespace`
 * wraps `KV.Do` the same way). Each checks the request's size before sending. @internal
 */
export interface OpRunner {
  get(o: GetOp, options: CallOptions | undefined): Promise<GetResponse>;
  getStream(o: GetOp, options: CallOptions | undefined): AsyncGenerator<GetStreamChunk>;
  put(o: PutOp, options: CallOptions | undefined): Promise<PutResponse>;
  delete(o: DeleteOp, options: CallOptions | undefined): Promise<DeleteResponse>;
  txn(o: TxnOp, options: CallOptions | undefined): Promise<TxnResponse>;
}

/** The op runner over a client context's KV service. @internal */
export function createOpRunner(ctx: ClientContext): OpRunner {
  const limit = ctx.maxCallSendMsgSize;
  return {
    async get(o, options) {
      checkRequestSize(RangeRequestSchema, o.request, opSizeBound(o), limit);
      return getResponse(await ctx.call(options, (c) => ctx.services.kv.range(o.request, c)));
    },
    async *getStream(o, options) {
      checkRequestSize(RangeRequestSchema, o.request, opSizeBound(o), limit);
      ctx.ensureOpen();
      const chunks = runServerStream(options, ctx.requireLeader, (c) => ctx.services.kv.rangeStream(o.request, c), (err) =>
        needsVersion(err, "getStream (KV.RangeStream)", "3.7"),
      );
      for await (const { rangeResponse: r } of chunks) {
        if (r === undefined) continue;
        yield r.header === undefined ? { kvs: r.kvs } : { kvs: r.kvs, last: { header: header(r.header), more: r.more, count: r.count } };
      }
    },
    async put(o, options) {
      checkRequestSize(PutRequestSchema, o.request, opSizeBound(o), limit);
      return putResponse(await ctx.call(options, (c) => ctx.services.kv.put(o.request, c)));
    },
    async delete(o, options) {
      checkRequestSize(DeleteRangeRequestSchema, o.request, opSizeBound(o), limit);
      return deleteResponse(await ctx.call(options, (c) => ctx.services.kv.deleteRange(o.request, c)));
    },
    async txn(o, options) {
      checkRequestSize(TxnRequestSchema, o.request, opSizeBound(o), limit);
      return txnResponse(await ctx.call(options, (c) => ctx.services.kv.txn(o.request, c)));
    },
  };
}

/**
 * Builds the KV facade: builds and checks each op (op/op.ts), then hands it to `run` (by default straight to etcd; a
 * namespace passes its decorated runner). @internal
 */
export function createKV(ctx: ClientContext, run: OpRunner = createOpRunner(ctx)): KV {
  return {
    get: (key, options) => attempt(() => run.get(op.get(key, options), options)),
    getStream(key, options) {
      for (const name of STREAM_REFUSES) {
        if (options?.[name] !== undefined) throw new TypeError(`getStream() takes no ${name} (etcd's RangeStream has none): use get()`);
      }
      return run.getStream(op.get(key, options), options);
    },
    put: (key, value, options) => attempt(() => run.put(op.put(key, value, options), options)),
    delete: (key, options) => attempt(() => run.delete(op.delete(key, options), options)),
    txn: (spec, options) => attempt(() => run.txn(op.txn(spec), options)),
    async compact(revision, options) {
      const request = { revision: toInt64(revision, "revision", 0n), physical: options?.physical === true };
      const r = await ctx.call(options, (c) => ctx.services.kv.compact(request, c));
      header(r.header);
      return r as CompactResponse;
    },
    async do(o, options) {
      switch (o?.type) {
        case "get":
          return { type: "get", response: await run.get(o, options) };
        case "put":
          return { type: "put", response: await run.put(o, options) };
        case "delete":
          return { type: "delete", response: await run.delete(o, options) };
        case "txn":
          return { type: "txn", response: await run.txn(o, options) };
        default:
          throw new TypeError("do() takes an op built with op.get/put/delete/txn");
      }
    },
  };
}

/** get() options that etcd's RangeStream refuses. */
const STREAM_REFUSES = ["sort", "minModRevision", "maxModRevision", "minCreateRevision", "maxCreateRevision"] as const;

/**
 * Runs `call`, turning a synchronous throw (bad arguments while building the
 * op) into a rejection. Cheaper than one more async layer per call, whose
 * promise and frame stay alive while the call is in flight.
 */
function attempt<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    return Promise.reject(err);
  }
}
