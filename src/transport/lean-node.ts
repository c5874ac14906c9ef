import * as http2 from "node:http2";
import {
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
  create,
  fromBinary,
  isMessage,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { runStreamingCall, runUnaryCall } from "@connectrpc/connect/protocol";
import { interceptorRequest } from "./call-request.js";
import type { TransportFactoryOptions } from "../options.js";
import type { EtcdTransport } from "./etcd-transport.js";
import { FrameReader, encodeFrame } from "./grpc-frames.js";
import { LeanSession } from "./lean-session.js";

const { NGHTTP2_CANCEL } = http2.constants;

/**
 * A gRPC transport written directly on `node:http2` (Node, Deno, Bun), with
 * the same contract as Connect's `createGrpcTransport` but far less work per
 * call: one shared HTTP/2 session per endpoint, no AbortController unless the
 * caller passed a signal or a deadline, headers built once per call from
 * fixed parts, frames encoded and decoded in place with protobuf-es's
 * `toBinary`/`fromBinary`. Interceptors run through Connect's own call
 * runners (so they behave exactly as with Connect's transports); calls
 * without interceptors take the direct path.
 */
export function createLeanTransport(endpoint: string, options: TransportFactoryOptions): EtcdTransport {
  const base = endpoint.replace(/\/+$/, "");
  const session = new LeanSession(base, {
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    keepAliveTimeMs: options.keepAliveTimeMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs,
  });
  const interceptors = options.interceptors;
  const readMax = options.readMaxBytes;
  const writeMax = options.writeMaxBytes;
  const paths = new WeakMap<object, string>();
  const pathOf = (method: { parent: { typeName: string }; name: string }): string => {
    let p = paths.get(method);
    if (p === undefined) paths.set(method, (p = `/${method.parent.typeName}/${method.name}`));
    return p;
  };

  function encode<I extends DescMessage>(desc: I, message: MessageInitShape<I>): Uint8Array {
    const bytes = toBinary(desc, isMessage(message, desc) ? (message as MessageShape<I>) : create(desc, message));
    if (bytes.length > writeMax) {
      throw new ConnectError(`message size ${bytes.length} is larger than configured writeMaxBytes ${writeMax}`, Code.ResourceExhausted);
    }
    return encodeFrame(bytes);
  }

  function requestHeaders(path: string, timeoutMs: number | undefined, header: HeadersInit | undefined): http2.OutgoingHttpHeaders {
    const h: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
    };
    if (timeoutMs !== undefined) h["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
    if (header !== undefined) {
      if (header instanceof Headers || Array.isArray(header)) new Headers(header).forEach((v, k) => (h[k] = v));
      else for (const k in header) h[k.toLowerCase()] = (header as Record<string, string>)[k];
    }
    return h;
  }

  /**
   * Opens one HTTP/2 stream for a call and wires what every call needs: the
   * caller's abort, the deadline, the response headers and trailers, and the
   * outcome when the stream closes. Throws (an abort, or `Unavailable` when
   * there is no session) before anything is sent.
   */
  function openCall(
    method: { parent: { typeName: string }; name: string },
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    onCancel?: (err: ConnectError) => void,
  ): Call {
    if (signal?.aborted) throw aborted(signal);
    let s: http2.ClientHttp2Session;
    try {
      s = session.get();
    } catch (err) {
      throw unavailable(err);
    }
    const stream = s.request(requestHeaders(pathOf(method), timeoutMs, header), { endStream: false });
    session.streamOpened();
    let streamError: Error | undefined;
    const call: Call = {
      stream,
      reader: new FrameReader(readMax),
      headers: undefined,
      trailers: undefined,
      failure: undefined,
      cancel(err) {
        call.failure ??= err;
        onCancel?.(call.failure);
        stream.close(NGHTTP2_CANCEL);
      },
      outcome() {
        session.streamClosed();
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        return call.failure ?? statusOf(call.headers, call.trailers, stream, session.failure(s) ?? streamError);
      },
    };
    const onAbort = () => call.cancel(aborted(signal!));
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => call.cancel(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("response", (h) => (call.headers = h));
    stream.on("trailers", (t) => (call.trailers = t));
    stream.on("error", (err: Error) => (streamError = err)); // reported by outcome()
    return call;
  }

  /** One unary call on the wire. */
  function rawUnary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    message: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    return new Promise((resolve, reject) => {
      let call: Call;
      let frame: Uint8Array;
      try {
        frame = encode(method.input, message);
        call = openCall(method, signal, timeoutMs, header);
      } catch (err) {
        return reject(err);
      }
      let output: MessageShape<O> | undefined;
      call.stream.on("data", (chunk: Buffer) => {
        if (call.failure) return;
        call.reader.push(plain(chunk));
        try {
          for (let m = call.reader.next(); m !== undefined; m = call.reader.next()) {
            if (output !== undefined) throw new ConnectError("protocol error: more than one response message", Code.Unimplemented);
            output = fromBinary(method.output, m);
          }
        } catch (err) {
          call.cancel(frameError(err));
        }
      });
      call.stream.on("close", () => {
        const status = call.outcome();
        if (status) return reject(status);
        if (output === undefined) return reject(new ConnectError("protocol error: missing output message", Code.Unimplemented));
        resolve(unaryResponse(method, output, call.headers!, call.trailers));
      });
      call.stream.end(frame);
    });
  }

  /** One streaming call on the wire; resolves once the response headers arrived. */
  function rawStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<StreamResponse<I, O>> {
    return new Promise((resolve, reject) => {
      let call: Call;
      // An abort or deadline ends reading at once, queued messages included.
      const messages = createMessageQueue<MessageShape<O>>(
        () => call.stream.resume(),
        () => call.stream.close(NGHTTP2_CANCEL),
      );
      try {
        call = openCall(method, signal, timeoutMs, header, (err) => messages.fail(err));
      } catch (err) {
        return reject(err);
      }
      const { stream } = call;
      let settled = false;
      const response = (): StreamResponse<I, O> =>
        ({
          stream: true,
          service: method.parent,
          method,
          get header() {
            return toHeaders(call.headers);
          },
          get trailer() {
            return toHeaders(call.trailers);
          },
          message: messages.iterable,
        }) as StreamResponse<I, O>;
      stream.on("response", (h) => {
        // A trailers-only answer (etcd's errors) carries grpc-status here: fail the call itself.
        if (!settled && (h["grpc-status"] === undefined || h["grpc-status"] === "0")) {
          settled = true;
          resolve(response());
        }
      });
      stream.on("data", (chunk: Buffer) => {
        if (call.failure) return;
        call.reader.push(plain(chunk));
        try {
          for (let m = call.reader.next(); m !== undefined; m = call.reader.next()) {
            // Too much unread: stop reading, so HTTP/2 flow control holds the server back.
            if (messages.push(fromBinary(method.output, m))) stream.pause();
          }
        } catch (err) {
          call.cancel(frameError(err));
        }
      });
      stream.on("close", () => {
        const status = call.outcome();
        messages.end(status);
        if (settled) return;
        settled = true;
        if (status) reject(status);
        else resolve(response());
      });

      // Send the requests as they come; a bidi call may go on sending while reading.
      void (async () => {
        try {
          for await (const m of input) {
            if (stream.closed || stream.destroyed) return;
            if (!stream.write(encode(method.input, m))) await new Promise((r) => stream.once("drain", r));
          }
          if (!stream.closed && !stream.destroyed) stream.end();
        } catch (err) {
          call.cancel(ConnectError.from(err));
        }
      })();
    });
  }

  return {
    halfDuplex: false,
    async unary(method, signal, timeoutMs, header, message, contextValues) {
      if (interceptors.length === 0) return rawUnary(method, signal, timeoutMs, header, message);
      return runUnaryCall({
        interceptors,
        signal,
        timeoutMs,
        req: { ...interceptorRequest(`${base}${pathOf(method)}`, method, new Headers(header), contextValues), stream: false, message },
        // Connect's runner already handles the deadline and links the signal.
        next: (req) => rawUnary(method, req.signal, undefined, headersRecord(req.header, timeoutMs), req.message),
      });
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      if (interceptors.length === 0) return rawStream(method, signal, timeoutMs, header, input);
      return runStreamingCall({
        interceptors,
        signal,
        timeoutMs,
        req: { ...interceptorRequest(`${base}${pathOf(method)}`, method, new Headers(header), contextValues), stream: true, message: input },
        next: (req) => rawStream(method, req.signal, undefined, headersRecord(req.header, timeoutMs), req.message),
      });
    },
    close: () => session.close(),
  };
}

/**
 * A view of a network chunk as a plain Uint8Array (no copy): decoded `bytes`
 * fields are views into it, and the public API hands out Uint8Array, never Buffer.
 */
function plain(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** One call's stream and what `openCall()` tracks for it. */
interface Call {
  readonly stream: http2.ClientHttp2Stream;
  readonly reader: FrameReader;
  headers: http2.IncomingHttpHeaders | undefined;
  trailers: http2.IncomingHttpHeaders | undefined;
  /** Why the client ended the call (abort, deadline, bad frame), if it did. */
  failure: ConnectError | undefined;
  /** Ends the call with `err` (the first reason wins). */
  cancel(err: ConnectError): void;
  /** Once the stream closed: releases the call's timer and listener, and returns its error, if any. */
  outcome(): ConnectError | undefined;
}

/** Interceptor headers as a plain record, with the deadline as grpc-timeout. */
function headersRecord(h: Headers, timeoutMs: number | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => (out[k] = v));
  if (timeoutMs !== undefined) out["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
  return out;
}

function unaryResponse<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  message: MessageShape<O>,
  header: http2.IncomingHttpHeaders,
  trailer: http2.IncomingHttpHeaders | undefined,
): UnaryResponse<I, O> {
  // Headers objects are built only if someone reads them.
  return {
    stream: false,
    service: method.parent,
    method,
    message,
    get header() {
      return toHeaders(header);
    },
    get trailer() {
      return toHeaders(trailer);
    },
  } as UnaryResponse<I, O>;
}

function toHeaders(h: http2.IncomingHttpHeaders | undefined): Headers {
  const out = new Headers();
  if (h) for (const k in h) if (!k.startsWith(":")) out.set(k, String(h[k]));
  return out;
}

/**
 * The call's outcome from its status: `grpc-status` in the trailers, or in
 * the headers of a trailers-only answer; a missing status means the
 * connection broke (or never came up).
 */
function statusOf(
  headers: http2.IncomingHttpHeaders | undefined,
  trailers: http2.IncomingHttpHeaders | undefined,
  stream: http2.ClientHttp2Stream,
  sessionFailure: Error | undefined,
): ConnectError | undefined {
  const source = trailers?.["grpc-status"] !== undefined ? trailers : headers?.["grpc-status"] !== undefined ? headers : undefined;
  if (source) {
    const code = Number(source["grpc-status"]);
    if (code === 0) return undefined;
    const raw = source["grpc-message"];
    const message = typeof raw === "string" ? decodeMessage(raw) : "";
    const metadata = toHeaders(headers);
    if (trailers) for (const k in trailers) metadata.set(k, String(trailers[k]));
    return new ConnectError(message, code >= 1 && code <= 16 ? (code as Code) : Code.Unknown, metadata);
  }
  if (headers !== undefined && Number(headers[":status"]) !== 200) {
    return new ConnectError(`HTTP ${headers[":status"]} without a gRPC status`, httpToCode(Number(headers[":status"])));
  }
  if (sessionFailure) return unavailable(sessionFailure);
  const rst = stream.rstCode;
  return new ConnectError(
    headers === undefined
      ? `the stream closed before a response (HTTP/2 code ${rst})`
      : `the stream ended without a gRPC status (HTTP/2 code ${rst})`,
    Code.Unavailable,
  );
}

function decodeMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** gRPC's mapping of HTTP statuses without a gRPC status. */
function httpToCode(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function unavailable(err: unknown): ConnectError {
  const e = err instanceof Error ? err : new Error(String(err));
  return new ConnectError(e.message, Code.Unavailable, undefined, undefined, e);
}

function aborted(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof Error && reason.name === "TimeoutError";
  return new ConnectError(reason instanceof Error ? reason.message : "the operation was aborted", timeout ? Code.DeadlineExceeded : Code.Canceled, undefined, undefined, reason);
}

function frameError(err: unknown): ConnectError {
  const code = (err as { code?: string }).code;
  if (code === "too-large") return new ConnectError((err as Error).message, Code.ResourceExhausted);
  if (code === "compressed") return new ConnectError((err as Error).message, Code.Internal);
  return ConnectError.from(err, Code.Internal);
}

/** Response messages waiting for their reader; bounded: `push` returns true when the reader should be paused. */
const HIGH_WATER = 64;

function createMessageQueue<T>(resume: () => void, cancel: () => void) {
  const items: T[] = [];
  let head = 0;
  let done = false;
  let error: ConnectError | undefined;
  let waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let paused = false;

  const iterator: AsyncIterator<T> = {
    next() {
      if (head < items.length) {
        const value = items[head++]!;
        if (head === items.length) {
          items.length = 0;
          head = 0;
        }
        if (paused && items.length - head <= HIGH_WATER / 2) {
          paused = false;
          resume();
        }
        return Promise.resolve({ done: false, value });
      }
      if (error) return Promise.reject(error);
      if (done) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
    // Unlike Connect's iterators, leaving the loop ends the call.
    return() {
      if (!done) cancel();
      done = true;
      items.length = 0;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return {
    iterable: { [Symbol.asyncIterator]: () => iterator } as AsyncIterable<T>,
    /** Adds a message; true when the reader is behind and the stream should pause. */
    push(value: T): boolean {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.resolve({ done: false, value });
        return false;
      }
      items.push(value);
      if (!paused && items.length - head >= HIGH_WATER) paused = true;
      return paused;
    },
    /** Ends reading now with `err`, dropping what was not read yet. */
    fail(err: ConnectError) {
      items.length = 0;
      head = 0;
      this.end(err);
    },
    end(err: ConnectError | undefined) {
      if (done) return;
      done = true;
      error = err;
      const w = waiter;
      waiter = undefined;
      if (!w) return;
      if (err) w.reject(err);
      else w.resolve({ done: true, value: undefined });
    },
  };
}
