// A member that hangs without closing its connections (SIGSTOP) is found by
// HTTP/2 PINGs, and watches move to another member.
import { describe, expect, it } from "vitest";
import { connect, createClient } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume, describeEvents, expectInOrderOnce, startWriter } from "./harness/watch.js";

const etcd = useEtcd({ size: 3 });

describe("black-holed member", () => {
  it("is detected by keepalive pings; its watches resume elsewhere, losing nothing", async () => {
    const endpointsSeen: string[] = [];
    const c = await connect({ endpoints: etcd.endpoints, keepAliveTimeMs: 5000, keepAliveTimeoutMs: 2000 });
    const base = (await c.put("bh/base", "0")).header.revision;
    const watched = consume(
      c.watch("bh/k", {
        prefix: true,
        startRevision: base + 1n,
        onStateChange: (s) => s.state === "watching" && s.endpoint && endpointsSeen.push(s.endpoint),
      }),
    );
    await expect.poll(() => endpointsSeen.length).toBe(1);
    const victim = etcd.members.find((m) => m.clientUrl === endpointsSeen[0])!;
    const writerClient = await connect({ endpoints: etcd.endpoints.filter((e) => e !== victim.clientUrl) });
    const writer = startWriter(writerClient, ["bh/k0", "bh/k1"]);
    try {
      await writer.waitForAcks(20);
      victim.pause();
      await writer.waitForAcks(20, 30000);
      // Ping interval 5 s + timeout 2 s, then the watch reconnects elsewhere.
      await expect.poll(() => endpointsSeen.length, { timeout: 30000 }).toBeGreaterThan(1);
      await writer.waitForAcks(20);
      await writer.stop();
      const through = writer.acked.at(-1)!;
      await expect.poll(() => watched.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 20000 }).toBe(through);
      expectInOrderOnce(watched.events);
      const truth = consume(writerClient.watch("bh/k", { prefix: true, startRevision: base + 1n }));
      await expect.poll(() => truth.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 20000 }).toBe(through);
      expect(describeEvents(watched.events)).toEqual(describeEvents(truth.events));
      expect(endpointsSeen.at(-1)).not.toBe(victim.clientUrl);
    } finally {
      await writer.stop();
      victim.resume();
      c.close();
      writerClient.close();
    }
  }, 90000);

  it("refuses ping intervals etcd would punish", () => {
    expect(() => createClient({ endpoints: etcd.endpoints, keepAliveTimeMs: 1000 })).toThrow(RangeError);
    expect(() => createClient({ endpoints: etcd.endpoints, keepAliveTimeMs: 0 })).not.toThrow(); // 0: no pings
  });
});
