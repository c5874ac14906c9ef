import type { Interceptor } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, type WatchOptions, type Watcher, compare, connect, op, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume, describeEvents, expectInOrderOnce } from "./harness/watch.js";

const etcd = useEtcd({ extraArgs: ["--watch-progress-notify-interval=300ms"] });
let client: Client;
let writer: Client;
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
  writer = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => {
  client?.close();
  writer?.close();
});

// Every test closes its watchers, so server-side counts start from zero.
const open: Watcher[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) w.close();
  await expect.poll(watchers).toBe(0);
});
function watch(key: string, options?: WatchOptions): Watcher {
  const w = client.watch(key, options);
  open.push(w);
  return w;
}

const watchers = () => etcd.metric("etcd_debugging_mvcc_watcher_total");
const streams = () => etcd.metric("etcd_debugging_mvcc_watch_stream_total");

describe("watch", () => {
  it("delivers puts and deletes with prevKv, in order, for a prefix", async () => {
    const w = watch("w1/", { prefix: true, prevKv: true });
    const seen = consume(w);
    await expect.poll(watchers).toBe(1);
    await writer.put("w1/a", "1");
    await writer.put("w1/a", "2");
    await writer.put("elsewhere", "x");
    await writer.delete("w1/a");
    await etcd.etcdctl(["put", "w1/b", "from-etcdctl"]);
    await seen.waitForEvents(4);
    expect(describeEvents(seen.events).map((s) => s.replace(/@\d+$/, ""))).toEqual([
      "put w1/a=1",
      "put w1/a=2",
      "delete w1/a=",
      "put w1/b=from-etcdctl",
    ]);
    expect(seen.events[0]!.prevKv).toBeUndefined();
    expect(text(seen.events[1]!.prevKv!.value)).toBe("1");
    expect(text(seen.events[2]!.prevKv!.value)).toBe("2");
    w.close();
    expect(await seen.ended).toBeUndefined();
  });

  it("watches a single key, a range and from a key", async () => {
    const single = consume(watch("w2/k"));
    const range = consume(watch("w2/b", { end: "w2/d" }));
    const from = consume(watch("w2/m", { fromKey: true }));
    await expect.poll(watchers).toBe(3);
    for (const k of ["w2/a", "w2/b", "w2/c", "w2/d", "w2/k", "w2/z"]) await writer.put(k, "v");
    await single.waitForEvents(1);
    await range.waitForEvents(2);
    await from.waitForEvents(1);
    await writer.put("w2/k", "again");
    await single.waitForEvents(2);
    expect(single.events.map((e) => text(e.kv.key))).toEqual(["w2/k", "w2/k"]);
    expect(range.events.map((e) => text(e.kv.key))).toEqual(["w2/b", "w2/c"]);
    expect(from.events.map((e) => text(e.kv.key))).toEqual(["w2/z"]);
  });

  it("filters puts or deletes", async () => {
    const noPut = consume(watch("w3", { prefix: true, filters: { noPut: true } }));
    const noDelete = consume(watch("w3", { prefix: true, filters: { noDelete: true } }));
    await expect.poll(watchers).toBeGreaterThanOrEqual(2);
    await writer.put("w3/a", "1");
    await writer.delete("w3/a");
    await noPut.waitForEvents(1);
    await noDelete.waitForEvents(1);
    await writer.put("w3/flush", "1");
    await noDelete.waitForEvents(2);
    expect(noPut.events.map((e) => e.type)).toEqual(["delete"]);
    expect(noDelete.events.map((e) => e.type)).toEqual(["put", "put"]);
  });

  it("delivers a created response with createdNotify, and resumes from its revision", async () => {
    const w = watch("w4", { createdNotify: true });
    const it = w[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value.created).toBe(true);
    expect(first.value.events).toEqual([]);
    expect(typeof first.value.header.revision).toBe("bigint");
    await writer.put("w4", "x");
    const second = await it.next();
    expect(second.value.events[0].kv.modRevision).toBeGreaterThan(first.value.header.revision);
    w.close();
  });

  it("sends progress notifications with progressNotify, and on requestProgress", async () => {
    const notified = consume(watch("w5", { progressNotify: true }));
    await expect.poll(() => notified.responses.some((r) => r.progressNotify), { timeout: 10000 }).toBe(true);
    const r = notified.responses.find((x) => x.progressNotify)!;
    expect(r.events).toEqual([]);

    const asked = watch("w5b", { createdNotify: true });
    const it = asked[Symbol.asyncIterator]();
    expect((await it.next()).value.created).toBe(true);
    const { header } = await writer.put("unrelated", "x");
    await asked.requestProgress();
    const progress = await it.next();
    expect(progress.value.progressNotify).toBe(true);
    expect(progress.value.header.revision).toBeGreaterThanOrEqual(header.revision);
    asked.close();
  });

  it("replays history from startRevision: 5,000 events in order", async () => {
    const start = (await writer.put("w6/start", "0")).header.revision + 1n;
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => writer.put(`w6/${batch}-${i}`, String(i))));
    }
    const seen = consume(watch("w6/", { prefix: true, startRevision: start }));
    await seen.waitForEvents(5000, 30000);
    expect(seen.events).toHaveLength(5000);
    expectInOrderOnce(seen.events);
    expect(seen.events[0]!.kv.modRevision).toBe(start);
  });

  it("merges fragments into one response with fragment: true", async () => {
    // etcd splits responses over --max-request-bytes + 512 KiB (2 MiB by
    // default): 30 x 100 KiB puts in three txns make one 3 MiB catch-up response.
    const value = new Uint8Array(100 * 1024).fill(65);
    const first = await writer.txn({ success: Array.from({ length: 10 }, (_, i) => op.put(`w7/${i}`, value)) });
    for (const batch of [1, 2]) {
      await writer.txn({ success: Array.from({ length: 10 }, (_, i) => op.put(`w7/${batch * 10 + i}`, value)) });
    }
    let fragments = 0;
    const countFragments: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (!res.stream) return res;
      return {
        ...res,
        message: (async function* () {
          for await (const m of res.message) {
            if ((m as { fragment?: boolean }).fragment) fragments++;
            yield m;
          }
        })(),
      };
    };
    const c = await connect({ endpoints: etcd.endpoints, interceptors: [countFragments], maxCallRecvMsgSize: 64 * 1024 * 1024 });
    try {
      const seen = consume(c.watch("w7/", { prefix: true, startRevision: first.header.revision, fragment: true }));
      await seen.waitForEvents(30);
      expect(fragments).toBeGreaterThan(0);
      const withEvents = seen.responses.filter((r) => r.events.length > 0);
      expect(withEvents).toHaveLength(1); // the three revisions arrive as one merged catch-up response
      expect(withEvents[0]!.events).toHaveLength(30);
      expectInOrderOnce(seen.events);
    } finally {
      c.close();
    }
  });

  it("ends with compacted (and the compact revision) when the start revision was compacted", async () => {
    const old = await writer.put("w8", "1");
    const now = await writer.put("w8", "2");
    await writer.compact(now.header.revision);
    const seen = consume(watch("w8", { startRevision: old.header.revision }));
    const err = (await seen.ended) as EtcdError;
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.kind).toBe("compacted");
    expect(err.compactRevision).toBe(now.header.revision);
  });

  it("rejects bad input before sending", () => {
    expect(() => watch("")).toThrow(expect.objectContaining({ kind: "empty-key" }));
    expect(() => watch("b", { end: "a" })).toThrow(expect.objectContaining({ kind: "invalid-range" }));
    expect(() => watch("a", { startRevision: -1 })).toThrow(RangeError);
    expect(() => watch("a", { bufferSize: 0 })).toThrow(RangeError);
  });
});

