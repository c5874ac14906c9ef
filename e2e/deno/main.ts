// Run by e2e/deno.test.ts under Deno: the built package (dist/) does KV and a watch,
// over HTTP/2 gRPC straight to etcd ("grpc") or gRPC-Web through the proxy ("grpc-web").
//   deno run --allow-net --allow-read --allow-env e2e/deno/main.ts <dist dir> <grpc|grpc-web> <endpoint>
const [dist, mode, endpoint] = Deno.args;
const entry = mode === "grpc" ? "node.js" : "web.js";
const { connect, text } = await import(`${dist}/src/${entry}`);

const client = await connect({ endpoints: [endpoint], dialTimeoutMs: 5000 });
const key = `deno/${mode}`;
const watcher = client.watch(key, { createdNotify: true });
const events: string[] = [];
const watched = (async () => {
  for await (const r of watcher) {
    if (r.created) {
      await client.put(key, `hello from deno over ${mode}`);
      continue;
    }
    for (const e of r.events) events.push(`${e.type} ${text(e.kv.key)}=${text(e.kv.value)}`);
    break; // cancels the watch
  }
})();
await watched;
const got = await client.get(key);
const deleted = await client.delete(key);
client.close();
console.log(JSON.stringify({ runtime: `deno ${Deno.version.deno}`, events, value: text(got.kvs[0].value), deleted: String(deleted.deleted) }));
