import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, connect, saveSnapshot } from "../src/index.js";
import { ETCD_VERSION, etcdAtLeast, etcdutl, useEtcd } from "./harness/etcd.js";

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
      expect(s.version.startsWith(`${ETCD_VERSION}.`)).toBe(true);
      // Fields added in 3.6: empty before.
      // The storage version trails the server's: it is the newest schema the whole cluster has migrated to, and a
      // fresh cluster reports none until its leader has set one.
      if (etcdAtLeast("3.6")) {
        await expect.poll(async () => (await client.maintenance.status(endpoint)).storageVersion, { timeout: 20000 }).toMatch(/^3\.[5-9]\.0$/);
      } else {
        expect(s.storageVersion).toBe("");
      }
      expect(s.dbSizeQuota).toBe(etcdAtLeast("3.6") ? 2n * 1024n ** 3n : 0n);
      expect(s.downgrade).toEqual({ enabled: false, targetVersion: "" });
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
    // The revision the hash covers came with etcd 3.6; 0 before.
    for (const h of hashes) expect(h.hashRevision).toBe(etcdAtLeast("3.6") ? header.revision : 0n);
    const latest = await client.maintenance.hashKV(etcd.endpoints[0]!);
    expect(latest.hashRevision).toBe(etcdAtLeast("3.6") ? latest.header.revision : 0n);
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

  it("streams a snapshot that etcdutl accepts; an abort leaves no file behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-connect-snap-"));
    try {
      const path = join(dir, "backup.db");
      const progress: number[] = [];
      const { bytes } = await saveSnapshot(client, path, { onProgress: (b) => progress.push(b) });
      expect(bytes).toBeGreaterThan(1000);
      expect(progress.at(-1)).toBe(bytes);
      const info = JSON.parse(await etcdutl(["snapshot", "status", path, "-w", "json"]));
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

describe("downgrade", () => {
  // Its own member: enabling a downgrade lowers the cluster version until it is cancelled.
  const etcd = useEtcd();

  it("validates, enables and cancels on etcd 3.6+, validates and cancels on 3.5, says it needs 3.5 on 3.4", async () => {
    const client = await connect({ endpoints: etcd.endpoints });
    try {
      const [major, minor] = ETCD_VERSION.split(".").map(Number) as [number, number];
      const previous = `${major}.${minor - 1}`;
      if (!etcdAtLeast("3.5")) {
        const err = await client.maintenance.downgrade("validate", previous).catch((e) => e);
        expect(err).toMatchObject({ kind: "unimplemented", code: 12 });
        expect(err.rawMessage).toBe("downgrade needs etcd 3.5 or later; this server does not have it");
        return;
      }
      // Only one minor version down, and only in the right format.
      await expect(client.maintenance.downgrade("validate", `${major}.${minor - 2}`)).rejects.toMatchObject({ kind: "invalid-downgrade-target-version" });
      await expect(client.maintenance.downgrade("validate", "three")).rejects.toMatchObject({ kind: "wrong-downgrade-version-format" });
      // validate answers with the cluster version it checked against ("3.5.0" from 3.5, "3.6" later).
      const clusterVersion = etcdAtLeast("3.6") ? ETCD_VERSION : `${ETCD_VERSION}.0`;
      expect((await client.maintenance.downgrade("validate", previous)).version).toBe(clusterVersion);
      if (!etcdAtLeast("3.6")) {
        // etcd 3.5 takes a downgrade enable but never answers it (its downgrade support is incomplete; downgrades
        // work from 3.6), so only validate and cancel are checked there.
        await expect(client.maintenance.downgrade("cancel", previous)).rejects.toMatchObject({ kind: "no-inflight-downgrade" });
        return;
      }
      expect((await client.maintenance.status()).downgrade).toEqual({ enabled: false, targetVersion: "" });
      expect((await client.maintenance.downgrade("enable", previous)).version).toBe(clusterVersion);
      // 3.6 added the downgrade state to Status.
      expect((await client.maintenance.status()).downgrade).toEqual({ enabled: true, targetVersion: `${previous}.0` });
      await client.maintenance.downgrade("cancel", previous);
      expect((await client.maintenance.status()).downgrade).toEqual({ enabled: false, targetVersion: "" });
    } finally {
      client.close();
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