describe("one stream, many watchers", () => {
  it("runs 100 watchers over one stream, each receiving exactly its events", async () => {
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      await expect.poll(watchers).toBe(0);
      const seen = Array.from({ length: 100 }, (_, i) => consume(c.watch(`m/${i}/`, { prefix: true })));
      await expect.poll(watchers).toBe(100);
      expect(await streams()).toBe(1);
      await Promise.all(Array.from({ length: 100 }, (_, i) => writer.put(`m/${i}/k`, String(i))));
      await Promise.all(Array.from({ length: 100 }, (_, i) => writer.put(`m/${99 - i}/k2`, "b")));
      for (let i = 0; i < 100; i++) {
        await seen[i]!.waitForEvents(2);
        expect(seen[i]!.events.map((e) => text(e.kv.key)).sort()).toEqual([`m/${i}/k`, `m/${i}/k2`]);
      }
    } finally {
      c.close();
    }
    await expect.poll(watchers).toBe(0);
    await expect.poll(streams).toBe(0);
  });

  it("keeps a separate stream for requireLeader watches", async () => {
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      consume(c.watch("rl/a"));
      consume(c.watch("rl/b", { requireLeader: true }));
      await expect.poll(watchers).toBe(2);
      expect(await streams()).toBe(2);
    } finally {
      c.close();
    }
  });
});

