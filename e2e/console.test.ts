// The console in real Chromium, through its proxy, against a real 3-member etcd: every view, checked against
// etcdctl. Screenshots of each view go to test-results/console/.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient as createConnectClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { startConsole, type ConsoleServer } from "../console/server.js";
import { AlarmRequest_AlarmAction, AlarmType, Maintenance } from "../gen/etcdserverpb/rpc_pb.js";
import { createProxy } from "../src/proxy/index.js";
import { connect, op, type Client } from "../src/index.js";
import { ETCD_VERSION, etcdutl, useEtcd } from "../test/harness/etcd.js";
import { launchChromium } from "./harness.js";

const etcd = useEtcd({ size: 3 });
const shots = join(import.meta.dirname, "..", "test-results", "console");
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let client: Client;
const pageErrors: string[] = [];
/** Range calls the page made, by URL (counted from the browser's requests). */
let rangeCalls = 0;

/**
 * The dataset every test runs beside: 10,000 keys of JSON, YAML, text and binary values under shop/ (users, services
 * with four files each, sessions, flags), as an operator's cluster would hold.
 */
async function seedDataset(c: Client): Promise<void> {
  const bytes = (seed: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 17) & 0xff);
  const ops = [];
  for (let i = 0; i < 4000; i++) {
    ops.push(op.put(`shop/users/u${String(i).padStart(5, "0")}`, JSON.stringify({ id: i, name: `user ${i}`, plan: i % 5 === 0 ? "pro" : "free", since: `2026-${String((i % 12) + 1).padStart(2, "0")}-01` })));
  }
  for (let i = 0; i < 500; i++) {
    const svc = `shop/services/svc-${String(i).padStart(3, "0")}`;
    ops.push(op.put(`${svc}/config.json`, JSON.stringify({ replicas: (i % 4) + 1, port: 8000 + i, tls: i % 2 === 0 })));
    ops.push(op.put(`${svc}/deploy.yaml`, `image: registry.local/svc-${i}:1.${i % 10}\nresources:\n  cpu: ${(i % 8) * 250}m\n  memory: ${(i % 4) + 1}Gi\nenv:\n  - name: LOG_LEVEL\n    value: info\n`));
    ops.push(op.put(`${svc}/README`, `Service ${i}: owned by team ${i % 9}.\nPage the on-call before restarting it.`));
    ops.push(op.put(`${svc}/checksum`, bytes(i, 16)));
  }
  for (let i = 0; i < 3000; i++) ops.push(op.put(`shop/sessions/s${String(i).padStart(4, "0")}`, bytes(i + 7, 24)));
  for (let i = 0; i < 1000; i++) ops.push(op.put(`shop/flags/flag-${String(i).padStart(3, "0")}`, i % 3 === 0 ? "on" : "off"));
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < ops.length; i += 128) {
    pending.push(c.txn({ success: ops.slice(i, i + 128) }));
    if (pending.length >= 8) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  server = await startConsole({ endpoints: etcd.endpoints, logLevel: "silent" });
  const size = server.size;
  console.log(`console: ${(size.gzip / 1024).toFixed(1)} KB min+gzip at start (${(size.minified / 1024).toFixed(1)} KB minified), editor ${(size.lazyGzip / 1024).toFixed(1)} KB min+gzip when first opened`);
  client = await connect({ endpoints: etcd.endpoints });
  await seedDataset(client);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("request", (req) => {
    if (req.url().endsWith("/etcdserverpb.KV/Range")) rangeCalls++;
  });
}, 90000);

afterAll(async () => {
  client?.close();
  await browser?.close();
  await server?.close();
});

/** Opens a view of the console (a URL fragment such as `#/keys?prefix=a/`) and waits for its first render. */
async function open(hash: string): Promise<void> {
  // A fresh document each time (a goto that changes only the hash would keep the last test's page and dialogs).
  await page.goto("about:blank");
  await page.goto(`${server.url}${hash}`);
  await page.locator("main#view > *").first().waitFor();
}

/** Goes to another view in the same document (as the console's own links do), keeping the tab's sign-in. */
async function go(hash: string): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.locator("main#view > *").first().waitFor();
}

/** Screenshots of the page as it is, at 1280 px wide (`name.png`) and at 390 px (`name-390.png`). */
async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(size);
}

/** The tree's item for a key or directory. */
function treeItem(key: string) {
  return page.getByTestId("tree").locator(`li[data-key="${key}"]`);
}

/** Names shown at one tree level (the direct children of `ul`). */
function treeItems(level = page.getByTestId("tree")) {
  return level.locator(":scope > li[data-key]");
}

const get = async (key: string) => (await etcd.etcdctl(["get", key, "--print-value-only"])).replace(/\n$/, "");

/** The value editor's dialog (CodeMirror, loaded with the first edit). */
const editor = () => page.locator("dialog.editor");

/** The editor's text, line by line as CodeMirror shows it. */
const editorText = () => editor().getByTestId("editor-content").evaluate((el) => [...el.querySelectorAll(".cm-line")].map((l) => l.textContent).join("\n"));

/** Opens the open key's editor, replaces the text, reviews the change and presses Save. */
async function editAndSave(text: string): Promise<void> {
  await page.getByRole("button", { name: "Edit" }).click();
  await editor().getByTestId("editor-content").fill(text);
  await editor().getByRole("button", { name: "Review changes" }).click();
  await editor().getByRole("button", { name: "Save" }).click();
}

