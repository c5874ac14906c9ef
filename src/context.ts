import type { Client as ServiceClient } from "@connectrpc/connect";
import type { Cluster, KV, Maintenance } from "../gen/etcdserverpb/rpc_pb.js";
import type { CallOptions } from "./options.js";
import type { CallOptions as ConnectCallOptions } from "@connectrpc/connect";

/**
 * What the service facades (kv, cluster, ...) share: the generated service
 * clients over the client's transport and the resolved client options.
 * @internal
 */
export interface ClientContext {
  readonly kv: ServiceClient<typeof KV>;
  readonly cluster: ServiceClient<typeof Cluster>;
  readonly maintenance: ServiceClient<typeof Maintenance>;
  readonly maxCallSendMsgSize: number;
  /** Runs one RPC with the call options, the client's defaults and error mapping. */
  call<T>(options: CallOptions | undefined, rpc: (o: ConnectCallOptions | undefined) => Promise<T>): Promise<T>;
}
