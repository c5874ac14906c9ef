/**
 * etcd-connect/proxy: a gRPC-Web to gRPC proxy, so that browsers and workers (Connect's gRPC-Web transport,
 * binary `application/grpc-web+proto`) can reach etcd, which speaks only HTTP/2 gRPC.
 *
 * ```ts
 * const proxy = createProxy({ endpoints: ["http://127.0.0.1:2379"], allowOrigins: ["https://app.example"] });
 * const { url } = await proxy.listen(8080);
 * // ... later
 * await proxy.close();
 * ```
 *
 * @module
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { createCors } from "./cors.js";
import type { Exchange } from "./exchange.js";
import { Status } from "./frames.js";
import { createRequestHandler, type HandlerState, type ProxyHandler } from "./handler.js";
import { resolveOptions, type ProxyOptions } from "./options.js";
import { UpstreamPool } from "./upstream.js";
import { ByteBudget, ConnectionGuard } from "./limits.js";
import { pem } from "../util/pem.js";

export type { ProxyLogLevel, ProxyLogger, ProxyOptions, ProxyUpstreamTls } from "./options.js";
export { DEFAULT_MAX_REQUEST_BYTES, PROXY_LIMIT_DEFAULTS } from "./options.js";
export type { ProxyHandler } from "./handler.js";
export type { ProxyRequest, ProxyResponse } from "./exchange.js";

/** How long close() lets final trailer frames flush before it cuts the remaining connections. */
const CLOSE_GRACE_MS = 1000;

/** A running or runnable proxy. */
export interface EtcdProxy {
  /**
   * Serves the proxy on `host:port` (default `127.0.0.1`, port 0 or omitted = a free port): HTTPS with HTTP/2
   * and HTTP/1.1 when `tls` is set, plain HTTP/1.1 otherwise. Logs one info line. Resolves with the base URL
   * for clients (`http://127.0.0.1:PORT`) and the port. Can be called once.
   */
  listen(port?: number, host?: string): Promise<{
    /** Base URL for clients, e.g. `http://127.0.0.1:8080` (`https://` with `tls`). */
    url: string;
    /** The port the proxy listens on (the one picked when 0 was asked). */
    port: number;
  }>;
  /**
   * Stops listening, ends every call in flight with gRPC status 14 Unavailable (cancelling its etcd stream),
   * closes the upstream sessions and the browser connections. Idempotent.
   */
  close(): Promise<void>;
  /**
   * The request listener, to mount the proxy on a server of your own: `http.createServer(proxy.handler)` or
   * `http2.createSecureServer({ allowHTTP1: true, ... }, proxy.handler)`. `close()` still ends its calls.
   */
  readonly handler: ProxyHandler;
}

/** Creates a proxy; nothing is opened until `listen()` or the first request. Throws on invalid options. */
export function createProxy(options: ProxyOptions): EtcdProxy {
  const resolved = resolveOptions(options);
  const log = resolved.log;
  const pool = new UpstreamPool(resolved.endpoints, resolved.upstreamTls, log);
  const guard = new ConnectionGuard(resolved, log);
  const state: HandlerState = {
    pool,
    log,
    guard,
    maxRequestBytes: resolved.maxRequestBytes,
    budget: new ByteBudget(resolved.maxBufferedBytes),
    requestTimeoutMs: resolved.requestTimeoutMs,
    active: new Set<Exchange>(),
    cors: createCors(resolved.allowOrigins),
    readOnly: resolved.readOnly,
    closed: false,
  };
  const handler = createRequestHandler(state);
  let server: http.Server | http2.Http2SecureServer | undefined;
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing: Promise<void> | undefined;

  const listen = async (port = 0, host = "127.0.0.1"): Promise<{ url: string; port: number }> => {
    if (state.closed) throw new Error("proxy is closed");
    if (server) throw new Error("proxy is already listening");
    const tls = resolved.tls;
    const srv: http.Server | http2.Http2SecureServer = tls
      ? http2.createSecureServer(
          {
            cert: pem(tls.cert),
            key: pem(tls.key),
            allowHTTP1: true,
            handshakeTimeout: resolved.requestTimeoutMs,
            settings: { maxConcurrentStreams: resolved.maxConcurrentStreams },
          },
          handler,
        )
      : http.createServer(handler);
    if (srv instanceof http.Server) {
      // Slow headers are cut by Node; the body's deadline is the exchange's own (requestTimeoutMs).
      srv.headersTimeout = resolved.requestTimeoutMs;
      srv.requestTimeout = 0;
      srv.keepAliveTimeout = resolved.idleTimeoutMs;
    }
    server = srv;
    guard.attach(srv, tls !== undefined);
    srv.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    if (tls) {
      const secure = srv as http2.Http2SecureServer;
      secure.on("session", (session: http2.ServerHttp2Session) => {
        sessions.add(session);
        session.once("close", () => sessions.delete(session));
      });
      // Bad handshakes and broken sessions are the client's problem; they must not reach "error".
      secure.on("sessionError", (err) => log.debug(`client session error: ${err.message}`));
      secure.on("tlsClientError", (err) => log.debug(`TLS client error: ${err.message}`));
    }
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(port, host, () => {
          srv.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      server = undefined; // e.g. EADDRINUSE: listen() may be tried again
      throw err;
    }
    srv.on("error", (err) => log.error(`server error: ${err.message}`));
    const bound = (srv.address() as AddressInfo).port;
    const url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${bound}`;
    log.info(
      `listening on ${url} (${tls ? "HTTPS, HTTP/2 and HTTP/1.1" : "HTTP/1.1"}), ` +
        `endpoints ${pool.endpoints.join(", ")}, read-only ${resolved.readOnly ? "yes" : "no"}, ` +
        `tls ${tls ? "yes" : "no"}`,
    );
    return { url, port: bound };
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.closed = true;
      const srv = server;
      const serverClosed = srv
        ? new Promise<void>((resolve) => srv.close(() => resolve()))
        : Promise.resolve();
      const calls = [...state.active];
      for (const call of calls) call.abort({ code: Status.UNAVAILABLE, message: "the proxy is shutting down" });
      pool.close();
      for (const session of sessions) session.close();
      if (srv instanceof http.Server) srv.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(calls.map((c) => c.settled)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(timer);
      // Keep-alive and idle HTTP/2 connections would hold server.close() open.
      for (const socket of sockets) socket.destroy();
      await serverClosed;
    })();
    return closing;
  };

  return { listen, close, handler };
}
