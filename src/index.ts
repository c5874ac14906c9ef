/**
 * etcd-connect: a TypeScript client for etcd v3.
 *
 * This is the Node/Deno/Bun entry (HTTP/2 gRPC). Bundlers for browsers and
 * workers get `web.ts` (gRPC-Web) through the package's export conditions;
 * `etcd-connect/node` and `etcd-connect/web` pick one explicitly.
 */
export * from "./node.js";