describe("keys", () => {
  it("browses the 10,000-key dataset: the root, a directory of 4,000 users, a service's YAML, a search across everything", async () => {
    expect((await client.get("shop/", { prefix: true, countOnly: true })).count).toBe(10_000n);
    await open("#/keys");
    await expect.poll(() => treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toContain("shop/");
    await treeItem("shop/").locator(":scope > .toggle").click();
    const shop = treeItem("shop/").locator(":scope > ul");
    await expect.poll(() => treeItems(shop).evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["shop/flags/", "shop/services/", "shop/sessions/", "shop/users/"]);
    await shot("keys-root");
    await open("#/keys?prefix=shop/users/");
    // The first page of 100, then more on demand.
    await expect.poll(() => treeItems().count()).toBe(100);
    expect(await treeItems().first().getAttribute("data-key")).toBe("shop/users/u00000");
    await open("#/keys?prefix=shop/services/svc-042/&key=shop/services/svc-042/deploy.yaml");
    await expect.poll(() => page.getByTestId("value").textContent()).toMatch(/^image: registry\.local\/svc-42:1\.2\nresources:/);
    await open("#/keys?prefix=shop/services/svc-042/&key=shop/services/svc-042/checksum");
    await expect.poll(() => page.getByTestId("value").getAttribute("data-kind")).toBe("binary");
    await page.locator('input[type="search"]').fill("svc-042/");
    await page.getByRole("checkbox", { name: "everywhere" }).check();
    await page.getByRole("button", { name: "Search" }).click();
    const results = page.getByTestId("search-results");
    await expect.poll(() => results.locator("li").allTextContents(), { timeout: 20000 }).toEqual(
      ["README", "checksum", "config.json", "deploy.yaml"].map((f) => `shop/services/svc-042/${f}`),
    );
    const scanned = Number((await results.textContent())!.match(/of ([\d,]+) all keys/)![1]!.replace(/,/g, ""));
    expect(scanned).toBeGreaterThanOrEqual(10_000);
    await shot("search-everywhere");
  });

  it("shows seeded keys as a tree, lazily, with text, JSON and binary values", async () => {
    await etcd.etcdctl(["put", "t1/app/config/db", '{"host":"db.internal","port":5432,"tls":true}']);
    await etcd.etcdctl(["put", "t1/app/config/feature", "dark-mode on"]);
    for (const n of [1, 2, 3]) await etcd.etcdctl(["put", `t1/app/users/${n}`, `user ${n}`]);
    await client.put("t1/bin/blob", new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]));
    await etcd.etcdctl(["put", "t1/top", "plain"]);

    await open("#/keys?prefix=t1/");
    await expect.poll(() => treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["t1/app/", "t1/bin/", "t1/top"]);
    // Directories load on expand.
    await treeItem("t1/app/").locator(":scope > .toggle").click();
    const app = treeItem("t1/app/").locator(":scope > ul");
    await expect.poll(() => treeItems(app).evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["t1/app/config/", "t1/app/users/"]);
    await treeItem("t1/app/config/").locator(":scope > .toggle").click();
    await treeItem("t1/app/config/db").locator(":scope > a").click();

    await expect.poll(() => page.getByTestId("key-title").textContent()).toBe("t1/app/config/db");
    const value = page.getByTestId("value");
    await expect.poll(() => value.getAttribute("data-kind")).toBe("json");
    expect(await value.textContent()).toBe(JSON.stringify({ host: "db.internal", port: 5432, tls: true }, null, 2));
    expect(await page.getByTestId("version").textContent()).toBe("1");
    const rev = (await etcd.etcdctl(["get", "t1/app/config/db", "-w", "json"])).match(/"mod_revision":(\d+)/)![1];
    expect(await page.getByTestId("mod-revision").textContent()).toBe(rev);
    await shot("keys");
    // The text tab shows the raw JSON.
    await page.locator('.tabs button[data-kind="text"]').click();
    expect(await value.textContent()).toBe('{"host":"db.internal","port":5432,"tls":true}');

    await treeItem("t1/bin/").locator(":scope > .toggle").click();
    await treeItem("t1/bin/blob").locator(":scope > a").click();
    await expect.poll(() => value.getAttribute("data-kind")).toBe("binary");
    expect(await value.textContent()).toContain("00000000  de ad be ef 00 01");
    expect(await value.textContent()).toContain("|......|");
  });

  it("creates, edits and deletes a key, each checked with etcdctl; errors show in plain words with their kind", async () => {
    await open("#/keys?prefix=t2/");
    await page.getByRole("button", { name: "New key" }).click();
    const form = page.locator("dialog.form");
    await form.locator('input[name="key"]').fill("t2/created");
    await form.locator('textarea[name="value"]').fill("first");
    await form.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => get("t2/created")).toBe("first");
    await expect.poll(() => page.getByTestId("key-title").textContent()).toBe("t2/created");
    await expect.poll(() => treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["t2/created"]);

    // Creating it again is refused, and the form says why.
    await page.getByRole("button", { name: "New key" }).click();
    await form.locator('input[name="key"]').fill("t2/created");
    await form.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => form.locator(".form-error").textContent()).toBe("A key with that name already exists. key-exists");
    await form.getByRole("button", { name: "Cancel" }).click();
    expect(await get("t2/created")).toBe("first");

    await editAndSave("second");
    await expect.poll(() => get("t2/created")).toBe("second");
    await expect.poll(() => page.getByTestId("version").textContent()).toBe("2");

    // An edit of a stale copy is refused instead of overwriting someone else's change.
    await page.getByRole("button", { name: "Edit" }).click();
    await etcd.etcdctl(["put", "t2/created", "by someone else"]);
    await editor().getByTestId("editor-content").fill("stale");
    await editor().getByRole("button", { name: "Review changes" }).click();
    await editor().getByRole("button", { name: "Save" }).click();
    await expect.poll(() => editor().getByTestId("editor-error").textContent()).toMatch(/changed since you opened it.*key-changed/);
    // The edit is still there to copy or redo.
    await editor().getByRole("button", { name: "Back to editing" }).click();
    expect(await editor().getByTestId("editor-content").textContent()).toBe("stale");
    await editor().getByRole("button", { name: "Cancel" }).click();
    expect(await get("t2/created")).toBe("by someone else");

    // Delete asks first: Cancel keeps the key, Delete removes it.
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Cancel" }).click();
    expect(await get("t2/created")).toBe("by someone else");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await expect.poll(() => page.locator("dialog.confirm .body").textContent()).toContain("t2/created");
    await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => etcd.etcdctl(["get", "t2/created"])).toBe("");
    await expect.poll(() => treeItems().count()).toBe(0);
  });

  it("shows keys written by etcdctl live, in the tree, the open key and the event feed", async () => {
    await open("#/keys?prefix=t3/");
    await expect.poll(() => page.getByTestId("connection").getAttribute("data-state")).toBe("connected");
    await etcd.etcdctl(["put", "t3/live", "hello"]);
    await etcd.etcdctl(["put", "t3/sub/deep", "x"]);
    await expect.poll(() => treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["t3/live", "t3/sub/"]);
    const feed = page.getByTestId("feed");
    await expect.poll(() => feed.locator("li").count()).toBe(2);
    expect(await feed.locator("li").first().textContent()).toMatch(/PUTt3\/sub\/deep rev \d+x/);

    await treeItem("t3/live").locator(":scope > a").click();
    await expect.poll(() => page.getByTestId("value").textContent()).toBe("hello");
    await etcd.etcdctl(["put", "t3/live", '{"status":"ok","replicas":3,"zones":["a","b"]}']);
    await expect.poll(() => page.getByTestId("value").textContent()).toBe(JSON.stringify({ status: "ok", replicas: 3, zones: ["a", "b"] }, null, 2));
    expect(await page.getByTestId("version").textContent()).toBe("2");
    await shot("keys-live");

    await etcd.etcdctl(["del", "t3/sub/deep"]);
    await etcd.etcdctl(["del", "t3/live"]);
    // The emptied directory goes too.
    await expect.poll(() => treeItems().count()).toBe(0);
    await expect.poll(() => page.locator(".detail").textContent()).toMatch(/Deleted at revision \d+/);
    expect(await feed.locator("li.event.delete").count()).toBe(2);
  });

  it("diffs an old version against the current one or any two versions (JSON by field) and restores one with compare-and-swap, keeping the lease", async () => {
    const lease = await client.lease.grant(600);
    for (const port of [1, 2, 3]) await client.put("t10/cfg", JSON.stringify({ host: "db", port, tls: true }), { lease: lease.id });
    await open("#/keys?prefix=t10/&key=t10/cfg");
    await page.getByRole("button", { name: "History" }).click();
    const history = page.getByTestId("history");
    await expect.poll(() => history.locator("li").count()).toBe(3);
    // v1 against the current value (v3).
    await history.locator("li").nth(2).getByRole("button", { name: "diff" }).click();
    const diff = page.getByTestId("diff");
    await expect.poll(() => diff.locator("del").allTextContents()).toEqual(['  "port": 1,\n']);
    expect(await diff.locator("ins").allTextContents()).toEqual(['  "port": 3,\n']);
    await shot("key-diff");
    // Any two: tick v2 and v1 (in either order), diff older against newer.
    expect(await page.getByTestId("diff-ticked").isDisabled()).toBe(true);
    await history.locator("li").nth(1).getByRole("checkbox").check();
    await history.locator("li").nth(2).getByRole("checkbox").check();
    await page.getByTestId("diff-ticked").click();
    await expect.poll(() => diff.locator("del").allTextContents()).toEqual(['  "port": 1,\n']);
    expect(await diff.locator("ins").allTextContents()).toEqual(['  "port": 2,\n']);
    expect(await page.locator(".diff-view .old-version").textContent()).toMatch(/^Revision \d+ \(v1\) → revision \d+ \(v2\)/);
    // A third tick replaces the first: v1 and v3 (current).
    await history.locator("li").nth(0).getByRole("checkbox").check();
    expect(await history.locator("li").nth(1).getByRole("checkbox").isChecked()).toBe(false);
    await page.getByTestId("diff-ticked").click();
    await expect.poll(() => diff.locator("ins").allTextContents()).toEqual(['  "port": 3,\n']);
    expect(await page.locator(".diff-view .old-version").textContent()).toMatch(/^Revision \d+ \(v1\) → current \(v3\)/);

    await history.locator("li").nth(2).getByRole("button", { name: "restore" }).click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Restore" }).click();
    await expect.poll(() => get("t10/cfg")).toBe(JSON.stringify({ host: "db", port: 1, tls: true }));
    const kv = (await client.get("t10/cfg")).kvs[0]!;
    expect([kv.version, kv.lease]).toEqual([4n, lease.id]);
    await client.lease.revoke(lease.id);
  });

  it("edits JSON, YAML and hex in CodeMirror (loaded on first edit), refuses invalid input unless chosen, formats, and shows the change first", async () => {
    await client.put("t12/conf.json", '{"name":"api","replicas":2,"zones":["a","b"]}');
    await client.put("t12/conf.yaml", "server:\n  port: 8080\n  hosts:\n    - a\n    - b\n");
    await client.put("t12/blob", new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]));
    const chunks: string[] = [];
    const onRequest = (req: { url(): string }) => {
      if (req.url().includes("/chunks/value-editor-")) chunks.push(req.url());
    };
    // CodeMirror styles itself (constructed style sheets in a shadow root); the console's CSP, which forbids inline
    // styles, must not refuse any of it.
    const refused: string[] = [];
    const onConsole = (m: { text(): string }) => {
      if (m.text().includes("Content Security Policy")) refused.push(m.text());
    };
    page.on("request", onRequest);
    page.on("console", onConsole);
    try {
      await open("#/keys?prefix=t12/&key=t12/conf.json");
      await expect.poll(() => page.getByTestId("value").getAttribute("data-kind")).toBe("json");
      expect(chunks).toEqual([]);
      await page.getByRole("button", { name: "Edit" }).click();
      const content = editor().getByTestId("editor-content");
      await content.waitFor();
      // (Playwright reports requests asynchronously: poll.)
      await expect.poll(() => chunks.length).toBe(1);

      // Stored one-line JSON opens indented, highlighted (keys, strings and numbers in the theme's colours).
      expect(await editor().getByTestId("syntax").inputValue()).toBe("json");
      await expect.poll(() => editor().getByTestId("syntax-status").textContent()).toBe("valid JSON");
      expect(await editorText()).toBe(JSON.stringify({ name: "api", replicas: 2, zones: ["a", "b"] }, null, 2));
      const colours = await content.evaluate((el) => {
        const colourOf = (text: string) => [...el.querySelectorAll("span")].find((s) => s.textContent === text);
        return {
          key: colourOf('"name"') && getComputedStyle(colourOf('"name"')!).color,
          number: colourOf("2") && getComputedStyle(colourOf("2")!).color,
          ink: getComputedStyle(el).color,
        };
      });
      expect(colours.key).toBeTruthy();
      expect(colours.number).toBeTruthy();
      expect(new Set([colours.key, colours.number, colours.ink]).size).toBe(3);
      // (Checked only up to here: Chromium's contenteditable editing, which Playwright's fill() drives, adds style
      // attributes of its own to indented multi-line text; CodeMirror renders from its state and drops them.)
      expect(refused).toEqual([]);

      // Invalid JSON: marked in the editor, named in the status line, and not saved without an explicit choice.
      await content.fill('{"name": "api",, "replicas": 3}');
      await expect.poll(() => editor().getByTestId("syntax-status").textContent()).toMatch(/^Not valid JSON: .* \(line 1, column 16\)$/);
      await expect.poll(() => editor().locator(".cm-lint-marker-error").count()).toBe(1);
      await shot("key-editor-invalid");
      await editor().getByRole("button", { name: "Review changes" }).click();
      const save = editor().getByRole("button", { name: "Save" });
      expect(await save.isDisabled()).toBe(true);
      await editor().getByRole("button", { name: "Back to editing" }).click();

      // Fixed, then formatted; the review diffs by field; the value is saved on one line, as it was stored.
      await content.fill('{"name":"api","replicas":3,   "zones":["a","b"]}');
      await editor().getByRole("button", { name: "Format" }).click();
      expect(await editorText()).toBe(JSON.stringify({ name: "api", replicas: 3, zones: ["a", "b"] }, null, 2));
      await editor().getByRole("button", { name: "Review changes" }).click();
      const diff = editor().getByTestId("edit-diff");
      expect(await diff.locator("del").allTextContents()).toEqual(['  "replicas": 2,\n']);
      expect(await diff.locator("ins").allTextContents()).toEqual(['  "replicas": 3,\n']);
      await shot("key-editor-review");
      await save.click();
      await expect.poll(() => get("t12/conf.json")).toBe('{"name":"api","replicas":3,"zones":["a","b"]}');
      // Loaded once per page: a second editor on this page does not load it again.
      await page.getByRole("button", { name: "Edit" }).click();
      await expect.poll(() => editorText()).toBe(JSON.stringify({ name: "api", replicas: 3, zones: ["a", "b"] }, null, 2));
      await editor().getByRole("button", { name: "Cancel" }).click();
      expect(chunks).toHaveLength(1);

      // YAML: detected, validated, formatted; invalid YAML is saved only after ticking "save it anyway".
      await open("#/keys?prefix=t12/&key=t12/conf.yaml");
      await page.getByRole("button", { name: "Edit" }).click();
      expect(await editor().getByTestId("syntax").inputValue()).toBe("yaml");
      await expect.poll(() => editor().getByTestId("syntax-status").textContent()).toBe("valid YAML");
      await content.fill("server:\n    port:    9090\n    hosts: [a, b]\n");
      await editor().getByRole("button", { name: "Format" }).click();
      expect(await editorText()).toBe("server:\n  port: 9090\n  hosts: [ a, b ]\n");
      await content.fill("server:\n  port: 9090\n hosts: [a\n");
      await expect.poll(() => editor().getByTestId("syntax-status").textContent()).toMatch(/^Not valid YAML: /);
      await editor().getByRole("button", { name: "Review changes" }).click();
      expect(await save.isDisabled()).toBe(true);
      await editor().getByRole("checkbox", { name: /Save it anyway/ }).check();
      await save.click();
      await expect.poll(() => get("t12/conf.yaml")).toBe("server:\n  port: 9090\n hosts: [a\n");

      // Binary values edit as hex; text that is not hex is refused.
      await open("#/keys?prefix=t12/&key=t12/blob");
      await page.getByRole("button", { name: "Edit" }).click();
      expect(await editor().getByTestId("syntax").inputValue()).toBe("hex");
      expect(await editorText()).toBe("de ad be ef 00 01");
      await content.fill("de ad be ef 00 0g");
      await expect.poll(() => editor().getByTestId("syntax-status").textContent()).toMatch(/^Not hex: "g" is not a hex digit/);
      await editor().getByRole("button", { name: "Review changes" }).click();
      await expect.poll(() => editor().getByTestId("editor-error").textContent()).toMatch(/Not hex/);
      await content.fill("de ad be ef 00 02 ff");
      await editor().getByRole("button", { name: "Review changes" }).click();
      await editor().getByRole("button", { name: "Save" }).click();
      await expect.poll(async () => Array.from((await client.get("t12/blob")).kvs[0]!.value)).toEqual([0xde, 0xad, 0xbe, 0xef, 0x00, 0x02, 0xff]);
      // Three pages (open() loads a fresh document), one load of the editor each.
      expect(chunks).toHaveLength(3);
    } finally {
      page.off("request", onRequest);
      page.off("console", onConsole);
    }
  });

  it("reads a key's history at older revisions until the compacted revision", async () => {
    for (const v of ["v1", "v2", "v3"]) await etcd.etcdctl(["put", "t4/h", v]);
    await open("#/keys?prefix=t4/&key=t4/h");
    await page.getByRole("button", { name: "History" }).click();
    const history = page.getByTestId("history");
    await expect.poll(() => history.locator("li").count()).toBe(3);
    expect(await history.locator("li").allTextContents()).toEqual([
      expect.stringMatching(/^rev \d+ v3 \(current\) v3$/),
      expect.stringMatching(/^rev \d+ v2 v2 diff restore$/),
      expect.stringMatching(/^rev \d+ v1 v1 diff restore$/),
    ]);
    await expect.poll(() => page.locator(".history").textContent()).toMatch(/Created at revision \d+/);
    // An old version opens in the viewer.
    await history.locator("li").nth(2).getByRole("button", { name: /^rev / }).click();
    expect(await page.getByTestId("value").textContent()).toBe("v1");

    // After compaction the older versions are gone, and the console says so.
    await etcd.etcdctl(["put", "t4/h", "v4"]);
    const { header } = await client.get("t4/h");
    await client.compact(header.revision);
    await open("#/keys?prefix=t4/&key=t4/h");
    await page.getByRole("button", { name: "History" }).click();
    await expect.poll(() => page.locator(".history").textContent()).toMatch(/Older versions are compacted/);
    expect(await history.locator("li").count()).toBe(1);
  });

  it("lists 100,000 keys by levels and pages with a handful of range calls", async () => {
    // 100 directories of 900 keys and 10,000 keys directly under the prefix.
    const all: string[] = [];
    for (let d = 0; d < 100; d++) for (let i = 0; i < 900; i++) all.push(`big/d${String(d).padStart(3, "0")}/k${String(i).padStart(4, "0")}`);
    for (let i = 0; i < 10_000; i++) all.push(`big/flat${String(i).padStart(5, "0")}`);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += 128) {
      ops.push(client.txn({ success: all.slice(i, i + 128).map((k) => op.put(k, "v")) }));
      if (ops.length >= 16) await Promise.all(ops.splice(0));
    }
    await Promise.all(ops);
    expect(String((await client.get("big/", { prefix: true, countOnly: true })).count)).toBe("100000");

    const before = rangeCalls;
    await open("#/keys?prefix=big/");
    await expect.poll(() => treeItems().count(), { timeout: 15000 }).toBe(100);
    const items = await treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key));
    expect(items[0]).toBe("big/d000/");
    expect(items[99]).toBe("big/d099/");
    // One call per directory (each skips its 900 keys), and one that finds the page full.
    expect(rangeCalls - before).toBe(101);
    // The next pages list the flat keys, 100 per page, one call each.
    const more = page.getByRole("button", { name: "more…" });
    const beforeMore = rangeCalls;
    await more.click();
    await expect.poll(() => treeItems().count()).toBe(200);
    expect(rangeCalls - beforeMore).toBe(1);
    expect(await treeItems().nth(100).getAttribute("data-key")).toBe("big/flat00000");
    expect(await treeItems().nth(199).getAttribute("data-key")).toBe("big/flat00099");
    await client.delete("big/", { prefix: true });
  }, 120000);
});

