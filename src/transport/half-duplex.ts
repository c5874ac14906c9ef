import type { DescMessage, DescMethodBiDiStreaming, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";

/**
 * Runs a bidi method as a server-streaming call that sends one request.
 * gRPC-Web over fetch cannot stream requests, and Connect's gRPC-Web transport
 * refuses bidi methods; etcd answers the same path either way (it keeps a
 * Watch open after the client's half-close and answers a LeaseKeepAlive once).
 */
export async function* callHalfDuplex<I extends DescMessage, O extends DescMessage>(
  transport: Transport,
  method: DescMethodBiDiStreaming<I, O>,
  request: MessageInitShape<I>,
  signal: AbortSignal,
  header: HeadersInit | undefined,
  timeoutMs?: number,
): AsyncGenerator<MessageShape<O>> {
  const serverStreaming = { ...method, methodKind: "server_streaming" } as unknown as DescMethodBiDiStreaming<I, O>;
  const response = await transport.stream(serverStreaming, signal, timeoutMs, header, once(request));
  yield* response.message;
}

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}
