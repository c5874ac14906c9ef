import {
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
  create,
  isMessage,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { runStreamingCall, runUnaryCall } from "@connectrpc/connect/protocol";
import { interceptorRequest } from "../call-request.js";
import type { TransportFactoryOptions } from "../../options.js";
import type { EtcdTransport } from "../etcd-transport.js";
import { StreamCall, UnaryCall, requestHeaders, sendMessage } from "./call.js";
import { H2Session } from "./session.js";

/**
 * A gRPC transport for Node (and Deno, Bun) on the project's own HTTP/2
 * client (`../h2/`, plain `node:net`/`node:tls` sockets), with the same contract as
 * Connect's `createGrpcTransport` but far less work per call: one shared
 * connection per endpoint, no AbortController unless the caller passed a
 * signal or a deadline, request headers as HPACK table references, frames
 * encoded and decoded in place with protobuf-es's `toBinary`/`fromBinary`,
 * and the writes of calls started together sent as one. Interceptors run
 * through Connect's own call runners (so they behave exactly as with
 * Connect's transports); calls without interceptors take the direct path.
 */
export function createGrpcH2Transport(endpoint: string, options: TransportFactoryOptions): EtcdTransport {
  const base = endpoint.replace(/\/+$/, "");
  const session = new H2Session(base, {
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

