// The Node suite runs under Node and, in `npm test`, again under Bun (scripts/run.mjs sets
// ETCD_CONNECT_TEST_RUNTIME=bun for that pass): this fails if a pass does not run where it says it does.
import { expect, it } from "vitest";

it("runs under the runtime the run asked for (ETCD_CONNECT_TEST_RUNTIME, default node)", () => {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const runtime = bun ? "bun" : "node";
  expect(runtime).toBe(process.env.ETCD_CONNECT_TEST_RUNTIME ?? "node");
  if (bun) expect(process.versions.bun).toBe(bun.version);
});
