// Why a proxy cannot be used from this page. A browser reports a refused CORS check, a blocked connection and a
// proxy that is down all as the same failed fetch; two probes tell the first apart from the others.

/** What {@link probeProxy} found. */
export type ProxyReach = "ok" | "refuses-origin" | "no-answer";

/**
 * Probes a proxy: a `no-cors` request (which needs no permission from the proxy, so it fails only when nothing
 * answers or this page's CSP blocks it), then a gRPC-Web `Status` call like the client's (which needs the proxy's
 * CORS permission). Answered but refused: the proxy's `--allow-origin` does not include this page.
 */
export async function probeProxy(url: string, signal?: AbortSignal): Promise<ProxyReach> {
  const base = url.replace(/\/+$/, "");
  try {
    await fetch(`${base}/`, { mode: "no-cors", cache: "no-store", signal });
  } catch {
    return "no-answer";
  }
  try {
    await fetch(`${base}/etcdserverpb.Maintenance/Status`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      // One gRPC-Web frame holding an empty StatusRequest.
      body: new Uint8Array(5),
      cache: "no-store",
      signal,
    });
    return "ok";
  } catch {
    return signal?.aborted ? "no-answer" : "refuses-origin";
  }
}
