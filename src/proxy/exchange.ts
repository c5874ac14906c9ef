import type * as http from "node:http";
import * as http2 from "node:http2";
import { codeFromHttpStatus } from "@connectrpc/connect/protocol-grpc";
import { FrameSplitter, Status, encodeTrailerFrame, statusFromHeaders, type GrpcStatus } from "./frames.js";
import type { ByteBudget } from "./limits.js";
import type { Logger } from "./logger.js";
import { grpcTimeoutMs } from "./headers.js";
import { describe, type Lease, type UpstreamPool } from "./upstream.js";
import { ErrorCode } from "../transport/h2/frames.js";
import type { H2Headers } from "../transport/h2/hpack.js";
import type { H2Stream, H2StreamListener } from "../transport/h2/stream.js";
import { neverSent } from "../transport/retry-policy.js";

/** A request as both `node:http` and the `node:http2` compatibility API deliver it. */
export type ProxyRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response of `node:http` or the `node:http2` compatibility API. */
export type ProxyResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The content type of every gRPC-Web answer. */
export const GRPC_WEB_CONTENT_TYPE = "application/grpc-web+proto";

const { NGHTTP2_NO_ERROR } = http2.constants;

/** An upstream stream's listener: one object per attempt, whose methods are shared (no closures per call). */
interface AttemptListener extends H2StreamListener {
  exchange: Exchange;
  attempt: number;
  lease: Lease;
}
function onHeaders(this: AttemptListener, headers: H2Headers): void {
  this.exchange.upstreamHeaders(this.attempt, headers);
}
function onData(this: AttemptListener, data: Uint8Array): void {
  this.exchange.upstreamData(this.attempt, data);
}
function onClose(this: AttemptListener, error: Error | undefined, rstCode: number): void {
  this.exchange.upstreamClosed(this.attempt, this.lease, error, rstCode);
}

