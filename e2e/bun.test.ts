// Bun runs the package's web entry (gRPC-Web over fetch) through the proxy: KV, txn, a watch and errors with kinds.
// (The Node entry under Bun is the Node suite itself, run under Bun by `npm test`: see scripts/run.mjs.)
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdProxy, createProxy } from "../src/proxy/index.js";
import { useEtcd } from "../test/harness/etcd.js";
import { expectedWebScenario } from "./web-scenario.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const etcd = useEtcd();
let proxy: EtcdProxy;
let proxyUrl: string;

beforeAll(async () => {
  proxy = createProxy({ endpoints: etcd.endpoints, logLevel: "silent" });
  proxyUrl = (await proxy.listen(0)).url;
});
afterAll(async () => {
  await proxy?.close();
});

describe("Bun", () => {
  it("does KV, a txn, a watch and errors with kinds on the web entry, through the proxy", async () => {
    // Bun's own TypeScript loader and resolver; the dev condition maps the package's entries to src/.
    const { stdout } = await run(join(root, "node_modules/.bin/bun"), ["e2e/bun/main.ts", proxyUrl], {
      cwd: root,
      timeout: 60000,
    });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(r.runtime).toMatch(/^bun 1\./);
    expect(r).toEqual({ runtime: r.runtime, ...expectedWebScenario("bun") });
    expect(await etcd.etcdctl(["get", "bun/", "--prefix", "--keys-only"])).toBe("");
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total")).toBe(0);
  }, 60000);
});
