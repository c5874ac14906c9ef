// What a page does: connect through an etcd-connect proxy (gRPC-Web; `#proxy=URL`, else this origin), then a put, a
// watch and a get. The outcome goes to <body data-result>.
import { connect, createWebTransport, text } from "etcd-connect";

const proxy = new URLSearchParams(location.hash.slice(1)).get("proxy") ?? location.origin;
const client = await connect({ endpoints: [proxy], transport: createWebTransport });
try {
  const first = await client.put("page", "1");
  const watcher = client.watch("page", { startRevision: first.header.revision });
  await client.put("page", "2");
  const seen: string[] = [];
  for await (const { events } of watcher) {
    seen.push(...events.map((e) => `${e.type} ${text(e.kv.value)}`));
    if (seen.length >= 2) break;
  }
  const value = text((await client.get("page")).kvs[0]!.value);
  document.body.dataset.result = JSON.stringify({ value, seen });
} catch (err) {
  document.body.dataset.result = JSON.stringify({ error: String(err) });
} finally {
  client.close();
}
