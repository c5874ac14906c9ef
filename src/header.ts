import { Code } from "@connectrpc/connect";
import { EtcdError } from "./errors.js";

/** Where and when a response was produced. */
export interface ResponseHeader {
  /** ID of the cluster that served the request. */
  clusterId: bigint;
  /** ID of the member that served the request. */
  memberId: bigint;
  /** The store's revision when the request was served. */
  revision: bigint;
  /** The member's raft term when the request was served. */
  raftTerm: bigint;
}

/** Response messages are returned as they are (no copies); this only checks the header etcd always sends. */
export function header(h: ResponseHeader | undefined): ResponseHeader {
  if (h === undefined) throw new EtcdError("internal", Code.Internal, "etcd sent a response without a header");
  return h;
}
