import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, compare, connect, op, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
let client: Client;
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => client?.close());

describe("txn", () => {
  it("runs success or failure by value compare (compare-and-swap)", async () => {
    await client.put("t/cas", "v1");
    const swapped = await client.txn({
      compare: [compare.value("t/cas", "=", "v1")],
      success: [op.put("t/cas", "v2", { prevKv: true }), op.get("t/cas")],
      failure: [op.get("t/cas")],
    });
    expect(swapped.succeeded).toBe(true);
    expect(swapped.responses.map((r) => r.type)).toEqual(["put", "get"]);
    const [put, get] = swapped.responses;
    if (put?.type !== "put" || get?.type !== "get") throw new Error("unexpected response types");
    expect(text(put.response.prevKv!.value)).toBe("v1");
    expect(text(get.response.kvs[0]!.value)).toBe("v2");

    const lost = await client.txn({
      compare: [compare.value("t/cas", "=", "v1")],
      success: [op.put("t/cas", "never")],
      failure: [op.get("t/cas")],
    });
    expect(lost.succeeded).toBe(false);
    expect(lost.responses[0]!.type).toBe("get");
    expect(await etcd.etcdctl(["get", "t/cas", "--print-value-only"])).toBe("v2\n");
  });

  it("compares version, create revision, mod revision and lease", async () => {
    const created = await client.put("t/meta", "x");
    await client.put("t/meta", "y");
    const rev = created.header.revision;
    const check = async (c: ReturnType<typeof compare.version>) => (await client.txn({ compare: [c] })).succeeded;
    expect(await check(compare.version("t/meta", "=", 2))).toBe(true);
    expect(await check(compare.version("t/meta", ">", 2))).toBe(false);
    expect(await check(compare.version("t/absent", "=", 0))).toBe(true);
    expect(await check(compare.createRevision("t/meta", "=", rev))).toBe(true);
    expect(await check(compare.modRevision("t/meta", ">", rev))).toBe(true);
    expect(await check(compare.modRevision("t/meta", "<", rev))).toBe(false);
    expect(await check(compare.lease("t/meta", "=", 0))).toBe(true);
    expect(await check(compare.value("t/meta", "!=", "x"))).toBe(true);
    expect(await check(compare.value("t/meta", ">", "a"))).toBe(true);
    expect(await check(compare.value("t/meta", "<", "a"))).toBe(false);
  });

  it("compares over a prefix: the condition must hold for every key", async () => {
    await client.put("t/p/a", "1");
    await client.put("t/p/b", "1");
    expect((await client.txn({ compare: [compare.value("t/p/", "=", "1", { prefix: true })] })).succeeded).toBe(true);
    await client.put("t/p/c", "2");
    expect((await client.txn({ compare: [compare.value("t/p/", "=", "1", { prefix: true })] })).succeeded).toBe(false);
    expect((await client.txn({ compare: [compare.version("t/p/", ">", 0, { prefix: true })] })).succeeded).toBe(true);
    expect((await client.txn({ compare: [compare.value("t/p/a", "=", "1", { end: "t/p/c" })] })).succeeded).toBe(true);
  });

  it("runs nested txns and delete ops, with results nested the same way", async () => {
    await client.put("t/n/a", "1");
    const r = await client.txn({
      compare: [compare.version("t/n/a", ">", 0)],
      success: [
        op.txn({
          compare: [compare.value("t/n/a", "=", "1")],
          success: [op.delete("t/n/a", { prevKv: true }), op.put("t/n/b", "2")],
          failure: [],
        }),
      ],
    });
    expect(r.succeeded).toBe(true);
    const inner = r.responses[0]!;
    if (inner.type !== "txn") throw new Error("expected a nested txn response");
    expect(inner.response.succeeded).toBe(true);
    const del = inner.response.responses[0]!;
    if (del.type !== "delete") throw new Error("expected a delete response");
    expect(del.response.deleted).toBe(1n);
    expect(text(del.response.prevKvs[0]!.value)).toBe("1");
    expect(await etcd.etcdctl(["get", "t/n/", "--prefix"])).toBe("t/n/b\n2\n");
  });

  it("with no compares always succeeds, and is atomic (one revision)", async () => {
    const r = await client.txn({ success: [op.put("t/at/1", "a"), op.put("t/at/2", "b")] });
    expect(r.succeeded).toBe(true);
    const got = await client.get("t/at/", { prefix: true });
    expect(got.kvs.map((kv) => kv.modRevision)).toEqual([r.header.revision, r.header.revision]);
  });

  it("surfaces etcd's duplicate-key and too-many-ops errors", async () => {
    await expect(client.txn({ success: [op.put("t/dup", "1"), op.put("t/dup", "2")] })).rejects.toMatchObject({
      kind: "duplicate-key",
    });
    const ops = Array.from({ length: 129 }, (_, i) => op.put(`t/many/${i}`, "x"));
    await expect(client.txn({ success: ops })).rejects.toMatchObject({ kind: "too-many-ops" });
    expect((await client.get("t/many/", { prefix: true, countOnly: true })).count).toBe(0n);
  });
});
