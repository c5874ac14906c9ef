import type * as http from "node:http";
import * as http2 from "node:http2";
import { codeFromHttpStatus } from "@connectrpc/connect/protocol-grpc";
import { FrameSplitter, Status, encodeTrailerFrame, statusFromHeaders, type GrpcStatus } from "./frames.js";
import type { ByteBudget } from "./limits.js";
import type { Logger } from "./logger.js";
import { grpcTimeoutMs } from "./headers.js";
import { describe, type Lease, type UpstreamPool } from "./upstream.js";

/** A request as both `node:http` and the `node:http2` compatibility API deliver it. */
export type ProxyRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response of `node:http` or the `node:http2` compatibility API. */
export type ProxyResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The content type of every gRPC-Web answer. */
export const GRPC_WEB_CONTENT_TYPE = "application/grpc-web+proto";

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

// request() throws these when the session cannot take new streams: nothing was sent, so another endpoint may.
const SESSION_GONE = new Set(["ERR_HTTP2_INVALID_SESSION", "ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_OUT_OF_STREAMS"]);

/** What an {@link Exchange} needs from its proxy. */
export interface ExchangeContext {
  pool: UpstreamPool;
  log: Logger;
  maxRequestBytes: number;
  /** Request body bytes held by every exchange together. */
  budget: ByteBudget;
  /** Time for the request to arrive: its first whole frame, or a unary call's whole body. */
  requestTimeoutMs: number;
  active: Set<Exchange>;
}

/** Details of one forwarded call. */
export interface ExchangeInit {
  path: string;
  /** Whether the call cannot change etcd's state, so it may be sent again to another member. */
  safe: boolean;
  /** A unary call: nothing goes to etcd before its whole body has arrived and holds exactly one message. */
  unary: boolean;
  /** Filtered gRPC metadata for etcd. */
  metadata: http2.OutgoingHttpHeaders;
  /** Extra headers of the browser response (CORS). */
  responseHeaders: Record<string, string>;
  startedAt: number;
  /** Index of the one upstream endpoint this call must go to (`x-etcd-endpoint`); no failover when set. */
  pinned?: number;
}

/**
 * One browser call forwarded to one etcd stream. Only whole request frames go up (only frame headers are read):
 * a unary call's body is received and checked in full before etcd sees anything, so a malformed body never applies
 * a write; a streaming call's frames go up as each one completes, and a malformed tail ends the call. Response
 * frames stream down, and the answer always ends with a gRPC-Web trailer frame. Backpressure runs both ways: a full
 * upstream pauses the browser request, a full browser response pauses the upstream stream (and so, through HTTP/2
 * flow control, etcd). The bytes an exchange holds (its incomplete frame, and the frames kept until etcd answers so
 * that a call that never reached etcd can go to another member) count against the proxy's byte budget.
 */
export class Exchange {
  readonly #ctx: ExchangeContext;
  readonly #req: ProxyRequest;
  // Typed as node:http's response: the methods used here (write, end, writeHead, flushHeaders, events)
  // behave the same on the HTTP/2 compatibility response, whose typings lack flushHeaders.
  readonly #res: http.ServerResponse;
  readonly #init: ExchangeInit;
  readonly #splitter: FrameSplitter;
  readonly #abort = new AbortController();
  readonly #tried = new Set<number>();
  /** Frames of the current upstream stream written so far (of #frames). */
  #written = 0;
  /**
   * Every whole frame received, in order, kept until etcd answers (so a call that never reached etcd can be sent
   * to another member); after that only those not yet written.
   */
  #frames: Buffer[] = [];
  /** Bytes reserved from the budget (by the splitter, per frame) and not given back yet. */
  #held = 0;
  #requestTimer: NodeJS.Timeout | undefined;
  /** The first whole frame (a unary call: the whole body) arrived in time. */
  #arrived = false;
  #stream: http2.ClientHttp2Stream | undefined;
  #lease: Lease | undefined;
  #status: GrpcStatus | undefined;
  /** When the browser's grpc-timeout passes (performance.now() clock, as startedAt), if it sent one. */
  #deadlineAt = Infinity;
  #responded = false;
  #discardData = false;
  #requestEnded = false;
  #pausedForUpstream = false;
  #pausedForBrowser = false;
  #done = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #settle: () => void = () => {};
  /** Resolves once the browser response has finished or closed. */
  readonly settled: Promise<void>;

