import type { DescService } from "@bufbuild/protobuf";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../gen/etcdserverpb/rpc_pb.js";

/** One etcd RPC the proxy forwards. */
export interface Route {
  /** `/etcdserverpb.KV/Range` */
  path: string;
  /** Allowed in read-only mode. */
  readOnly: boolean;
}

// The read-only allow-list: calls that cannot change etcd's keys, leases, members or auth settings. Authenticate is
// one of them (it only issues a token), so that viewers of an etcd with auth on can sign in and read what they may.
const READ_ONLY = new Set([
  "/etcdserverpb.KV/Range",
  "/etcdserverpb.KV/RangeStream",
  "/etcdserverpb.Watch/Watch",
  "/etcdserverpb.Lease/LeaseTimeToLive",
  "/etcdserverpb.Lease/LeaseLeases",
  "/etcdserverpb.Cluster/MemberList",
  "/etcdserverpb.Maintenance/Status",
  "/etcdserverpb.Auth/AuthStatus",
  "/etcdserverpb.Auth/Authenticate",
  "/etcdserverpb.Auth/UserList",
  "/etcdserverpb.Auth/UserGet",
  "/etcdserverpb.Auth/RoleList",
  "/etcdserverpb.Auth/RoleGet",
]);

const SERVICES: readonly DescService[] = [KV, Watch, Lease, Cluster, Maintenance, Auth];

/** Every etcd v3 RPC path, from the generated service descriptors (so nothing else can be reached). */
export const ROUTES: ReadonlyMap<string, Route> = new Map(
  SERVICES.flatMap((service) =>
    service.methods.map((method) => {
      const path = `/${service.typeName}/${method.name}`;
      return [path, { path, readOnly: READ_ONLY.has(path) }] as const;
    }),
  ),
);

/** The route for a request URL (query strings are not allowed), or undefined. */
export function findRoute(url: string | undefined): Route | undefined {
  return url === undefined ? undefined : ROUTES.get(url);
}
