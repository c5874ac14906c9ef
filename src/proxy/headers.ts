import type { IncomingHttpHeaders } from "node:http";

/** The only request headers (gRPC metadata) passed on to etcd; everything else is dropped. */
export const FORWARDED_HEADERS = ["grpc-timeout", "token", "authorization", "hasleader"] as const;

// gRPC's timeout syntax: up to 8 digits and a unit.
const GRPC_TIMEOUT = /^\d{1,8}[HMSmun]$/;
// Visible ASCII and spaces/tabs: what HTTP/2 accepts in a header value.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** Result of {@link filterRequestHeaders}: the headers to send, or why the request is refused. */
export type FilteredHeaders = { ok: true; headers: Record<string, string> } | { ok: false; message: string };

/**
 * Picks the forwarded metadata from browser request headers. Hop-by-hop headers, cookies, origin, user agents,
 * `x-grpc-web`, encodings and any other `grpc-*` are dropped. Values are checked so that a bad one is refused
 * here rather than breaking the upstream request.
 */
export function filterRequestHeaders(incoming: IncomingHttpHeaders): FilteredHeaders {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const raw = incoming[name];
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(", ") : raw;
    if (!HEADER_VALUE.test(value)) return { ok: false, message: `invalid ${name} header` };
    if (name === "grpc-timeout" && !GRPC_TIMEOUT.test(value.trim())) return { ok: false, message: "invalid grpc-timeout header" };
    headers[name] = value.trim();
  }
  return { ok: true, headers };
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The milliseconds of a `grpc-timeout` value that filterRequestHeaders accepted ("500m" -> 500), else undefined. */
export function grpcTimeoutMs(value: unknown): number | undefined {
  if (typeof value !== "string" || !GRPC_TIMEOUT.test(value)) return undefined;
  return Number(value.slice(0, -1)) * UNIT_MS[value.slice(-1)]!;
}
