import type {
  DeleteRangeResponse,
  PutResponse as PutResponseMessage,
  RangeResponse,
  ResponseOp,
  TxnResponse as TxnResponseMessage,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../errors.js";
import { type ResponseHeader, header } from "../header.js";

/** A stored key-value pair. Read text with `text(kv.value)`. */
export interface KeyValue {
  /** The key (without the namespace's prefix when read through a namespace). */
  key: Uint8Array;
  /** The value; empty with `keysOnly`. */
  value: Uint8Array;
  /** Revision of the key's creation. */
  createRevision: bigint;
  /** Revision of the key's last modification. */
  modRevision: bigint;
  /** Number of writes since creation (1 after the first put). */
  version: bigint;
  /** ID of the attached lease, 0 when none. */
  lease: bigint;
}

/** Result of a get. */
export interface GetResponse {
  /** Header of the member that answered; from `get()`, `header.revision` is the revision the read saw. */
  header: ResponseHeader;
  /** The matching pairs (empty with `countOnly`). */
  kvs: KeyValue[];
  /** Whether more keys match than `limit` returned. */
  more: boolean;
  /** How many keys match in all. */
  count: bigint;
}

/** Result of a put. */
export interface PutResponse {
  /** Header of the member that answered; from `put()`, `header.revision` is the revision the write created. */
  header: ResponseHeader;
  /** The previous pair, with `prevKv` when the key existed. */
  prevKv?: KeyValue;
}

/** Result of a delete. */
export interface DeleteResponse {
  /** Header of the member that answered; from `delete()`, `header.revision` is the store's revision after it. */
  header: ResponseHeader;
  /** How many keys were deleted. */
  deleted: bigint;
  /** The deleted pairs, with `prevKv`. */
  prevKvs: KeyValue[];
}

/** Result of one operation in a txn branch, tagged with the op's type. */
export type OpResponse =
  | {
      /** The op was a get. */
      type: "get";
      /** The get's result. */
      response: GetResponse;
    }
  | {
      /** The op was a put. */
      type: "put";
      /** The put's result. */
      response: PutResponse;
    }
  | {
      /** The op was a delete. */
      type: "delete";
      /** The delete's result. */
      response: DeleteResponse;
    }
  | {
      /** The op was a nested txn. */
      type: "txn";
      /** The nested txn's result. */
      response: TxnResponse;
    };

/** Result of a txn. */
export interface TxnResponse {
  /** Header of the member that answered; `header.revision` is the store's revision after the txn. */
  header: ResponseHeader;
  /** Whether every compare held (and `success` ran). */
  succeeded: boolean;
  /** One result per op of the branch that ran, in order. */
  responses: OpResponse[];
}

/** Result of a compaction. */
export interface CompactResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
}


export function getResponse(r: RangeResponse): GetResponse {
  header(r.header);
  return r as GetResponse;
}

export function putResponse(r: PutResponseMessage): PutResponse {
  header(r.header);
  return r as PutResponse;
}

export function deleteResponse(r: DeleteRangeResponse): DeleteResponse {
  header(r.header);
  return r as DeleteResponse;
}

export function txnResponse(r: TxnResponseMessage): TxnResponse {
  return { header: header(r.header), succeeded: r.succeeded, responses: r.responses.map(opResponse) };
}

/** Converts one entry of a txn's responses, tagged like the op that produced it. */
export function opResponse(r: ResponseOp): OpResponse {
  const res = r.response;
  switch (res.case) {
    case "responseRange":
      return { type: "get", response: getResponse(res.value) };
    case "responsePut":
      return { type: "put", response: putResponse(res.value) };
    case "responseDeleteRange":
      return { type: "delete", response: deleteResponse(res.value) };
    case "responseTxn":
      return { type: "txn", response: txnResponse(res.value) };
    default:
      throw new EtcdError("internal", Code.Internal, "etcd sent an empty txn response entry");
  }
}
