import type { DescService } from "@bufbuild/protobuf";
import type { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../gen/etcdserverpb/rpc_pb.js";

// How the client's retry layer and the gRPC-Web proxy treat each etcd RPC, keyed by the method's name in the proto
// (`Range` for etcdserverpb.KV/Range; the generated service's `range`, capitalized). Every method of the generated
// services must be placed: the type checker refuses a table that misses one, so a new RPC in proto/ cannot be
// forgotten here.

type MethodOf<S extends DescService> = keyof S["method"] & string;
/** Every etcd RPC, by its generated (lowerCamel) name. */
export type EtcdMethod =
  | MethodOf<typeof KV>
  | MethodOf<typeof Watch>
  | MethodOf<typeof Lease>
  | MethodOf<typeof Cluster>
  | MethodOf<typeof Maintenance>
  | MethodOf<typeof Auth>;

/** RPCs that may have an effect each time they run: retried only when they provably never reached a server. */
type RunsOnce =
  | "put" | "deleteRange" | "txn" | "compact"
  | "memberAdd" | "memberRemove" | "memberUpdate" | "memberPromote"
  | "defragment" | "downgrade"
  | "authEnable" | "authDisable" | "userAdd" | "userDelete" | "userChangePassword" | "userGrantRole" | "userRevokeRole"
  | "roleAdd" | "roleDelete" | "roleGrantPermission" | "roleRevokePermission";

/**
 * RPCs safe to run more than once: a failed call is sent again to the next endpoint when the first was unavailable
 * (Go's `withRepeatablePolicy` in clientv3's `retry.go`). Go leaves AuthStatus and Authenticate at its default (not
 * repeatable); both are safe to repeat here: AuthStatus is a read, and Authenticate only issues a token, which a
 * client connecting during a failover must be able to get. Watch and RangeStream are reads; the watch resumes itself.
 */
const REPEATABLE: Record<Capitalize<Exclude<EtcdMethod, RunsOnce>>, true> = {
  Range: true, RangeStream: true, Watch: true,
  LeaseGrant: true, LeaseRevoke: true, LeaseKeepAlive: true, LeaseTimeToLive: true, LeaseLeases: true,
  MemberList: true,
  Alarm: true, Status: true, Hash: true, HashKV: true, Snapshot: true, MoveLeader: true,
  AuthStatus: true, Authenticate: true, UserGet: true, UserList: true, RoleGet: true, RoleList: true,
};

/**
 * RPCs a read-only proxy serves: they cannot change keys, leases, members or auth settings. Authenticate is one (it
 * only issues a token), so that viewers of an etcd with auth on can sign in and read what they may. Hashes and
 * snapshots, though reads, copy the whole backend and stay with the administrators.
 */
const READ_ONLY: Record<Capitalize<EtcdMethod>, boolean> = {
  Range: true, RangeStream: true, Put: false, DeleteRange: false, Txn: false, Compact: false,
  Watch: true,
  LeaseGrant: false, LeaseRevoke: false, LeaseKeepAlive: false, LeaseTimeToLive: true, LeaseLeases: true,
  MemberAdd: false, MemberRemove: false, MemberUpdate: false, MemberList: true, MemberPromote: false,
  Alarm: false, Status: true, Defragment: false, Hash: false, HashKV: false, Snapshot: false, MoveLeader: false, Downgrade: false,
  AuthEnable: false, AuthDisable: false, AuthStatus: true, Authenticate: true,
  UserAdd: false, UserGet: true, UserList: true, UserDelete: false, UserChangePassword: false, UserGrantRole: false, UserRevokeRole: false,
  RoleAdd: false, RoleGet: true, RoleList: true, RoleDelete: false, RoleGrantPermission: false, RoleRevokePermission: false,
};

/** `etcdserverpb.KV/HashKV` -> `HashKV`. */
function methodName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Whether the method (`"etcdserverpb.KV/Range"`) is safe to run more than once. */
export function isRepeatable(path: string): boolean {
  return (REPEATABLE as Record<string, true | undefined>)[methodName(path)] === true;
}

/** Whether a read-only proxy may forward the method (`"/etcdserverpb.KV/Range"` or without the slash). */
export function isReadOnly(path: string): boolean {
  return (READ_ONLY as Record<string, boolean | undefined>)[methodName(path)] === true;
}
