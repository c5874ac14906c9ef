import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, text, toBytes } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
let client: Client;

beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints, dialTimeoutMs: 5000 });
});
afterAll(() => client?.close());

/** etcdctl's JSON, with int64s kept exact (it prints them as bare numbers). */
async function ctlJson(args: string[]): Promise<any> {
  const out = await etcd.etcdctl([...args, "-w", "json"]);
  return JSON.parse(out.replace(/:(\d{16,})/g, ':"$1"'));
}
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("put and get", () => {
  it("round-trips strings and bytes, with metadata that matches etcdctl", async () => {
    const put = await client.put("kv/a", "alpha");
    const got = await client.get("kv/a");
    expect(got.kvs).toHaveLength(1);
    const kv = got.kvs[0]!;
    expect(text(kv.key)).toBe("kv/a");
    expect(text(kv.value)).toBe("alpha");
    expect(kv.version).toBe(1n);
    expect(kv.createRevision).toBe(put.header.revision);
    expect(kv.modRevision).toBe(put.header.revision);
    expect(got.count).toBe(1n);
    expect(got.more).toBe(false);

    const ctl = await ctlJson(["get", "kv/a"]);
    expect(ctl.kvs[0].value).toBe(b64("alpha"));
    expect(BigInt(ctl.kvs[0].mod_revision)).toBe(kv.modRevision);
    expect(BigInt(ctl.header.cluster_id)).toBe(got.header.clusterId);
    expect(BigInt(ctl.header.member_id)).toBe(got.header.memberId);

    const binary = new Uint8Array([0, 255, 1, 254]);
    await client.put(new Uint8Array([0xff, 0x00]), binary);
    const raw = await client.get(new Uint8Array([0xff, 0x00]));
    expect(raw.kvs[0]!.value).toEqual(binary);
    expect(raw.kvs[0]!.value).toBeInstanceOf(Uint8Array);
  });

  it("returns an empty result for a missing key", async () => {
    const got = await client.get("kv/missing");
    expect(got.kvs).toEqual([]);
    expect(got.count).toBe(0n);
  });

  it("reads keys written by etcdctl", async () => {
    await etcd.etcdctl(["put", "kv/from-ctl", "hi"]);
    expect(text((await client.get("kv/from-ctl")).kvs[0]!.value)).toBe("hi");
  });

  it("returns prevKv and keeps value or lease with ignoreValue / ignoreLease", async () => {
    await client.put("kv/p", "one");
    const second = await client.put("kv/p", "two", { prevKv: true });
    expect(text(second.prevKv!.value)).toBe("one");
    expect(second.prevKv!.version).toBe(1n);
    const none = await client.put("kv/p-new", "x", { prevKv: true });
    expect(none.prevKv).toBeUndefined();

    const lease = await ctlJson(["lease", "grant", "600"]);
    const leaseId = BigInt(lease.ID);
    await client.put("kv/p", "three", { lease: leaseId });
    let kv = (await client.get("kv/p")).kvs[0]!;
    expect(kv.lease).toBe(leaseId);
    await client.put("kv/p", "", { ignoreValue: true, lease: 0 });
    kv = (await client.get("kv/p")).kvs[0]!;
    expect([text(kv.value), kv.lease]).toEqual(["three", 0n]);
    await client.put("kv/p", "four", { lease: leaseId });
    await client.put("kv/p", "five", { ignoreLease: true });
    kv = (await client.get("kv/p")).kvs[0]!;
    expect([text(kv.value), kv.lease]).toEqual(["five", leaseId]);
    const ttl = await ctlJson(["lease", "timetolive", leaseId.toString(16), "--keys"]);
    expect(ttl.keys.map((k: string) => Buffer.from(k, "base64").toString())).toEqual(["kv/p"]);
  });

  it("fails ignoreValue on a missing key with key-not-found from etcd", async () => {
    await expect(client.put("kv/never", "", { ignoreValue: true })).rejects.toMatchObject({ kind: "key-not-found" });
  });
});