describe("search, bulk delete, keyboard, small screens, dark mode", () => {
  it("finds keys by substring under the prefix or everywhere, values too, with progress and a stop", async () => {
    const ops = [];
    for (let i = 0; i < 2500; i++) ops.push(op.put(`s1/pods/pod-${i}`, `{"node":"n${i % 7}"}`));
    for (let i = 0; i < ops.length; i += 100) await client.txn({ success: ops.slice(i, i + 100) });
    await client.put("s1/other/x-pod-1234-extra", "x");
    await client.put("s2/pod-1234", "outside");
    await client.put("s1/conf/needle", "the value holds HAYSTACK-7");
    await open("#/keys?prefix=s1/pods/");
    // "/" focuses the search box.
    await page.locator("body").press("/");
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.getAttribute("aria-label"))).toBe("search keys");
    const results = page.getByTestId("search-results");
    await page.keyboard.type("POD-1234");
    await page.keyboard.press("Enter");
    await expect.poll(() => results.locator("li").allTextContents()).toEqual(["s1/pods/pod-1234"]);
    expect(await results.textContent()).toMatch(/1 of 2,500 keys under s1\/pods\/ match "POD-1234"/);
    await shot("search");
    // Everywhere: keys outside the open prefix too, each link opening its own directory.
    await page.getByRole("checkbox", { name: "everywhere" }).check();
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => results.locator("li").allTextContents()).toEqual(["s1/other/x-pod-1234-extra", "s1/pods/pod-1234", "s2/pod-1234"]);
    await results.getByRole("link", { name: "s2/pod-1234" }).click();
    await expect.poll(() => page.getByTestId("key-title").textContent()).toBe("s2/pod-1234");
    // Values, and a search with no match says what search does.
    await page.locator('input[type="search"]').fill("haystack-7");
    await page.getByRole("checkbox", { name: "everywhere" }).check();
    await page.getByRole("checkbox", { name: "values" }).check();
    await page.getByRole("button", { name: "Search" }).click();
    // (Values are read 100 keys per call: across the 10,000-key dataset this takes a few seconds.)
    await expect.poll(() => results.locator("li").allTextContents(), { timeout: 30000 }).toEqual(["s1/conf/needlein value"]);
    await page.locator('input[type="search"]').fill("no-such-thing");
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => results.textContent(), { timeout: 30000 }).toMatch(/No match for "no-such-thing" in [\d,]+ all keys\. Search finds the text anywhere in a key or value/);
  });

  it("deletes a prefix after showing its count and the typed prefix, in one DeleteRange", async () => {
    for (let i = 0; i < 30; i++) await client.put(`d1/doomed/k${i}`, "v");
    await client.put("d1/kept", "v");
    await open("#/keys?prefix=d1/doomed/");
    const deletes: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith("/etcdserverpb.KV/DeleteRange")) deletes.push(req.url());
    });
    await page.getByRole("button", { name: "Delete prefix…" }).click();
    const dialog = page.locator("dialog.form");
    await expect.poll(() => dialog.locator("h3").textContent()).toBe("Delete 30 keys under d1/doomed/?");
    await dialog.locator('input[name="confirm"]').fill("d1/");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => dialog.locator(".form-error").textContent()).toMatch(/Type the prefix exactly/);
    await shot("delete-prefix");
    expect((await etcd.etcdctl(["get", "d1/doomed/", "--prefix", "--keys-only"])).split("\n").filter(Boolean)).toHaveLength(30);
    await dialog.locator('input[name="confirm"]').fill("d1/doomed/");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => etcd.etcdctl(["get", "d1/", "--prefix", "--keys-only"]).then((o) => o.trim())).toBe("d1/kept");
    expect(deletes).toHaveLength(1);
  });

  it("exports a prefix as JSON (binary values in base64) and as etcdctl prints it (text and -w json), and imports it back after a dry run, in txns of 128", async () => {
    await client.put("x1/a", "text");
    await client.put("x1/b", new Uint8Array([0xff, 0x00, 0x7f]));
    await client.put("x1/c", "keep");
    for (let i = 0; i < 300; i++) await client.put(`x1/many/${String(i).padStart(3, "0")}`, `v${i}`);
    await open("#/keys?prefix=x1/");
    const dir = mkdtempSync(join(tmpdir(), "console-export-"));
    /** Exports the open prefix in `format` (the dialog's label) into a file; returns its path. */
    const exportAs = async (format: string, name: string) => {
      await page.getByRole("button", { name: "Export…" }).click();
      const dialog = page.locator("dialog.form");
      await dialog.locator('select[name="format"]').selectOption(format);
      const [download] = await Promise.all([page.waitForEvent("download"), dialog.getByRole("button", { name: "Export" }).click()]);
      await download.saveAs(join(dir, name));
      return join(dir, name);
    };
    try {
      // etcdctl's two outputs, as etcdctl itself prints them for the same prefix.
      const text = readFileSync(await exportAs("etcdctl text", "export.txt"));
      expect(text.toString("utf8")).toBe(await etcd.etcdctl(["get", "--prefix", "x1/"]));
      expect(text.includes(Buffer.from("x1/b\n\xff\x00\x7f\n", "latin1"))).toBe(true);
      const asEtcdctl = JSON.parse(readFileSync(await exportAs("etcdctl JSON (-w json)", "export.etcdctl.json"), "utf8"));
      const byEtcdctl = JSON.parse(await etcd.etcdctl(["get", "--prefix", "x1/", "-w", "json"]));
      expect(asEtcdctl.kvs).toEqual(byEtcdctl.kvs);
      expect([asEtcdctl.count, asEtcdctl.header.revision]).toEqual([byEtcdctl.count, byEtcdctl.header.revision]);

      const file = await exportAs("json", "export.json");
      const exported = JSON.parse(readFileSync(file, "utf8")) as { format: string; keys: { key: string; value: string; valueEncoding?: string }[] };
      expect(exported.format).toBe("etcd-connect-export");
      expect(exported.keys).toHaveLength(303);
      expect(exported.keys.find((k) => k.key === "x1/b")).toEqual({ key: "x1/b", value: Buffer.from([0xff, 0x00, 0x7f]).toString("base64"), valueEncoding: "base64" });

      // etcd moves on: one key gone, one changed, the many deleted.
      await client.delete("x1/a");
      await client.put("x1/c", "changed");
      await client.delete("x1/many/", { prefix: true });
      let txns = 0;
      const countTxn = (req: { url(): string }) => {
        if (req.url().endsWith("/etcdserverpb.KV/Txn")) txns++;
      };
      page.on("request", countTxn);
      await page.getByTestId("import-file").setInputFiles(file);
      const plan = page.getByTestId("import-plan");
      await expect.poll(() => plan.locator("p").first().textContent()).toBe("301 to create, 1 to change, 1 already the same.");
      await shot("import-plan");
      await page.locator("dialog.confirm").getByRole("button", { name: "Apply" }).click();
      await expect.poll(() => page.locator("#notices .notice.info").allTextContents()).toContainEqual("Imported 302 keys×");
      expect(await get("x1/a")).toBe("text");
      expect(await get("x1/c")).toBe("keep");
      expect((await client.get("x1/b")).kvs[0]!.value).toEqual(new Uint8Array([0xff, 0x00, 0x7f]));
      expect((await client.get("x1/many/", { prefix: true, countOnly: true })).count).toBe(300n);
      page.off("request", countTxn);
      expect(txns).toBe(3 + 3); // the dry run's gets and the puts, 128 per txn each

      // etcdctl's JSON imports too.
      const dump = join(dir, "dump.json");
      writeFileSync(dump, await etcd.etcdctl(["get", "--prefix", "x1/many/", "-w", "json"]));
      await client.delete("x1/many/", { prefix: true });
      await page.getByTestId("import-file").setInputFiles(dump);
      await expect.poll(() => plan.locator("p").first().textContent()).toBe("300 to create, 0 to change, 0 already the same.");
      await page.locator("dialog.confirm").getByRole("button", { name: "Apply" }).click();
      await expect.poll(async () => (await client.get("x1/many/", { prefix: true, countOnly: true })).count).toBe(300n);
      expect(await get("x1/many/299")).toBe("v299");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("deletes the keys ticked in the tree, after listing them", async () => {
    for (const k of ["m1/a", "m1/b", "m1/c"]) await client.put(k, "v");
    await open("#/keys?prefix=m1/");
    await expect.poll(() => treeItems().count()).toBe(3);
    await page.getByRole("checkbox", { name: "select m1/a" }).check();
    await page.getByRole("checkbox", { name: "select m1/c" }).check();
    await page.getByRole("button", { name: "Delete selected (2)" }).click();
    const dialog = page.locator("dialog.confirm");
    expect(await dialog.locator("li").allTextContents()).toEqual(["m1/a", "m1/c"]);
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => etcd.etcdctl(["get", "m1/", "--prefix", "--keys-only"]).then((o) => o.trim())).toBe("m1/b");
    await expect.poll(() => page.getByRole("button", { name: /Delete selected/ }).isHidden()).toBe(true);
  });

  it("copies and renames a key in one txn each, keeping its lease, and refuses an existing target", async () => {
    const lease = await client.lease.grant(600);
    await client.put("r1/src", "value", { lease: lease.id });
    await client.put("r1/taken", "other");
    await open("#/keys?prefix=r1/&key=r1/src");
    await expect.poll(() => page.getByTestId("key-title").textContent()).toBe("r1/src");
    const form = page.locator("dialog.form");
    await page.getByRole("button", { name: "Copy…" }).click();
    await form.locator('input[name="target"]').fill("r1/taken");
    await form.getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => form.locator(".form-error").textContent()).toMatch(/already exists\. key-exists$/);
    await form.locator('input[name="target"]').fill("r1/copy");
    await form.getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => get("r1/copy")).toBe("value");
    expect((await client.get("r1/copy")).kvs[0]!.lease).toBe(lease.id);
    expect(await get("r1/taken")).toBe("other");
    await page.getByRole("button", { name: "Rename…" }).click();
    await form.locator('input[name="target"]').fill("r1/moved");
    await form.getByRole("button", { name: "Rename" }).click();
    await expect.poll(() => get("r1/moved")).toBe("value");
    expect((await client.get("r1/src")).kvs).toHaveLength(0);
    expect((await client.get("r1/moved")).kvs[0]!.lease).toBe(lease.id);
    await client.lease.revoke(lease.id);
  });

  it("copies and renames a prefix of 151 keys in txns of 64, keeping values and leases, refusing a non-empty or overlapping target", async () => {
    const lease = await client.lease.grant(600);
    await client.txn({ success: Array.from({ length: 75 }, (_, i) => op.put(`r2/src/k${String(i).padStart(3, "0")}`, `v${i}`)) });
    await client.txn({ success: Array.from({ length: 75 }, (_, i) => op.put(`r2/src/k${String(i + 75).padStart(3, "0")}`, `v${i + 75}`)) });
    await client.put("r2/src/sub/deep", new Uint8Array([0, 1, 2]), { lease: lease.id });
    await client.put("r2/busy/x", "in the way");
    const listed = async (p: string) => (await client.get(p, { prefix: true })).kvs.map((kv) => [new TextDecoder().decode(kv.key).slice(p.length), Array.from(kv.value), kv.lease]);
    const source = await listed("r2/src/");
    expect(source).toHaveLength(151);
    let txns = 0;
    const countTxns = (req: { url(): string }) => {
      if (req.url().endsWith("/etcdserverpb.KV/Txn")) txns++;
    };
    page.on("request", countTxns);
    try {
      await open("#/keys?prefix=r2/src/");
      const form = page.locator("dialog.form");
      await page.getByRole("button", { name: "Copy prefix…" }).click();
      await expect.poll(() => form.locator("h3").textContent()).toBe("Copy 151 keys under r2/src/");
      await form.locator('input[name="target"]').fill("r2/busy/");
      await form.getByRole("button", { name: "Copy", exact: true }).click();
      await expect.poll(() => form.locator(".form-error").textContent()).toBe("1 keys exist under r2/busy/ already: choose an empty prefix. prefix-not-empty");
      await form.locator('input[name="target"]').fill("r2/src/inner/");
      await form.getByRole("button", { name: "Copy", exact: true }).click();
      await expect.poll(() => form.locator(".form-error").textContent()).toMatch(/overlap.*prefixes-overlap$/);
      expect(txns).toBe(0);
      await form.locator('input[name="target"]').fill("r2/copy/");
      await shot("prefix-copy");
      await form.getByRole("button", { name: "Copy", exact: true }).click();
      await expect.poll(() => listed("r2/copy/")).toEqual(source);
      // 151 keys: 64 + 64 + 23.
      await expect.poll(() => txns).toBe(3);
      expect(await listed("r2/src/")).toEqual(source);

      await page.getByRole("button", { name: "Rename prefix…" }).click();
      await form.locator('input[name="target"]').fill("r2/moved/");
      await form.getByRole("button", { name: "Rename", exact: true }).click();
      await expect.poll(() => listed("r2/moved/")).toEqual(source);
      expect(await listed("r2/src/")).toEqual([]);
      await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/keys?prefix=r2/moved/");
      expect(txns).toBe(6);
    } finally {
      page.off("request", countTxns);
      await client.lease.revoke(lease.id);
    }
  });

  it("moves through the tree with the keyboard and keeps focus when a directory opens", async () => {
    for (const k of ["kb/a/1", "kb/a/2", "kb/b", "kb/c/1"]) await client.put(k, "v");
    await open("#/keys?prefix=kb/");
    await expect.poll(() => treeItems().count()).toBe(3);
    await page.waitForTimeout(300); // the first render and the watch's start settle
    await treeItem("kb/a/").locator(":scope > .dir-name").focus();
    const focusedKey = () => page.evaluate(() => (document.activeElement?.closest("li[data-key]") as HTMLElement | null)?.dataset.key);
    await page.keyboard.press("Enter"); // opens the directory; focus stays on it
    await expect.poll(() => treeItem("kb/a/").getAttribute("aria-expanded")).toBe("true");
    expect(await focusedKey()).toBe("kb/a/");
    await expect.poll(() => treeItem("kb/a/1").count()).toBe(1);
    await page.keyboard.press("ArrowRight");
    await expect.poll(focusedKey).toBe("kb/a/1");
    await page.keyboard.press("ArrowDown");
    expect(await focusedKey()).toBe("kb/a/2");
    await page.keyboard.press("ArrowLeft");
    expect(await focusedKey()).toBe("kb/a/");
    await page.keyboard.press("ArrowLeft"); // collapses
    await expect.poll(() => treeItem("kb/a/").getAttribute("aria-expanded")).toBe("false");
    await page.keyboard.press("End");
    expect(await focusedKey()).toBe("kb/c/");
    await page.keyboard.press("Home");
    expect(await focusedKey()).toBe("kb/a/");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter"); // a key opens in the detail pane
    await expect.poll(() => page.getByTestId("key-title").textContent()).toBe("kb/b");
  });

  it("fits a 390 px screen without sideways scrolling, and follows the system's dark mode", async () => {
    await client.put("sm/app/config/feature-flags", JSON.stringify({ a: "x".repeat(300), nested: { list: [1, 2, 3] } }));
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    const small = await context.newPage();
    try {
      for (const hash of ["#/keys?prefix=sm/app/config/&key=sm/app/config/feature-flags", "#/leases", "#/cluster", "#/auth"]) {
        await small.goto(`${server.url}${hash}`);
        await small.locator("main#view > *").first().waitFor();
        await small.waitForTimeout(300);
        const widths = await small.evaluate(() => ({
          doc: document.documentElement.scrollWidth,
          view: window.innerWidth,
          // What sticks out, to say why when it fails.
          wide: [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
        }));
        expect(widths.doc, `${hash}: ${widths.wide.join(", ")}`).toBeLessThanOrEqual(widths.view);
        await small.screenshot({ path: join(shots, `small-${hash.replace(/[^a-z]+/g, "-").replace(/^-|-$/g, "")}.png`), fullPage: true });
      }
      const bg = () => small.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      expect(await bg()).toBe("rgb(20, 23, 30)"); // the system is dark: the dark palette
      // The toggle: system -> dark -> light, remembered across reloads.
      await small.getByTestId("theme").click();
      await small.getByTestId("theme").click();
      expect(await bg()).toBe("rgb(246, 247, 249)");
      await small.reload();
      await small.locator("main#view > *").first().waitFor();
      expect(await bg()).toBe("rgb(246, 247, 249)");
      await small.screenshot({ path: join(shots, "small-light.png"), fullPage: true });
    } finally {
      await context.close();
    }
  });
});

