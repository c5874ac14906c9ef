import type { CallOptions as ConnectCallOptions, Client as ServiceClient } from "@connectrpc/connect";
import type { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../gen/etcdserverpb/rpc_pb.js";
import type { CallOptions } from "./options.js";
import type { Log } from "./log.js";
import type { EndpointTransport } from "./transport/endpoints.js";
import type { createDuplexWatchStream } from "./watch/duplex-stream.js";
import type { createStreamSender } from "./lease/senders.js";

/**
 * The full-duplex stream implementations (one bidi Watch stream shared by the watches, one bidi LeaseKeepAlive
 * stream for every lease). The Node entry passes them; the web entry does not, because its transports (fetch) only
 * stream responses, which also keeps them out of the browser bundle. Without them every transport runs half-duplex.
 * @internal
 */
export interface FullDuplexStreams {
  watchStream: typeof createDuplexWatchStream;
  keepAliveSender: typeof createStreamSender;
}

/** The generated service clients a client uses, all over one transport. @internal */
export interface Services {
  readonly kv: ServiceClient<typeof KV>;
  readonly cluster: ServiceClient<typeof Cluster>;
  readonly maintenance: ServiceClient<typeof Maintenance>;
  readonly watch: ServiceClient<typeof Watch>;
  readonly lease: ServiceClient<typeof Lease>;
  readonly auth: ServiceClient<typeof Auth>;
}

/**
 * What the service facades (kv, cluster, watch, ...) share: the generated
 * service clients, the transport, and the resolved client options.
 * @internal
 */
export interface ClientContext {
  readonly services: Services;
  readonly transport: EndpointTransport;
  /** Full-duplex streams, used when the transport can stream requests; undefined in the web entry. */
  readonly fullDuplex: FullDuplexStreams | undefined;
  readonly maxCallSendMsgSize: number;
  /** The client's log (silent unless the user gave a logger). */
  readonly log: Log;
  /** The client's default for `requireLeader`. */
  readonly requireLeader: boolean;
  /** Whether the client has credentials, so a refused token can be replaced. */
  readonly canReauthenticate: boolean;
  /** Drops the endpoint's auth token, so the next call or stream gets a new one. */
  forgetToken(endpoint: string): void;
  /** Runs one RPC with the call options, the client's defaults and error mapping. */
  call<T>(options: CallOptions | undefined, rpc: (o: ConnectCallOptions | undefined) => Promise<T>): Promise<T>;
  /** Throws `closed` once the client is closed. */
  ensureOpen(): void;
  /** Registers cleanup to run (before connections close) when the client closes. */
  onClose(fn: () => void): void;
}