describe("ranges", () => {
  beforeAll(async () => {
    for (const k of ["r/a", "r/b", "r/c", "r/d", "s/a"]) await client.put(k, `v-${k}`);
  });
  const keys = (r: { kvs: { key: Uint8Array }[] }) => r.kvs.map((kv) => text(kv.key));

  it("reads prefixes, explicit ranges and from-key ranges", async () => {
    expect(keys(await client.get("r/", { prefix: true }))).toEqual(["r/a", "r/b", "r/c", "r/d"]);
    expect(keys(await client.get("r/b", { end: "r/d" }))).toEqual(["r/b", "r/c"]);
    const from = keys(await client.get("r/c", { fromKey: true }));
    expect(from.slice(0, 3)).toEqual(["r/c", "r/d", "s/a"]);
    const all = await client.get("", { prefix: true, keysOnly: true });
    const ctl = await ctlJson(["get", "", "--prefix", "--keys-only"]);
    expect(all.count).toBe(BigInt(ctl.count));
    expect(keys(all)).toEqual(ctl.kvs.map((kv: { key: string }) => Buffer.from(kv.key, "base64").toString()));
    const allFrom = await client.get("", { fromKey: true, countOnly: true });
    expect(allFrom.count).toBe(all.count);
  });

  it("limits, counts and reports more", async () => {
    const r = await client.get("r/", { prefix: true, limit: 2 });
    expect(keys(r)).toEqual(["r/a", "r/b"]);
    expect(r.more).toBe(true);
    expect(r.count).toBe(4n);
    const c = await client.get("r/", { prefix: true, countOnly: true });
    expect(c.kvs).toEqual([]);
    expect(c.count).toBe(4n);
  });

  it("returns keys without values with keysOnly", async () => {
    const r = await client.get("r/a", { keysOnly: true });
    expect(text(r.kvs[0]!.key)).toBe("r/a");
    expect(r.kvs[0]!.value).toEqual(new Uint8Array());
  });

  it("sorts by every target in both orders", async () => {
    await client.put("r/c", "v-r/c-2"); // r/c now has the highest mod revision and version 2
    expect(keys(await client.get("r/", { prefix: true, sort: { target: "key", order: "descend" } }))).toEqual(["r/d", "r/c", "r/b", "r/a"]);
    expect(keys(await client.get("r/", { prefix: true, sort: { target: "mod", order: "descend" } }))[0]).toBe("r/c");
    expect(keys(await client.get("r/", { prefix: true, sort: { target: "create", order: "descend" } }))).toEqual(["r/d", "r/c", "r/b", "r/a"]);
    expect(keys(await client.get("r/", { prefix: true, sort: { target: "version", order: "descend" } }))[0]).toBe("r/c");
    expect(keys(await client.get("r/", { prefix: true, sort: { target: "value", order: "descend" }, limit: 1 }))).toEqual(["r/d"]);
    expect(keys(await client.get("r/", { prefix: true, sort: { target: "key" } }))).toEqual(["r/a", "r/b", "r/c", "r/d"]);
  });

  it("filters by mod and create revision", async () => {
    const all = await client.get("r/", { prefix: true });
    const byRev = new Map(all.kvs.map((kv) => [text(kv.key), kv]));
    const c = byRev.get("r/c")!;
    const b = byRev.get("r/b")!;
    expect(keys(await client.get("r/", { prefix: true, minModRevision: c.modRevision }))).toEqual(["r/c"]);
    expect(keys(await client.get("r/", { prefix: true, maxModRevision: b.modRevision }))).toEqual(["r/a", "r/b"]);
    expect(keys(await client.get("r/", { prefix: true, minCreateRevision: c.createRevision }))).toEqual(["r/c", "r/d"]);
    expect(keys(await client.get("r/", { prefix: true, maxCreateRevision: b.createRevision }))).toEqual(["r/a", "r/b"]);
  });

  it("reads at an older revision and serializably", async () => {
    const first = await client.put("r/hist", "old");
    await client.put("r/hist", "new");
    expect(text((await client.get("r/hist", { revision: first.header.revision })).kvs[0]!.value)).toBe("old");
    expect(text((await client.get("r/hist", { revision: Number(first.header.revision) })).kvs[0]!.value)).toBe("old");
    expect(text((await client.get("r/hist", { serializable: true })).kvs[0]!.value)).toBe("new");
  });

  it("handles the all-0xff prefix like Go (range to the end of the keyspace)", async () => {
    await client.put(new Uint8Array([0xff, 0xff, 0x01]), "top");
    const r = await client.get(new Uint8Array([0xff, 0xff]), { prefix: true });
    expect(r.kvs.map((kv) => kv.key)).toEqual([new Uint8Array([0xff, 0xff, 0x01])]);
  });
});

describe("delete", () => {
  it("deletes a key, a prefix, a range and from a key, with prevKv", async () => {
    for (const k of ["d/a", "d/b", "d/c", "d/d", "d/e"]) await client.put(k, k);
    const one = await client.delete("d/a", { prevKv: true });
    expect(one.deleted).toBe(1n);
    expect(text(one.prevKvs[0]!.value)).toBe("d/a");
    const range = await client.delete("d/b", { end: "d/d" });
    expect(range.deleted).toBe(2n);
    expect(range.prevKvs).toEqual([]);
    const from = await client.delete("d/d", { fromKey: true, prevKv: true });
    expect(from.prevKvs.map((kv) => text(kv.key))).toContain("d/e");
    expect((await client.get("d/", { prefix: true })).count).toBe(0n);
    expect((await client.delete("d/none")).deleted).toBe(0n);
    expect(await etcd.etcdctl(["get", "d/", "--prefix"])).toBe("");
  });

  it("deletes a prefix and reports the count", async () => {
    for (const k of ["dp/1", "dp/2", "dp/3"]) await client.put(k, k);
    expect((await client.delete("dp/", { prefix: true })).deleted).toBe(3n);
  });
});

describe("compact", () => {
  it("compacts history; older revisions then fail with compacted", async () => {
    const first = await client.put("c/key", "1");
    const second = await client.put("c/key", "2");
    await client.compact(second.header.revision, { physical: true });
    const err = await client.get("c/key", { revision: first.header.revision }).catch((e) => e);
    expect(err).toMatchObject({ kind: "compacted", name: "EtcdError" });
    expect(text((await client.get("c/key", { revision: second.header.revision })).kvs[0]!.value)).toBe("2");
    const status = await ctlJson(["get", "c/key", "--rev", String(first.header.revision)]).catch((e: Error) => e);
    expect(String(status)).toMatch(/compacted/);
  });
});

describe("do", () => {
  it("runs ops built with op.*", async () => {
    const { op } = await import("../src/index.js");
    const put = await client.do(op.put("do/a", "1"));
    expect(put.type).toBe("put");
    const get = await client.do(op.get("do/a"));
    if (get.type !== "get") throw new Error("expected a get response");
    expect(text(get.response.kvs[0]!.value)).toBe("1");
  });

  it("accepts bytes and strings interchangeably", async () => {
    await client.put(toBytes("mix"), "s");
    expect(text((await client.get("mix")).kvs[0]!.value)).toBe("s");
  });
});