describe("leases", () => {
  it("counts a lease's TTL down, lists its key, and both vanish on expiry", async () => {
    // Long enough that a slow page load still sees it alive; short enough to wait for its expiry.
    const granted = await client.lease.grant(10);
    const id = granted.id.toString(16);
    await client.put("t5/ephemeral", "short-lived", { lease: granted.id });
    await open(`#/leases?lease=${id}`);
    const row = page.locator(`tr[data-lease="${id}"]`);
    await expect.poll(() => row.locator("td.keys").textContent()).toBe("t5/ephemeral");
    const seconds = async () => Number(/^(\d+)s$/.exec((await row.locator("td.ttl").textContent()) ?? "")?.[1] ?? NaN);
    const first = await seconds();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(10);
    await expect.poll(seconds, { timeout: 5000 }).toBeLessThan(first);
    await shot("leases");
    // Expiry: the row goes, and so does the key (etcd deletes it).
    await expect.poll(() => row.count(), { timeout: 30000 }).toBe(0);
    expect(await etcd.etcdctl(["get", "t5/ephemeral"])).toBe("");
    await open("#/keys?prefix=t5/");
    await expect.poll(() => page.getByTestId("tree").textContent()).toBe("(no keys)");
  }, 60000);

  it("grants and revokes a lease from the console, checked with etcdctl", async () => {
    await open("#/leases");
    await page.getByRole("button", { name: "Grant lease" }).click();
    const form = page.locator("dialog.form");
    await form.locator('input[name="ttl"]').fill("600");
    await form.locator('input[name="id"]').fill("c0ffee");
    await form.getByRole("button", { name: "Grant" }).click();
    await expect.poll(() => etcd.etcdctl(["lease", "timetolive", "c0ffee"])).toMatch(/lease 0*c0ffee granted with TTL\(600s\)/);
    const row = page.locator('tr[data-lease="c0ffee"]');
    await row.waitFor();
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => etcd.etcdctl(["lease", "timetolive", "c0ffee"])).toMatch(/already expired/);
    await expect.poll(() => row.count()).toBe(0);
  });
});

