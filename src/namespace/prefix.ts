import { create } from "@bufbuild/protobuf";
import {
  type Compare,
  CompareSchema,
  DeleteRangeRequestSchema,
  PutRequestSchema,
  RangeRequestSchema,
  type RequestOp,
  type TxnRequest,
  TxnRequestSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { KeyValue, OpResponse, TxnResponse } from "../kv/responses.js";
import { type Op, toRequestOp } from "../op/op.js";

/**
 * Moves ops into a key prefix and results back out (Go's
 * `namespace.NewKV`): keys get the prefix, range ends are clamped to it, and
 * keys in responses lose it. "Every key" (`\0` as range end) means every key
 * inside the prefix.
 * @internal
 */
export interface Prefixer {
  readonly prefix: Uint8Array;
  op(o: Op): Op;
  compare(c: Compare): Compare;
  /** Strips the prefix from a key-value pair (in place: response objects are the caller's own). */
  kv<T extends KeyValue | undefined>(kv: T): T;
  /** The prefixed key and range end of a resolved range. */
  range(key: Uint8Array, end: Uint8Array): [Uint8Array, Uint8Array];
  opResponse(r: OpResponse): OpResponse;
}

/** Creates a {@link Prefixer} for `prefix` (non-empty). @internal */
export function createPrefixer(prefix: Uint8Array): Prefixer {
  const concat = (key: Uint8Array): Uint8Array => {
    const out = new Uint8Array(prefix.length + key.length);
    out.set(prefix);
    out.set(key, prefix.length);
    return out;
  };

  function range(key: Uint8Array, end: Uint8Array): [Uint8Array, Uint8Array] {
    const k = concat(key);
    if (end.length === 1 && end[0] === 0) {
      // The end of the keyspace becomes the end of the prefix (0xff... prefixes: the end of the keyspace).
      const e = prefix.slice();
      for (let i = e.length - 1; i >= 0; i--) {
        if (e[i]! < 0xff) {
          e[i]! += 1;
          return [k, e.subarray(0, i + 1)];
        }
      }
      return [k, new Uint8Array([0])];
    }
    return [k, end.length === 0 ? end : concat(end)];
  }

  function requestOp(r: RequestOp): RequestOp {
    const o = fromRequestOp(r);
    return o === undefined ? r : toRequestOp(api.op(o));
  }

  function txn(t: TxnRequest): TxnRequest {
    return create(TxnRequestSchema, {
      compare: t.compare.map((c) => api.compare(c)),
      success: t.success.map(requestOp),
      failure: t.failure.map(requestOp),
    });
  }

  function stripTxn(r: TxnResponse): TxnResponse {
    for (let i = 0; i < r.responses.length; i++) r.responses[i] = api.opResponse(r.responses[i]!);
    return r;
  }

  const api: Prefixer = {
    prefix,
    range,
    op(o) {
      switch (o.type) {
        case "get": {
          const [key, rangeEnd] = range(o.request.key, o.request.rangeEnd);
          return { type: "get", request: create(RangeRequestSchema, { ...o.request, key, rangeEnd }) };
        }
        case "put":
          return { type: "put", request: create(PutRequestSchema, { ...o.request, key: concat(o.request.key) }) };
        case "delete": {
          const [key, rangeEnd] = range(o.request.key, o.request.rangeEnd);
          return { type: "delete", request: create(DeleteRangeRequestSchema, { ...o.request, key, rangeEnd }) };
        }
        case "txn":
          return { type: "txn", request: txn(o.request) };
      }
    },
    compare(c) {
      const [key, rangeEnd] = range(c.key, c.rangeEnd);
      return create(CompareSchema, { ...c, key, rangeEnd });
    },
    kv(kv) {
      if (kv !== undefined) kv.key = kv.key.subarray(prefix.length);
      return kv;
    },
    opResponse(r) {
      switch (r.type) {
        case "get":
          for (const kv of r.response.kvs) api.kv(kv);
          return r;
        case "put":
          api.kv(r.response.prevKv);
          return r;
        case "delete":
          for (const kv of r.response.prevKvs) api.kv(kv);
          return r;
        case "txn":
          stripTxn(r.response);
          return r;
      }
    },
  };
  return api;
}

function fromRequestOp(r: RequestOp): Op | undefined {
  const req = r.request;
  switch (req.case) {
    case "requestRange":
      return { type: "get", request: req.value };
    case "requestPut":
      return { type: "put", request: req.value };
    case "requestDeleteRange":
      return { type: "delete", request: req.value };
    case "requestTxn":
      return { type: "txn", request: req.value };
    default:
      return undefined;
  }
}
