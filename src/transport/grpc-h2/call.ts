import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { FrameReader, framePrefix, wholeFrame } from "../grpc-frames.js";
import { ErrorCode } from "../h2/frames.js";
import type { H2Headers } from "../h2/hpack.js";
import type { H2Stream, H2StreamListener } from "../h2/stream.js";
import { type AsyncQueue, createAsyncQueue } from "../../util/async-queue.js";
import { aborted, deadlineExceeded, frameError, statusOf, toHeaders, unavailable } from "./status.js";
import type { H2Session } from "./session.js";

/** Response messages a streaming call holds for a slow reader before it stops granting HTTP/2 credit. */
const HIGH_WATER = 64;

/**
 * One call's HTTP/2 stream and what every call needs: the caller's abort,
 * the deadline, the response headers and trailers, gRPC frames, and the
 * outcome when the stream closes. Subclasses handle messages and the end.
 */
export abstract class Call<M extends DescMethodUnary | DescMethodStreaming, R> implements H2StreamListener {
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
    private readonly session: H2Session,
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

export class UnaryCall<I extends DescMessage, O extends DescMessage> extends Call<DescMethodUnary<I, O>, UnaryResponse<I, O>> {
  private output: MessageShape<O> | undefined;

  protected message(bytes: Uint8Array): void {
    if (this.output !== undefined) throw new ConnectError("protocol error: more than one response message", Code.Unimplemented);
    this.output = fromBinary(this.method.output, bytes);
  }

  protected closed(status: ConnectError | undefined): void {
    if (status) return this.reject(status);
    if (this.output === undefined) return this.reject(new ConnectError("protocol error: missing output message", Code.Unimplemented));
    this.resolve(new GrpcResponse(false, this.method, this.output, this) as unknown as UnaryResponse<I, O>);
  }
}

export class StreamCall<I extends DescMessage, O extends DescMessage> extends Call<DescMethodStreaming<I, O>, StreamResponse<I, O>> {
  // An abort or deadline ends reading at once, queued messages included.
  // Bounded: past HIGH_WATER unread messages no more credit is granted, so HTTP/2 flow control holds the server
  // back; leaving the loop ends the call (Connect's own iterators do not).
  private readonly messages = createAsyncQueue<MessageShape<O>>({
    highWater: HIGH_WATER,
    onFull: () => this.stream.pause(),
    onDrain: () => this.stream.resume(),
    onReturn: () => this.stream.cancel(),
  });
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
    this.messages.push(fromBinary(this.method.output, bytes));
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
    return new GrpcResponse(true, this.method, this.messages, this) as unknown as StreamResponse<I, O>;
  }
}

/** Queues one gRPC message (frame prefix, then the message) on the stream; false: wait for `drained()`. */
export function sendMessage(stream: H2Stream, bytes: Uint8Array, end: boolean): boolean {
  return stream.writev([framePrefix(bytes.length), bytes], end);
}

/**
 * The request's own headers (gRPC's fixed ones are the connection's) as a
 * record, with the deadline as `grpc-timeout`; undefined when there are none.
 */
export function requestHeaders(timeoutMs: number | undefined, header: HeadersInit | undefined): Record<string, string> | undefined {
  if (timeoutMs === undefined && header === undefined) return undefined;
  const h: Record<string, string> = {};
  if (header !== undefined) {
    if (header instanceof Headers || Array.isArray(header)) new Headers(header).forEach((v, k) => (h[k] = v));
    else for (const k in header) h[k.toLowerCase()] = (header as Record<string, string>)[k]!;
  }
  if (timeoutMs !== undefined) h["grpc-timeout"] = grpcTimeout(timeoutMs);
  return h;
}

/** A unary or streaming response whose Headers objects are built only if someone reads them. */
class GrpcResponse {
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


/** `grpc-timeout` in the finest unit whose value fits the 8 digits gRPC allows (milliseconds up to ~27.8 hours). */
export function grpcTimeout(ms: number): string {
  const millis = Math.max(1, Math.ceil(ms));
  return millis <= 99_999_999 ? `${millis}m` : `${Math.min(99_999_999, Math.ceil(millis / 1000))}S`;
}
