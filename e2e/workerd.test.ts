// workerd (Cloudflare's runtime) runs a worker bundled from the package's worker entry,
// doing KV and a short watch through the proxy.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdProxy, createProxy } from "../src/proxy/index.js";
import { useEtcd } from "../test/harness/etcd.js";
import { freePort } from "../test/harness/processes.js";

const root = join(import.meta.dirname, "..");
const etcd = useEtcd();
let proxy: EtcdProxy;
let proxyUrl: string;
let workerd: ChildProcess | undefined;
let workerUrl: string;
let dir: string;
let log = "";

beforeAll(async () => {
  proxy = createProxy({ endpoints: etcd.endpoints, logLevel: "silent" });
  proxyUrl = (await proxy.listen(0)).url;
  dir = mkdtempSync(join(tmpdir(), "etcd-connect-workerd-"));
  await build({
    absWorkingDir: root,
    entryPoints: ["e2e/workerd/worker.ts"],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"], alias: { "etcd-connect": "./src/web.ts" },
    outfile: join(dir, "worker.js"),
    logLevel: "silent",
  });
  const port = await freePort();
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-09-01",
);
`,
  );
  workerd = spawn(join(root, "node_modules/.bin/workerd"), ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  workerd.stdout!.on("data", (d) => (log += d));
  workerd.stderr!.on("data", (d) => (log += d));
  workerUrl = `http://127.0.0.1:${port}`;
  // Ready when the worker answers (400: no ?proxy= given).
  const deadline = Date.now() + 30000;
  while ((await fetch(`${workerUrl}/`).then((r) => r.status, () => 0)) !== 400) {
    if (Date.now() > deadline || workerd.exitCode !== null) throw new Error(`workerd did not start:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120000);

afterAll(async () => {
  if (workerd?.pid !== undefined && workerd.exitCode === null) {
    const exited = new Promise((resolve) => workerd!.once("exit", resolve));
    process.kill(workerd.pid, "SIGTERM");
    await exited;
  }
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("workerd", () => {
  it("does KV and a short watch through the proxy", async () => {
    const res = await fetch(`${workerUrl}/?proxy=${encodeURIComponent(proxyUrl)}`);
    const body = await res.json();
    expect(res.status, JSON.stringify(body) + log).toBe(200);
    expect(body.events).toEqual(["put workerd/k=hello from workerd"]);
    expect(body.value).toBe("hello from workerd");
    expect(Number(body.revision)).toBeGreaterThan(1);
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total")).toBe(0);
  }, 60000);
});
