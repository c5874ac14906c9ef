import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus } from "@connectrpc/connect/protocol-grpc";
import type { H2Headers } from "../h2/hpack.js";

// How a call on the HTTP/2 client ends, as a ConnectError: the gRPC status, HTTP errors (Connect's own mapping),
// broken connections, deadlines, aborts and bad frames.

/**
 * The call's outcome from its status: `grpc-status` in the trailers, or in
 * the headers of a trailers-only answer; a missing status means the
 * connection broke (or never came up).
 */
export function statusOf(
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

/** Response headers as a Fetch `Headers` (pseudo-headers left out). */
export function toHeaders(h: H2Headers | undefined): Headers {
  const out = new Headers();
  if (h) for (const k in h) if (!k.startsWith(":")) out.set(k, String(h[k]));
  return out;
}

export function deadlineExceeded(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

export function unavailable(err: unknown): ConnectError {
  const e = err instanceof Error ? err : new Error(String(err));
  return new ConnectError(e.message, Code.Unavailable, undefined, undefined, e);
}

export function aborted(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof Error && reason.name === "TimeoutError";
  return new ConnectError(reason instanceof Error ? reason.message : "the operation was aborted", timeout ? Code.DeadlineExceeded : Code.Canceled, undefined, undefined, reason);
}

export function frameError(err: unknown): ConnectError {
  const code = (err as { code?: string }).code;
  if (code === "too-large") return new ConnectError((err as Error).message, Code.ResourceExhausted);
  if (code === "compressed") return new ConnectError((err as Error).message, Code.Internal);
  return ConnectError.from(err, Code.Internal);
}
