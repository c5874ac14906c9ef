// Upstream failover and upstream failures, against a real 3-member etcd cluster.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Cluster, KV, Maintenance } from "../../gen/etcdserverpb/rpc_pb.js";
import { pickFreePorts, useEtcd } from "../harness/etcd.js";
import { connectError, useProxies, utf8, watchVia, webClient, webTransport } from "./helpers.js";

const etcd = useEtcd({ size: 3 });
const startProxy = useProxies();

/** Index of the member that answered with `memberId`. */
async function memberIndex(url: string, memberId: bigint | undefined): Promise<number> {
  const { members } = await webClient(Cluster, url).memberList({});
  const clientUrl = members.find((m) => m.ID === memberId)?.clientURLs[0];
  const index = etcd.endpoints.indexOf(clientUrl ?? "");
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
}

/** Restarts every stopped member and waits for the whole cluster. */
async function restartAll(): Promise<void> {
  for (const m of etcd.members) if (!m.running) await m.start({ waitHealthy: false });
  await etcd.cluster.waitHealthy(30000);
}

describe("failover", () => {
  it("skips a dead endpoint", async () => {
    const [port] = await pickFreePorts(1);
    const dead = `http://127.0.0.1:${port}`;
    const { url } = await startProxy({ endpoints: [dead, etcd.endpoint] });
    const kv = webClient(KV, url);
    await kv.put({ key: utf8("fo/a"), value: utf8("1") });
    expect((await kv.range({ key: utf8("fo/a") })).kvs).toHaveLength(1);
  });

  it("answers Unavailable when no endpoint can be reached", async () => {
    const ports = await pickFreePorts(2);
    const { url } = await startProxy({ endpoints: ports.map((p) => `http://127.0.0.1:${p}`) });
    const kv = webClient(KV, url);
    for (let i = 0; i < 2; i++) {
      // First: both refuse; second: both are in backoff.
      const err = await connectError(kv.range({ key: utf8("x") }));
      expect(err.code).toBe(Code.Unavailable);
    }
  });

  it("moves on to another member when the member in use is killed", async () => {
    const { url } = await startProxy({ endpoints: etcd.endpoints });
    const kv = webClient(KV, url);
    try {
      const before = await kv.range({ key: utf8("fo/k"), serializable: true });
      const used = await memberIndex(url, before.header?.memberId);
      await etcd.member(used).kill();

      const after = await kv.range({ key: utf8("fo/k"), serializable: true });
      expect(after.header?.memberId).not.toBe(before.header?.memberId);
      // Writes need a leader; if the killed member led, give the others time to elect one.
      await expect
        .poll(async () => (await kv.put({ key: utf8("fo/k"), value: utf8("v") }).then(() => "ok", (e: unknown) => String(e))), {
          timeout: 15000,
          interval: 200,
        })
        .toBe("ok");
      for (let i = 0; i < 5; i++) expect((await kv.range({ key: utf8("fo/k") })).kvs).toHaveLength(1);
    } finally {
      await restartAll();
    }
  });
});

describe("x-etcd-endpoint", () => {
  const pinned = (url: string, endpoint: string) => webClient(Maintenance, url, { "x-etcd-endpoint": endpoint });

  it("sends the call to the named member only, and refuses a URL the proxy does not serve", async () => {
    const { url } = await startProxy({ endpoints: etcd.endpoints });
    const { members } = await webClient(Cluster, url).memberList({});
    for (const [i, endpoint] of etcd.endpoints.entries()) {
      const status = await pinned(url, endpoint).status({});
      // Each member answers for itself: its own ID, whatever member the proxy used before.
      expect(members.find((m) => m.ID === status.header?.memberId)?.clientURLs).toContain(etcd.endpoints[i]);
    }
    const err = await connectError(pinned(url, "http://127.0.0.1:1").status({}));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/not an etcd endpoint of this proxy/);
  });

  it("does not fail over: a pinned call to a killed member fails while the others keep answering", async () => {
    const { url } = await startProxy({ endpoints: etcd.endpoints });
    try {
      await etcd.member(2).kill();
      const err = await connectError(pinned(url, etcd.endpoints[2]!).status({}));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain(`etcd endpoint ${etcd.endpoints[2]} is not reachable`);
      expect((await pinned(url, etcd.endpoints[0]!).status({})).header?.memberId).toBeDefined();
    } finally {
      await restartAll();
    }
  });
});

describe("upstream failure during a stream", () => {
  for (const how of ["stop", "kill"] as const) {
    it(`a watch ends with Unavailable when its member is ${how === "stop" ? "stopped" : "killed"}`, async () => {
      const { url } = await startProxy({ endpoints: etcd.endpoints });
      try {
        const { header } = await webClient(KV, url).range({ key: utf8("x"), serializable: true });
        const used = await memberIndex(url, header?.memberId);
        const stream = watchVia(webTransport(url), { key: utf8("dies") }, new AbortController().signal);
        expect((await stream.next()).value?.created).toBe(true);
        const ended = connectError(stream.next());
        await (how === "stop" ? etcd.member(used).stop() : etcd.member(used).kill());
        const err = await ended;
        expect(err.code).toBe(Code.Unavailable);
        expect(err.rawMessage).not.toMatch(/missing trailer/);
      } finally {
        await restartAll();
      }
    });
  }
});

describe("hasleader", () => {
  it("reaches etcd: a member without quorum refuses calls that require a leader", async () => {
    const { url } = await startProxy({ endpoints: [etcd.member(2).clientUrl] });
    const kv = webClient(KV, url);
    try {
      await etcd.member(0).stop();
      await etcd.member(1).stop();
      await expect
        .poll(
          async () =>
            kv.range({ key: utf8("hl"), serializable: true }, { headers: { hasleader: "true" } }).then(
              () => "served",
              (e: unknown) => `${ConnectError.from(e).code} ${ConnectError.from(e).rawMessage}`,
            ),
          { timeout: 20000, interval: 200 },
        )
        .toBe(`${Code.Unavailable} etcdserver: no leader`);
      // The same call without hasleader is served from the member's local state.
      expect((await kv.range({ key: utf8("hl"), serializable: true })).header?.memberId).not.toBe(0n);
    } finally {
      await restartAll();
    }
  });
});