/** Response bytes of a unary call held back to be written with the trailer in one write; more are streamed. */
const COALESCE_BYTES = 64 * 1024;

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
  /** For a unary call: checks its whole message (frame) before it is sent; a status refuses it. */
  check?: (frame: Buffer) => GrpcStatus | undefined;
  /** Filtered gRPC metadata for etcd. */
  metadata: Record<string, string>;
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
  /** Dropped once the request body has ended (a watch lives on without it). */
  #splitter: FrameSplitter | undefined;
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
  /** Response messages held back to go out with the trailer in one write (unary calls, up to 64 KiB). */
  #out: Buffer[] = [];
  #heldOut = 0;
  /** The first whole frame (a unary call: the whole body) arrived in time. */
  #arrived = false;
  #stream: H2Stream | undefined;
  /** Upstream attempts so far; callbacks of earlier ones are ignored. */
  #attempt = 0;
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
  #isSettled = false;
  #settle: (() => void) | undefined;
  #settled: Promise<void> | undefined;

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
  }

  /** Starts forwarding. Never throws; every outcome ends the browser response. */
  start(): void {
    this.#ctx.active.add(this);
    const res = this.#res;
    res.once("finish", () => this.#markSettled());
    res.once("close", () => {
      this.#markSettled();
      if (!this.#done) this.#browserGone();
    });
    this.#requestTimer = setTimeout(() => this.#requestTimedOut(), this.#ctx.requestTimeoutMs);
    this.#pump();
  }

  /** Resolves once the browser response has finished or closed (made only when asked for: proxy shutdown). */
  get settled(): Promise<void> {
    if (this.#isSettled) return Promise.resolve();
    return (this.#settled ??= new Promise((resolve) => (this.#settle = resolve)));
  }

  #markSettled(): void {
    this.#isSettled = true;
    this.#settle?.();
  }

  /** Opens the upstream stream once there is something whole to send. */
  #openUpstream(): void {
    this.#arrived = true;
    clearTimeout(this.#requestTimer);
    this.#requestTimer = undefined;
    this.#open();
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

  /** Starts the call on the next endpoint the pool offers (each endpoint once). */
  #open(): void {
    const lease = this.#ctx.pool.acquire(this.#tried);
    if (this.#done) return;
    if (!lease) {
      const pinned = this.#init.pinned;
      const message = pinned === undefined ? "no etcd endpoint is reachable" : `etcd endpoint ${this.#ctx.pool.endpoints[pinned]} is not reachable`;
      this.#finish({ code: Status.UNAVAILABLE, message });
      return;
    }
    // The attempt counter tells an earlier attempt's stream (before a retry) from the current one.
    const attempt = ++this.#attempt;
    let stream: H2Stream;
    try {
      stream = lease.connection.request(this.#init.path, this.#init.metadata, { exchange: this, attempt, lease, onHeaders, onData, onClose } as AttemptListener);
    } catch {
      // The connection takes no new streams (GOAWAY, closing): nothing was sent, another endpoint may take it.
      this.#open();
      return;
    }
    this.#stream = stream;
    this.#lease = lease;
    lease.session.streamOpened();
    // A replacement stream gets every whole frame the browser has sent so far.
    this.#written = 0;
    this.#flush();
  }

  /** Called by an attempt's stream listener: ignored unless it is the current attempt. @internal */
  upstreamHeaders(attempt: number, headers: H2Headers): void {
    if (attempt === this.#attempt) this.#onHeaders(headers);
  }

  /** @internal */
  upstreamData(attempt: number, data: Uint8Array): void {
    if (attempt === this.#attempt) this.#onData(data);
  }

  /** @internal */
  upstreamClosed(attempt: number, lease: Lease, error: Error | undefined, rstCode: number): void {
    if (attempt === this.#attempt) this.#onClose(lease, error, rstCode);
    else lease.session.streamClosed();
  }

  #onHeaders(headers: H2Headers): void {
    if (this.#done) return;
    if (this.#responded) {
      // Trailers.
      const status = statusFromHeaders(headers);
      if (status) this.#status = status;
      return;
    }
    this.#responded = true;
    // etcd has the call: frames already written need not be kept for another member.
    this.#frames = this.#frames.slice(this.#written);
    this.#written = 0;
    this.#release();
    const status = statusFromHeaders(headers);
    const httpStatus = headers[":status"];
    if (status) {
      // etcd sends every error as a trailers-only answer: the status is in the only HEADERS frame.
      this.#status = status;
      this.#discardData = true;
    } else if (httpStatus !== "200") {
      this.#status = { code: codeFromHttpStatus(Number(httpStatus)), message: `etcd answered HTTP ${String(httpStatus)}` };
      this.#discardData = true;
    }
    // A unary answer goes out whole at the end (one write); a stream's headers go at once, for the browser to start.
    if (!this.#init.unary) this.#sendHeaders();
  }

  #onData(data: Uint8Array): void {
    const res = this.#res;
    if (this.#done || this.#discardData || res.destroyed) return;
    this.#bytesOut += data.length;
    // A view of the received bytes, passed on without a copy.
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.#init.unary && !this.#res.headersSent && this.#heldOut + chunk.length <= COALESCE_BYTES) {
      // A unary answer is held (up to 64 KiB) and written whole with its trailer and Content-Length.
      this.#heldOut += chunk.length;
      this.#out.push(chunk);
      return;
    }
    this.#sendHeaders();
    if (!res.write(chunk) && !this.#pausedForBrowser) {
      const stream = this.#stream!;
      this.#pausedForBrowser = true;
      stream.pause(); // no more HTTP/2 credit for etcd until the browser has read this
      res.once("drain", () => {
        this.#pausedForBrowser = false;
        stream.resume();
      });
    }
  }

  #onClose(lease: Lease, error: Error | undefined, rstCode: number): void {
    lease.session.streamClosed();
    this.#stream = undefined;
    if (this.#done) return;
    const refused = rstCode === ErrorCode.RefusedStream || (error !== undefined && neverSent(error));
    // Retry only what cannot have had an effect: a stream etcd refused or a connection that never came up, or a
    // read that got no answer.
    if (error !== undefined && !this.#responded && (refused || (this.#init.safe && this.#deadlineStatus() === undefined))) {
      this.#ctx.log.debug(`${this.#init.path}: ${lease.endpoint} failed before answering (${describe(error)}); trying another endpoint`);
      this.#open();
      return;
    }
    const why = error !== undefined ? describe(error) : rstCode !== 0 ? `reset (code ${rstCode})` : "etcd ended the stream without a status";
    this.#finish(this.#status ?? this.#deadlineStatus() ?? { code: Status.UNAVAILABLE, message: `etcd stream failed: ${why}` });
  }

  /** Writes the frames not yet written to the upstream stream; ends it once the request is complete. */
  #flush(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#done) return;
    let room = true;
    if (this.#written < this.#frames.length) {
      const next = this.#written === 0 && this.#frames.length === 1 ? this.#frames : this.#frames.slice(this.#written);
      this.#written = this.#frames.length;
      room = stream.writev(next, this.#requestEnded);
    } else if (this.#requestEnded) stream.end();
    if (this.#responded) {
      // Nothing is kept once etcd has the call.
      this.#frames.length = 0;
      this.#written = 0;
      this.#release();
    }
    if (!room && !this.#requestEnded && !this.#pausedForUpstream) {
      this.#pausedForUpstream = true;
      this.#req.pause();
      void stream.drained().then(() => {
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
      const bad = this.#splitter!.push(chunk, fresh);
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
      const bad = this.#splitter!.end();
      if (bad) {
        this.#finish(bad);
        return;
      }
      this.#splitter = undefined;
      this.#requestEnded = true;
      if (this.#frames.length === 0 && !this.#arrived) {
        this.#finish({ code: Status.INVALID_ARGUMENT, message: "the request has no message" });
        return;
      }
      const refused = this.#init.unary ? this.#init.check?.(this.#frames[0]!) : undefined;
      if (refused) {
        this.#finish(refused);
        return;
      }
      if (!this.#arrived) this.#openUpstream();
      else this.#flush();
    });
  }

  /** Gives back to the budget what is no longer held: all but the frame being gathered and the frames kept. */
  #release(): void {
    let keep = this.#splitter?.pendingBytes ?? 0;
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
    // Anything held for a whole answer goes first.
    for (const c of this.#out) res.write(c);
    this.#out.length = 0;
  }

  /** Ends the call with `status`; `closeConnection`: the request was bad or too slow, so drop what is left of it. */
  #finish(status: GrpcStatus, closeConnection = false): void {
    if (this.#done) return;
    this.#done = true;
    this.#status = status;
    this.#cleanUp();
    this.#closeUpstream();
    const res = this.#res;
    if (!res.destroyed && !res.writableEnded) {
      const trailer = encodeTrailerFrame(status);
      if (!res.headersSent) {
        // The whole answer in one write: headers with its length, the held messages and the trailer.
        const body = this.#out.length === 0 ? trailer : Buffer.concat([...this.#out, trailer]);
        this.#out.length = 0;
        res.writeHead(200, { "content-type": GRPC_WEB_CONTENT_TYPE, ...this.#init.responseHeaders, "content-length": String(body.length) });
        res.end(body);
      } else res.end(trailer);
    }
    discardRequest(this.#req, res, closeConnection ? 0 : this.#ctx.maxRequestBytes);
    this.#ctx.active.delete(this);
    this.#logLine(status, "");
  }

  /** Stops the request timer and gives every held byte back. */
  #cleanUp(): void {
    clearTimeout(this.#requestTimer);
    this.#requestTimer = undefined;
    this.#frames = [];
    this.#ctx.budget.give(this.#held);
    this.#held = 0;
  }

  #browserGone(): void {
    this.#done = true;
    this.#cleanUp();
    this.#closeUpstream();
    this.#ctx.active.delete(this);
    this.#logLine({ code: Status.CANCELLED, message: "" }, " (client went away)");
  }

  /** Resets a stream still open (RST_STREAM CANCEL, which makes etcd drop the call, e.g. free a watcher). */
  #closeUpstream(): void {
    this.#stream?.cancel();
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