const rows = () => page.getByTestId("members").locator("tbody tr");

describe("cluster", () => {
  it("lists the 3 members with their own status, marks the leader, and shows a killed member go and come back", async () => {
    await open("#/cluster");
    await expect.poll(() => rows().count()).toBe(3);
    await expect.poll(() => rows().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.state))).toEqual(["healthy", "healthy", "healthy"]);
    // The leader etcdctl reports is the one marked.
    // (read from the JSON text: uint64 IDs do not survive JSON.parse)
    const statusJson = await etcd.etcdctl(["endpoint", "status", "-w", "json"]);
    const leaderId = BigInt(/"leader":(\d+)/.exec(statusJson)![1]!).toString(16);
    await expect.poll(() => page.getByTestId("leader").count()).toBe(1);
    const leaderRow = page.locator("tr.leader");
    expect(await leaderRow.locator("td").nth(1).textContent()).toBe(leaderId);
    expect(await rows().first().locator("td").nth(5).textContent()).toMatch(new RegExp(`^${ETCD_VERSION.replace(".", "\\.")}\\.\\d+$`));
    await shot("cluster");

    // Kill a member that does not lead: its row turns unreachable, the others stay healthy.
    const names = await rows().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.member));
    const leaderName = await leaderRow.getAttribute("data-member");
    const victim = etcd.members.findIndex((m) => m.name !== leaderName);
    const victimName = etcd.member(victim).name;
    expect(names).toContain(victimName);
    await etcd.member(victim).kill();
    try {
      const victimRow = page.locator(`tr[data-member="${victimName}"]`);
      await expect.poll(() => victimRow.getAttribute("data-state"), { timeout: 20000 }).toBe("unreachable");
      expect(await page.getByTestId("cluster-summary").textContent()).toMatch(/3 members, 2 answering/);
      await shot("cluster-member-down");
    } finally {
      await etcd.member(victim).start();
    }
    await expect.poll(() => page.locator(`tr[data-member="${victimName}"]`).getAttribute("data-state"), { timeout: 30000 }).toBe("healthy");
  }, 90000);

  it("shows a raised alarm, explains the refused write, and disarms it after a confirmation", async () => {
    // etcd raises NOSPACE itself when its quota is full; raising it by hand has the same effect, at once.
    const { header } = await client.maintenance.status();
    const raw = createConnectClient(Maintenance, createGrpcTransport({ baseUrl: etcd.endpoints[0]! }));
    await raw.alarm({ action: AlarmRequest_AlarmAction.ACTIVATE, memberID: header.memberId, alarm: AlarmType.NOSPACE });
    try {
      expect(await etcd.etcdctl(["alarm", "list"])).toMatch(/alarm:NOSPACE/);
      await open("#/keys?prefix=t8/");
      await page.getByRole("button", { name: "New key" }).click();
      const form = page.locator("dialog.form");
      await form.locator('input[name="key"]').fill("t8/refused");
      await form.getByRole("button", { name: "Create" }).click();
      await expect.poll(() => form.locator(".form-error").textContent()).toMatch(/^etcd is out of space .* no-space$/);
      await form.getByRole("button", { name: "Cancel" }).click();

      await open("#/cluster");
      const alarms = page.getByTestId("alarms");
      await expect.poll(() => alarms.textContent()).toMatch(/^nospace on member m\d Disarm$/);
      await shot("cluster-alarm");
      await alarms.getByRole("button", { name: "Disarm" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Disarm" }).click();
      await expect.poll(() => etcd.etcdctl(["alarm", "list"])).toBe("");
      await expect.poll(() => alarms.textContent()).toBe("No alarms.");
      await etcd.etcdctl(["put", "t8/accepted", "again"]);
    } finally {
      await etcd.etcdctl(["alarm", "disarm"]);
    }
  });

  it("compacts at a chosen revision, downloads a snapshot checked by its SHA-256, and defragments a member", { timeout: 120000 }, async () => {
    const first = await client.put("t9/k", "1");
    const second = await client.put("t9/k", "2");
    await open("#/cluster");
    await page.getByRole("button", { name: "Compact…" }).click();
    const form = page.locator("dialog.form");
    await expect.poll(() => form.locator('input[name="revision"]').inputValue()).toMatch(/^\d+$/);
    await form.locator('input[name="revision"]').fill("0");
    await form.getByRole("button", { name: "Compact" }).click();
    await expect.poll(() => form.locator(".form-error").textContent()).toMatch(/The revision must be a number from 1/);
    await form.locator('input[name="revision"]').fill(String(second.header.revision));
    await form.getByRole("button", { name: "Compact" }).click();
    await expect.poll(() => etcd.etcdctl(["get", "t9/k", `--rev=${first.header.revision}`]).then(() => "read", (e: Error) => e.message)).toMatch(/compacted/);

    const dir = mkdtempSync(join(tmpdir(), "console-snapshot-"));
    try {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download snapshot" }).click()]);
      expect(download.suggestedFilename()).toMatch(/^etcd-snapshot-rev\d+\.db$/);
      const file = join(dir, "snap.db");
      await download.saveAs(file);
      await expect.poll(() => page.getByTestId("snapshot-status").textContent()).toMatch(/SHA-256 checked/);
      // etcd's own tool reads it: its revision and key count.
      const status = await etcdutl(["snapshot", "status", file, "-w", "json"]);
      expect(JSON.parse(status)).toMatchObject({ revision: expect.any(Number), totalKey: expect.any(Number) });
      expect(JSON.parse(status).revision).toBeGreaterThanOrEqual(Number(second.header.revision));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const m0 = page.getByTestId("members").locator('tr[data-member="m0"]');
    await expect.poll(() => m0.getAttribute("data-state")).toBe("healthy");
    await m0.getByRole("button", { name: "Defragment" }).click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Defragment" }).click();
    // (The database holds the 10,000-key dataset and what the 100,000-key test wrote: defragmenting takes seconds.)
    await expect.poll(() => page.locator("#notices .notice.info").allTextContents(), { timeout: 60000 }).toContainEqual(expect.stringMatching(/^Defragmented m0: /));
    await shot("cluster-maintenance");
  });

  it("shows connection state: reconnecting while the proxy is gone, connected when it is back", async () => {
    const own = await startConsole({ endpoints: etcd.endpoints, logLevel: "silent" });
    const proxyPort = Number(new URL(own.proxyUrl).port);
    let replacement: ReturnType<typeof createProxy> | undefined;
    try {
      await page.goto(`${own.url}#/keys?prefix=t6/`);
      const conn = page.getByTestId("connection");
      await expect.poll(() => conn.getAttribute("data-state")).toBe("connected");
      await own.proxy.close();
      await expect.poll(() => conn.getAttribute("data-state"), { timeout: 15000 }).toBe("reconnecting");
      // A call while the proxy is gone leaves an "unavailable" notice...
      await page.getByRole("button", { name: "Search" }).evaluate((b) => ((b.closest("form")!.elements.namedItem("q") as HTMLInputElement).value = "x"));
      await page.getByRole("button", { name: "Search" }).click();
      const unavailable = page.locator('#notices .notice.error[data-kind="unavailable"]');
      await expect.poll(() => unavailable.count(), { timeout: 20000 }).toBeGreaterThan(0);
      await shot("reconnecting");
      replacement = createProxy({ endpoints: etcd.endpoints, allowOrigins: [new URL(own.url).origin], logLevel: "silent" });
      await replacement.listen(proxyPort);
      await expect.poll(() => conn.getAttribute("data-state"), { timeout: 30000 }).toBe("connected");
      // ...which goes once etcd answers again.
      expect(await unavailable.count()).toBe(0);
      // And the watch is live again.
      await etcd.etcdctl(["put", "t6/after", "1"]);
      await expect.poll(() => treeItems().count(), { timeout: 15000 }).toBe(1);
    } finally {
      await replacement?.close();
      await own.close();
    }
  }, 90000);
});

describe("several clusters", () => {
  const second = useEtcd();

  it("switches to a saved second cluster without a reload, marks it with its colour, and explains a proxy the CSP blocks and one whose CORS rules refuse the page", async () => {
    const proxy2 = createProxy({ endpoints: second.endpoints, allowOrigins: ["*"], logLevel: "silent" });
    const { url: proxy2Url } = await proxy2.listen(0);
    // A third proxy that allows another origin only.
    const proxy3 = createProxy({ endpoints: second.endpoints, allowOrigins: ["https://elsewhere.example"], logLevel: "silent" });
    const { url: proxy3Url } = await proxy3.listen(0);
    const own = await startConsole({ endpoints: etcd.endpoints, logLevel: "silent", connectSrc: [proxy2Url, proxy3Url] });
    try {
      await second.etcdctl(["put", "c2/only-here", "second cluster"]);
      await page.goto(`${own.url}#/keys?prefix=c2/`);
      await expect.poll(() => page.getByTestId("tree").textContent()).toBe("(no keys)");
      const connections = page.getByTestId("connections");
      await connections.selectOption("+add");
      const form = page.locator("dialog.form");
      await form.locator('input[name="name"]').fill("second");
      await form.locator('input[name="endpoints"]').fill(proxy2Url);
      await form.locator('select[name="color"]').selectOption("red");
      await form.getByRole("button", { name: "Add and switch" }).click();
      await expect.poll(() => treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["c2/only-here"]);
      expect(await page.evaluate(() => getComputedStyle(document.querySelector("header")!).borderBottomColor)).toBe("rgb(255, 0, 0)");
      await shot("second-cluster");
      // Back to the console's own cluster, where that key does not exist; the saved one stays listed.
      await connections.selectOption("");
      await expect.poll(() => page.getByTestId("tree").textContent()).toBe("(no keys)");
      expect(await connections.locator("option").allTextContents()).toContain("second");

      // A proxy the page's CSP does not allow: the notice says so, rather than "unavailable" alone.
      await connections.selectOption("+add");
      await form.locator('input[name="name"]').fill("blocked");
      await form.locator('input[name="endpoints"]').fill("http://127.0.0.1:9");
      await form.getByRole("button", { name: "Add and switch" }).click();
      await expect.poll(() => page.locator('#notices .notice.error[data-kind="blocked-by-csp"]').count(), { timeout: 15000 }).toBeGreaterThan(0);
      expect(await page.locator('#notices .notice.error[data-kind="blocked-by-csp"]').first().textContent()).toMatch(/does not allow connecting to http:\/\/127\.0\.0\.1:9.*CONSOLE_CONNECT_SRC/);
      await connections.selectOption("+forget");
      expect(await connections.locator("option").allTextContents()).not.toContain("blocked");

      // A proxy the CSP allows but whose CORS rules refuse this page: said so, with the flag that fixes it.
      await connections.selectOption("+add");
      await form.locator('input[name="name"]').fill("strict");
      await form.locator('input[name="endpoints"]').fill(proxy3Url);
      await form.getByRole("button", { name: "Add and switch" }).click();
      const cors = page.locator('#notices .notice.error[data-kind="blocked-by-cors"]');
      await expect.poll(() => cors.count(), { timeout: 15000 }).toBe(1);
      const ownOrigin = new URL(own.url).origin;
      expect(await cors.textContent()).toContain(`The proxy at ${proxy3Url} answers but does not allow this page's origin (${ownOrigin}). Start it with --allow-origin ${ownOrigin}`);
      expect(await page.locator('#notices .notice.error[data-kind="blocked-by-csp"]').count()).toBe(0);
      // The tree says it could not list, not "(no keys)".
      expect(await page.getByTestId("list-failed").textContent()).toMatch(/^Could not list these keys/);
      await shot("cors-refused");
      await connections.selectOption("+forget");
    } finally {
      await own.close();
      await proxy2.close();
      await proxy3.close();
    }
  });
});

describe("auth", () => {
  it("asks to sign in when auth is on, refuses a wrong password, then shows users, roles and permissions", async () => {
    await etcd.etcdctl(["user", "add", "root:rootpw"]);
    await etcd.etcdctl(["role", "add", "reader"]);
    await etcd.etcdctl(["role", "grant-permission", "reader", "read", "app/", "--prefix=true"]);
    await etcd.etcdctl(["user", "add", "alice:alicepw"]);
    await etcd.etcdctl(["user", "grant-role", "alice", "reader"]);
    await etcd.etcdctl(["auth", "enable"]);
    try {
      await open("#/auth");
      const form = page.locator("dialog.form");
      await expect.poll(() => form.locator("h3").textContent()).toBe("Sign in to etcd");
      await form.locator('input[name="username"]').fill("root");
      await form.locator('input[name="password"]').fill("wrong");
      await form.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => form.locator(".form-error").textContent()).toBe("Wrong user name or password. auth-failed");
      await shot("login");
      await form.locator('input[name="password"]').fill("rootpw");
      await form.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByTestId("auth-status").textContent()).toMatch(/^authentication enabled/);
      await expect.poll(() => page.getByTestId("users").locator("tbody tr").evaluateAll((els) => els.map((e) => e.textContent))).toEqual([
        expect.stringMatching(/^alicereader×/),
        expect.stringMatching(/^rootroot×/),
      ]);
      expect(await page.locator('tr[data-role="reader"] td').nth(1).textContent()).toBe("read app/*×");
      expect(await page.locator("header .user").textContent()).toMatch(/signed in as root/);
      await shot("auth");

      // A change asks for confirmation, then lands.
      await page.locator('tr[data-role="reader"]').getByRole("button", { name: "Grant permission" }).click();
      const grant = page.locator("dialog.form");
      await grant.locator('select[name="type"]').selectOption("write");
      await grant.locator('input[name="key"]').fill("jobs/");
      await grant.getByRole("button", { name: "Continue" }).click();
      await expect.poll(() => page.locator("dialog.confirm .body").textContent()).toBe("Grant write on jobs/* to role reader?");
      await page.locator("dialog.confirm").getByRole("button", { name: "Apply" }).click();
      await expect.poll(() => etcd.etcdctl(["--user", "root:rootpw", "role", "get", "reader"])).toMatch(/KV Write:\s*\[jobs\/, jobs0\) \(prefix jobs\/\)/);

      // A user's password, changed from the console (typed twice).
      await page.getByTestId("users").locator('tr[data-user="alice"]').getByRole("button", { name: "Password" }).click();
      const pw = page.locator("dialog.form");
      await pw.locator('input[name="password"]').fill("alice-new");
      await pw.locator('input[name="again"]').fill("alice-typo");
      await pw.getByRole("button", { name: "Change" }).click();
      await expect.poll(() => pw.locator(".form-error").textContent()).toMatch(/The two passwords differ/);
      await pw.locator('input[name="again"]').fill("alice-new");
      await pw.getByRole("button", { name: "Change" }).click();
      await expect.poll(() => etcd.etcdctl(["--user", "alice:alice-new", "get", "app/x"]).then(() => "ok", (e: Error) => e.message)).toBe("ok");
      await expect(etcd.etcdctl(["--user", "alice:alicepw", "get", "app/x"])).rejects.toThrow(/authentication failed/);

      // Signing out and in as another user replaces the client; a user without the root role still sees the cluster.
      await page.locator("header .user").getByRole("button", { name: "sign out" }).click();
      await expect.poll(() => form.locator("h3").textContent()).toBe("Sign in to etcd");
      await form.locator('input[name="username"]').fill("alice");
      await form.locator('input[name="password"]').fill("alice-new");
      await form.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.locator("header .user").textContent()).toMatch(/signed in as alice/);
      // Alice may read app/ only: the root says so in place, offers a prefix, and the badge still says connected.
      await etcd.etcdctl(["--user", "root:rootpw", "put", "app/visible", "yes"]);
      await go("#/keys");
      const denied = page.getByTestId("denied");
      await expect.poll(() => denied.locator("p").first().textContent()).toBe("You may not list every key as alice. Open a prefix you have access to:");
      await expect.poll(() => page.getByTestId("connection").getAttribute("data-state")).toBe("connected");
      expect(await page.locator('#notices .notice.error[data-kind="permission-denied"]').allTextContents()).toEqual([]);
      await shot("restricted-user");
      await denied.locator('input[name="prefix"]').fill("app/");
      await denied.getByRole("button", { name: "Open" }).click();
      await expect.poll(() => treeItems().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(["app/visible"]);
      // The prefix is remembered for the next time.
      await go("#/keys");
      await expect.poll(() => denied.getByRole("link", { name: "app/" }).count()).toBe(1);
      await go("#/cluster");
      await expect.poll(() => page.getByTestId("alarms").textContent()).toBe("No alarms.");
      await expect.poll(() => rows().count()).toBe(3);
    } finally {
      await etcd.etcdctl(["--user", "root:rootpw", "auth", "disable"]);
      await etcd.etcdctl(["user", "delete", "alice"]);
      await etcd.etcdctl(["user", "delete", "root"]);
      await etcd.etcdctl(["role", "delete", "reader"]);
    }
  }, 60000);
});

