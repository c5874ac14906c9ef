import { X509Certificate, createPrivateKey } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import { describe, expect, it } from "vitest";
import { etcdctl, fetchMetrics, isHealthy, metricValue, startCluster, useEtcd } from "./harness/etcd.js";
import type { Member } from "./harness/etcd.js";

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
    expect(etcd.tls).toBeUndefined();
    expect(etcd.member(0).args.some((a) => a.includes("cert"))).toBe(false);
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

describe("membership changes (member add + join, learner promote, member remove)", () => {
  const etcd = useEtcd({ size: 3 });
  // Set by the tests, in order.
  let voter: Member;
  let learner: Member;

  /** Client URLs of the running members (a prepared member is listed in `endpoints` before it runs). */
  const running = () => etcd.members.filter((m) => m.running).map((m) => m.clientUrl);
  // A learner refuses every RPC but Status and serializable Range ("etcdserver: rpc not supported for learner"),
  // member list and member add/promote/remove included, and etcdctl does not retry the changes elsewhere: while
  // there is one, cluster-wide etcdctl calls go to the voting members only.
  let unpromoted: Member | undefined;
  const voters = () => etcd.members.filter((m) => m.running && m !== unpromoted).map((m) => m.clientUrl);

  interface ListedMember {
    id: string; // hex, as etcdctl member promote/remove take it
    name: string; // "" until the member has started
    peerURLs: string[];
    isLearner: boolean;
  }
  async function memberList(): Promise<ListedMember[]> {
    const text = await etcd.etcdctl(["member", "list", "-w", "json"], { endpoints: voters() });
    // Member IDs are uint64: quote them before JSON.parse rounds them to doubles.
    const json = JSON.parse(text.replace(/"(ID|cluster_id|member_id)":(\d+)/g, '"$1":"$2"')) as {
      members: Array<{ ID: string; name?: string; peerURLs?: string[]; isLearner?: boolean }>;
    };
    return json.members.map((m) => ({
      id: BigInt(m.ID).toString(16),
      name: m.name ?? "",
      peerURLs: m.peerURLs ?? [],
      isLearner: m.isLearner === true,
    }));
  }
  const summary = async () =>
    (await memberList()).map((m) => `${m.name || "(unstarted)"}${m.isLearner ? " (learner)" : ""}`).sort();
  const idOf = async (name: string) => {
    const m = (await memberList()).find((x) => x.name === name);
    if (!m) throw new Error(`${name} not in member list`);
    return m.id;
  };

  // Membership changes etcd refuses for a while, to retry: with --strict-reconfig-check (the default), `member
  // add` answers "unhealthy cluster" until every voting member has been connected to the leader for 5 s (just
  // after start, and after each join), and `member promote` answers "can only promote a learner member which is
  // in sync with leader" until the learner has caught up. Other errors fail at once (the changes are not
  // idempotent: a blind retry could add a member twice).
  const TRANSIENT = /unhealthy cluster|not enough started members|in sync with leader|leader changed|no leader/;
  async function reconfigure(args: string[], endpoints = voters, timeoutMs = 30000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await etcd.etcdctl(args, { endpoints: endpoints() });
      } catch (e) {
        if (!TRANSIENT.test(String(e)) || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  it("prepares a member, adds it with etcdctl member add, and joins it (--initial-cluster-state existing)", { timeout: 60000 }, async () => {
    const m = await etcd.prepareMember();
    voter = m;
    expect(m.name).toBe("m3");
    expect(m.prepared).toBe(true);
    expect(m.running).toBe(false);
    expect(m.peerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(m.clientUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(m.dataDir.startsWith(etcd.cluster.dataDirRoot)).toBe(true);
    expect(etcd.members).toContain(m);
    expect(etcd.endpoints).toEqual([...running(), m.clientUrl]);
    const others = etcd.members.filter((x) => x !== m);
    expect(new Set([...others.flatMap((x) => [x.peerUrl, x.clientUrl]), m.peerUrl, m.clientUrl]).size).toBe(8);
    await etcd.cluster.waitHealthy(10000); // skips the prepared member
    await expect(m.start()).rejects.toThrow(/use join\(\)/);
    await expect(m.join(`m0=${etcd.member(0).peerUrl}`)).rejects.toThrow(/must contain m3=/);

    // Joining before `member add` fails fast (etcd exits), and leaves the member prepared for another try.
    const all = etcd.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    await expect(m.join(all)).rejects.toThrow(/member count is unequal|could not retrieve cluster information/);
    expect(m.prepared).toBe(true);
    expect(m.running).toBe(false);

    const out = await reconfigure(["member", "add", m.name, `--peer-urls=${m.peerUrl}`]);
    // etcdctl prints IDs with %16x: a leading zero nibble becomes a space.
    expect(out).toMatch(/^Member +[0-9a-f]+ added to cluster +[0-9a-f]+\n/);
    expect(out).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]*)"/.exec(out)![1]!;
    expect(initialCluster.split(",").sort()).toEqual(all.split(",").sort());
    // Added but not started: listed without a name, and the 3 running members keep quorum (3 of 4).
    expect(await summary()).toEqual(["(unstarted)", "m0", "m1", "m2"]);

    await m.join(initialCluster);
    expect(m.prepared).toBe(false);
    expect(m.running).toBe(true);
    expect(m.args[m.args.indexOf("--initial-cluster") + 1]).toBe(initialCluster);
    expect(m.args[m.args.indexOf("--initial-cluster-state") + 1]).toBe("existing");
    expect(await isHealthy(m.clientUrl)).toBe(true);
    await expect.poll(summary, { timeout: 20000 }).toEqual(["m0", "m1", "m2", "m3"]);
    const rows = (await etcd.etcdctl(["member", "list"], { endpoints: voters() })).trim().split("\n").map((l) => l.split(", "));
    expect(rows.map((r) => r[1])).toEqual(["started", "started", "started", "started"]);
    expect(rows.every((r) => r[5] === "false")).toBe(true); // not learners

    // It serves the cluster's data, and restarts like any member (state existing, same data dir).
    await etcd.etcdctl(["put", "joined", "yes"]);
    const read = (key: string, member: Member) =>
      etcd.etcdctl(["get", key, "--print-value-only", "--consistency=s"], { endpoints: member.clientUrl });
    await expect.poll(() => read("joined", m), { timeout: 10000 }).toBe("yes\n");
    const before = await etcd.etcdctl(["member", "list"]);
    const oldPid = m.pid;
    await m.stop();
    await m.start();
    expect(m.pid).not.toBe(oldPid);
    expect(await read("joined", m)).toBe("yes\n");
    expect(await etcd.etcdctl(["member", "list"])).toBe(before);
  });

  it("adds a learner (member add --learner), then promotes it once it is in sync", { timeout: 60000 }, async () => {
    const l = await etcd.prepareMember({ name: "learner1" });
    learner = l;
    unpromoted = l;
    expect(l.name).toBe("learner1");
    const out = await reconfigure(["member", "add", l.name, `--peer-urls=${l.peerUrl}`, "--learner"]);
    expect(out).toMatch(/added (as learner )?to cluster/);
    // The initial cluster built by the caller: every member's name=peerURL, in any order.
    const initialCluster = etcd.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    await l.join(initialCluster);
    expect(l.running).toBe(true);
    expect(await isHealthy(l.clientUrl)).toBe(true);
    await expect.poll(summary, { timeout: 20000 }).toEqual(["learner1 (learner)", "m0", "m1", "m2", "m3"]);

    // A learner serves serializable reads only.
    const get = (consistency: "s" | "l") =>
      etcd.etcdctl(["get", "joined", "--print-value-only", `--consistency=${consistency}`, "--command-timeout=1s"], {
        endpoints: l.clientUrl,
      });
    await expect.poll(() => get("s"), { timeout: 10000 }).toBe("yes\n");
    await expect(get("l")).rejects.toThrow(/rpc not supported for learner|deadline exceeded/);

    await reconfigure(["member", "promote", await idOf("learner1")]);
    await expect.poll(summary, { timeout: 20000 }).toEqual(["learner1", "m0", "m1", "m2", "m3"]);
    // The promoted member applies its promotion a moment later.
    await expect.poll(() => get("l"), { timeout: 10000 }).toBe("yes\n");
    unpromoted = undefined;
    // Promoting a voting member is refused.
    await expect(etcd.etcdctl(["member", "promote", await idOf("m0")], { endpoints: voters() })).rejects.toThrow(/can only promote a learner member/);
  });

  it("removes a member with etcdctl member remove: etcd exits by itself, running turns false", { timeout: 60000 }, async () => {
    const victim = voter;
    const pid = victim.pid!;
    const id = await idOf(victim.name);
    // Sent to the other members: the removed one stops as soon as it applies its removal.
    const others = () => voters().filter((u) => u !== victim.clientUrl);
    expect(await reconfigure(["member", "remove", id], others)).toMatch(new RegExp(`^Member +${id} removed from cluster`));
    await expect.poll(() => victim.running, { timeout: 20000 }).toBe(false);
    expect(victim.pid).toBeUndefined();
    expect(pidAlive(pid)).toBe(false);
    expect(victim.lastExit).toMatch(/^exited \(code \d+, signal null\)$/); // by itself, not killed
    await expect.poll(summary, { timeout: 20000 }).toEqual(["learner1", "m0", "m1", "m2"]);

    // Still a member of the handle until forgotten; waitHealthy skips it either way.
    expect(etcd.endpoints).toContain(victim.clientUrl);
    await etcd.cluster.waitHealthy(10000);
    expect(etcd.forget(victim)).toBe(true);
    expect(etcd.forget(victim)).toBe(false);
    expect(etcd.members).not.toContain(victim);
    expect(etcd.endpoints).toEqual(etcd.members.map((m) => m.clientUrl));
    expect(etcd.members.map((m) => m.name)).toEqual(["m0", "m1", "m2", "learner1"]);
    expect((await etcd.etcdctl(["put", "after-remove", "ok"])).trim()).toBe("OK");
    expect(learner.running).toBe(true);
  });

  it("stop() stops every member, including exited, forgotten and never-joined ones, and removes the data", async () => {
    const cluster = etcd.cluster;
    const unjoined = await etcd.prepareMember();
    expect(unjoined.name).toBe("m5"); // names of forgotten members stay taken
    expect(fs.existsSync(voter.dataDir)).toBe(true);
    const running = cluster.members.filter((m) => m.running);
    const pids = running.map((m) => m.pid!);
    expect(pids).toHaveLength(4);
    await cluster.stop();
    // Graceful: followers first, the leader last once it sees no peer; none needed the SIGKILL escalation (checked
    // by how each exited, not by time, which a busy machine stretches).
    expect(running.map((m) => m.lastExit)).toEqual(running.map(() => expect.not.stringMatching(/SIGKILL/)));
    expect(pids.filter(pidAlive)).toEqual([]);
    expect([...cluster.members, voter].every((m) => !m.running && m.pid === undefined)).toBe(true);
    expect(fs.existsSync(cluster.dataDirRoot)).toBe(false);
    await expect(cluster.prepareMember()).rejects.toThrow(/stopped/);
    await cluster.stop(); // afterAll calls it again
  });
});

/** GET `url` over HTTPS with only the given TLS options (no launcher defaults); resolves with the status. */
function httpsGet(url: string, options: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent: false, timeout: 10000, ...options }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

describe("TLS single member with --client-cert-auth", () => {
  const etcd = useEtcd({ tls: { clientCertAuth: true } });

  it("serves clients on https with a generated CA, server and client certificate", async () => {
    expect(etcd.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(etcd.endpoints).toEqual([etcd.endpoint]);
    const tls = etcd.tls!;
    expect(tls).toBeDefined();
    expect(tls.clientCertAuth).toBe(true);
    expect(etcd.cluster.tls).toBe(tls);
    expect(etcd.member(0).tls).toBe(tls);
    expect(fs.readFileSync(tls.caFile, "utf8")).toBe(tls.ca);
    expect(fs.readFileSync(tls.certFile, "utf8")).toBe(tls.cert);
    expect(fs.readFileSync(tls.keyFile, "utf8")).toBe(tls.key);
    expect(tls.caFile.startsWith(etcd.cluster.dataDirRoot)).toBe(true);
    const ca = new X509Certificate(tls.ca);
    const client = new X509Certificate(tls.cert);
    expect(ca.subject).toBe("CN=etcd-connect test CA");
    expect(ca.ca).toBe(true);
    expect(client.subject).toBe("CN=etcd-connect-test-client");
    expect(client.checkIssued(ca) && client.verify(ca.publicKey)).toBe(true);
    expect(client.checkPrivateKey(createPrivateKey(tls.key))).toBe(true);
    const args = etcd.member(0).args;
    expect(args).toContain("--client-cert-auth");
    expect(args[args.indexOf("--trusted-ca-file") + 1]).toBe(tls.caFile);
    expect(args[args.indexOf("--listen-peer-urls") + 1]).toMatch(/^http:\/\//);
    // isHealthy finds the credentials of a launcher-started member from its URL, or takes them explicitly.
    expect(await isHealthy(etcd.endpoint)).toBe(true);
    expect(await isHealthy(etcd.endpoint, 5000, tls)).toBe(true);
    expect(await isHealthy(etcd.endpoint, 5000, { ca: tls.ca })).toBe(false);
  });

  it("round-trips a key with etcdctl through the handle and the plain function", async () => {
    expect((await etcd.etcdctl(["put", "tls-greeting", "hello"])).trim()).toBe("OK");
    expect(await etcd.etcdctl(["get", "tls-greeting", "--print-value-only"])).toBe("hello\n");
    expect(await etcdctl(etcd.endpoints, ["get", "tls-greeting", "--print-value-only"])).toBe("hello\n");
    await etcd.etcdctl(["txn"], { input: 'value("tls-greeting") = "hello"\n\nput tls-greeting bye\n\n\n' });
    expect(await etcd.etcdctl(["get", "tls-greeting", "--print-value-only"])).toBe("bye\n");
    // Without a client certificate etcd refuses etcdctl too.
    await expect(
      etcd.etcdctl(["get", "tls-greeting", "--command-timeout=2s"], { tls: { caFile: etcd.tls!.caFile }, timeoutMs: 10000 }),
    ).rejects.toThrow(/etcdctl/);
  });

  it("serves /metrics on the https client URL", async () => {
    const text = await etcd.metrics();
    expect(metricValue(text, "etcd_server_has_leader")).toBe(1);
    expect(await etcd.metric("etcd_server_is_leader")).toBe(1);
    expect(metricValue(await fetchMetrics(etcd.endpoint), "etcd_server_has_leader")).toBe(1);
  });

  it("refuses an https request without a client certificate", async () => {
    const tls = etcd.tls!;
    expect(await httpsGet(`${etcd.endpoint}/health`, { ca: tls.ca, cert: tls.cert, key: tls.key })).toBe(200);
    // TLS 1.3: the client's handshake completes, then etcd sends a bad_certificate alert and closes.
    // (A reset instead of the alert is tolerated; etcd's log shows why it refused.)
    const err: NodeJS.ErrnoException = await httpsGet(`${etcd.endpoint}/health`, { ca: tls.ca }).then(
      (status) => new Error(`answered HTTP ${status}`),
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(`${err.code} ${err.message}`).toMatch(/BAD_CERTIFICATE|CERTIFICATE_REQUIRED|bad certificate|ECONNRESET|socket hang up/i);
    await expect
      .poll(() => etcd.member(0).logTail(100000), { timeout: 10000 })
      .toMatch(/rejected connection.*didn't provide a certificate/);
    // Without the CA, Node refuses etcd's server certificate.
    await expect(httpsGet(`${etcd.endpoint}/health`, {})).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  });

  it("restarts a member with the same certificates", async () => {
    const m = etcd.member(0);
    const tls = etcd.tls!;
    const url = m.clientUrl;
    const oldPid = m.pid!;
    await m.stop();
    expect(m.running).toBe(false);
    expect(await isHealthy(url, 500)).toBe(false);
    await m.start();
    expect(m.pid).not.toBe(oldPid);
    expect(m.clientUrl).toBe(url);
    expect(etcd.tls).toBe(tls);
    expect(fs.readFileSync(tls.caFile, "utf8")).toBe(tls.ca);
    expect(fs.readFileSync(tls.certFile, "utf8")).toBe(tls.cert);
    expect(await isHealthy(url)).toBe(true);
    expect(await etcd.etcdctl(["get", "tls-greeting", "--print-value-only"])).toBe("bye\n");
    expect(await etcd.metric("etcd_server_has_leader")).toBe(1);
  });
});

describe("startCluster", () => {
  it("serves TLS without --client-cert-auth, and removes its certificates from a given dataDirRoot", async () => {
    const root = fs.mkdtempSync("/tmp/etcd-harness-test-");
    fs.writeFileSync(`${root}/keep.txt`, "x");
    const c = await startCluster({ dataDirRoot: root, tls: {} });
    try {
      const tls = c.tls!;
      expect(tls.clientCertAuth).toBe(false);
      expect(c.member(0).args).not.toContain("--client-cert-auth");
      // etcd 3.4 would require client certificates with --trusted-ca-file alone.
      expect(c.member(0).args).not.toContain("--trusted-ca-file");
      expect(c.endpoints[0]).toMatch(/^https:\/\//);
      expect(tls.caFile.startsWith(root)).toBe(true);
      expect(await isHealthy(c.member(0).clientUrl, 5000, { ca: tls.ca })).toBe(true);
      expect(await httpsGet(`${c.member(0).clientUrl}/health`, { ca: tls.ca })).toBe(200);
      expect((await c.etcdctl(["put", "k", "v"])).trim()).toBe("OK");
      expect(await c.etcdctl(["get", "k", "--print-value-only"], { tls: { caFile: tls.caFile } })).toBe("v\n");
    } finally {
      await c.stop();
    }
    expect(fs.readdirSync(root)).toEqual(["keep.txt"]);
    fs.rmSync(root, { recursive: true });
  });

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
