// Run by e2e/bun.test.ts under Bun (its own TypeScript loader and resolver): the explicit web entry's scenario
// through the proxy.   bun --conditions=etcd-connect-dev e2e/bun/main.ts <proxy url>
import * as etcd from "etcd-connect/web";
import { webScenario } from "../web-scenario.js";

const bun = (globalThis as { Bun?: { version: string } }).Bun;
const result = await webScenario(etcd, process.argv[2]!, "bun");
console.log(JSON.stringify({ runtime: bun ? `bun ${bun.version}` : "not bun", ...result }));
