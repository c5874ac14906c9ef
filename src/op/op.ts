import { create } from "@bufbuild/protobuf";
import {
  type Compare,
  CompareSchema,
  type DeleteRangeRequest,
  DeleteRangeRequestSchema,
  type PutRequest,
  PutRequestSchema,
  type RangeRequest,
  RangeRequestSchema,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RequestOp,
  RequestOpSchema,
  type TxnRequest,
  TxnRequestSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { type Bytes, describe, toBytes } from "../util/bytes.js";
import { invalid } from "../errors.js";
import { type Int64, toInt64 } from "../util/int64.js";
import { type RangeOptions, resolveRange } from "./range.js";

/** What a get sorts by. */
export type SortTarget = "key" | "version" | "create" | "mod" | "value";
/** Sort direction; `"none"` leaves etcd's key order. */
export type SortOrder = "none" | "ascend" | "descend";

/** Options of a get (Go's `OpGet` options). */
export interface GetOptions extends RangeOptions {
  /** Read at this revision (0 or absent: the latest). */
  revision?: Int64;
  /** At most this many keys (0 or absent: no limit). */
  limit?: Int64;
  /** Sort order of the result. Default order when only `target` is given: `"ascend"`. */
  sort?: {
    /** What to sort by: the key, its version, create or mod revision, or its value. */
    target: SortTarget;
    /** Direction. Default: `"ascend"`. */
    order?: SortOrder;
  };
  /** Serve the read from the member's local state (faster; may be stale). Default: false (linearizable). */
  serializable?: boolean;
  /** Return keys without values. */
  keysOnly?: boolean;
  /** Return only the count. */
  countOnly?: boolean;
  /** Only keys modified at or after this revision. */
  minModRevision?: Int64;
  /** Only keys modified at or before this revision. */
  maxModRevision?: Int64;
  /** Only keys created at or after this revision. */
  minCreateRevision?: Int64;
  /** Only keys created at or before this revision. */
  maxCreateRevision?: Int64;
}

/** Options of a put (Go's `OpPut` options). */
export interface PutOptions {
  /** Attach the key to this lease (0 or absent: no lease). */
  lease?: Int64;
  /** Return the previous key-value pair. */
  prevKv?: boolean;
  /** Keep the current value (the value argument must be empty). */
  ignoreValue?: boolean;
  /** Keep the current lease (`lease` must not be set). */
  ignoreLease?: boolean;
}

/** Options of a delete (Go's `OpDelete` options). */
export interface DeleteOptions extends RangeOptions {
  /** Return the deleted key-value pairs. */
  prevKv?: boolean;
}

/** A transaction: if every compare holds, run `success`, else `failure`. */
export interface TxnSpec {
  /** Conditions, all of which must hold (see `compare`). Default: none (always succeeds). */
  compare?: readonly Compare[];
  /** Operations run when every compare holds. */
  success?: readonly Op[];
  /** Operations run otherwise. */
  failure?: readonly Op[];
}

/** A get as plain data. */
export interface GetOp {
  /** Tags the op as a get. */
  readonly type: "get";
  /** etcd's `RangeRequest`, checked and resolved when the op was built. */
  readonly request: RangeRequest;
}
/** A put as plain data. */
export interface PutOp {
  /** Tags the op as a put. */
  readonly type: "put";
  /** etcd's `PutRequest`, checked when the op was built. */
  readonly request: PutRequest;
}
/** A delete as plain data. */
export interface DeleteOp {
  /** Tags the op as a delete. */
  readonly type: "delete";
  /** etcd's `DeleteRangeRequest`, checked and resolved when the op was built. */
  readonly request: DeleteRangeRequest;
}
/** A nested transaction as plain data. */
export interface TxnOp {
  /** Tags the op as a nested txn. */
  readonly type: "txn";
  /** etcd's `TxnRequest`, with its compares and both branches' ops. */
  readonly request: TxnRequest;
}

/**
 * One operation as plain data, shared by KV calls, txn branches and
 * namespacing (Go's `clientv3.Op`). Build it with `op.get/put/delete/txn`;
 * the request is checked and resolved when the op is built.
 */
export type Op = GetOp | PutOp | DeleteOp | TxnOp;

const sortTargets: Record<SortTarget, RangeRequest_SortTarget> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};
const sortOrders: Record<SortOrder, RangeRequest_SortOrder> = {
  none: RangeRequest_SortOrder.NONE,
  ascend: RangeRequest_SortOrder.ASCEND,
  descend: RangeRequest_SortOrder.DESCEND,
};

function optionalInt64(value: Int64 | undefined, name: string): bigint {
  return value === undefined ? 0n : toInt64(value, name, 0n);
}

