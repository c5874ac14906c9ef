// Keepalives across an etcd restart and across the death of the member in use.
import { describe, expect, it } from "vitest";
import { EtcdError, connect } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("single member restart", () => {
  const etcd = useEtcd();

  it("keeps the lease when etcd is back within its TTL", async () => {
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      const { id } = await c.lease.grant(6);
      await c.put("lr/key", "v", { lease: id });
      const keeper = c.lease.keepAlive(id);
      await sleep(500);
      await etcd.members[0]!.stop();
      await sleep(1000);
      await etcd.members[0]!.start();
      // Well past the TTL counted from before the restart.
      await sleep(7000);
      expect(await Promise.race([keeper.done.then((e) => e ?? "stopped"), sleep(0).then(() => "running")])).toBe("running");
      expect((await c.get("lr/key")).count).toBe(1n);
      expect((await c.lease.timeToLive(id)).ttl).toBeGreaterThan(0);
      keeper.close();
    } finally {
      c.close();
    }
  }, 30000);

  it("declares the lease expired when no renewal succeeds within its TTL", async () => {
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      const { id } = await c.lease.grant(2);
      const keeper = c.lease.keepAlive(id);
      await sleep(300);
      etcd.members[0]!.pause();
      try {
        const err = (await keeper.done) as EtcdError;
        expect(err).toBeInstanceOf(EtcdError);
        expect(err.kind).toBe("lease-expired");
      } finally {
        etcd.members[0]!.resume();
      }
    } finally {
      c.close();
    }
  }, 20000);
});

describe("3-member cluster", () => {
  const etcd = useEtcd({ size: 3 });

  it("renews through another member when the one in use dies", async () => {
    // Kill each member in turn: one of them carries the keepalive stream.
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      const { id } = await c.lease.grant(3);
      await c.put("lf/key", "v", { lease: id });
      const keeper = c.lease.keepAlive(id);
      const renewals: number[] = [];
      void (async () => {
        for await (const r of keeper) renewals.push(r.ttl);
      })().catch(() => {});
      for (const victim of etcd.members) {
        await victim.kill();
        const before = renewals.length;
        await expect.poll(() => renewals.length, { timeout: 8000 }).toBeGreaterThan(before + 1);
        await victim.start();
        await etcd.cluster.waitHealthy();
      }
      await sleep(4000); // longer than the TTL
      expect(await Promise.race([keeper.done.then(() => "stopped"), sleep(0).then(() => "running")])).toBe("running");
      expect((await c.get("lf/key")).count).toBe(1n);
      keeper.close();
    } finally {
      c.close();
    }
  }, 90000);
});
