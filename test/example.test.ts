// `npm start` (the hello-world example) and the packed package, run as a user would.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useEtcd } from "./harness/etcd.js";

const root = join(import.meta.dirname, "..");
const etcd = useEtcd();

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? root, env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** PIDs of etcd processes whose command line mentions `needle`. */
function etcdProcessesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes("etcd") && cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while listing
    }
  }
  return pids;
}

describe("npm start", () => {
  it("starts a throwaway etcd, prints the member list and a round-tripped key, and stops etcd", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "etcd-connect-start-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
      delete env.ETCD_ENDPOINTS;
      const r = await run("npm", ["start", "--silent"], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^cluster [0-9a-f]+ \(answered by member [0-9a-f]+, raft term \d+\)$/m);
      expect(r.stdout).toMatch(/^ {2}member [0-9a-f]+ \S+$/m);
      expect(r.stdout).toMatch(/peer URLs: +http:\/\/127\.0\.0\.1:\d+/);
      expect(r.stdout).toMatch(/client URLs: +http:\/\/127\.0\.0\.1:\d+/);
      expect(r.stdout).toMatch(/get: hello = world from etcd-connect \(version 1\)/);
      // Nothing left behind: no etcd using a data dir under this TMPDIR, and no data dir.
      expect(etcdProcessesWith(tmp)).toEqual([]);
      expect(readdirSync(tmp).filter((name) => name.startsWith("etcd-cluster-"))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60000);

  it("uses ETCD_ENDPOINTS instead when it is set", async () => {
    await etcd.etcdctl(["put", "marker", "1"]);
    const r = await run("npm", ["start", "--silent"], { env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`client URLs: ${etcd.endpoint}`);
    expect(r.stderr).not.toMatch(/starting a throwaway etcd/);
  }, 60000);
});

describe("examples", () => {
  it("watch-prefix.ts prints each change under the prefix once, in order", async () => {
    const r = await run(process.execPath, ["--conditions=etcd-connect-dev", "--import", "tsx", "examples/watch-prefix.ts"], {
      env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint },
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => !l.startsWith("[") && l !== "");
    expect(lines.map((l) => l.replace(/ @ revision \d+$/, ""))).toEqual([
      "put demo/a 1",
      "put demo/b 2",
      "put demo/a 3 (was 1)",
      "delete demo/a  (was 3)",
      "delete demo/b  (was 2)",
    ]);
    expect(r.stdout).toMatch(/^\[watch watching on http:\/\/127\.0\.0\.1:\d+\]$/m);
  }, 60000);
});

describe("service-registration example", () => {
  it("registers under a lease, stays registered past the TTL, and deregisters", async () => {
    const r = await run(process.execPath, ["--conditions=etcd-connect-dev", "--import", "tsx", "examples/service-registration.ts"], {
      env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint, RUN_FOR_MS: "6000" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^registered services\/api\/\d+ with lease [0-9a-f]+ \(ttl 5s\)$/m);
    expect(r.stdout).toContain("still registered: true");
    expect(r.stdout).toContain("deregistered: true; keeper done: true");
    expect(r.stdout).not.toContain("registration lost");
  }, 60000);
});

describe("npm pack", () => {
  it("produces a package that a fresh Node project can import and use", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "etcd-connect-pack-"));
    try {
      const pack = await run("npm", ["pack", "--silent", "--pack-destination", tmp]);
      expect(pack.code, pack.stderr).toBe(0);
      const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"))!;
      expect(tarball).toBeDefined();
      const app = join(tmp, "app");
      await run("mkdir", ["-p", app]);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
      const install = await run("npm", ["install", "--silent", "--no-audit", "--no-fund", "--prefer-offline", join(tmp, tarball)], { cwd: app });
      expect(install.code, install.stderr).toBe(0);
      expect(existsSync(join(app, "node_modules/etcd-connect/dist/src/index.d.ts"))).toBe(true);
      writeFileSync(
        join(app, "main.js"),
        `import { connect, text } from "etcd-connect";
const client = await connect({ endpoints: [process.argv[2]], dialTimeoutMs: 5000 });
await client.put("packed", "works");
console.log(text((await client.get("packed")).kvs[0].value));
client.close();
`,
      );
      const r = await run(process.execPath, ["main.js", etcd.endpoint], { cwd: app });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("works\n");
      // The other entries resolve too, and the proxy's command is installed.
      writeFileSync(
        join(app, "entries.js"),
        `import * as web from "etcd-connect/web";
import * as node from "etcd-connect/node";
import { createProxy } from "etcd-connect/proxy";
console.log([typeof web.connect, typeof web.createWebTransport, typeof node.createNodeTransport, typeof createProxy].join(","));
`,
      );
      const entries = await run(process.execPath, ["entries.js"], { cwd: app });
      expect(entries.stdout, entries.stderr).toBe("function,function,function,function\n");
      const help = await run(join(app, "node_modules/.bin/etcd-connect-proxy"), ["--help"], { cwd: app });
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^Usage: etcd-connect-proxy/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120000);
});
