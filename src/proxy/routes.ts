import type { DescService } from "@bufbuild/protobuf";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../gen/etcdserverpb/rpc_pb.js";
import { isReadOnly } from "../transport/method-policy.js";

/** One etcd RPC the proxy forwards. */
export interface Route {
  /** `/etcdserverpb.KV/Range` */
  path: string;
  /** Allowed in read-only mode (transport/method-policy.ts says which are). */
  readOnly: boolean;
  /** A unary call: its whole request (one message) is received and checked before anything goes to etcd. */
  unary: boolean;
}

const SERVICES: readonly DescService[] = [KV, Watch, Lease, Cluster, Maintenance, Auth];

/** Every etcd v3 RPC path, from the generated service descriptors (so nothing else can be reached). */
export const ROUTES: ReadonlyMap<string, Route> = new Map(
  SERVICES.flatMap((service) =>
    service.methods.map((method) => {
      const path = `/${service.typeName}/${method.name}`;
      return [path, { path, readOnly: isReadOnly(path), unary: method.methodKind === "unary" }] as const;
    }),
  ),
);

/** The route for a request URL (query strings are not allowed), or undefined. */
export function findRoute(url: string | undefined): Route | undefined {
  return url === undefined ? undefined : ROUTES.get(url);
}
