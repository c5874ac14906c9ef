// A Vercel-style edge function (a service-worker `fetch` listener), bundled by e2e/edge-runtime.test.ts with the
// conditions Vercel's edge bundling uses (edge-light, worker, browser), so the package's default import picks the
// web entry; served by the edge-runtime CLI, it runs the web scenario through the proxy.
import * as etcd from "etcd-connect";
import { webScenario } from "../web-scenario.js";

interface FetchEvent {
  request: Request;
  respondWith(response: Promise<Response>): void;
}

async function handle(request: Request): Promise<Response> {
  const proxy = new URL(request.url).searchParams.get("proxy");
  if (!proxy) return new Response("missing ?proxy=", { status: 400 });
  const json = (body: unknown, status: number) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  try {
    // edge-runtime defines the global EdgeRuntime (a string), as Vercel documents for detecting it.
    const runtime = (globalThis as { EdgeRuntime?: string }).EdgeRuntime ?? "not edge-runtime";
    return json({ runtime, ...(await webScenario(etcd, proxy, "edge")) }, 200);
  } catch (err) {
    return json({ error: String((err as Error)?.stack ?? err) }, 500);
  }
}

addEventListener("fetch", (event) => (event as unknown as FetchEvent).respondWith(handle((event as unknown as FetchEvent).request)));