  constructor(ctx: ExchangeContext, req: ProxyRequest, res: ProxyResponse, init: ExchangeInit) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res as http.ServerResponse;
    this.#init = init;
    this.#splitter = new FrameSplitter(ctx.maxRequestBytes, (bytes) => {
      if (!ctx.budget.take(bytes)) return false;
      this.#held += bytes;
      return true;
    });
    const timeoutMs = grpcTimeoutMs(init.metadata["grpc-timeout"]);
    if (timeoutMs !== undefined) this.#deadlineAt = init.startedAt + timeoutMs;
    if (init.pinned !== undefined) {
      // Every other endpoint counts as tried, so the pool offers only the pinned one.
      for (let i = 0; i < ctx.pool.endpoints.length; i++) if (i !== init.pinned) this.#tried.add(i);
    }
    this.settled = new Promise((resolve) => (this.#settle = resolve));
  }

  /** Starts forwarding. Never throws; every outcome ends the browser response. */
  start(): void {
    this.#ctx.active.add(this);
    const res = this.#res;
    res.once("finish", () => this.#settle());
    res.once("close", () => {
      this.#settle();
      if (!this.#done) this.#browserGone();
    });
    this.#requestTimer = setTimeout(() => this.#requestTimedOut(), this.#ctx.requestTimeoutMs);
    this.#pump();
  }

  /** Opens the upstream stream once there is something whole to send. */
  #openUpstream(): void {
    this.#arrived = true;
    clearTimeout(this.#requestTimer);
    this.#open().catch((err: unknown) => this.#finish({ code: Status.INTERNAL, message: `proxy error: ${describe(err)}` }));
  }

  #requestTimedOut(): void {
    if (this.#done || this.#arrived) return;
    const what = this.#init.unary ? "the request body" : "the first request message";
    this.#finish({ code: Status.DEADLINE_EXCEEDED, message: `${what} did not arrive within ${this.#ctx.requestTimeoutMs} ms` }, true);
  }

  /**
   * etcd 3.5+ (grpc-go 1.6x and later) ends a call at its grpc-timeout by resetting the stream, without a status:
   * past the deadline, that is DeadlineExceeded, as gRPC clients report it.
   */
  #deadlineStatus(): GrpcStatus | undefined {
    return performance.now() >= this.#deadlineAt ? { code: Status.DEADLINE_EXCEEDED, message: "context deadline exceeded" } : undefined;
  }

  /** Ends the call with `status` (e.g. when the proxy shuts down) and cancels the upstream stream. */
  abort(status: GrpcStatus): void {
    this.#finish(status);
  }

  async #open(): Promise<void> {
    for (;;) {
      const lease = await this.#ctx.pool.acquire(this.#abort.signal, this.#tried);
      if (this.#done) return;
      if (!lease) {
        const pinned = this.#init.pinned;
        const message = pinned === undefined ? "no etcd endpoint is reachable" : `etcd endpoint ${this.#ctx.pool.endpoints[pinned]} is not reachable`;
        this.#finish({ code: Status.UNAVAILABLE, message });
        return;
      }
      let stream: http2.ClientHttp2Stream;
      try {
        stream = lease.session.request(
          {
            ":method": "POST",
            ":path": this.#init.path,
            "content-type": "application/grpc+proto",
            te: "trailers",
            ...this.#init.metadata,
          },
          { endStream: false },
        );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined && SESSION_GONE.has(code)) {
          this.#tried.add(lease.index);
          continue;
        }
        this.#finish({ code: Status.INTERNAL, message: `upstream request failed: ${describe(err)}` });
        return;
      }
      this.#attach(stream, lease);
      return;
    }
  }

  #attach(stream: http2.ClientHttp2Stream, lease: Lease): void {
    this.#stream = stream;
    this.#lease = lease;
    let error: unknown;
    stream.on("response", (headers) => {
      if (stream !== this.#stream || this.#done) return;
      this.#responded = true;
      // etcd has the call: frames already written need not be kept for another member.
      this.#frames = this.#frames.slice(this.#written);
      this.#written = 0;
      this.#release();
      const trailersOnly = statusFromHeaders(headers);
      const httpStatus = headers[":status"];
      if (trailersOnly) {
        // etcd sends every error this way: the status is in the only HEADERS frame.
        this.#status = trailersOnly;
        this.#discardData = true;
      } else if (httpStatus !== 200) {
        this.#status = { code: codeFromHttpStatus(Number(httpStatus)), message: `etcd answered HTTP ${String(httpStatus)}` };
        this.#discardData = true;
      }
      this.#sendHeaders();
    });
    stream.on("data", (chunk: Buffer) => {
      if (stream !== this.#stream || this.#done || this.#discardData || this.#res.destroyed) return;
      this.#sendHeaders();
      this.#bytesOut += chunk.length;
      if (!this.#res.write(chunk) && !this.#pausedForBrowser) {
        this.#pausedForBrowser = true;
        stream.pause();
        this.#res.once("drain", () => {
          this.#pausedForBrowser = false;
          if (!this.#done) stream.resume();
        });
      }
    });
    stream.on("trailers", (trailers) => {
      const status = statusFromHeaders(trailers);
      if (status) this.#status = status;
    });
    stream.on("end", () => {
      if (stream !== this.#stream) return;
      this.#finish(this.#status ?? this.#deadlineStatus() ?? { code: Status.UNAVAILABLE, message: "etcd ended the stream without a status" });
    });
    stream.on("error", (err) => {
      error = err;
    });
    stream.on("close", () => {
      if (stream !== this.#stream || this.#done) return;
      const sessionLost = lease.session.destroyed || lease.session.closed;
      const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
      // Retry only what cannot have had an effect: a refused stream, or a read that got no answer.
      if (!this.#responded && (refused || (this.#init.safe && sessionLost))) {
        this.#tried.add(lease.index);
        this.#stream = undefined;
        this.#ctx.log.debug(`${this.#init.path}: ${lease.endpoint} failed before answering; trying another endpoint`);
        this.#open().catch((err: unknown) => this.#finish({ code: Status.INTERNAL, message: `proxy error: ${describe(err)}` }));
        return;
      }
      const why = error !== undefined ? describe(error) : sessionLost ? "connection lost" : `reset (code ${stream.rstCode})`;
      this.#finish(this.#status ?? this.#deadlineStatus() ?? { code: Status.UNAVAILABLE, message: `etcd stream failed: ${why}` });
    });

    // A replacement stream gets every whole frame the browser has sent so far.
    this.#written = 0;
    this.#flush();
  }

  /** Writes the frames not yet written to the upstream stream; ends it once the request is complete. */
  #flush(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#done) return;
    let full = false;
    while (this.#written < this.#frames.length) full = !stream.write(this.#frames[this.#written++]!);
    if (this.#responded) {
      // Nothing is kept once etcd has the call.
      this.#frames.length = 0;
      this.#written = 0;
      this.#release();
    }
    if (this.#requestEnded) {
      stream.end();
      return;
    }
    if (full && !this.#pausedForUpstream) {
      this.#pausedForUpstream = true;
      this.#req.pause();
      stream.once("drain", () => {
        if (stream !== this.#stream || !this.#pausedForUpstream) return;
        this.#pausedForUpstream = false;
        if (!this.#done) this.#req.resume();
      });
    }
  }

  #pump(): void {
    const req = this.#req;
    const fresh: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      if (this.#done) return;
      this.#bytesIn += chunk.length;
      const bad = this.#splitter.push(chunk, fresh);
      if (bad) {
        this.#finish(bad, true);
        return;
      }
      if (fresh.length === 0) return;
      for (const f of fresh) this.#frames.push(f);
      fresh.length = 0;
      if (this.#init.unary) {
        if (this.#frames.length > 1) this.#finish({ code: Status.INVALID_ARGUMENT, message: "a unary call takes exactly one request message" }, true);
        return; // sent whole, at the end of the body
      }
      if (!this.#arrived) this.#openUpstream();
      else this.#flush();
    });
    req.on("end", () => {
      if (this.#done) return;
      const bad = this.#splitter.end();
      if (bad) {
        this.#finish(bad);
        return;
      }
      this.#requestEnded = true;
      if (this.#frames.length === 0 && !this.#arrived) {
        this.#finish({ code: Status.INVALID_ARGUMENT, message: "the request has no message" });
        return;
      }
      if (!this.#arrived) this.#openUpstream();
      else this.#flush();
    });
  }

  /** Gives back to the budget what is no longer held: all but the frame being gathered and the frames kept. */
  #release(): void {
    let keep = this.#splitter.pendingBytes;
    for (const f of this.#frames) keep += f.length;
    if (this.#held > keep) {
      this.#ctx.budget.give(this.#held - keep);
      this.#held = keep;
    }
  }

  #sendHeaders(): void {
    const res = this.#res;
    if (res.headersSent) return;
    res.writeHead(200, { "content-type": GRPC_WEB_CONTENT_TYPE, ...this.#init.responseHeaders });
    // Browsers (and Connect) start reading a stream once its headers arrive; do not wait for the first frame.
    res.flushHeaders();
  }

  /** Ends the call with `status`; `closeConnection`: the request was bad or too slow, so drop what is left of it. */
  #finish(status: GrpcStatus, closeConnection = false): void {
    if (this.#done) return;
    this.#done = true;
    this.#status = status;
    this.#abort.abort();
    this.#cleanUp();
    this.#closeUpstream(this.#requestEnded && status.code === Status.OK ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
    const res = this.#res;
    if (!res.destroyed && !res.writableEnded) {
      this.#sendHeaders();
      res.end(encodeTrailerFrame(status));
    }
    discardRequest(this.#req, res, closeConnection ? 0 : this.#ctx.maxRequestBytes);
    this.#ctx.active.delete(this);
    this.#logLine(status, "");
  }

  /** Stops the request timer and gives every held byte back. */
  #cleanUp(): void {
    clearTimeout(this.#requestTimer);
    this.#frames = [];
    this.#ctx.budget.give(this.#held);
    this.#held = 0;
  }

  #browserGone(): void {
    this.#done = true;
    this.#abort.abort();
    this.#cleanUp();
    // NGHTTP2_CANCEL is what makes etcd drop the call, e.g. free a watcher.
    this.#closeUpstream(NGHTTP2_CANCEL);
    this.#ctx.active.delete(this);
    this.#logLine({ code: Status.CANCELLED, message: "" }, " (client went away)");
  }

  #closeUpstream(code: number): void {
    const stream = this.#stream;
    if (stream && !stream.closed && !stream.destroyed) stream.close(code);
  }

  #logLine(status: GrpcStatus, note: string): void {
    const log = this.#ctx.log;
    if (!log.debugEnabled) return;
    const ms = Math.round(performance.now() - this.#init.startedAt);
    const via = this.#lease ? ` via ${this.#lease.endpoint}` : "";
    log.debug(
      `POST ${this.#init.path} HTTP/${this.#req.httpVersion} grpc-status ${status.code}${note} ${ms} ms, ` +
        `${this.#bytesIn} B in, ${this.#bytesOut} B out${via}`,
    );
  }
}

/** Whether the whole request body has been received. */
export function requestComplete(req: ProxyRequest): boolean {
  return req.complete || req.readableEnded;
}

/**
 * After an answer that did not read the whole request body: on HTTP/1.1, read and drop the rest, so the
 * connection stays usable and closing it cannot reset the answer away; past `limit` more bytes (at least 1 MiB)
 * the connection is closed instead, and with `limit` 0 (a malformed or too slow request) as soon as the answer is
 * out. On HTTP/2, reset the browser's stream once the answer is out, as gRPC
 * servers do.
 */
export function discardRequest(req: ProxyRequest, res: ProxyResponse, limit: number): void {
  if (requestComplete(req)) return;
  if (req.httpVersionMajor === 2) {
    const stream = (req as http2.Http2ServerRequest).stream;
    const close = () => {
      if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
    };
    // The stream's own writable side: the compatibility response's "finish" waits for the stream to close.
    if (stream.writableFinished) close();
    else stream.once("finish", close);
    return;
  }
  if (limit === 0) {
    // A bad or too slow request: read no more of it (the kernel holds what comes), and close its connection once
    // the answer is out.
    req.pause();
    if (res.writableFinished) req.socket.destroy();
    else res.once("finish", () => req.socket.destroy());
    return;
  }
  const max = Math.max(limit, 1024 * 1024);
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > max) req.socket.destroy();
  });
  req.resume();
}
