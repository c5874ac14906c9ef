// The console's tree listing (console/src/key-tree.ts) against real etcd: every key listed exactly once, in order,
// across pages; directories skipped with one call each, whatever they hold.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listLevel, type TreeEntry } from "../../console/src/key-tree.js";
import { connect, op, text, type Client } from "../../src/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
let client: Client;
let calls = 0;

beforeAll(async () => {
  client = await connect({
    endpoints: etcd.endpoints,
    interceptors: [
      (next) => (req) => {
        if (req.method.name === "Range") calls++;
        return next(req);
      },
    ],
  });
});
afterAll(() => client?.close());

const show = (entries: TreeEntry[]) => entries.map((e) => `${e.kind === "dir" ? "d" : "k"}:${text(e.name)}`);

async function putAll(keys: Array<string | Uint8Array>): Promise<void> {
  for (let i = 0; i < keys.length; i += 128) await client.txn({ success: keys.slice(i, i + 128).map((k) => op.put(k, "v")) });
}

/** Every page of a level, concatenated, and the calls each page made. */
async function listAll(prefix: string, pageSize: number): Promise<{ entries: TreeEntry[]; pages: number[] }> {
  const entries: TreeEntry[] = [];
  const pages: number[] = [];
  let after: Uint8Array | undefined;
  do {
    const page = await listLevel(client, new TextEncoder().encode(prefix), { pageSize, after });
    entries.push(...page.entries);
    pages.push(page.requests);
    after = page.cursor;
  } while (after);
  return { entries, pages };
}

describe("listLevel", () => {
  it("lists keys and directories of one level, including a key named like its directory and an empty name", async () => {
    await putAll(["lt/a", "lt/a/x", "lt/a/y/z", "lt/b/", "lt/c", "lt/", "lt/d/e"]);
    const { entries } = await listAll("lt/", 100);
    expect(show(entries)).toEqual(["k:", "k:a", "d:a/", "d:b/", "k:c", "d:d/"]);
    expect(text(entries[2]!.key)).toBe("lt/a/");
    expect(show((await listAll("lt/a/", 100)).entries)).toEqual(["k:x", "d:y/"]);
    expect(show((await listAll("lt/b/", 100)).entries)).toEqual(["k:"]);
    expect(show((await listAll("lt/none/", 100)).entries)).toEqual([]);
  });

  it("pages through a flat level: each key once, in order, one call per page", async () => {
    const keys = Array.from({ length: 250 }, (_, i) => `flat/${String(i).padStart(3, "0")}`);
    await putAll(keys);
    const { entries, pages } = await listAll("flat/", 100);
    expect(entries.map((e) => text(e.key))).toEqual(keys);
    expect(pages).toEqual([1, 1, 1]);
  });

  it("skips a directory's keys with one call per directory, however many they are", async () => {
    const keys: string[] = [];
    for (let d = 0; d < 5; d++) for (let i = 0; i < 2000; i++) keys.push(`deep/d${d}/${String(i).padStart(4, "0")}`);
    keys.push("deep/z");
    await putAll(keys);
    calls = 0;
    const { entries, pages } = await listAll("deep/", 100);
    expect(show(entries)).toEqual(["d:d0/", "d:d1/", "d:d2/", "d:d3/", "d:d4/", "k:z"]);
    expect(pages).toEqual([6]);
    expect(calls).toBe(6);
  });

  it("continues a page from a cursor between directories and keys without repeats", async () => {
    await putAll(["mix/a/1", "mix/b", "mix/c/1", "mix/c/2", "mix/d", "mix/e/1", "mix/f"]);
    const { entries, pages } = await listAll("mix/", 2);
    expect(show(entries)).toEqual(["d:a/", "k:b", "d:c/", "k:d", "d:e/", "k:f"]);
    expect(pages).toHaveLength(3);
  });

  it("lists the root level (the empty prefix) and binary key bytes", async () => {
    await putAll([new Uint8Array([0xff, 0xfe]), new Uint8Array([0xff, 0x2f, 0x01])]);
    const root = await listLevel(client, new Uint8Array(), { pageSize: 1000 });
    const names = root.entries.map((e) => Array.from(e.name).map((b) => b.toString(16)).join(" "));
    expect(names).toContain("ff fe");
    expect(names).toContain("ff 2f");
    expect(show(root.entries)).toEqual(expect.arrayContaining(["d:lt/", "d:flat/", "d:deep/", "d:mix/"]));
    expect(root.cursor).toBeUndefined();
  });
});
