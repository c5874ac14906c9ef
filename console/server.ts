// Serves the console with a proxy on loopback: what `npm start` runs, and what the console's e2e tests use.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createProxy, type EtcdProxy, type ProxyLogLevel } from "../src/proxy/index.js";
import { buildConsole, scriptSize, type ConsoleFile, type ScriptSize } from "./build.js";

/** Options of {@link startConsole}. */
export interface ConsoleServerOptions {
  /** etcd client URLs the proxy forwards to. */
  endpoints: string[];
  /** Address of both servers. Default: 127.0.0.1. */
  host?: string;
  /** Port of the console's static server; 0 picks a free one. Default: 0. */
  port?: number;
  /** Port of the proxy; 0 picks a free one. Default: 0. */
  proxyPort?: number;
  /** The proxy's log level. Default: "warn". */
  logLevel?: ProxyLogLevel;
  /** Serve the proxy read-only (no writes, for viewers). Default: false. */
  readOnly?: boolean;
  /**
   * More origins the page may connect to (other clusters' proxies, for the console's saved connections); they go
   * into the page's Content-Security-Policy `connect-src`. Default: only this console's own proxy.
   */
  connectSrc?: string[];
}

/** A running console. */
export interface ConsoleServer {
  /** The console's URL. */
  url: string;
  /** The proxy's URL (what the console's config.json names). */
  proxyUrl: string;
  proxy: EtcdProxy;
  /** Sizes of the console's scripts in bytes: what loads at start, and the editor loaded on first use. */
  size: ScriptSize;
  /** Stops the static server and the proxy. */
  close(): Promise<void>;
}

/** Builds the console, then starts its static server and a proxy that allows the console's origin. */
export async function startConsole(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? "127.0.0.1";
  const files = await buildConsole();
  let config = "{}";
  let connectSrc = "'self'";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const name = path === "/" ? "index.html" : path.slice(1);
    const file: ConsoleFile | undefined = name === "config.json" ? { body: config, contentType: "application/json" } : files.get(name);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": file.contentType,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "content-security-policy": `default-src 'self'; connect-src ${connectSrc}; img-src 'self' data:; frame-ancestors 'none'`,
    });
    res.end(req.method === "HEAD" ? undefined : file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}/`;
  const origins = [`http://${host}:${port}`, `http://localhost:${port}`];
  const proxy = createProxy({
    endpoints: options.endpoints,
    allowOrigins: origins,
    readOnly: options.readOnly ?? false,
    logLevel: options.logLevel ?? "warn",
  });
  let proxyUrl: string;
  try {
    proxyUrl = (await proxy.listen(options.proxyPort ?? 0, host)).url;
  } catch (err) {
    server.close();
    throw err;
  }
  config = JSON.stringify({ endpoints: [proxyUrl] });
  for (const o of options.connectSrc ?? []) {
    // Origins only: a CSP source list cannot carry spaces or quotes, and a path would not be needed.
    if (!/^https?:\/\/[\w.[\]:-]+$/.test(o)) throw new TypeError(`connectSrc: ${JSON.stringify(o)} is not an origin like https://proxy.example:8443`);
  }
  connectSrc = ["'self'", proxyUrl, ...(options.connectSrc ?? [])].join(" ");
  return {
    url,
    proxyUrl,
    proxy,
    size: scriptSize(files),
    async close() {
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), proxy.close()]);
    },
  };
}
