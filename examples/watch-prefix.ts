// Watch a prefix: print every change under "demo/" while this script writes a few keys.
//   ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/watch-prefix.ts
import { connect, text } from "etcd-connect";

const endpoints = (process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379").split(",");
const client = await connect({ endpoints });

const watcher = client.watch("demo/", {
  prefix: true,
  prevKv: true,
  onStateChange: ({ state, endpoint, error }) => console.log(`[watch ${state}${endpoint ? ` on ${endpoint}` : ""}${error ? `: ${error.kind}` : ""}]`),
});

// Write in the background; the watcher sees each change once, in order.
const writes = (async () => {
  await new Promise((resolve) => setTimeout(resolve, 100));
  await client.put("demo/a", "1");
  await client.put("demo/b", "2");
  await client.put("demo/a", "3");
  await client.delete("demo/", { prefix: true });
})();

let seen = 0;
for await (const { events } of watcher) {
  for (const e of events) {
    const previous = e.prevKv ? ` (was ${text(e.prevKv.value)})` : "";
    console.log(`${e.type} ${text(e.kv.key)} ${e.type === "put" ? text(e.kv.value) : ""}${previous} @ revision ${e.kv.modRevision}`);
    seen++;
  }
  if (seen >= 5) break; // break cancels the watch on etcd
}
// The last events can arrive before the delete's own answer: let the writes finish before closing.
await writes;
client.close();
