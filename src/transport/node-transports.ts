import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import type { TransportFactoryOptions } from "../options.js";
import type { EtcdTransport } from "./etcd-transport.js";
import { createGrpcH2Transport } from "./grpc-h2/transport.js";
import { pemCredentials } from "../util/pem.js";

/**
 * The Node default (also Deno and Bun): the gRPC transport on our own HTTP/2 client
 * (`createGrpcH2Transport`), or Connect's own `createGrpcTransport` when the
 * environment variable `ETCD_CONNECT_NODE_TRANSPORT` is `connect`.
 */
export function createNodeTransport(endpoint: string, options: TransportFactoryOptions): EtcdTransport {
  const choice = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ETCD_CONNECT_NODE_TRANSPORT;
  return choice === "connect" ? createConnectGrpcTransport(endpoint, options) : createGrpcH2Transport(endpoint, options);
}

/**
 * Connect's HTTP/2 gRPC transport (`createGrpcTransport` from connect-node)
 * with one HTTP/2 session for the endpoint, shared by every call, closed by
 * `close()`. PINGs run only while calls are open (etcd answers pings on idle
 * connections with GOAWAY too_many_pings).
 */
export function createConnectGrpcTransport(endpoint: string, options: TransportFactoryOptions): EtcdTransport {
  const tls = options.tls;
  const sessionManager = new Http2SessionManager(
    endpoint,
    options.keepAliveTimeMs > 0
      ? { pingIntervalMs: options.keepAliveTimeMs, pingTimeoutMs: options.keepAliveTimeoutMs, pingIdleConnection: false }
      : {},
    tls === undefined
      ? undefined
      : {
          ...pemCredentials(tls),
          ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
        },
  );
  const transport = createGrpcTransport({
    baseUrl: endpoint,
    sessionManager,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    interceptors: options.interceptors,
  });
  return {
    unary: transport.unary.bind(transport),
    stream: transport.stream.bind(transport),
    close: () => sessionManager.abort(),
  };
}
