/**
 * The runtime-neutral public API, shared by every entry point. `connect`
 * and `createClient` come from the runtime entries (node.ts, web.ts), which
 * pick the default transport.
 */
export type { Client } from "./client.js";
export type { ClientOptions, CallOptions, TlsOptions, TransportFactory, TransportFactoryOptions } from "./options.js";
export { type Bytes, toBytes, text, prefixEnd } from "./util/bytes.js";
export type { Int64 } from "./util/int64.js";
export { EtcdError, type EtcdErrorKind, type EtcdErrorOptions } from "./errors.js";
export { Code } from "@connectrpc/connect";
export type { RangeOptions } from "./op/range.js";
export {
  op,
  type Op,
  type GetOp,
  type PutOp,
  type DeleteOp,
  type TxnOp,
  type GetOptions,
  type PutOptions,
  type DeleteOptions,
  type TxnSpec,
  type SortTarget,
  type SortOrder,
} from "./op/op.js";
export { compare, type Compare, type CompareOperator } from "./op/compare.js";
export type { KV, CompactOptions, GetStreamChunk } from "./kv/kv.js";
export type { ResponseHeader } from "./header.js";
export type {
  KeyValue,
  GetResponse,
  PutResponse,
  DeleteResponse,
  TxnResponse,
  OpResponse,
  CompactResponse,
} from "./kv/responses.js";
export type { Watcher, WatchOptions, WatchResponse, WatchEvent, WatchState, WatchStateChange } from "./watch/types.js";
export type { EtcdTransport } from "./transport/etcd-transport.js";
export type { EndpointState } from "./transport/endpoints.js";
export type { Lease, LeaseGrantOptions, LeaseTimeToLiveOptions } from "./lease/lease.js";
export type {
  LeaseKeepAlive,
  LeaseKeepAliveOptions,
  LeaseKeepAliveResponse,
  LeaseGrantResponse,
  LeaseTimeToLiveResponse,
  LeaseStatus,
} from "./lease/types.js";
export type { Maintenance } from "./maintenance/maintenance.js";
export type { Namespace } from "./namespace/namespace.js";
export type { Logger, LogFields } from "./log.js";
export type {
  StatusResponse,
  Alarm,
  AlarmKind,
  HashResponse,
  HashKVResponse,
  EndpointStatus,
  SnapshotOptions,
} from "./maintenance/types.js";
export type {
  Auth,
  Permission,
  PermissionType,
  PermissionGrant,
  PermissionRevoke,
  AuthResponse,
  AuthStatusResponse,
  UserAddOptions,
} from "./auth/auth.js";
export type { MemberAddResponse, MemberAddOptions } from "./cluster/cluster.js";
export type { Cluster, Member, MemberListResponse, MemberListOptions } from "./cluster/cluster.js";