describe("stopping", () => {
  it("leaves no watcher on the server after break, close(), abort and client.close()", async () => {
    await expect.poll(watchers).toBe(0);
    const w1 = watch("s/1", { createdNotify: true });
    for await (const r of w1) {
      if (r.created) break;
    }
    await expect.poll(watchers).toBe(0);
    await expect.poll(streams).toBe(0); // the last watcher gone closes the stream

    const keep = consume(watch("s/keep"));
    const w2 = watch("s/2");
    const ac = new AbortController();
    const w3 = consume(watch("s/3", { signal: ac.signal }));
    await expect.poll(watchers).toBe(3);
    w2.close();
    ac.abort(new Error("done"));
    expect(await w3.ended).toBeUndefined(); // the user's own cancel ends quietly
    await expect.poll(watchers).toBe(1); // canceled one by one on the shared stream
    await writer.put("s/keep", "still watched");
    await keep.waitForEvents(1);

    const other = await connect({ endpoints: etcd.endpoints });
    const ended = consume(other.watch("s/4")).ended;
    await expect.poll(watchers).toBe(2);
    other.close();
    expect(await ended).toBeUndefined();
    await expect.poll(watchers).toBe(1);
  });

  it("supports await using and refuses a second consumer", async () => {
    {
      await using w = watch("s/5");
      w[Symbol.asyncIterator]();
      expect(() => w[Symbol.asyncIterator]()).toThrow(/iterated only once/);
    }
    await expect.poll(watchers).toBeLessThanOrEqual(1);
  });

  it("returns a closed watcher for an already-aborted signal", async () => {
    const w = watch("s/6", { signal: AbortSignal.abort() });
    expect(w.state).toBe("closed");
    const seen = consume(w);
    expect(await seen.ended).toBeUndefined();
  });
});

describe("backpressure", () => {
  it("a slow consumer neither blocks other watchers nor loses events", async () => {
    const slow = watch("bp/", { prefix: true, bufferSize: 50 });
    const fast = consume(watch("bp/", { prefix: true }));
    await expect.poll(watchers).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 10; i++) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => writer.put(`bp/${i}-${j}`, "v")));
    }
    // The fast watcher gets everything while nobody reads the slow one.
    await fast.waitForEvents(500);
    // The slow watcher's buffer overflowed: its watch is paused on the server.
    await expect.poll(watchers).toBe(1);
    const slowSeen = consume(slow);
    await slowSeen.waitForEvents(500);
    expect(slowSeen.events).toHaveLength(500);
    expectInOrderOnce(slowSeen.events);
    expect(describeEvents(slowSeen.events)).toEqual(describeEvents(fast.events));
  });

  it("delivers CAS results to watchers like any write", async () => {
    const seen = consume(watch("bp-cas"));
    await expect.poll(watchers).toBeGreaterThanOrEqual(1);
    await writer.txn({ compare: [compare.version("bp-cas", "=", 0)], success: [op.put("bp-cas", "won")] });
    await seen.waitForEvents(1);
    expect(text(seen.events[0]!.kv.value)).toBe("won");
  });
});
