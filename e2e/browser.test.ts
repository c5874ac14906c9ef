// The browser build in real Chromium, through the project's proxy (another
// origin, so CORS is real), against real etcd.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdProxy, createProxy } from "../src/proxy/index.js";
import { ETCD_VERSION, useEtcd } from "../test/harness/etcd.js";
import { buildPage, launchChromium, selfSignedCert, servePage } from "./harness.js";

const etcd = useEtcd();
let site: Awaited<ReturnType<typeof servePage>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let proxy: EtcdProxy;
let proxyUrl: string;
const watchers = () => etcd.metric("etcd_debugging_mvcc_watcher_total");

beforeAll(async () => {
  site = await servePage(await buildPage());
  proxy = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
  proxyUrl = (await proxy.listen(0)).url;
  browser = await launchChromium();
  context = await browser.newContext({ ignoreHTTPSErrors: true });
  page = await context.newPage();
  await page.goto(site.origin);
  await page.waitForFunction(() => "etcd" in globalThis);
}, 60000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await site?.close();
});

describe("in Chromium, through the proxy", () => {
  it("puts, gets, runs a txn and deletes", async () => {
    const r = await page.evaluate(async (endpoint) => {
      const { connect, text, compare, op } = (globalThis as any).etcd;
      const c = await connect({ endpoints: [endpoint] });
      try {
        const put = await c.put("b/k", "from the browser");
        const got = await c.get("b/k");
        const txn = await c.txn({ compare: [compare.value("b/k", "=", "from the browser")], success: [op.put("b/k", "swapped"), op.get("b/k")] });
        const del = await c.delete("b/", { prefix: true, prevKv: true });
        return {
          revisionType: typeof put.header.revision,
          value: text(got.kvs[0].value),
          succeeded: txn.succeeded,
          afterSwap: text(txn.responses[1].response.kvs[0].value),
          deleted: String(del.deleted),
          prev: text(del.prevKvs[0].value),
        };
      } finally {
        c.close();
      }
    }, proxyUrl);
    expect(r).toEqual({ revisionType: "bigint", value: "from the browser", succeeded: true, afterSwap: "swapped", deleted: "1", prev: "swapped" });
    expect(await etcd.etcdctl(["get", "b/k"])).toBe("");
  });

  it("surfaces etcd errors with their kind", async () => {
    const kinds = await page.evaluate(async (endpoint) => {
      const { connect } = (globalThis as any).etcd;
      const c = await connect({ endpoints: [endpoint] });
      try {
        const { header } = await c.put("b/err", "1");
        const future = await c.get("b/err", { revision: header.revision + 1000n }).catch((e: any) => `${e.name}:${e.kind}:${e.code}`);
        const lease = await c.put("b/err", "1", { lease: 0x4242n }).catch((e: any) => e.kind);
        const empty = await c.get("").catch((e: any) => e.kind);
        return { future, lease, empty };
      } finally {
        c.close();
      }
    }, proxyUrl);
    expect(kinds).toEqual({ future: "EtcdError:future-revision:11", lease: "lease-not-found", empty: "empty-key" });
  });

  it("delivers watch events live while etcdctl writes, and an abort leaves no watcher on etcd", async () => {
    await page.evaluate(async (endpoint) => {
      const g = globalThis as any;
      const { connect, text } = g.etcd;
      g.client = await connect({ endpoints: [endpoint] });
      g.seen = [];
      g.abort = new AbortController();
      const w = g.client.watch("bw/", { prefix: true, prevKv: true, signal: g.abort.signal });
      g.watchDone = (async () => {
        for await (const r of w) for (const e of r.events) g.seen.push(`${e.type} ${text(e.kv.key)}=${text(e.kv.value)}`);
        return "ended quietly";
      })();
    }, proxyUrl);
    await expect.poll(watchers).toBe(1);
    await etcd.etcdctl(["put", "bw/a", "1"]);
    await etcd.etcdctl(["put", "bw/a", "2"]);
    await etcd.etcdctl(["del", "bw/a"]);
    await expect.poll(() => page.evaluate(() => (globalThis as any).seen.length)).toBe(3);
    expect(await page.evaluate(() => (globalThis as any).seen)).toEqual(["put bw/a=1", "put bw/a=2", "delete bw/a="]);
    expect(await page.evaluate(() => {
      const g = globalThis as any;
      g.abort.abort();
      return g.watchDone;
    })).toBe("ended quietly");
    await expect.poll(watchers).toBe(0);
    await page.evaluate(() => (globalThis as any).client.close());
  });

  it("keeps a lease alive for longer than its TTL", async () => {
    const r = await page.evaluate(async (endpoint) => {
      const { connect } = (globalThis as any).etcd;
      const c = await connect({ endpoints: [endpoint] });
      try {
        const { id } = await c.lease.grant(2);
        await c.put("b/leased", "alive", { lease: id });
        const keeper = c.lease.keepAlive(id);
        let renewals = 0;
        const counting = (async () => {
          for await (const _ of keeper) renewals++;
        })();
        await new Promise((resolve) => setTimeout(resolve, 5000));
        const alive = (await c.get("b/leased")).count === 1n;
        keeper.close();
        await counting;
        return { alive, renewals, id: id.toString(16) };
      } finally {
        c.close();
      }
    }, proxyUrl);
    expect(r.alive).toBe(true);
    expect(r.renewals).toBeGreaterThanOrEqual(3);
    expect(await etcd.etcdctl(["lease", "timetolive", r.id])).toMatch(/remaining\(\d+s\)/);
  }, 20000);

  it("runs 20 watches plus a put over HTTP/2 with TLS", async () => {
    const requests: string[] = [];
    const logger = { debug: (line: string) => requests.push(line), info() {}, warn() {}, error() {} };
    const tls = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], tls: selfSignedCert(), logger, logLevel: "debug" });
    const { url } = await tls.listen(0);
    try {
      const r = await page.evaluate(async (endpoint) => {
        const { connect, text } = (globalThis as any).etcd;
        const c = await connect({ endpoints: [endpoint] });
        try {
          const got: string[][] = Array.from({ length: 20 }, () => []);
          const watchers = got.map((events, i) => {
            const w = c.watch(`h2/${i}`, { createdNotify: true });
            const created = new Promise<void>((resolve) => {
              void (async () => {
                for await (const r of w) {
                  if (r.created) resolve();
                  for (const e of r.events) events.push(text(e.kv.value));
                }
              })();
            });
            return { w, created };
          });
          await Promise.all(watchers.map((x) => x.created));
          await Promise.all(got.map((_, i) => c.put(`h2/${i}`, `v${i}`)));
          const deadline = Date.now() + 10000;
          while (got.some((e) => e.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          for (const x of watchers) x.w.close();
          return { got };
        } finally {
          c.close();
        }
      }, url);
      expect(r.got).toEqual(Array.from({ length: 20 }, (_, i) => [`v${i}`]));
      // Every call went over HTTP/2 (the proxy logs each request's HTTP version).
      const calls = requests.filter((l) => l.startsWith("POST /etcdserverpb."));
      expect(calls.length).toBeGreaterThanOrEqual(21);
      expect(calls.filter((l) => !l.includes(" HTTP/2.0 "))).toEqual([]);
      await expect.poll(watchers).toBe(0);
    } finally {
      await tls.close();
    }
  }, 30000);

  it("runs the admin calls: status, member list, alarms, endpoint status, auth status", async () => {
    const r = await page.evaluate(async (endpoint) => {
      const { connect } = (globalThis as any).etcd;
      const c = await connect({ endpoints: [endpoint] });
      try {
        const status = await c.maintenance.status();
        const { members } = await c.cluster.memberList();
        const alarms = await c.maintenance.alarms();
        const [ep] = await c.endpointStatus();
        const auth = await c.auth.status();
        const roles = await c.auth.roleList();
        return {
          version: status.version,
          leaderKnown: status.leader !== 0n,
          members: members.map((m: any) => ({ name: m.name, urls: m.clientURLs.length })),
          alarms,
          healthy: ep.healthy,
          auth: auth.enabled,
          roles,
        };
      } finally {
        c.close();
      }
    }, proxyUrl);
    expect(r).toEqual({ version: expect.stringMatching(new RegExp(`^${ETCD_VERSION.replace(".", "\\.")}\\.`)), leaderKnown: true, members: [{ name: "m0", urls: 1 }], alarms: [], healthy: true, auth: false, roles: [] });
  });

  it("also runs on connect-web's own gRPC-Web transport through the transport option", async () => {
    const r = await page.evaluate(async (endpoint) => {
      const g = globalThis as any;
      const { connect, text } = g.etcd;
      const transport = (url: string) => ({ ...g.connectWeb.createGrpcWebTransport({ baseUrl: url }), halfDuplex: true });
      const c = await connect({ endpoints: [endpoint], transport });
      try {
        const w = c.watch("cw/k", { createdNotify: true });
        const events: string[] = [];
        for await (const r of w) {
          if (r.created) await c.put("cw/k", "via connect-web");
          for (const e of r.events) events.push(text(e.kv.value));
          if (events.length > 0) break;
        }
        const missing = await c.get("cw/k", { revision: 999999n }).catch((e: any) => e.kind);
        return { events, missing };
      } finally {
        c.close();
      }
    }, proxyUrl);
    expect(r).toEqual({ events: ["via connect-web"], missing: "future-revision" });
  });

  it("fails over to a second proxy when the first one stops", async () => {
    const first = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
    const second = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
    const a = (await first.listen(0)).url;
    const b = (await second.listen(0)).url;
    try {
      await page.evaluate(async ([a, b]) => {
        const g = globalThis as any;
        const { createClient, text } = g.etcd;
        g.fo = createClient({ endpoints: [a, b] });
        await g.fo.put("fo/k", "before");
        g.foSeen = [];
        const w = g.fo.watch("fo/w", { onStateChange: (s: any) => s.state === "watching" && g.foSeen.push(`watching ${s.endpoint}`) });
        void (async () => {
          for await (const r of w) for (const e of r.events) g.foSeen.push(text(e.kv.value));
        })();
      }, [a, b]);
      await expect.poll(() => page.evaluate(() => (globalThis as any).foSeen.length)).toBe(1);
      await first.close();
      const r = await page.evaluate(async () => {
        const g = globalThis as any;
        const failures: string[] = [];
        for (let i = 0; i < 20; i++) {
          try {
            await g.fo.put("fo/w", "after");
            break;
          } catch (e: any) {
            failures.push(e.kind);
          }
        }
        const deadline = Date.now() + 15000;
        while (!g.foSeen.includes("after") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const value = g.etcd.text((await g.fo.get("fo/w")).kvs[0].value);
        g.fo.close();
        return { failures, value, seen: g.foSeen };
      });
      expect(r.failures.every((k: string) => k === "unavailable")).toBe(true);
      expect(r.value).toBe("after");
      expect(r.seen).toContain(`watching ${b}`);
      expect(r.seen).toContain("after");
    } finally {
      await first.close().catch(() => {});
      await second.close();
    }
  }, 40000);
});
