// The browser build in a real browser engine, through the project's proxy (another origin, so CORS is real),
// against real etcd: one behaviour suite, run by one small test file per engine (browser-<engine>.test.ts) so
// vitest runs the engines in parallel. Each file gets its own etcd, since tests restart it and count its watchers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, startConsole } from "../console/server.js";
import { type EtcdProxy, createProxy } from "../src/proxy/index.js";
import { ETCD_VERSION, useEtcd } from "../test/harness/etcd.js";
import { type EngineBrowser, type EngineName, type EnginePage, launchEngine } from "./engines/index.js";
import { buildPage, selfSignedCert, servePage } from "./harness.js";

/** Registers the browser suite for `engine` (call once, at the top level of a test file). */
export function browserSuite(engine: EngineName): void {
  const etcd = useEtcd();
  let site: Awaited<ReturnType<typeof servePage>>;
  let browser: EngineBrowser;
  let page: EnginePage;
  let proxy: EtcdProxy;
  let proxyUrl: string;
  const watchers = () => etcd.metric("etcd_debugging_mvcc_watcher_total");
  /** Polls a page-side function until it returns true (e.g. a page's script has run). */
  const until = (fn: () => boolean, timeout = 15000) => expect.poll(() => page.evaluate(fn), { timeout }).toBe(true);

  beforeAll(async () => {
    site = await servePage(await buildPage());
    proxy = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
    proxyUrl = (await proxy.listen(0)).url;
    browser = await launchEngine(engine);
    page = browser.page;
    await page.goto(site.origin);
    // The page's module script has run by its load event; check anyway, outside a test (no expect.poll here).
    for (const deadline = Date.now() + 15000; !(await page.evaluate(() => "etcd" in globalThis)); ) {
      if (Date.now() > deadline) throw new Error(`${engine}: the test page did not load its script`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await site?.close();
  });

  describe(`in ${engine}, through the proxy`, () => {
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

    /** Starts a watch on `key` in the page whose values collect in `globalThis.resumed`. */
    const startResumeWatch = (endpoint: string, key: string) =>
      page.evaluate(async ([endpoint, key]) => {
        const g = globalThis as any;
        const { createClient, text } = g.etcd;
        g.rc = createClient({ endpoints: [endpoint] });
        g.resumed = [];
        const w = g.rc.watch(key);
        void (async () => {
          for await (const r of w) for (const e of r.events) g.resumed.push(text(e.kv.value));
        })();
      }, [endpoint, key]);
    const resumed = () => page.evaluate(() => (globalThis as any).resumed as string[]);

    it("resumes a watch from the next revision after the proxy restarts, with the writes made while it was down", async () => {
      const first = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
      const { url, port } = await first.listen(0);
      let second: EtcdProxy | undefined;
      try {
        await startResumeWatch(url, "rp/k");
        await expect.poll(watchers).toBe(1);
        await etcd.etcdctl(["put", "rp/k", "before"]);
        await expect.poll(resumed).toEqual(["before"]);
        await first.close();
        await expect.poll(watchers).toBe(0);
        await etcd.etcdctl(["put", "rp/k", "while down 1"]);
        await etcd.etcdctl(["put", "rp/k", "while down 2"]);
        second = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
        await second.listen(port);
        await expect.poll(resumed, { timeout: 20000 }).toEqual(["before", "while down 1", "while down 2"]);
        await etcd.etcdctl(["put", "rp/k", "after"]);
        await expect.poll(resumed).toEqual(["before", "while down 1", "while down 2", "after"]);
      } finally {
        await page.evaluate(() => (globalThis as any).rc?.close());
        await first.close();
        await second?.close();
      }
      await expect.poll(watchers).toBe(0);
    }, 40000);

    it("resumes a watch from the next revision after etcd restarts", async () => {
      try {
        await startResumeWatch(proxyUrl, "re/k");
        await expect.poll(watchers).toBe(1);
        await etcd.etcdctl(["put", "re/k", "before"]);
        await expect.poll(resumed).toEqual(["before"]);
        await etcd.members[0]!.stop();
        await etcd.members[0]!.start();
        await etcd.etcdctl(["put", "re/k", "after 1"]);
        await etcd.etcdctl(["put", "re/k", "after 2"]);
        await expect.poll(resumed, { timeout: 20000 }).toEqual(["before", "after 1", "after 2"]);
        await expect.poll(watchers).toBe(1);
      } finally {
        await page.evaluate(() => (globalThis as any).rc?.close());
      }
      await expect.poll(watchers).toBe(0);
    }, 40000);

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

    it("ends a keepalive with lease-not-found when the lease is revoked behind its back", async () => {
      const id = await page.evaluate(async (endpoint) => {
        const g = globalThis as any;
        g.lc = await g.etcd.connect({ endpoints: [endpoint] });
        const { id } = await g.lc.lease.grant(3);
        await g.lc.put("b/lost", "leased", { lease: id });
        g.keeper = g.lc.lease.keepAlive(id);
        g.renewals = 0;
        g.keeperEnd = (async () => {
          try {
            for await (const _ of g.keeper) g.renewals++;
            return "ended without an error";
          } catch (e: any) {
            return e.kind;
          }
        })();
        return id.toString(16);
      }, proxyUrl);
      try {
        await expect.poll(() => page.evaluate(() => (globalThis as any).renewals)).toBeGreaterThanOrEqual(1);
        await etcd.etcdctl(["lease", "revoke", id]);
        const r = await page.evaluate(async () => {
          const g = globalThis as any;
          const thrown = await g.keeperEnd;
          const done = await g.keeper.done;
          return { thrown, done: done?.kind, key: String((await g.lc.get("b/lost")).count) };
        });
        expect(r).toEqual({ thrown: "lease-not-found", done: "lease-not-found", key: "0" });
      } finally {
        await page.evaluate(() => (globalThis as any).lc.close());
      }
    }, 20000);

    it("ends a call held back by the browser's 6 connections per origin (HTTP/1.1) at its deadline; it runs once a watch closes", async () => {
      const r = await page.evaluate(async (endpoint) => {
        const { connect, text } = (globalThis as any).etcd;
        const c = await connect({ endpoints: [endpoint] });
        try {
          const open = Array.from({ length: 6 }, (_, i) => {
            const w = c.watch(`lim/${i}`, { createdNotify: true });
            const created = new Promise<void>((resolve) => {
              void (async () => {
                for await (const r of w) if (r.created) resolve();
              })();
            });
            return { w, created };
          });
          await Promise.all(open.map((x) => x.created));
          const started = Date.now();
          const held = await c.put("lim/k", "held", { timeoutMs: 1500 }).then(() => "sent", (e: any) => e.kind);
          const waited = Date.now() - started;
          open[0]!.w.close();
          await c.put("lim/k", "after a watch closed", { timeoutMs: 10000 });
          for (const x of open) x.w.close();
          return { held, waited, value: text((await c.get("lim/k")).kvs[0].value) };
        } finally {
          c.close();
        }
      }, proxyUrl);
      expect(r).toEqual({ held: "deadline-exceeded", waited: expect.any(Number), value: "after a watch closed" });
      expect(r.waited).toBeGreaterThanOrEqual(1400);
      await expect.poll(watchers).toBe(0);
    }, 30000);

    // WebKitGTK (libsoup 3.2) negotiates HTTP/2 but opens a new connection for each call in flight, at most 6 per
    // origin, so a 6th watch would hold back the puts (README, "Connections"). Chromium and Firefox multiplex every
    // call on one connection.
    const h2Watches = engine === "webkit" ? 5 : 20;
    it(`runs ${h2Watches} watches plus a put over HTTP/2 with TLS`, async () => {
      const requests: string[] = [];
      const logger = { debug: (line: string) => requests.push(line), info() {}, warn() {}, error() {} };
      const tls = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], tls: selfSignedCert(), logger, logLevel: "debug" });
      const { url } = await tls.listen(0);
      try {
        const r = await page.evaluate(async ([endpoint, count]) => {
          const { connect, text } = (globalThis as any).etcd;
          const c = await connect({ endpoints: [endpoint] });
          try {
            const got: string[][] = Array.from({ length: count }, () => []);
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
        }, [url, h2Watches] as const);
        expect(r.got).toEqual(Array.from({ length: h2Watches }, (_, i) => [`v${i}`]));
        // Every call went over HTTP/2 (the proxy logs each request's HTTP version).
        const calls = requests.filter((l) => l.startsWith("POST /etcdserverpb."));
        expect(calls.length).toBeGreaterThanOrEqual(h2Watches + 1);
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

  // Last: it navigates the page away from the test page.
  describe(`the console in ${engine}`, () => {
    let server: ConsoleServer | undefined;
    afterAll(async () => {
      await server?.close();
    });

    it("opens a key, edits it (checked with etcdctl) and shows a write made by etcdctl live", async () => {
      await etcd.etcdctl(["put", "smoke/k", "first"]);
      server = await startConsole({ endpoints: etcd.endpoints, logLevel: "silent" });
      await page.goto(`${server.url}#/keys?prefix=smoke/&key=smoke/k`);
      const value = () => page.evaluate(() => document.querySelector('[data-testid="value"]')?.textContent ?? null);
      await expect.poll(value, { timeout: 20000 }).toBe("first");
      // The tree shows the key; the feed is live once the connection is.
      await expect.poll(() => page.evaluate(() => [...document.querySelectorAll('[data-testid="tree"] li[data-key]')].map((e) => (e as HTMLElement).dataset.key))).toEqual(["smoke/k"]);
      await until(() => document.querySelector('[data-testid="connection"]')?.getAttribute("data-state") === "connected");

      // Edit with DOM actions every engine has: click Edit; in the editor (CodeMirror, in a shadow root) change the
      // line's text, which CodeMirror reads back from the DOM as an edit (as it does for IME input); review; save.
      await page.evaluate(() => {
        const edit = [...document.querySelectorAll("button")].find((b) => b.textContent === "Edit");
        if (!edit) throw new Error("no Edit button");
        edit.click();
      });
      await until(() => document.querySelector("dialog.editor .editor-host")?.shadowRoot?.querySelector(".cm-line")?.textContent === "first");
      await page.evaluate(() => {
        const line = document.querySelector("dialog.editor .editor-host")!.shadowRoot!.querySelector(".cm-line")!;
        line.textContent = "edited in the browser";
      });
      await until(() => document.querySelector("dialog.editor .editor-host")!.shadowRoot!.querySelector(".cm-content")?.textContent === "edited in the browser");
      await page.evaluate(() => {
        const dialog = document.querySelector("dialog.editor")!;
        [...dialog.querySelectorAll("button")].find((b) => b.textContent === "Review changes")!.click();
      });
      await until(() => document.querySelector('dialog.editor [data-testid="edit-diff"] ins')?.textContent === "edited in the browser");
      await page.evaluate(() => {
        const dialog = document.querySelector("dialog.editor")!;
        [...dialog.querySelectorAll("button")].find((b) => b.textContent === "Save")!.click();
      });
      await expect.poll(() => etcd.etcdctl(["get", "smoke/k", "--print-value-only"])).toBe("edited in the browser\n");
      await expect.poll(value).toBe("edited in the browser");
      await expect.poll(() => page.evaluate(() => document.querySelector('[data-testid="version"]')?.textContent)).toBe("2");

      // A write from elsewhere shows up live: in the open key and in the event feed.
      await etcd.etcdctl(["put", "smoke/k", "from etcdctl"]);
      await expect.poll(value).toBe("from etcdctl");
      expect(await page.evaluate(() => document.querySelector('[data-testid="version"]')?.textContent)).toBe("3");
      await expect
        .poll(() => page.evaluate(() => [...document.querySelectorAll('[data-testid="feed"] li')].map((li) => li.textContent ?? "")))
        .toEqual([expect.stringMatching(/PUTsmoke\/k rev \d+from etcdctl$/), expect.stringMatching(/PUTsmoke\/k rev \d+edited in the browser$/)]);
    }, 60000);
  });
}
