import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, connect, saveSnapshot } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

describe("3-member cluster", () => {
  const etcd = useEtcd({ size: 3 });
  let client: Client;
  beforeAll(async () => {
    client = await connect({ endpoints: etcd.endpoints });
    for (let i = 0; i < 50; i++) await client.put(`m/${i}`, `v${i}`);
  });
  afterAll(() => client?.close());

  it("reports each member's status from that member", async () => {
    const ids = new Set<bigint>();
    for (const endpoint of etcd.endpoints) {
      const s = await client.maintenance.status(endpoint);
      expect(s.version).toMatch(/^3\.4\./);
      expect(s.leader).not.toBe(0n);
      expect(s.dbSize).toBeGreaterThan(0n);
      expect(s.dbSizeInUse).toBeGreaterThan(0n);
      expect(s.raftTerm).toBeGreaterThan(0n);
      expect(s.isLearner).toBe(false);
      ids.add(s.header.memberId);
    }
    expect(ids.size).toBe(3); // each answer came from a different member
    await expect(client.maintenance.status("http://127.0.0.1:1")).rejects.toBeInstanceOf(RangeError);
  });

  it("computes hashKV on every member, agreeing at the same revision", async () => {
    const { header } = await client.put("m/last", "x");
    // The put is acknowledged once the leader applied it; a follower may apply it a moment later, and until then a
    // hashKV at that revision is a "future revision" to it.
    await expect
      .poll(async () => (await Promise.all(etcd.endpoints.map((e) => client.maintenance.status(e)))).every((s) => s.header.revision >= header.revision), {
        timeout: 10000,
      })
      .toBe(true);
    const hashes = await Promise.all(etcd.endpoints.map((e) => client.maintenance.hashKV(e, header.revision)));
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    expect(hashes[0]!.hash).not.toBe(0);
    const backend = await client.maintenance.hash(etcd.endpoints[0]!);
    expect(typeof backend.hash).toBe("number");
  });

  it("moves leadership to another member; every member agrees", async () => {
    const before = (await client.maintenance.status()).leader;
    const { members } = await client.cluster.memberList();
    const target = members.find((m) => m.id !== before)!;
    await client.maintenance.moveLeader(target.id);
    await expect
      .poll(async () => new Set((await Promise.all(etcd.endpoints.map((e) => client.maintenance.status(e)))).map((s) => s.leader)), {
        timeout: 10000,
      })
      .toEqual(new Set([target.id]));
  });

  it("lists every endpoint's status, and the error of one that is down", async () => {
    const all = await client.endpointStatus();
    expect(all.map((s) => [s.endpoint, s.healthy])).toEqual(etcd.endpoints.map((e) => [e, true]));
    const victim = etcd.members[2]!;
    await victim.stop();
    try {
      const some = await client.endpointStatus({ timeoutMs: 2000 });
      const down = some.find((s) => s.endpoint === victim.clientUrl)!;
      expect(down.healthy).toBe(false);
      expect(down.error).toBeInstanceOf(EtcdError);
      expect(down.error!.kind).toBe("unavailable");
      expect(some.filter((s) => s.healthy)).toHaveLength(2);
    } finally {
      await victim.start();
      await etcd.cluster.waitHealthy();
    }
  });

  it("refuses a downgrade clearly on etcd 3.4", async () => {
    const err = await client.maintenance.downgrade("validate", "3.3").catch((e) => e);
    expect(err).toMatchObject({ kind: "unimplemented" });
    expect(err.message).toMatch(/needs etcd 3\.5/);
  });

  it("streams a snapshot that etcdctl accepts; an abort leaves no file behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-connect-snap-"));
    try {
      const path = join(dir, "backup.db");
      const progress: number[] = [];
      const { bytes } = await saveSnapshot(client, path, { onProgress: (b) => progress.push(b) });
      expect(bytes).toBeGreaterThan(1000);
      expect(progress.at(-1)).toBe(bytes);
      const info = JSON.parse(await etcd.etcdctl(["snapshot", "status", path, "-w", "json"], { endpoints: [] }));
      const { header } = await client.get("m/last");
      expect(BigInt(info.revision)).toBe(header.revision);
      expect(info.totalKey).toBeGreaterThan(50);

      const ac = new AbortController();
      const aborted = saveSnapshot(client, join(dir, "aborted.db"), { signal: ac.signal, onProgress: () => ac.abort(new Error("stop")) });
      await expect(aborted).rejects.toMatchObject({ kind: "canceled" });
      expect(readdirSync(dir)).toEqual(["backup.db"]);

      // The raw stream: chunks, and break ends the call.
      let chunks = 0;
      for await (const chunk of client.maintenance.snapshot()) {
        expect(chunk).toBeInstanceOf(Uint8Array);
        if (++chunks === 1) break;
      }
      expect(chunks).toBe(1);
      expect(existsSync(join(dir, "aborted.db.part"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("NOSPACE alarm", () => {
  const etcd = useEtcd({ extraArgs: ["--quota-backend-bytes=2097152"] });

  it("raises the alarm when full, and clears after compact, defragment and disarm", async () => {
    const c = await connect({ endpoints: etcd.endpoints });
    try {
      expect(await c.maintenance.alarms()).toEqual([]);
      const value = new Uint8Array(64 * 1024);
      let err: unknown;
      for (let i = 0; i < 5000 && err === undefined; i++) {
        await c.put("fill", value).catch((e: unknown) => {
          err = e;
        });
      }
      expect(err).toMatchObject({ kind: "no-space" });
      const alarms = await c.maintenance.alarms();
      expect(alarms).toEqual([{ memberId: (await c.maintenance.status()).header.memberId, alarm: "nospace" }]);
      await expect(c.put("more", "x")).rejects.toMatchObject({ kind: "no-space" });

      const { header } = await c.get("fill");
      await c.compact(header.revision, { physical: true });
      await c.maintenance.defragment(etcd.endpoint);
      expect(await c.maintenance.disarm()).toEqual([]);
      await c.put("more", "works again");
      expect(await etcd.etcdctl(["alarm", "list"])).toBe("");
    } finally {
      c.close();
    }
  });
});
