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
import { Code, ConnectError, type ContextValues, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { runStreamingCall, runUnaryCall } from "@connectrpc/connect/protocol";
import { codeFromHttpStatus } from "@connectrpc/connect/protocol-grpc";
import { interceptorRequest } from "./call-request.js";
import type { TransportFactoryOptions } from "../options.js";
import type { EtcdTransport } from "./etcd-transport.js";
import { FrameReader, framePrefix, wholeFrame } from "./grpc-frames.js";
import { ErrorCode } from "./h2/frames.js";
import type { H2Headers } from "./h2/hpack.js";
import type { H2Stream, H2StreamListener } from "./h2/stream.js";
import { LeanSession } from "./lean-session.js";

/**
 * A gRPC transport for Node (and Deno, Bun) on its own HTTP/2 client
 * (`./h2/`, plain `node:net`/`node:tls` sockets), with the same contract as
 * Connect's `createGrpcTransport` but far less work per call: one shared
 * connection per endpoint, no AbortController unless the caller passed a
 * signal or a deadline, request headers as HPACK table references, frames
 * encoded and decoded in place with protobuf-es's `toBinary`/`fromBinary`,
 * and the writes of calls started together sent as one. Interceptors run
 * through Connect's own call runners (so they behave exactly as with
 * Connect's transports); calls without interceptors take the direct path.
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
    return bytes;
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
      try {
        const bytes = encode(method.input, message);
        const call = new UnaryCall(method, resolve, reject, session, readMax, signal, timeoutMs);
        call.start(pathOf(method), header);
        sendMessage(call.stream, bytes, true);
      } catch (err) {
        reject(err);
      }
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
      let call: StreamCall<I, O>;
      try {
        call = new StreamCall(method, resolve, reject, session, readMax, signal, timeoutMs);
        call.start(pathOf(method), header);
      } catch (err) {
        return reject(err);
      }
      const stream = call.stream;
      // Send the requests as they come; a bidi call may go on sending while reading.
      void (async () => {
        try {
          for await (const m of input) {
            if (stream.closed) return;
            if (!sendMessage(stream, encode(method.input, m), false)) await stream.drained();
          }
          stream.end();
        } catch (err) {
          call.cancel(ConnectError.from(err));
        }
      })();
    });
  }

  /** A unary call through the interceptors, run by Connect's own runner. */
  async function interceptedUnary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    message: MessageInitShape<I>,
    contextValues: ContextValues | undefined,
  ): Promise<UnaryResponse<I, O>> {
    return runUnaryCall({
      interceptors,
      signal,
      timeoutMs,
      req: { ...interceptorRequest(`${base}${pathOf(method)}`, method, new Headers(header), contextValues), stream: false, message },
      // Connect's runner already handles the deadline and links the signal.
      next: (req) => rawUnary(method, req.signal, undefined, requestHeaders(timeoutMs, req.header), req.message),
    });
  }

  /** A streaming call through the interceptors, run by Connect's own runner. */
  async function interceptedStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues: ContextValues | undefined,
  ): Promise<StreamResponse<I, O>> {
    return runStreamingCall({
      interceptors,
      signal,
      timeoutMs,
      req: { ...interceptorRequest(`${base}${pathOf(method)}`, method, new Headers(header), contextValues), stream: true, message: input },
      next: (req) => rawStream(method, req.signal, undefined, requestHeaders(timeoutMs, req.header), req.message),
    });
  }

  return {
    halfDuplex: false,
    // Not async: without interceptors the call is rawUnary's own promise, with no extra layer alive while it is in flight.
    unary: (method, signal, timeoutMs, header, message, contextValues) =>
      interceptors.length === 0
        ? rawUnary(method, signal, timeoutMs, header, message)
        : interceptedUnary(method, signal, timeoutMs, header, message, contextValues),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      interceptors.length === 0
        ? rawStream(method, signal, timeoutMs, header, input)
        : interceptedStream(method, signal, timeoutMs, header, input, contextValues),
    close: () => session.close(),
  };
}

