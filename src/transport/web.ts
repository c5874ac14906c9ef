import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "./grpc-web.js";
import type { TransportFactoryOptions } from "../options.js";
import type { EtcdTransport } from "./etcd-transport.js";

/**
 * The browser and worker default: gRPC-Web over `fetch` (binary, see
 * grpc-web.ts) to an etcd-connect proxy, or any gRPC-Web proxy in front of
 * etcd. connect-web's own `createGrpcWebTransport` works too, through the
 * `transport` option (mark it `halfDuplex: true`). Marked half duplex: fetch
 * cannot stream a request body, so watches and keepalives use one
 * server-streaming call each.
 */
export function createWebTransport(endpoint: string, options: TransportFactoryOptions): EtcdTransport {
  const transport = createGrpcWebTransport({
    baseUrl: endpoint,
    // No size limits here: the client checks request sizes before sending,
    // and fetch bounds nothing on the way back.
    interceptors: options.interceptors,
    fetch: fetchForGrpcWeb,
  });
  return { unary: transport.unary.bind(transport), stream: transport.stream.bind(transport), halfDuplex: true };
}

/**
 * fetch as the gRPC-Web transport needs it: `redirect: "manual"` (workerd
 * rejects "error"; a gRPC-Web proxy never redirects), and a network failure
 * (proxy down, connection refused) reported as `Unavailable`, so the client
 * moves on to its next endpoint. A caller's abort stays an abort.
 */
async function fetchForGrpcWeb(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  try {
    return await globalThis.fetch(input, { ...init, redirect: "manual" });
  } catch (err) {
    if (init?.signal?.aborted) throw err;
    throw new ConnectError(`fetch failed: ${err instanceof Error ? err.message : String(err)}`, Code.Unavailable, undefined, undefined, err);
  }
}
