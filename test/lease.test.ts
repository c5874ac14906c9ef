import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Client,
  EtcdError,
  type LeaseKeepAliveResponse,
  type TransportFactory,
  connect,
  createNodeTransport,
  text,
} from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
let client: Client;
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => client?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keepAliveStreams = () =>
  etcd.metric("grpc_server_started_total", { grpc_method: "LeaseKeepAlive", grpc_type: "bidi_stream" });
const keepAliveRequests = () => etcd.metric("grpc_server_msg_received_total", { grpc_method: "LeaseKeepAlive" });
const exists = async (key: string) => (await client.get(key)).count === 1n;

/** Collects a keeper's renewals in the background. */
function collect(keeper: AsyncIterable<LeaseKeepAliveResponse>) {
  const renewals: LeaseKeepAliveResponse[] = [];
  const ended = (async () => {
    try {
      for await (const r of keeper) renewals.push(r);
      return undefined;
    } catch (err) {
      return err;
    }
  })();
  return { renewals, ended };
}

describe("lease calls", () => {
  it("grants, lists, inspects with keys, and revokes", async () => {
    const { id, ttl, header } = await client.lease.grant(60);
    expect(typeof id).toBe("bigint");
    expect(ttl).toBe(60);
    expect(typeof header.revision).toBe("bigint");
    await client.put("l/a", "1", { lease: id });
    await client.put("l/b", "2", { lease: id });
    const info = await client.lease.timeToLive(id, { keys: true });
    expect(info.id).toBe(id);
    expect(info.grantedTtl).toBe(60);
    expect(info.ttl).toBeGreaterThan(50);
    expect(info.keys.map(text).sort()).toEqual(["l/a", "l/b"]);
    expect((await client.lease.timeToLive(id)).keys).toEqual([]);
    expect((await client.lease.leases()).map((l) => l.id)).toContain(id);
    const ctl = await etcd.etcdctl(["lease", "list"]);
    expect(ctl).toContain(id.toString(16));

    await client.lease.revoke(id);
    expect(await exists("l/a")).toBe(false);
    expect((await client.lease.timeToLive(id)).ttl).toBe(-1);
    expect((await client.lease.leases()).map((l) => l.id)).not.toContain(id);
  });

  it("grants with a chosen id, and refuses it twice", async () => {
    const id = 0x1234abcdn;
    expect((await client.lease.grant(30, { id })).id).toBe(id);
    await expect(client.lease.grant(30, { id })).rejects.toMatchObject({ kind: "lease-exists" });
    await client.lease.revoke(id);
  });

  it("maps unknown leases and bad TTLs to clear errors", async () => {
    await expect(client.lease.revoke(0x7777n)).rejects.toMatchObject({ kind: "lease-not-found" });
    await expect(client.lease.keepAliveOnce(0x7777n)).rejects.toMatchObject({ kind: "lease-not-found" });
    await expect(client.lease.grant(9_000_000_001)).rejects.toMatchObject({ kind: "lease-ttl-too-large" });
    await expect(client.lease.grant(-1)).rejects.toBeInstanceOf(RangeError);
    await expect(client.lease.grant(1.5)).rejects.toBeInstanceOf(RangeError);
    expect(() => client.lease.keepAlive(0)).toThrow(RangeError);
    await expect(client.lease.revoke(-2)).rejects.toBeInstanceOf(RangeError);
  });

  it("renews once with keepAliveOnce", async () => {
    const { id } = await client.lease.grant(20);
    const r = await client.lease.keepAliveOnce(id);
    expect([r.id, r.ttl]).toEqual([id, 20]);
    await client.lease.revoke(id);
  });
});

