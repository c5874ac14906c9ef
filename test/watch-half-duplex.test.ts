// The half-duplex watch path (what gRPC-Web uses: one server-streaming call
// per watch), run here over Node's HTTP/2 transport marked half-duplex, against
// real etcd. The browser tests run the same path through the proxy.
import { afterEach, describe, expect, it } from "vitest";
import { type Client, EtcdError, type TransportFactory, connect, createNodeTransport, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume, describeEvents, expectInOrderOnce, startWriter } from "./harness/watch.js";

const etcd = useEtcd();
const halfDuplex: TransportFactory = (endpoint, options) => ({ ...createNodeTransport(endpoint, options), halfDuplex: true });

const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await expect.poll(watchers).toBe(0);
});
async function client(): Promise<Client> {
  const c = await connect({ endpoints: etcd.endpoints, transport: halfDuplex });
  clients.push(c);
  return c;
}
const watchers = () => etcd.metric("etcd_debugging_mvcc_watcher_total");
const streams = () => etcd.metric("etcd_debugging_mvcc_watch_stream_total");

describe("half-duplex watch", () => {
  it("runs each watch as its own call and delivers its events", async () => {
    const c = await client();
    const a = consume(c.watch("h/a", { prevKv: true }));
    const b = consume(c.watch("h/", { prefix: true, filters: { noDelete: true } }));
    await expect.poll(watchers).toBe(2);
    expect(await streams()).toBe(2);
    await c.put("h/a", "1");
    await c.put("h/a", "2");
    await c.delete("h/a");
    await a.waitForEvents(3);
    await b.waitForEvents(2);
    expect(describeEvents(a.events).map((s) => s.replace(/@\d+$/, ""))).toEqual(["put h/a=1", "put h/a=2", "delete h/a="]);
    expect(text(a.events[2]!.prevKv!.value)).toBe("2");
    expect(b.events.map((e) => e.type)).toEqual(["put", "put"]);
  });

  it("ends the call on close, break and abort (no watcher left on etcd)", async () => {
    const c = await client();
    const w1 = c.watch("h/c1");
    const ac = new AbortController();
    const w2 = consume(c.watch("h/c2", { signal: ac.signal }));
    const w3 = c.watch("h/c3", { createdNotify: true });
    await expect.poll(watchers).toBe(3);
    w1.close();
    ac.abort();
    expect(await w2.ended).toBeUndefined();
    for await (const r of w3) if (r.created) break;
    await expect.poll(watchers).toBe(0);
    await expect.poll(streams).toBe(0);
  });

  it("rejects requestProgress with unimplemented", async () => {
    const c = await client();
    const w = c.watch("h/p");
    await expect(w.requestProgress()).rejects.toMatchObject({ kind: "unimplemented" });
    w.close();
  });

  it("ends with compacted for a compacted start revision", async () => {
    const c = await client();
    const old = await c.put("h/comp", "1");
    const now = await c.put("h/comp", "2");
    await c.compact(now.header.revision);
    const err = (await consume(c.watch("h/comp", { startRevision: old.header.revision })).ended) as EtcdError;
    expect([err.kind, err.compactRevision]).toEqual(["compacted", now.header.revision]);
  });

  it("pauses a slow consumer's call and resumes it without loss", async () => {
    const c = await client();
    const slow = c.watch("h/bp/", { prefix: true, bufferSize: 20 });
    const fast = consume(c.watch("h/bp/", { prefix: true }));
    await expect.poll(watchers).toBe(2);
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 40 }, (_, j) => c.put(`h/bp/${i}-${j}`, "v")));
    await fast.waitForEvents(200);
    await expect.poll(watchers).toBe(1);
    const slowSeen = consume(slow);
    await slowSeen.waitForEvents(200);
    expectInOrderOnce(slowSeen.events);
    expect(describeEvents(slowSeen.events)).toEqual(describeEvents(fast.events));
  });

  it("resumes from the next revision across an etcd restart", async () => {
    const c = await client();
    const writerClient = await client();
    const base = (await writerClient.put("h/r/base", "0")).header.revision;
    const w = consume(c.watch("h/r/k", { prefix: true, createdNotify: true }));
    await expect.poll(() => w.responses.length).toBe(1);
    const writer = startWriter(writerClient, ["h/r/k0", "h/r/k1"]);
    await writer.waitForAcks(30);
    await etcd.members[0]!.stop();
    await etcd.members[0]!.start();
    await writer.waitForAcks(30);
    await writer.stop();
    const through = writer.acked.at(-1)!;
    const truth = consume(c.watch("h/r/k", { prefix: true, startRevision: base + 1n }));
    await expect.poll(() => truth.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 20000 }).toBe(through);
    await expect.poll(() => w.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 20000 }).toBe(through);
    expectInOrderOnce(w.events);
    expect(describeEvents(w.events)).toEqual(describeEvents(truth.events));
  });
});