/**
 * One call's HTTP/2 stream and what every call needs: the caller's abort,
 * the deadline, the response headers and trailers, gRPC frames, and the
 * outcome when the stream closes. Subclasses handle messages and the end.
 */
abstract class Call<M extends DescMethodUnary | DescMethodStreaming, R> implements H2StreamListener {
  stream!: H2Stream;
  /** Bytes of frames split across DATA frames; made only when one is. */
  private reader: FrameReader | undefined;
  headers: H2Headers | undefined;
  trailers: H2Headers | undefined;
  /** Why the client ended the call (abort, deadline, bad frame), if it did. */
  failure: ConnectError | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** performance.now() at which the deadline passes, when there is one. */
  private deadlineAt = Infinity;
  private onAbort: (() => void) | undefined;

  constructor(
    protected readonly method: M,
    protected readonly resolve: (response: R) => void,
    protected readonly reject: (err: unknown) => void,
    private readonly session: LeanSession,
    private readonly readMax: number,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
  ) {}

  /** Opens the stream; throws (an abort, or `Unavailable` when there is no connection) before anything is sent. */
  start(path: string, header: HeadersInit | undefined): void {
    const { signal, timeoutMs } = this;
    if (signal?.aborted) throw aborted(signal);
    try {
      this.stream = this.session.get().request(path, requestHeaders(timeoutMs, header), this);
    } catch (err) {
      throw err instanceof ConnectError ? err : unavailable(err);
    }
    this.session.streamOpened();
    if (timeoutMs !== undefined) {
      this.deadlineAt = performance.now() + timeoutMs;
      this.timer = setTimeout(() => this.cancel(deadlineExceeded()), timeoutMs);
    }
    if (signal !== undefined) {
      this.onAbort = () => this.cancel(aborted(signal));
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  /** Ends the call with `err` (the first reason wins). */
  cancel(err: ConnectError): void {
    this.failure ??= err;
    this.canceled(this.failure);
    this.stream.cancel();
  }

  onHeaders(headers: H2Headers, endStream: boolean): void {
    if (this.headers === undefined) {
      this.headers = headers;
      if (!endStream) this.responseStarted();
    } else {
      this.trailers = headers;
    }
  }

  onData(data: Uint8Array): void {
    if (this.failure) return;
    try {
      // The usual case, without a reader: one whole gRPC frame in one DATA frame.
      if (this.reader === undefined || this.reader.pending === 0) {
        const message = wholeFrame(data, this.readMax);
        if (message !== undefined) return this.message(message);
      }
      const reader = (this.reader ??= new FrameReader(this.readMax));
      reader.push(data);
      for (let m = reader.next(); m !== undefined; m = reader.next()) this.message(m);
    } catch (err) {
      this.cancel(frameError(err));
    }
  }

  onClose(error: Error | undefined, rstCode: number): void {
    this.session.streamClosed();
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.signal!.removeEventListener("abort", this.onAbort);
    // etcd 3.5+ (grpc-go 1.6x and later) ends a call at its grpc-timeout with RST_STREAM CANCEL and no status; that
    // reset can be read before our own timer runs.
    if (this.failure === undefined && rstCode === ErrorCode.Cancel && performance.now() >= this.deadlineAt) this.failure = deadlineExceeded();
    this.closed(this.failure ?? statusOf(this.headers, this.trailers, rstCode, error));
  }

  /** A response message (may throw: the call fails with it). */
  protected abstract message(bytes: Uint8Array): void;
  /** The stream closed; `status` is the call's error, if any. */
  protected abstract closed(status: ConnectError | undefined): void;
  /** Response headers without a status arrived (not a trailers-only answer). */
  protected responseStarted(): void {}
  /** The client ended the call. */
  protected canceled(_err: ConnectError): void {}
}

class UnaryCall<I extends DescMessage, O extends DescMessage> extends Call<DescMethodUnary<I, O>, UnaryResponse<I, O>> {
  private output: MessageShape<O> | undefined;

  protected message(bytes: Uint8Array): void {
    if (this.output !== undefined) throw new ConnectError("protocol error: more than one response message", Code.Unimplemented);
    this.output = fromBinary(this.method.output, bytes);
  }

  protected closed(status: ConnectError | undefined): void {
    if (status) return this.reject(status);
    if (this.output === undefined) return this.reject(new ConnectError("protocol error: missing output message", Code.Unimplemented));
    this.resolve(new LeanResponse(false, this.method, this.output, this) as unknown as UnaryResponse<I, O>);
  }
}

class StreamCall<I extends DescMessage, O extends DescMessage> extends Call<DescMethodStreaming<I, O>, StreamResponse<I, O>> {
  // An abort or deadline ends reading at once, queued messages included.
  private readonly messages = createMessageQueue<MessageShape<O>>(
    () => this.stream.resume(),
    () => this.stream.cancel(),
  );
  private settled = false;

  protected override responseStarted(): void {
    // A trailers-only answer (etcd's errors) carries grpc-status: that one fails the call itself.
    const status = this.headers!["grpc-status"];
    if (!this.settled && (status === undefined || status === "0")) {
      this.settled = true;
      this.resolve(this.response());
    }
  }

  protected message(bytes: Uint8Array): void {
    // Too much unread: stop granting credit, so HTTP/2 flow control holds the server back.
    if (this.messages.push(fromBinary(this.method.output, bytes))) this.stream.pause();
  }

  protected override canceled(err: ConnectError): void {
    this.messages.fail(err);
  }

  protected closed(status: ConnectError | undefined): void {
    this.messages.end(status);
    if (this.settled) return;
    this.settled = true;
    if (status) this.reject(status);
    else this.resolve(this.response());
  }

  private response(): StreamResponse<I, O> {
    return new LeanResponse(true, this.method, this.messages.iterable, this) as unknown as StreamResponse<I, O>;
  }
}

/** Queues one gRPC message (frame prefix, then the message) on the stream; false: wait for `drained()`. */
function sendMessage(stream: H2Stream, bytes: Uint8Array, end: boolean): boolean {
  return stream.writev([framePrefix(bytes.length), bytes], end);
}

/**
 * The request's own headers (gRPC's fixed ones are the connection's) as a
 * record, with the deadline as `grpc-timeout`; undefined when there are none.
 */
function requestHeaders(timeoutMs: number | undefined, header: HeadersInit | undefined): Record<string, string> | undefined {
  if (timeoutMs === undefined && header === undefined) return undefined;
  const h: Record<string, string> = {};
  if (header !== undefined) {
    if (header instanceof Headers || Array.isArray(header)) new Headers(header).forEach((v, k) => (h[k] = v));
    else for (const k in header) h[k.toLowerCase()] = (header as Record<string, string>)[k]!;
  }
  if (timeoutMs !== undefined) h["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
  return h;
}

/** A unary or streaming response whose Headers objects are built only if someone reads them. */
class LeanResponse {
  readonly service: DescMethodUnary["parent"];
  constructor(
    readonly stream: boolean,
    readonly method: DescMethodUnary | DescMethodStreaming,
    readonly message: unknown,
    /** The call, whose trailers may arrive after the response is handed out. */
    private readonly call: { readonly headers: H2Headers | undefined; readonly trailers: H2Headers | undefined },
  ) {
    this.service = method.parent;
  }
  get header(): Headers {
    return toHeaders(this.call.headers);
  }
  get trailer(): Headers {
    return toHeaders(this.call.trailers);
  }
}

function toHeaders(h: H2Headers | undefined): Headers {
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
  headers: H2Headers | undefined,
  trailers: H2Headers | undefined,
  rst: number,
  failure: Error | undefined,
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
    return new ConnectError(`HTTP ${headers[":status"]} without a gRPC status`, codeFromHttpStatus(Number(headers[":status"])));
  }
  if (failure) return unavailable(failure);
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

function deadlineExceeded(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
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