describe("keepAlive", () => {
  it("keeps a 2 s lease's key for 8 s, then lets it expire within TTL + 1 s once stopped", async () => {
    const { id } = await client.lease.grant(2);
    await client.put("ka/key", "alive", { lease: id });
    const keeper = client.lease.keepAlive(id);
    const seen = collect(keeper);
    await sleep(8000);
    expect(await exists("ka/key")).toBe(true);
    // Renewed at TTL/3: about 12 renewals in 8 s; at least a few even on a loaded machine.
    expect(seen.renewals.length).toBeGreaterThanOrEqual(4);
    expect(seen.renewals.every((r) => r.id === id && r.ttl === 2)).toBe(true);
    keeper.close();
    expect(await keeper.done).toBeUndefined();
    expect(await seen.ended).toBeUndefined();
    // Gone within TTL + 1 s; the bound adds etcd's 500 ms expiry tick and room for a loaded 2-core machine.
    await expect.poll(() => exists("ka/key"), { timeout: 5000, interval: 100 }).toBe(false);
  }, 20000);

  it("renews 200 leases over one stream", async () => {
    const before = await keepAliveStreams();
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      const ids = await Promise.all(Array.from({ length: 200 }, () => c.lease.grant(3).then((g) => g.id)));
      const keepers = ids.map((id) => collect(c.lease.keepAlive(id)));
      await expect.poll(() => keepers.every((k) => k.renewals.length >= 2), { timeout: 10000 }).toBe(true);
      expect((await keepAliveStreams()) - before).toBe(1);
    } finally {
      c.close();
    }
  });

  it("shares one schedule between keepers of the same lease", async () => {
    const { id } = await client.lease.grant(3);
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      const before = await keepAliveRequests();
      const a = collect(c.lease.keepAlive(id));
      const b = collect(c.lease.keepAlive(id));
      await expect.poll(() => a.renewals.length, { timeout: 10000 }).toBeGreaterThanOrEqual(3);
      c.close();
      // Each renewal was requested once and delivered to both keepers.
      expect(b.renewals.slice(0, a.renewals.length)).toEqual(a.renewals);
      const requests = (await keepAliveRequests()) - before;
      expect(requests).toBeLessThanOrEqual(a.renewals.length + 1);
    } finally {
      c.close();
      await client.lease.revoke(id);
    }
  });

  it("ends with lease-not-found when the lease is revoked behind its back", async () => {
    const { id } = await client.lease.grant(3);
    const keeper = client.lease.keepAlive(id);
    const seen = collect(keeper);
    await expect.poll(() => seen.renewals.length).toBeGreaterThanOrEqual(1);
    await etcd.etcdctl(["lease", "revoke", id.toString(16)]);
    // Noticed at the next renewal: within one renewal period (TTL/3 = 1 s), plus slack.
    const err = (await seen.ended) as EtcdError;
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.kind).toBe("lease-not-found");
    expect(await keeper.done).toBe(err);
  });

  it("tells the non-iterating form when the lease is lost", async () => {
    const { id } = await client.lease.grant(3);
    const keeper = client.lease.keepAlive(id);
    await sleep(300);
    await client.lease.revoke(id); // our own revoke: renewals stop quietly
    expect(await keeper.done).toBeUndefined();

    const other = await client.lease.grant(3);
    const lost = client.lease.keepAlive(other.id);
    await etcd.etcdctl(["lease", "revoke", other.id.toString(16)]);
    expect((await lost.done)?.kind).toBe("lease-not-found");
  });

  it("stops renewing on break, abort and client.close(), without revoking", async () => {
    const c = await connect({ endpoints: etcd.endpoints });
    const { id } = await c.lease.grant(30);
    for await (const r of c.lease.keepAlive(id)) {
      expect(r.id).toBe(id);
      break;
    }
    const ac = new AbortController();
    const k2 = c.lease.keepAlive(id, { signal: ac.signal });
    ac.abort();
    expect(await k2.done).toBeUndefined();
    const k3 = c.lease.keepAlive(id);
    c.close();
    expect(await k3.done).toBeUndefined();
    expect((await client.lease.timeToLive(id)).ttl).toBeGreaterThan(0); // not revoked
    await client.lease.revoke(id);
  });

  it("ends a keeper of an unknown lease with lease-not-found", async () => {
    const keeper = client.lease.keepAlive(0x5555n);
    expect((await keeper.done)?.kind).toBe("lease-not-found");
  });
});

describe("keepAlive over a half-duplex transport (one call per renewal)", () => {
  const halfDuplex: TransportFactory = (endpoint, options) => ({ ...createNodeTransport(endpoint, options), halfDuplex: true });

  it("keeps a lease alive past its TTL and notices a revoke", async () => {
    const c = await connect({ endpoints: etcd.endpoints, transport: halfDuplex });
    try {
      const streamsBefore = await keepAliveStreams();
      const { id } = await c.lease.grant(2);
      await c.put("hd/key", "v", { lease: id });
      const seen = collect(c.lease.keepAlive(id));
      await sleep(4000);
      expect(await exists("hd/key")).toBe(true);
      expect(seen.renewals.length).toBeGreaterThanOrEqual(3);
      // No long-lived stream: every renewal was its own call. Count renewals before reading the metric, so a
      // renewal landing while the metric is fetched cannot make the left side look short.
      const renewalsSoFar = seen.renewals.length;
      expect((await keepAliveStreams()) - streamsBefore).toBeGreaterThanOrEqual(renewalsSoFar);
      await etcd.etcdctl(["lease", "revoke", id.toString(16)]);
      expect(((await seen.ended) as EtcdError).kind).toBe("lease-not-found");
    } finally {
      c.close();
    }
  }, 15000);
});
