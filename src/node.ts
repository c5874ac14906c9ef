/**
 * The Node entry point (also Deno and Bun): `connect()` and `createClient()`
 * default to HTTP/2 gRPC straight to etcd, one shared session per endpoint.
 */
import { type Client, type Runtime, connectWith, createClientWith } from "./client.js";
import { createStreamSender } from "./lease/senders.js";
import { createDuplexWatchStream } from "./watch/duplex-stream.js";
import type { ClientOptions } from "./options.js";
import { createGrpcH2Transport } from "./transport/grpc-h2/transport.js";
import { createConnectGrpcTransport, createNodeTransport } from "./transport/node-transports.js";

export * from "./api.js";
export { createNodeTransport, createGrpcH2Transport, createConnectGrpcTransport };
export { saveSnapshot, type SaveSnapshotOptions } from "./maintenance/save-snapshot.js";

const node: Runtime = {
  transport: createNodeTransport,
  fullDuplex: { watchStream: createDuplexWatchStream, keepAliveSender: createStreamSender },
};

/**
 * Creates a client and resolves once an endpoint answers; rejects with an
 * `EtcdError` of kind `"unavailable"` when none answers within `dialTimeoutMs`
 * (default 5000). Like Go's `clientv3.New` with `DialTimeout`.
 */
export function connect(options: ClientOptions): Promise<Client> {
  return connectWith(options, node);
}

/**
 * Creates a client synchronously without contacting etcd; the first call
 * opens the connection. Same options as {@link connect}.
 */
export function createClient(options: ClientOptions): Client {
  return createClientWith(options, node);
}
