// A put, a watch and a get through the installed package: node main.js <endpoint> <key>.
import { type Client, type WatchEvent, connect, text } from "etcd-connect";
import { createProxy } from "etcd-connect/proxy";
import { createWebTransport } from "etcd-connect/web";
import { createNodeTransport } from "etcd-connect/node";
import { createSession } from "etcd-connect/concurrency";

const [endpoint, key] = process.argv.slice(2) as [string, string];
const client: Client = await connect({ endpoints: [endpoint], dialTimeoutMs: 5000 });
try {
  const first = await client.put(key, "1");
  const watcher = client.watch(key, { startRevision: first.header.revision });
  await client.put(key, "2");
  const seen: string[] = [];
  for await (const { events } of watcher) {
    seen.push(...events.map((e: WatchEvent) => `${e.type} ${text(e.kv.value)}`));
    if (seen.length >= 2) break;
  }
  const got = await client.get(key);
  const entries = [createProxy, createWebTransport, createNodeTransport, createSession].map((f) => typeof f);
  console.log(JSON.stringify({ value: text(got.kvs[0]!.value), seen, entries }));
} finally {
  client.close();
}
