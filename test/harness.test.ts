import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { etcdctl, isHealthy, metricValue, startCluster, useEtcd } from "./harness/etcd.js";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("metricValue", () => {
  const text = [
    "# HELP x_total a counter",
    "# TYPE x_total counter",
    'x_total{method="get",code="200"} 3',
    'x_total{method="put",code="200"} 4',
    'x_total{method="put",code="500"} 1e1',
    "x_total_other 100",
    "y 2.5 1700000000000",
  ].join("\n");
  it("sums, filters by labels, and defaults to 0", () => {
    expect(metricValue(text, "x_total")).toBe(17);
    expect(metricValue(text, "x_total", { method: "put" })).toBe(14);
    expect(metricValue(text, "x_total", { method: "put", code: "200" })).toBe(4);
    expect(metricValue(text, "y")).toBe(2.5);
    expect(metricValue(text, "absent")).toBe(0);
  });
});

describe("single member", () => {
  const etcd = useEtcd();

  it("is healthy with one client endpoint", async () => {
    expect(etcd.endpoints).toHaveLength(1);
    expect(etcd.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await isHealthy(etcd.endpoint)).toBe(true);
    expect(etcd.member(0).running).toBe(true);
    expect(fs.existsSync(etcd.member(0).dataDir)).toBe(true);
  });

  it("round-trips a key with etcdctl (including stdin input)", async () => {
    expect((await etcd.etcdctl(["put", "greeting", "hello"])).trim()).toBe("OK");
    expect(await etcd.etcdctl(["get", "greeting", "--print-value-only"])).toBe("hello\n");
    await etcd.etcdctl(["txn"], { input: 'value("greeting") = "hello"\n\nput greeting bye\n\n\n' });
    expect(await etcd.etcdctl(["get", "greeting", "--print-value-only"])).toBe("bye\n");
  });

  it("rejects with etcdctl's stderr on failure", async () => {
    await expect(etcd.etcdctl(["no-such-command"])).rejects.toThrow(/unknown command/);
  });

  it("serves /metrics on the client URL", async () => {
    const text = await etcd.metrics();
    expect(text).toMatch(/^etcd_server_has_leader 1$/m);
    expect(metricValue(text, "etcd_server_has_leader")).toBe(1);
    expect(await etcd.metric("etcd_server_is_leader")).toBe(1);
  });
});

