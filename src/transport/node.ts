import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import type { TransportFactoryOptions } from "../options.js";
import type { EtcdTransport } from "./etcd-transport.js";

/**
 * The Node default: Connect's HTTP/2 gRPC transport with one HTTP/2 session
 * for the endpoint, shared by every call, closed by `close()`.
 */
export function createNodeTransport(endpoint: string, options: TransportFactoryOptions): EtcdTransport {
  const sessionManager = new Http2SessionManager(endpoint);
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
