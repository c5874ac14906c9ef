import { fromBinary } from "@bufbuild/protobuf";
import { type TxnRequest, TxnRequestSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { Status, type GrpcStatus } from "./frames.js";

/** Nested txns deeper than this are refused (etcd's own limit on ops per txn bounds the work anyway). */
const MAX_DEPTH = 16;

/**
 * For a `--read-only` proxy: lets a Txn through when every operation in both branches, nested txns included, is a
 * Range (compares only read). The message is decoded with protobuf-es from the whole request body, which the proxy
 * holds anyway for a unary call (at most `maxRequestBytes`), so decoding is bounded and nothing reaches etcd first.
 * Returns the refusal, or undefined when the txn only reads.
 */
export function checkReadOnlyTxn(frame: Uint8Array): GrpcStatus | undefined {
  let txn: TxnRequest;
  try {
    txn = fromBinary(TxnRequestSchema, frame.subarray(5));
  } catch {
    return { code: Status.INVALID_ARGUMENT, message: "the Txn request does not decode" };
  }
  return onlyReads(txn, 0)
    ? undefined
    : { code: Status.PERMISSION_DENIED, message: "/etcdserverpb.KV/Txn is allowed only with range operations: the proxy is read-only" };
}

function onlyReads(txn: TxnRequest, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  for (const op of [...txn.success, ...txn.failure]) {
    const r = op.request;
    if (r.case === "requestRange") continue;
    if (r.case === "requestTxn" && onlyReads(r.value, depth + 1)) continue;
    return false;
  }
  return true;
}
