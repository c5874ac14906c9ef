// A Cloudflare-style worker (run by workerd in e2e/workerd.test.ts): KV and a
// short watch through the etcd-connect proxy, with the package's default
// entry for workers (gRPC-Web over fetch).
import { connect, text } from "etcd-connect";

export default {
  async fetch(request: Request): Promise<Response> {
    const proxy = new URL(request.url).searchParams.get("proxy");
    if (!proxy) return new Response("missing ?proxy=", { status: 400 });
    const client = await connect({ endpoints: [proxy], dialTimeoutMs: 5000 });
    try {
      const watcher = client.watch("workerd/k", { createdNotify: true });
      const events: string[] = [];
      for await (const r of watcher) {
        if (r.created) {
          await client.put("workerd/k", "hello from workerd");
          continue;
        }
        for (const e of r.events) events.push(`${e.type} ${text(e.kv.key)}=${text(e.kv.value)}`);
        break;
      }
      const got = await client.get("workerd/k");
      return Response.json({ events, value: text(got.kvs[0]!.value), revision: String(got.header.revision) });
    } catch (err) {
      return Response.json({ error: String(err) }, { status: 500 });
    } finally {
      client.close();
    }
  },
};
