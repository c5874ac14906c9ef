import { type DescMessage, type MessageInitShape, type MessageShape, create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createEnvelopeReadableStream, createMethodUrl, encodeEnvelope, runStreamingCall, runUnaryCall } from "@connectrpc/connect/protocol";
import { interceptorRequest } from "./call-request.js";
import { headerGrpcStatus, requestHeader, trailerFlag, trailerParse, validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc-web";

/** Options of {@link createGrpcWebTransport}. */
export interface GrpcWebOptions {
  /** The proxy's URL, e.g. `https://etcd-proxy.example.com`. */
  baseUrl: string;
  /** Connect interceptors. Default: none. */
  interceptors?: Interceptor[];
  /** The fetch to use. Default: `globalThis.fetch`, looked up at call time. */
  fetch?: typeof globalThis.fetch;
}

const compressedFlag = 0b00000001;

/**
 * Connect's gRPC-Web protocol over `fetch`, binary only. It is the same
 * protocol code as connect-web's `createGrpcWebTransport` (Connect's envelope,
 * trailer, header and interceptor helpers), with protobuf-es's binary codec in
 * place of Connect's generic serializer, so the JSON codec (about 5 KB gzip)
 * stays out of browser bundles. Like any fetch transport it cannot stream
 * requests: client-streaming and bidi calls must send exactly one message.
 */
export function createGrpcWebTransport(options: GrpcWebOptions): Transport {
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const serialize = <I extends DescMessage>(desc: I, message: MessageInitShape<I>): Uint8Array =>
    toBinary(desc, isMessage(message, desc) ? (message as MessageShape<I>) : create(desc, message));

  return {
    async unary(method, signal, timeoutMs, header, message, contextValues) {
      timeoutMs = timeoutMs !== undefined && timeoutMs <= 0 ? undefined : timeoutMs;
      return runUnaryCall({
        interceptors: options.interceptors,
        signal,
        timeoutMs,
        req: { ...interceptorRequest(createMethodUrl(options.baseUrl, method), method, requestHeader(true, timeoutMs, header, false), contextValues), stream: false, message },
        next: async (req) => {
          const response = await fetchFn(req.url, {
            method: req.requestMethod,
            headers: req.header,
            signal: req.signal,
            body: encodeEnvelope(0, serialize(method.input, req.message)) as BodyInit,
          });
          const { headerError } = validateResponse(response.status, response.headers);
          if (!response.body) throw headerError ?? new ConnectError("missing response body", Code.Internal);
          const reader = createEnvelopeReadableStream(response.body).getReader();
          let trailer: Headers | undefined;
          let output: MessageShape<typeof method.output> | undefined;
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            const { flags, data } = r.value;
            if (flags === trailerFlag) {
              if (trailer !== undefined) throw new ConnectError("protocol error: extra trailer", Code.Internal);
              trailer = trailerParse(data);
              continue;
            }
            if ((flags & compressedFlag) === compressedFlag) {
              throw new ConnectError("protocol error: received unsupported compressed output", Code.Internal);
            }
            if (output !== undefined) throw new ConnectError("extra message", Code.Unimplemented);
            output = fromBinary(method.output, data);
          }
          if (trailer === undefined) {
            throw headerError ?? new ConnectError("missing trailer", response.headers.has(headerGrpcStatus) ? Code.Unimplemented : Code.Unknown);
          }
          validateTrailer(trailer, response.headers);
          if (output === undefined) {
            throw new ConnectError("missing message", trailer.has(headerGrpcStatus) ? Code.Unimplemented : Code.Unknown);
          }
          return { stream: false, service: method.parent, method, header: response.headers, message: output, trailer };
        },
      });
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      timeoutMs = timeoutMs !== undefined && timeoutMs <= 0 ? undefined : timeoutMs;
      return runStreamingCall({
        interceptors: options.interceptors,
        signal,
        timeoutMs,
        req: { ...interceptorRequest(createMethodUrl(options.baseUrl, method), method, requestHeader(true, timeoutMs, header, false), contextValues), stream: true, message: input },
        next: async (req) => {
          const first = await req.message[Symbol.asyncIterator]().next();
          if (first.done === true) throw new ConnectError("missing request message", Code.Internal);
          const response = await fetchFn(req.url, {
            method: req.requestMethod,
            headers: req.header,
            signal: req.signal,
            body: encodeEnvelope(0, serialize(method.input, first.value)) as BodyInit,
          });
          const { foundStatus, headerError } = validateResponse(response.status, response.headers);
          if (headerError !== undefined) throw headerError;
          if (!response.body) throw new ConnectError("missing response body", Code.Internal);
          const trailer = new Headers();
          return {
            ...req,
            header: response.headers,
            trailer,
            message: readMessages(response.body, foundStatus, trailer, response.headers, req.signal, (data) => fromBinary(method.output, data)),
          };
        },
      });
    },
  };
}

/** The response messages of a streaming call; the trailer lands in `trailerTarget`. */
async function* readMessages<T>(
  body: ReadableStream<Uint8Array>,
  trailersOnly: boolean,
  trailerTarget: Headers,
  header: Headers,
  signal: AbortSignal,
  parse: (data: Uint8Array) => T,
): AsyncGenerator<T> {
  const reader = createEnvelopeReadableStream(body).getReader();
  if (trailersOnly) {
    // A grpc-status response header: a trailers-only response, with an empty body.
    if (!(await reader.read()).done) throw new ConnectError("protocol error: extra data for trailers-only", Code.Internal);
    return;
  }
  let trailerReceived = false;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    const { flags, data } = r.value;
    if ((flags & trailerFlag) === trailerFlag) {
      if (trailerReceived) throw new ConnectError("protocol error: extra trailer", Code.Internal);
      trailerReceived = true;
      const trailer = trailerParse(data);
      validateTrailer(trailer, header);
      trailer.forEach((value, key) => trailerTarget.set(key, value));
      continue;
    }
    if (trailerReceived) throw new ConnectError("protocol error: extra message", Code.Internal);
    if ((flags & compressedFlag) === compressedFlag) {
      throw new ConnectError("protocol error: received unsupported compressed output", Code.Internal);
    }
    yield parse(data);
  }
  // Some fetch implementations do not throw on read() after an abort.
  signal.throwIfAborted();
  if (!trailerReceived) throw new ConnectError("missing trailer", Code.Internal);
}
