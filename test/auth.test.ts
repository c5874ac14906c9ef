// Auth with username/password: tokens fetched on first use, sent on every
// call, refreshed transparently when etcd forgets them (TTL, restart).
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, createClient, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume } from "./harness/watch.js";

const etcd = useEtcd({ extraArgs: ["--auth-token", "simple", "--auth-token-ttl", "2"] });
const root = ["--user", "root:rootpw"];
let authenticates = 0;
const countAuthenticate: Interceptor = (next) => (req) => {
  if (req.method.name === "Authenticate") authenticates++;
  return next(req);
};
let alice: Client;

beforeAll(async () => {
  await etcd.etcdctl(["user", "add", "root", "--new-user-password", "rootpw"]);
  await etcd.etcdctl(["role", "add", "app-rw"]);
  await etcd.etcdctl(["role", "grant-permission", "app-rw", "readwrite", "app/", "--prefix=true"]);
  await etcd.etcdctl(["user", "add", "alice", "--new-user-password", "alicepw"]);
  await etcd.etcdctl(["user", "grant-role", "alice", "app-rw"]);
  await etcd.etcdctl(["auth", "enable"]);
  alice = await connect({ endpoints: etcd.endpoints, username: "alice", password: "alicepw", interceptors: [countAuthenticate] });
});
afterAll(() => alice?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("auth", () => {
  it("authenticates on first use and works inside the role's prefix only", async () => {
    await alice.put("app/a", "1");
    expect(text((await alice.get("app/a")).kvs[0]!.value)).toBe("1");
    expect(authenticates).toBe(1);
    await expect(alice.get("other/a")).rejects.toMatchObject({ kind: "permission-denied" });
    await expect(alice.put("other/a", "1")).rejects.toMatchObject({ kind: "permission-denied" });
    expect(await etcd.etcdctl([...root, "get", "app/a", "--print-value-only"])).toBe("1\n");
  });

  it("rejects a wrong password with auth-failed, at once", async () => {
    const started = Date.now();
    await expect(connect({ endpoints: etcd.endpoints, username: "alice", password: "nope", dialTimeoutMs: 20000 })).rejects.toMatchObject({
      kind: "auth-failed",
    });
    expect(Date.now() - started).toBeLessThan(10000); // did not wait out the dial timeout
    const lazy = createClient({ endpoints: etcd.endpoints, username: "alice", password: "nope" });
    try {
      await expect(lazy.get("app/a")).rejects.toMatchObject({ kind: "auth-failed" });
    } finally {
      lazy.close();
    }
    await expect(connect({ endpoints: etcd.endpoints, username: "alice" })).rejects.toBeInstanceOf(TypeError);
  });

  it("gets a new token when the old one expired (unary calls, writes included)", async () => {
    const before = authenticates;
    await sleep(3500); // the 2 s simple token expires unused
    await alice.put("app/b", "after expiry"); // refused token, new token, retried once
    expect(text((await alice.get("app/b")).kvs[0]!.value)).toBe("after expiry");
    expect(authenticates).toBe(before + 1);
    expect(await etcd.etcdctl([...root, "get", "app/b", "--print-value-only"])).toBe("after expiry\n");
  });

  it("keeps watches and keepalives going across a restart that drops every token", async () => {
    const seen = consume(alice.watch("app/w/", { prefix: true, createdNotify: true }));
    await expect.poll(() => seen.responses.length).toBe(1);
    const { id } = await alice.lease.grant(6);
    await alice.put("app/leased", "v", { lease: id });
    const keeper = alice.lease.keepAlive(id);
    await alice.put("app/w/1", "before");
    await seen.waitForEvents(1);
    const before = authenticates;

    await etcd.members[0]!.stop(); // simple tokens live in the member's memory
    await etcd.members[0]!.start();
    await alice.put("app/w/2", "after restart");
    await seen.waitForEvents(2);
    expect(seen.events.map((e) => text(e.kv.value))).toEqual(["before", "after restart"]);
    expect(authenticates).toBeGreaterThan(before);
    await sleep(7000); // past the lease TTL: only renewals keep it
    expect(await Promise.race([keeper.done.then(() => "stopped"), sleep(0).then(() => "running")])).toBe("running");
    expect((await alice.get("app/leased")).count).toBe(1n);
    keeper.close();
  }, 40000);
});
