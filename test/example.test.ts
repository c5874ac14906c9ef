// `npm start` (the console), `npm run example` (hello world) and the examples, run as a user would from a clone.
// (The packed package: test/package.test.ts.)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useEtcd } from "./harness/etcd.js";
import { run as runProcess } from "./harness/processes.js";

const root = join(import.meta.dirname, "..");
const etcd = useEtcd();

const run = (cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runProcess(cmd, args, { cwd: root, ...options });

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

/** Runs `npm start` in its own process group, as a terminal would; resolves once it printed the console's URL. */
async function startConsole(env: NodeJS.ProcessEnv) {
  const child = spawn("npm", ["start", "--silent"], { cwd: root, env, detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const npmExited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const ctrlC = () => process.kill(-child.pid!, "SIGINT");
  /**
   * Resolves once every process of the group is gone, with run.mjs's exit code as it printed it. (npm itself, hit
   * by the same SIGINT, ends by that signal; what matters is that the processes under it finish cleaning up.)
   */
  const exited = async (): Promise<void> => {
    await npmExited;
    await expect
      .poll(() => {
        try {
          process.kill(-child.pid!, 0);
          return "running";
        } catch {
          return "gone";
        }
      }, { timeout: 30000, interval: 100 })
      .toBe("gone");
  };
  try {
    await expect.poll(() => /^Press Ctrl-C to stop\.$/m.test(stdout) || child.exitCode !== null, { timeout: 60000, interval: 200 }).toBe(true);
  } catch (err) {
    ctrlC();
    throw err;
  }
  if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}: ${stderr}`);
  return { output: () => ({ stdout, stderr }), exited, ctrlC };
}

describe("npm start", () => {
  it("serves the console with a proxy and a throwaway etcd, and Ctrl-C stops all of them", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "etcd-connect-start-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, CONSOLE_PORT: "0" };
      delete env.ETCD_ENDPOINTS;
      const run = await startConsole(env);
      let exited = false;
      try {
        const { stdout, stderr } = run.output();
        expect(stderr).toMatch(/starting a throwaway etcd/);
        const url = /^etcd console: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout)?.[1];
        const proxyUrl = /^ {2}proxy: +(http:\/\/127\.0\.0\.1:\d+) -> etcd http:\/\/127\.0\.0\.1:\d+$/m.exec(stdout)?.[1];
        expect(url, stdout).toBeDefined();
        expect(proxyUrl, stdout).toBeDefined();
        expect(stdout).toMatch(/scripts: +\d+\.\d KB min\+gzip at start, editor \d+\.\d KB when first opened/);
        // The page, its script, and a config.json naming the proxy.
        const html = await fetch(url!);
        expect(html.status).toBe(200);
        expect(await html.text()).toContain('<script type="module" src="console.js"></script>');
        expect((await fetch(`${url}console.js`)).status).toBe(200);
        expect(await (await fetch(`${url}config.json`)).json()).toEqual({ endpoints: [proxyUrl] });
        // The proxy allows the console's origin (and no other), and reaches etcd.
        const origin = new URL(url!).origin;
        const preflight = await fetch(`${proxyUrl}/etcdserverpb.KV/Range`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
        expect(preflight.status).toBe(204);
        expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
        const other = await fetch(`${proxyUrl}/etcdserverpb.KV/Range`, { method: "OPTIONS", headers: { origin: "http://evil.example", "access-control-request-method": "POST" } });
        expect(other.status).toBe(403);
        const etcdUrl = /-> etcd (\S+)$/m.exec(stdout)![1]!;
        expect((await fetch(`${etcdUrl}/health`)).status).toBe(200);

        run.ctrlC();
        await run.exited();
        exited = true;
        expect(run.output().stderr).toMatch(/SIGINT: stopping the console, the proxy and etcd/);
        await expect(fetch(url!)).rejects.toThrow();
        await expect(fetch(`${proxyUrl}/etcdserverpb.KV/Range`, { method: "OPTIONS" })).rejects.toThrow();
        // Nothing left behind: no etcd using a data dir under this TMPDIR, and no data dir.
        expect(etcdProcessesWith(tmp)).toEqual([]);
        expect(readdirSync(tmp).filter((name) => name.startsWith("etcd-cluster-"))).toEqual([]);
      } finally {
        if (!exited) run.ctrlC();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 90000);

  it("points the proxy at ETCD_ENDPOINTS instead when it is set", async () => {
    const run = await startConsole({ ...process.env, ETCD_ENDPOINTS: etcd.endpoint, CONSOLE_PORT: "0" });
    try {
      expect(run.output().stdout).toContain(`-> etcd ${etcd.endpoint}`);
      expect(run.output().stderr).not.toMatch(/starting a throwaway etcd/);
    } finally {
      run.ctrlC();
      await run.exited();
    }
    expect(run.output().stderr).toMatch(/SIGINT: stopping the console, the proxy\.\.\./);
  }, 90000);
});

describe("npm run example", () => {
  it("starts a throwaway etcd, prints the member list and a round-tripped key, and stops etcd", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "etcd-connect-example-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
      delete env.ETCD_ENDPOINTS;
      const r = await run("npm", ["run", "example", "--silent"], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^cluster [0-9a-f]+ \(answered by member [0-9a-f]+, raft term \d+\)$/m);
      expect(r.stdout).toMatch(/^ {2}member [0-9a-f]+ \S+$/m);
      expect(r.stdout).toMatch(/peer URLs: +http:\/\/127\.0\.0\.1:\d+/);
      expect(r.stdout).toMatch(/client URLs: +http:\/\/127\.0\.0\.1:\d+/);
      expect(r.stdout).toMatch(/get: hello = world from etcd-connect \(version 1\)/);
      expect(etcdProcessesWith(tmp)).toEqual([]);
      expect(readdirSync(tmp).filter((name) => name.startsWith("etcd-cluster-"))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60000);

  it("uses ETCD_ENDPOINTS instead when it is set", async () => {
    await etcd.etcdctl(["put", "marker", "1"]);
    const r = await run("npm", ["run", "example", "--silent"], { env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`client URLs: ${etcd.endpoint}`);
    expect(r.stderr).not.toMatch(/starting a throwaway etcd/);
  }, 60000);
});

describe("examples", () => {
  it("watch-prefix.ts prints each change under the prefix once, in order", async () => {
    const r = await run(process.execPath, ["--import", "tsx", "examples/watch-prefix.ts"], {
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
    const r = await run(process.execPath, ["--import", "tsx", "examples/service-registration.ts"], {
      env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint, RUN_FOR_MS: "6000" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^registered services\/api\/\d+ with lease [0-9a-f]+ \(ttl 5s\)$/m);
    expect(r.stdout).toContain("still registered: true");
    expect(r.stdout).toContain("deregistered: true; keeper done: true");
    expect(r.stdout).not.toContain("registration lost");
  }, 60000);
});
