import type * as http from "node:http";
import type { Cors } from "./cors.js";
import {
  Exchange,
  GRPC_WEB_CONTENT_TYPE,
  discardRequest,
  type ExchangeContext,
  type ProxyRequest,
  type ProxyResponse,
} from "./exchange.js";
import { Status, encodeTrailerFrame, type GrpcStatus } from "./frames.js";
import { filterRequestHeaders } from "./headers.js";
import { findRoute } from "./routes.js";
import { ConnectionGuard } from "./limits.js";
import { checkReadOnlyTxn } from "./read-only-txn.js";

/**
 * Request header naming the one etcd endpoint (one of the proxy's `endpoints`) that must serve the call, for
 * per-member calls such as `Maintenance/Status` in a dashboard. Calls without it fail over as usual.
 */
export const PIN_HEADER = "x-etcd-endpoint";

/** What the request handler needs from its proxy. */
export interface HandlerState extends ExchangeContext {
  cors: Cors;
  /** Counts HTTP/1.1 requests in flight per connection, for the idle timeout. */
  guard: ConnectionGuard;
  readOnly: boolean;
  /** True once the proxy is closing: new calls get Unavailable. */
  closed: boolean;
}

/** A `(req, res)` listener for `http.createServer` or `http2.create(Secure)Server` (compatibility API). */
export type ProxyHandler = (req: ProxyRequest, res: ProxyResponse) => void;

/**
 * Creates the request listener: CORS and preflight, routing to etcd's RPC paths, content-type and read-only
 * checks, then an {@link Exchange} that forwards the call. It never throws.
 */
export function createRequestHandler(state: HandlerState): ProxyHandler {
  return (req, res) => {
    const startedAt = performance.now();
    // A client that drops its connection mid-request must never surface as an unhandled "error".
    req.on("error", () => {});
    (res as http.ServerResponse).on("error", (err) => state.log.debug(`response error: ${err.message}`));
    const key = ConnectionGuard.keyOf(req);
    if (key !== undefined) (res as http.ServerResponse).once("close", state.guard.requestStarted(key));
    try {
      handle(state, req, res, startedAt);
    } catch (err) {
      state.log.error(`unexpected error handling ${String(req.method)} ${pathOf(req.url)}: ${String(err)}`);
      try {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end();
      } catch {
        // the connection is already gone
      }
    }
  };
}

function handle(state: HandlerState, req: ProxyRequest, res: ProxyResponse, startedAt: number): void {
  const origin = single(req.headers.origin);
  const cors = state.cors.responseHeaders(origin);
  const log = (what: string) => {
    if (state.log.debugEnabled) {
      const ms = Math.round(performance.now() - startedAt);
      state.log.debug(`${String(req.method)} ${pathOf(req.url)} HTTP/${req.httpVersion} ${what} ${ms} ms`);
    }
  };
  const text = (status: number, body: string, headers: Record<string, string> = cors) => {
    res.writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8" });
    res.end(body + "\n");
    discardRequest(req, res, state.maxRequestBytes);
    log(`HTTP ${status}`);
  };
  const grpc = (status: GrpcStatus) => {
    res.writeHead(200, { ...cors, "content-type": GRPC_WEB_CONTENT_TYPE });
    res.end(encodeTrailerFrame(status));
    discardRequest(req, res, state.maxRequestBytes);
    log(`grpc-status ${status.code}`);
  };

  if (req.method === "OPTIONS") {
    const headers = state.cors.preflightHeaders(origin);
    if (!headers) return text(403, "origin not allowed", {});
    res.writeHead(204, headers);
    res.end();
    discardRequest(req, res, state.maxRequestBytes);
    log("HTTP 204");
    return;
  }
  const route = findRoute(req.url);
  if (!route) return text(404, "not found: only etcd v3 gRPC methods are served");
  if (req.method !== "POST") return text(405, "method not allowed: use POST", { ...cors, allow: "POST, OPTIONS" });
  const contentType = (single(req.headers["content-type"]) ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType === "application/grpc-web-text" || contentType === "application/grpc-web-text+proto") {
    return text(415, "unsupported content type: only binary application/grpc-web+proto is supported, not grpc-web-text");
  }
  if (contentType !== "application/grpc-web" && contentType !== "application/grpc-web+proto") {
    return text(415, "unsupported content type: expected application/grpc-web+proto");
  }
  if (state.closed) return grpc({ code: Status.UNAVAILABLE, message: "the proxy is shutting down" });
  // A read-only proxy lets a Txn through when it only reads (checked on the whole message, before sending).
  const readOnlyTxn = state.readOnly && route.path === "/etcdserverpb.KV/Txn";
  if (state.readOnly && !route.readOnly && !readOnlyTxn) {
    return grpc({ code: Status.PERMISSION_DENIED, message: `${route.path} is not allowed: the proxy is read-only` });
  }
  const declared = Number(single(req.headers["content-length"]) ?? 0);
  if (declared > state.maxRequestBytes) {
    return grpc({ code: Status.RESOURCE_EXHAUSTED, message: `request body larger than ${state.maxRequestBytes} bytes` });
  }
  const metadata = filterRequestHeaders(req.headers as http.IncomingHttpHeaders);
  if (!metadata.ok) return grpc({ code: Status.INVALID_ARGUMENT, message: metadata.message });
  const pin = single(req.headers[PIN_HEADER]);
  let pinned: number | undefined;
  if (pin !== undefined) {
    pinned = state.pool.indexOf(pin);
    if (pinned === undefined) {
      return grpc({ code: Status.FAILED_PRECONDITION, message: `${PIN_HEADER} ${pin} is not an etcd endpoint of this proxy` });
    }
  }

  new Exchange(state, req, res, {
    path: route.path,
    safe: route.readOnly,
    unary: route.unary,
    ...(readOnlyTxn ? { check: checkReadOnlyTxn } : {}),
    metadata: metadata.headers,
    responseHeaders: cors,
    startedAt,
    pinned,
  }).start();
}

/** The request path for logs: never the query string, which may carry a token. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return "";
  const q = url.indexOf("?");
  return q < 0 ? url : `${url.slice(0, q)}?(query left out)`;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
