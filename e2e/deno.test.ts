// Deno runs the built package: HTTP/2 gRPC straight to etcd, and gRPC-Web through the proxy.
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdProxy, createProxy } from "../src/proxy/index.js";
import { useEtcd } from "../test/harness/etcd.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
// A private build, so this file never races the packing test over dist/.
const dist = join(root, ".cache", "e2e-deno-dist");
const etcd = useEtcd();
let proxy: EtcdProxy;
let proxyUrl: string;

beforeAll(async () => {
  rmSync(dist, { recursive: true, force: true });
  await run(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", dist], { cwd: root });
  proxy = createProxy({ endpoints: etcd.endpoints, logLevel: "silent" });
  proxyUrl = (await proxy.listen(0)).url;
}, 120000);
afterAll(async () => {
  await proxy?.close();
  rmSync(dist, { recursive: true, force: true });
});

async function deno(mode: "grpc" | "grpc-web", endpoint: string) {
  const { stdout } = await run(
    join(root, "node_modules/.bin/deno"),
    ["run", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", "e2e/deno/main.ts", dist, mode, endpoint],
    { cwd: root, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }, timeout: 60000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("Deno", () => {
  it("does KV and a watch over HTTP/2 gRPC straight to etcd", async () => {
    const r = await deno("grpc", etcd.endpoint);
    expect(r.runtime).toMatch(/^deno 2\./);
    expect(r.events).toEqual(["put deno/grpc=hello from deno over grpc"]);
    expect(r.value).toBe("hello from deno over grpc");
    expect(r.deleted).toBe("1");
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total")).toBe(0);
  }, 60000);

  it("does KV and a watch over gRPC-Web through the proxy", async () => {
    const r = await deno("grpc-web", proxyUrl);
    expect(r.events).toEqual(["put deno/grpc-web=hello from deno over grpc-web"]);
    expect(r.value).toBe("hello from deno over grpc-web");
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total")).toBe(0);
  }, 60000);
});
