// Failover on a real 3-member cluster: kill -9 the member serving the client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type EndpointState, createClient, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd({ size: 3 });

/** Runs `op` until it succeeds; returns how long that took. Failures are collected by kind. */
async function until(op: () => Promise<unknown>, failures: string[]): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await op();
      return Date.now() - started;
    } catch (err) {
      failures.push((err as { kind?: string }).kind ?? String(err));
      if (Date.now() - started > 30000) throw err;
    }
  }
}

describe("kill -9 the serving member", () => {
  let client: Client;
  const states: EndpointState[] = [];
  beforeAll(() => {
    client = createClient({ endpoints: etcd.endpoints, onEndpointStateChange: (s) => states.push(s) });
  });
  afterAll(() => client?.close());

  it("keeps reads and writes working through each member's death", async () => {
    const recoveries: number[] = [];
    for (let round = 0; round < 3; round++) {
      await client.put("fo/k", `before-${round}`, { timeoutMs: 5000 });
      // The member serving the client is the one its last call used.
      const serving = states.filter((s) => s.state === "ready").at(-1)?.endpoint ?? etcd.endpoints[0];
      const victim = etcd.members.find((m) => m.clientUrl === serving)!;
      await victim.kill();
      const failures: string[] = [];
      // Reads are retried by the client itself; writes whose fate is unknown are not.
      const read = await until(() => client.get("fo/k", { timeoutMs: 2000 }), failures);
      const write = await until(() => client.put("fo/k", `after-${round}`, { timeoutMs: 2000 }), failures);
      recoveries.push(Math.max(read, write));
      expect(failures.every((k) => ["unavailable", "deadline-exceeded", "timeout", "leader-changed", "no-leader"].includes(k))).toBe(true);
      expect(text((await client.get("fo/k")).kvs[0]!.value)).toBe(`after-${round}`);
      await victim.start();
      await etcd.cluster.waitHealthy();
    }
    console.log(`failover: reads and writes worked again after ${recoveries.join(", ")} ms`);
    // The goal is 2 s; the bound leaves room for a loaded 2-core CI machine.
    for (const ms of recoveries) expect(ms).toBeLessThan(8000);
    expect(states.some((s) => s.state === "failing")).toBe(true);
  }, 120000);
});

describe("endpoints at runtime", () => {
  it("syncs endpoints from the member list, and takes new ones with setEndpoints", async () => {
    const c = createClient({ endpoints: [etcd.endpoints[0]!] });
    try {
      await c.sync();
      expect([...c.endpoints].sort()).toEqual([...etcd.endpoints].sort());
      c.setEndpoints([etcd.endpoints[2]!]);
      expect(c.endpoints).toEqual([etcd.endpoints[2]]);
      await c.put("rt/k", "via the third member");
      expect(c.endpointStates()).toEqual([{ endpoint: etcd.endpoints[2], state: "ready" }]);
    } finally {
      c.close();
    }
  });

  it("refreshes endpoints on its own with autoSyncIntervalMs", async () => {
    const c = createClient({ endpoints: [etcd.endpoints[1]!], autoSyncIntervalMs: 300 });
    try {
      await expect.poll(() => c.endpoints.length, { timeout: 10000 }).toBe(3);
    } finally {
      c.close();
    }
  });
});
