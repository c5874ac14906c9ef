/**
 * The browser and edge entry point (workerd, service workers): `connect()`
 * and `createClient()` default to gRPC-Web over `fetch`, through the
 * etcd-connect proxy (`endpoints` are proxy URLs). Imports nothing from Node.
 */
import { type Client, type Runtime, connectWith, createClientWith } from "./client.js";
import type { ClientOptions } from "./options.js";
import { createWebTransport } from "./transport/web.js";

export * from "./api.js";
export { createWebTransport };

// No full-duplex streams: fetch only streams responses, so watches and keepalives run one call each.
const web: Runtime = { transport: createWebTransport, basePaths: true };

/**
 * Creates a client and resolves once an endpoint (a proxy URL) answers;
 * rejects with an `EtcdError` of kind `"unavailable"` when none answers
 * within `dialTimeoutMs` (default 5000).
 */
export function connect(options: ClientOptions): Promise<Client> {
  return connectWith(options, web);
}

/**
 * Creates a client synchronously without contacting the proxy; the first
 * call does. Same options as {@link connect}.
 */
export function createClient(options: ClientOptions): Client {
  return createClientWith(options, web);
}