describe("a read-only proxy, for viewers", () => {
  it("shows keys, members and auth, and refuses writes in plain words", async () => {
    const viewer = await startConsole({ endpoints: etcd.endpoints, logLevel: "silent", readOnly: true });
    try {
      await etcd.etcdctl(["put", "t9/seen", "visible"]);
      await page.goto(`${viewer.url}#/keys?prefix=t9/&key=t9/seen`);
      await expect.poll(() => page.getByTestId("value").textContent()).toBe("visible");
      await editAndSave("changed");
      await expect.poll(() => editor().getByTestId("editor-error").textContent()).toMatch(/^You are not allowed to do this \(etcd refused it\)\. permission-denied$/);
      await editor().getByRole("button", { name: "Cancel" }).click();
      expect(await get("t9/seen")).toBe("visible");

      await page.goto(`${viewer.url}#/cluster`);
      await expect.poll(() => rows().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.state))).toEqual(["healthy", "healthy", "healthy"]);
      await expect.poll(() => page.getByTestId("alarms").textContent()).toBe("Alarms cannot be read through a read-only proxy.");
      await page.goto(`${viewer.url}#/auth`);
      await expect.poll(() => page.getByTestId("auth-status").textContent()).toMatch(/^authentication disabled/);
    } finally {
      await viewer.close();
    }
  }, 60000);
});

