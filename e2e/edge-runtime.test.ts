// edge-runtime (the runtime behind Vercel's edge functions, as its CLI serves them) runs a function bundled from the
// package's web entry, doing KV, a txn, a watch and errors with kinds through
// the proxy.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdProxy, createProxy } from "../src/proxy/index.js";
import { useEtcd } from "../test/harness/etcd.js";
import { freePort } from "../test/harness/processes.js";
import { expectedWebScenario } from "./web-scenario.js";

const root = join(import.meta.dirname, "..");
const etcd = useEtcd();
let proxy: EtcdProxy;
let proxyUrl: string;
let edge: ChildProcess | undefined;
let edgeUrl: string;
let dir: string;
let log = "";

beforeAll(async () => {
  proxy = createProxy({ endpoints: etcd.endpoints, logLevel: "silent" });
  proxyUrl = (await proxy.listen(0)).url;
  dir = mkdtempSync(join(tmpdir(), "etcd-connect-edge-runtime-"));
  // The CLI evaluates a classic script (no modules), as Vercel deploys a bundled edge function.
  await build({
    absWorkingDir: root,
    entryPoints: ["e2e/edge-runtime/worker.ts"],
    bundle: true,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    // Vercel's edge conditions; in this checkout the package is its sources (which entry those conditions pick
    // from the published exports is checked on the packed package in test/package.test.ts).
    conditions: ["edge-light", "worker", "browser"],
    alias: { "etcd-connect": "./src/web.ts" },
    outfile: join(dir, "worker.js"),
    logLevel: "silent",
  });
  const port = await freePort();
  // The CLI takes the next port when this one is taken: the URL it prints is the one to use.
  edge = spawn(process.execPath, [join(root, "node_modules/edge-runtime/dist/cli/index.js"), "--listen", "--port", String(port), join(dir, "worker.js")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  edge.stdout!.on("data", (d) => (log += d));
  edge.stderr!.on("data", (d) => (log += d));
  // Ready when the function answers (400: no ?proxy= given).
  const deadline = Date.now() + 30000;
  for (;;) {
    const url = /Waiting incoming requests at \W*(http:\/\/[\d.:]+)/.exec(log)?.[1];
    if (url && (await fetch(`${url}/`).then((r) => r.status, () => 0)) === 400) {
      edgeUrl = url;
      break;
    }
    if (Date.now() > deadline || edge.exitCode !== null) throw new Error(`edge-runtime did not start:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120000);

afterAll(async () => {
  if (edge?.pid !== undefined && edge.exitCode === null) {
    const exited = new Promise((resolve) => edge!.once("exit", resolve));
    process.kill(edge.pid, "SIGTERM");
    await exited;
  }
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("edge-runtime", () => {
  it("does KV, a txn, a watch and errors with kinds on the default import, through the proxy", async () => {
    const res = await fetch(`${edgeUrl}/?proxy=${encodeURIComponent(proxyUrl)}`);
    const body = await res.json();
    expect(res.status, JSON.stringify(body) + log).toBe(200);
    expect(body).toEqual({ runtime: "edge-runtime", ...expectedWebScenario("edge") });
    expect(await etcd.etcdctl(["get", "edge/", "--prefix", "--keys-only"])).toBe("");
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total")).toBe(0);
  }, 60000);
});
