import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { Compare, RequestOp, TxnRequest } from "../../gen/etcdserverpb/rpc_pb.js";
import { invalid } from "../errors.js";
import type { Op } from "./op.js";

/**
 * Rejects a request above `limit` bytes before it is sent. A cheap upper
 * bound is computed first; the exact encoded size only when the bound is over.
 */
export function checkRequestSize<D extends DescMessage>(
  schema: D,
  message: MessageShape<D>,
  bound: number,
  limit: number,
): void {
  if (bound <= limit) return;
  const size = toBinary(schema, message).byteLength;
  if (size > limit) {
    throw invalid("request-too-large", `request is ${size} bytes, over maxCallSendMsgSize (${limit} bytes)`);
  }
}

// Per-field overhead bounds: tag (1-2 bytes) + length varint (<= 5) per bytes
// field, and <= 11 bytes per varint field; generous on purpose.
const FIXED = 96;

/** An upper bound of an op's encoded size. */
export function opSizeBound(o: Op): number {
  switch (o.type) {
    case "get":
      return o.request.key.length + o.request.rangeEnd.length + FIXED * 2;
    case "put":
      return o.request.key.length + o.request.value.length + FIXED;
    case "delete":
      return o.request.key.length + o.request.rangeEnd.length + FIXED;
    case "txn":
      return txnSizeBound(o.request);
  }
}

/** An upper bound of a txn request's encoded size. */
export function txnSizeBound(t: TxnRequest): number {
  let n = FIXED;
  for (const c of t.compare) n += compareSizeBound(c);
  for (const r of t.success) n += requestOpSizeBound(r);
  for (const r of t.failure) n += requestOpSizeBound(r);
  return n;
}

function compareSizeBound(c: Compare): number {
  const v = c.targetUnion.case === "value" ? c.targetUnion.value.length : 0;
  return c.key.length + c.rangeEnd.length + v + FIXED;
}

function requestOpSizeBound(r: RequestOp): number {
  const req = r.request;
  switch (req.case) {
    case "requestRange":
      return opSizeBound({ type: "get", request: req.value }) + 8;
    case "requestPut":
      return opSizeBound({ type: "put", request: req.value }) + 8;
    case "requestDeleteRange":
      return opSizeBound({ type: "delete", request: req.value }) + 8;
    case "requestTxn":
      return txnSizeBound(req.value) + 8;
    default:
      return 8;
  }
}