describe("npm run build:console", () => {
  it("builds static files that work from any static host, next to a proxy named in config.json", async () => {
    const out = mkdtempSync(join(tmpdir(), "etcd-console-build-"));
    const host = createServer((req, res) => {
      const name = req.url === "/" ? "index.html" : (req.url ?? "").slice(1).split("?")[0]!;
      if (!/^(chunks\/)?[\w.-]+$/.test(name) || !existsSync(join(out, name))) return void res.writeHead(404).end();
      const type = name.endsWith(".js") ? "text/javascript" : name.endsWith(".css") ? "text/css" : name.endsWith(".json") ? "application/json" : "text/html";
      res.writeHead(200, { "content-type": type }).end(readFileSync(join(out, name)));
    });
    try {
      await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
      const origin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
      // The proxy allows the host's origin (set here, since its port is only known now).
      const hosted = createProxy({ endpoints: etcd.endpoints, logLevel: "silent", allowOrigins: [origin] });
      const { url: proxyUrl } = await hosted.listen(0);
      try {
        const build = await new Promise<{ stdout: string }>((resolve, reject) => {
          const args = ["run", "build:console", "--silent", "--", "--out", out, "--endpoints", proxyUrl, "--title", "staging"];
          execFile("npm", args, { cwd: join(import.meta.dirname, "..") }, (err, stdout) => (err ? reject(err) : resolve({ stdout })));
        });
        expect(build.stdout).toMatch(/^console built into .+: [\d.]+ KB min\+gzip at start \([\d.]+ KB minified\), editor [\d.]+ KB min\+gzip loaded when first opened$/m);
        expect(readdirSync(out).sort()).toEqual(["chunks", "config.json", "console.css", "console.js", "index.html"]);
        expect(readdirSync(join(out, "chunks")).some((f) => /^value-editor-\w+\.js$/.test(f))).toBe(true);
        expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8"))).toEqual({ endpoints: [proxyUrl], title: "staging" });

        await etcd.etcdctl(["put", "t7/hosted", "from a static host"]);
        await page.goto(`${origin}/#/keys?prefix=t7/&key=t7/hosted`);
        await expect.poll(() => page.getByTestId("value").textContent()).toBe("from a static host");
        expect(await page.title()).toBe("staging – etcd console");
        // The editor's chunk loads from the static host too.
        await page.getByRole("button", { name: "Edit" }).click();
        await expect.poll(() => editorText()).toBe("from a static host");
        await editor().getByRole("button", { name: "Cancel" }).click();
      } finally {
        await hosted.close();
      }
    } finally {
      host.closeAllConnections();
      await new Promise<void>((resolve) => host.close(() => resolve()));
      rmSync(out, { recursive: true, force: true });
    }
  }, 90000);
});

describe("the page", () => {
  it("raised no uncaught errors in any of the views", () => {
    expect(pageErrors).toEqual([]);
  });
});
