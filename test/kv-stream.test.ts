// getStream(): etcd 3.7's RangeStream, a range read in chunks at one revision; a clear error on older servers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type GetStreamChunk, connect, text } from "../src/index.js";
import { etcdAtLeast, useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
let client: Client;
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => client?.close());

async function collect(chunks: AsyncIterable<GetStreamChunk>): Promise<GetStreamChunk[]> {
  const out: GetStreamChunk[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

const KEYS = 3000;
const key = (i: number) => `gs/${String(i).padStart(5, "0")}`;

describe("getStream", () => {
  it("refuses sort and revision filters before sending", () => {
    expect(() => client.getStream("gs/", { prefix: true, sort: { target: "key", order: "descend" } })).toThrow(TypeError);
    expect(() => client.getStream("gs/", { prefix: true, minModRevision: 5 })).toThrow(TypeError);
    expect(() => client.getStream("")).toThrow(expect.objectContaining({ kind: "empty-key" }));
  });

  it(etcdAtLeast("3.7") ? "streams a large range in chunks at one revision (etcd 3.7+)" : "says it needs etcd 3.7 (before 3.7)", async () => {
    for (let i = 0; i < KEYS; i += 250) {
      await Promise.all(Array.from({ length: 250 }, (_, j) => client.put(key(i + j), `value ${i + j} `.repeat(20))));
    }
    if (!etcdAtLeast("3.7")) {
      await expect(collect(client.getStream("gs/", { prefix: true }))).rejects.toMatchObject({
        kind: "unimplemented",
        rawMessage: "getStream (KV.RangeStream) needs etcd 3.7 or later; this server does not have it",
      });
      return;
    }
    const whole = await client.get("gs/", { prefix: true });
    const chunks: GetStreamChunk[] = [];
    for await (const chunk of client.getStream("gs/", { prefix: true })) {
      // A write during the stream is not in it: every chunk reads the revision the stream started at.
      if (chunks.length === 0) await client.put("gs/99999-late", "x");
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThan(2);
    // Only the last chunk carries the header, more and count.
    expect(chunks.slice(0, -1).every((c) => c.last === undefined)).toBe(true);
    const last = chunks.at(-1)!.last!;
    expect(last.header.revision).toBe(whole.header.revision);
    expect(last.header.memberId).toBe(whole.header.memberId);
    expect(last).toMatchObject({ more: false, count: BigInt(KEYS) });
    const streamed = chunks.flatMap((c) => c.kvs);
    expect(streamed.map((kv) => text(kv.key))).toEqual(whole.kvs.map((kv) => text(kv.key)));
    expect(streamed.map((kv) => text(kv.value))).toEqual(whole.kvs.map((kv) => text(kv.value)));

    // limit, keysOnly and countOnly as for get().
    const limited = await collect(client.getStream("gs/", { prefix: true, limit: 25, keysOnly: true }));
    expect(limited.flatMap((c) => c.kvs).map((kv) => text(kv.key))).toEqual(Array.from({ length: 25 }, (_, i) => key(i)));
    expect(limited.flatMap((c) => c.kvs).every((kv) => kv.value.length === 0)).toBe(true);
    expect(limited.at(-1)!.last).toMatchObject({ more: true, count: BigInt(KEYS + 1) });
    const counted = await collect(client.getStream("gs/", { prefix: true, countOnly: true }));
    expect(counted).toHaveLength(1);
    expect(counted[0]!.last!.count).toBe(BigInt(KEYS + 1));

    // break ends the call; a namespace strips its prefix from the keys.
    let seen = 0;
    for await (const chunk of client.namespace("gs/").getStream("000", { prefix: true })) {
      expect(text(chunk.kvs[0]!.key)).toBe("00000");
      seen++;
      break;
    }
    expect(seen).toBe(1);

    // An aborted signal ends the iteration with canceled.
    const ac = new AbortController();
    const aborted = (async () => {
      for await (const _ of client.getStream("gs/", { prefix: true, signal: ac.signal })) ac.abort();
    })();
    await expect(aborted).rejects.toMatchObject({ kind: "canceled" });
  });
});
