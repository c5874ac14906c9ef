/** Request headers a gRPC-Web client may send: allowed in full so that adding one never costs another preflight. */
export const ALLOWED_REQUEST_HEADERS = "content-type, x-grpc-web, x-user-agent, grpc-timeout, token, authorization, hasleader, x-etcd-endpoint";

/** CORS decisions for one proxy. */
export interface Cors {
  /**
   * Headers for a response to a request with this `Origin`: empty when the origin is not allowed (or absent),
   * so the browser keeps the answer from the page.
   */
  responseHeaders(origin: string | undefined): Record<string, string>;
  /** Headers of a successful preflight answer (204), or undefined when the origin is not allowed (403). */
  preflightHeaders(origin: string | undefined): Record<string, string> | undefined;
}

/** Creates the CORS policy for exact `allowOrigins` (`"*"` allows all). */
export function createCors(allowOrigins: readonly string[]): Cors {
  const exact = new Set(allowOrigins.filter((o) => o !== "*"));
  const any = allowOrigins.includes("*");
  const allowed = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    if (exact.has(origin)) return origin;
    return any ? "*" : undefined;
  };
  const responseHeaders = (origin: string | undefined): Record<string, string> => {
    const value = allowed(origin);
    if (value === undefined) return {};
    return {
      "access-control-allow-origin": value,
      // The answer depends on Origin: caches must not serve it to another origin.
      vary: "origin",
      // Trailers-only answers still carry these in the body, but exposing them costs nothing.
      "access-control-expose-headers": "grpc-status, grpc-message",
    };
  };
  return {
    responseHeaders,
    preflightHeaders(origin) {
      if (allowed(origin) === undefined) return undefined;
      return {
        ...responseHeaders(origin),
        "access-control-allow-methods": "POST, OPTIONS",
        "access-control-allow-headers": ALLOWED_REQUEST_HEADERS,
        "access-control-max-age": "86400",
      };
    },
  };
}