describe("three members", () => {
  const etcd = useEtcd({ size: 3 });

  it("forms a cluster of 3 started members", async () => {
    expect(etcd.endpoints).toHaveLength(3);
    const list = await etcd.etcdctl(["member", "list"]);
    const rows = list.trim().split("\n").map((l) => l.split(", "));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r[1])).toEqual(["started", "started", "started"]);
    expect(rows.map((r) => r[2]).sort()).toEqual(["m0", "m1", "m2"]);
    for (const m of etcd.members) expect(await isHealthy(m.clientUrl)).toBe(true);
    const leaders = await Promise.all([0, 1, 2].map((i) => etcd.metric("etcd_server_is_leader", undefined, i)));
    expect(leaders.reduce((a, b) => a + b)).toBe(1);
  });

  // Index of the current leader (from each member's /metrics).
  async function leaderIndex(): Promise<number> {
    const flags = await Promise.all(etcd.members.map((_, i) => etcd.metric("etcd_server_is_leader", undefined, i)));
    expect(flags.reduce((a, b) => a + b)).toBe(1);
    return flags.indexOf(1);
  }

  it("restarts a killed member (the leader) with the same data, and it rejoins", async () => {
    const m = etcd.member(await leaderIndex());
    const before = await etcd.etcdctl(["member", "list"]);
    await etcd.etcdctl(["put", "before-kill", "v1"]);
    const oldPid = m.pid!;
    await m.kill();
    expect(m.running).toBe(false);
    expect(m.pid).toBeUndefined();
    expect(pidAlive(oldPid)).toBe(false);
    expect(await isHealthy(m.clientUrl, 500)).toBe(false);

    // The remaining two still have quorum and elect a new leader. A proposal
    // made during the election is dropped by etcd and only fails at the
    // client's timeout, hence the retries with a short timeout.
    await etcd.cluster.waitHealthy(10000);
    const other = etcd.members.find((x) => x !== m)!;
    await eventually(() =>
      etcd.etcdctl(["put", "while-down", "v2", "--command-timeout=2s"], { endpoints: other.clientUrl }),
    );

    await m.start();
    expect(m.running).toBe(true);
    expect(m.pid).not.toBe(oldPid);
    expect(await isHealthy(m.clientUrl)).toBe(true);
    const read = (key: string) =>
      etcd.etcdctl(["get", key, "--print-value-only", "--consistency=s"], { endpoints: m.clientUrl });
    expect(await read("before-kill")).toBe("v1\n");
    await eventually(async () => expect(await read("while-down")).toBe("v2\n"));
    // Same member identity: the member list is unchanged.
    expect(await etcd.etcdctl(["member", "list"])).toBe(before);
  });

  it("pauses and resumes a member (a follower)", async () => {
    const leader = await leaderIndex();
    const m = etcd.member((leader + 1) % 3);
    m.pause();
    expect(m.paused).toBe(true);
    expect(await isHealthy(m.clientUrl, 300)).toBe(false);
    await expect(
      etcd.etcdctl(["get", "before-kill", "--consistency=s", "--command-timeout=1s"], { endpoints: m.clientUrl, timeoutMs: 5000 }).then(
        () => "answered",
        () => "failed",
      ),
    ).resolves.toBe("failed");
    await etcd.etcdctl(["put", "while-paused", "v3"], { endpoints: etcd.member(leader).clientUrl });
    m.resume();
    expect(m.paused).toBe(false);
    await m.waitHealthy(10000);
    await eventually(async () =>
      expect(
        await etcd.etcdctl(["get", "while-paused", "--print-value-only", "--consistency=s"], { endpoints: m.clientUrl }),
      ).toBe("v3\n"),
    );
  });

  it("stop() kills every member and removes the data dir (idempotent)", async () => {
    const cluster = etcd.cluster;
    const pids = cluster.members.map((m) => m.pid);
    expect(pids.every((p) => p !== undefined && pidAlive(p))).toBe(true);
    cluster.member(0).pause(); // stop() must resume paused members first
    const t0 = Date.now();
    await cluster.stop();
    expect(Date.now() - t0).toBeLessThan(4000); // graceful, no SIGKILL escalation
    expect(pids.some((p) => p !== undefined && pidAlive(p))).toBe(false);
    expect(cluster.members.every((m) => !m.running && m.pid === undefined)).toBe(true);
    expect(fs.existsSync(cluster.dataDirRoot)).toBe(false);
    await cluster.stop(); // afterAll calls it again
  });
});

describe("startCluster", () => {
  it("uses a given dataDirRoot, passes extraArgs, and cleans up", async () => {
    const root = fs.mkdtempSync("/tmp/etcd-harness-test-");
    fs.writeFileSync(`${root}/keep.txt`, "x");
    const c = await startCluster({ dataDirRoot: root, extraArgs: ["--max-txn-ops", "7"] });
    try {
      expect(c.member(0).dataDir.startsWith(root)).toBe(true);
      expect(c.member(0).args).toContain("--max-txn-ops");
      expect((await etcdctl(c.endpoints, ["endpoint", "health"], {})).length).toBeGreaterThanOrEqual(0);
    } finally {
      await c.stop();
    }
    expect(fs.readdirSync(root)).toEqual(["keep.txt"]);
    fs.rmSync(root, { recursive: true });
  });

  it("fails fast with the log tail when etcd rejects its arguments", async () => {
    await expect(startCluster({ extraArgs: ["--no-such-flag"], startTimeoutMs: 10000 })).rejects.toThrow(
      /flag provided but not defined/,
    );
  });
});