function get(key: Bytes, options?: GetOptions): GetOp {
  const [k, end] = resolveRange(key, options);
  const request = create(RangeRequestSchema, {
    key: k,
    rangeEnd: end,
    revision: optionalInt64(options?.revision, "revision"),
    limit: optionalInt64(options?.limit, "limit"),
    serializable: options?.serializable === true,
    keysOnly: options?.keysOnly === true,
    countOnly: options?.countOnly === true,
    minModRevision: optionalInt64(options?.minModRevision, "minModRevision"),
    maxModRevision: optionalInt64(options?.maxModRevision, "maxModRevision"),
    minCreateRevision: optionalInt64(options?.minCreateRevision, "minCreateRevision"),
    maxCreateRevision: optionalInt64(options?.maxCreateRevision, "maxCreateRevision"),
  });
  const sort = options?.sort;
  if (sort !== undefined) {
    const target = sortTargets[sort.target];
    const order = sortOrders[sort.order ?? "ascend"];
    if (target === undefined) throw new TypeError(`sort.target must be one of ${Object.keys(sortTargets).join(", ")}`);
    if (order === undefined) throw new TypeError(`sort.order must be one of ${Object.keys(sortOrders).join(", ")}`);
    request.sortTarget = target;
    // Like Go's WithSort: etcd already returns keys in ascending key order, and
    // an explicit order makes it fetch the whole range before applying the limit.
    request.sortOrder = target === RangeRequest_SortTarget.KEY && order === RangeRequest_SortOrder.ASCEND ? RangeRequest_SortOrder.NONE : order;
  }
  return { type: "get", request };
}

function put(key: Bytes, value: Bytes, options?: PutOptions): PutOp {
  const [k] = resolveRange(key, undefined);
  const v = toBytes(value, "value");
  const lease = optionalInt64(options?.lease, "lease");
  const ignoreValue = options?.ignoreValue === true;
  const ignoreLease = options?.ignoreLease === true;
  if (ignoreValue && v.length > 0) throw invalid("value-provided", "a value is given together with ignoreValue");
  if (ignoreLease && lease !== 0n) throw invalid("lease-provided", "a lease is given together with ignoreLease");
  const request = create(PutRequestSchema, {
    key: k,
    value: v,
    lease,
    prevKv: options?.prevKv === true,
    ignoreValue,
    ignoreLease,
  });
  return { type: "put", request };
}

function del(key: Bytes, options?: DeleteOptions): DeleteOp {
  const [k, end] = resolveRange(key, options);
  const request = create(DeleteRangeRequestSchema, { key: k, rangeEnd: end, prevKv: options?.prevKv === true });
  return { type: "delete", request };
}

function txn(spec: TxnSpec): TxnOp {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(`txn takes { compare?, success?, failure? }, got ${describe(spec)}`);
  }
  const request = create(TxnRequestSchema, {
    compare: list(spec.compare, "compare").map(checkCompare),
    success: list(spec.success, "success").map(toRequestOp),
    failure: list(spec.failure, "failure").map(toRequestOp),
  });
  return { type: "txn", request };
}

function list<T>(entries: readonly T[] | undefined, name: string): readonly T[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries)) throw new TypeError(`txn ${name} must be an array, got ${describe(entries)}`);
  return entries;
}

function checkCompare(c: Compare): Compare {
  if (c?.$typeName !== CompareSchema.typeName) {
    throw new TypeError("txn compare entries must be built with compare.value/version/createRevision/modRevision/lease");
  }
  return c;
}

/** Wraps an op as a txn branch entry (etcd's `RequestOp`). */
export function toRequestOp(o: Op): RequestOp {
  // Ops are plain data, so a hand-made one ({ type: "put" }) must carry the request its builder makes.
  const built = (schema: { typeName: string }) => (o.request as { $typeName?: string } | undefined)?.$typeName === schema.typeName;
  switch (o?.type) {
    case "get":
      if (built(RangeRequestSchema)) return create(RequestOpSchema, { request: { case: "requestRange", value: o.request } });
      break;
    case "put":
      if (built(PutRequestSchema)) return create(RequestOpSchema, { request: { case: "requestPut", value: o.request } });
      break;
    case "delete":
      if (built(DeleteRangeRequestSchema)) return create(RequestOpSchema, { request: { case: "requestDeleteRange", value: o.request } });
      break;
    case "txn":
      if (built(TxnRequestSchema)) return create(RequestOpSchema, { request: { case: "requestTxn", value: o.request } });
      break;
  }
  throw new TypeError(`txn branches take ops built with op.get/put/delete/txn, got ${o !== null && typeof o === "object" ? JSON.stringify(Object.keys(o)) : describe(o)}`);
}

/**
 * Builders for {@link Op}: plain data for `client.do()`, txn branches and
 * namespacing. Each checks its input and throws before anything is sent.
 */
export const op = {
  /** A get (range read) of a key, a prefix or a range. */
  get,
  /** A put of one key. */
  put,
  /** A delete of a key, a prefix or a range. */
  delete: del,
  /** A nested transaction (etcd 3.3+). */
  txn,
} as const;
