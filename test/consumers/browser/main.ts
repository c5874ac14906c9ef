// What a page does: connect through an etcd-connect proxy (gRPC-Web), put, watch and get.
import { connect, createWebTransport, text } from "etcd-connect";

const client = await connect({ endpoints: [location.origin], transport: createWebTransport });
const first = await client.put("page", "1");
const watcher = client.watch("page", { startRevision: first.header.revision });
for await (const { events } of watcher) {
  for (const e of events) document.body.append(`${e.type} ${text(e.kv.value)}\n`);
  break;
}
document.body.append(text((await client.get("page")).kvs[0]!.value));
client.close();
