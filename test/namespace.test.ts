import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, compare, connect, op, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume } from "./harness/watch.js";

const etcd = useEtcd();
let client: Client;
const outside = ["outside", "app0", "ap", "app", "zzz"];
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
  for (const k of outside) await etcd.etcdctl(["put", k, "untouched"]);
});
afterAll(() => client?.close());

const keys = (r: { kvs: { key: Uint8Array }[] }) => r.kvs.map((kv) => text(kv.key));
async function outsideIntact() {
  for (const k of outside) expect(await etcd.etcdctl(["get", k, "--print-value-only"]), k).toBe("untouched\n");
}

describe("namespace", () => {
  it("keeps KV calls inside the prefix and shows keys without it", async () => {
    const app = client.namespace("app/");
    await app.put("a", "1");
    await app.put("b", "2");
    await app.put("c/d", "3");
    expect(await etcd.etcdctl(["get", "app/a", "--print-value-only"])).toBe("1\n");
    expect(keys(await app.get("a"))).toEqual(["a"]);
    expect(keys(await app.get("", { prefix: true }))).toEqual(["a", "b", "c/d"]);
    expect(keys(await app.get("", { fromKey: true }))).toEqual(["a", "b", "c/d"]);
    expect(keys(await app.get("b", { fromKey: true }))).toEqual(["b", "c/d"]);
    expect(keys(await app.get("a", { end: "c" }))).toEqual(["a", "b"]);
    expect(keys(await app.get("c/", { prefix: true }))).toEqual(["c/d"]);
    expect((await app.get("", { prefix: true, countOnly: true })).count).toBe(3n);
    const put = await app.put("a", "1b", { prevKv: true });
    expect(text(put.prevKv!.key)).toBe("a");
    const del = await app.delete("", { prefix: true, prevKv: true });
    expect(del.deleted).toBe(3n);
    expect(del.prevKvs.map((kv) => text(kv.key))).toEqual(["a", "b", "c/d"]);
    await outsideIntact();
  });

  it("moves txn compares and ops (nested too) into the prefix", async () => {
    const app = client.namespace("app/");
    await app.put("t", "1");
    const r = await app.txn({
      compare: [compare.value("t", "=", "1"), compare.version("", ">", 0, { prefix: true })],
      success: [op.put("u", "2"), op.get("", { prefix: true }), op.txn({ success: [op.delete("t", { prevKv: true })] })],
    });
    expect(r.succeeded).toBe(true);
    const got = r.responses[1]!;
    if (got.type !== "get") throw new Error("expected get");
    expect(keys(got.response)).toEqual(["t", "u"]);
    const nested = r.responses[2]!;
    if (nested.type !== "txn" || nested.response.responses[0]!.type !== "delete") throw new Error("expected nested delete");
    expect(text(nested.response.responses[0]!.response.prevKvs[0]!.key)).toBe("t");
    expect(await etcd.etcdctl(["get", "app/", "--prefix", "--keys-only"])).toBe("app/u\n\n");
    // A compare on a key outside the view does not see the outside key of that name.
    expect((await app.txn({ compare: [compare.version("outside", ">", 0)] })).succeeded).toBe(false);
    await app.delete("", { prefix: true });
    await outsideIntact();
  });

  it("watches inside the prefix only, with keys without it, on the parent's stream", async () => {
    const app = client.namespace("app/");
    const streamsBefore = await etcd.metric("etcd_debugging_mvcc_watch_stream_total");
    const parentWatch = consume(client.watch("zzz-parent"));
    const all = consume(app.watch("", { prefix: true, prevKv: true }));
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total")).toBe(2);
    expect((await etcd.metric("etcd_debugging_mvcc_watch_stream_total")) - streamsBefore).toBe(1);
    await etcd.etcdctl(["put", "app0", "outside write"]);
    await etcd.etcdctl(["put", "app/w", "1"]);
    await app.put("w", "2");
    await all.waitForEvents(2);
    expect(all.events.map((e) => `${text(e.kv.key)}=${text(e.kv.value)}`)).toEqual(["w=1", "w=2"]);
    expect(text(all.events[1]!.prevKv!.key)).toBe("w");
    void parentWatch;
    await etcd.etcdctl(["put", "app0", "untouched"]);
  });

  it("lists only the lease's keys inside the prefix", async () => {
    const app = client.namespace("app/");
    const { id } = await app.lease.grant(60);
    await app.put("leased", "x", { lease: id });
    await client.put("outside-leased", "y", { lease: id });
    const ttl = await app.lease.timeToLive(id, { keys: true });
    expect(ttl.keys.map(text)).toEqual(["leased"]);
    expect((await client.lease.timeToLive(id, { keys: true })).keys.map(text).sort()).toEqual(["app/leased", "outside-leased"]);
    await app.lease.revoke(id);
  });

  it("nests namespaces, and handles a prefix of 0xff bytes", async () => {
    const inner = client.namespace("app/").namespace("inner/");
    expect(text(inner.prefix)).toBe("app/inner/");
    await inner.put("x", "deep");
    expect(await etcd.etcdctl(["get", "app/inner/x", "--print-value-only"])).toBe("deep\n");
    expect(keys(await client.namespace("app/").get("inner/", { prefix: true }))).toEqual(["inner/x"]);
    expect(keys(await inner.get("", { prefix: true }))).toEqual(["x"]);

    const top = client.namespace(new Uint8Array([0xff]));
    await top.put("k", "v");
    const r = await top.get("", { prefix: true });
    expect(r.kvs.map((kv) => kv.key)).toEqual([new TextEncoder().encode("k")]);
    expect(() => client.namespace("")).toThrow(TypeError);
    await outsideIntact();
  });
});
