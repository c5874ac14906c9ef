// The packed package as a user gets it: one `npm pack`, installed with `--engine-strict` under every supported Node
// line, type-checked by fresh projects (test/consumers/, skipLibCheck: false), run against etcd (Node projects under
// each line; the Vite-built page in Chromium through the package's proxy), and linted by publint and arethetypeswrong.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, servePage } from "../e2e/harness.js";
import { NODE_LINES, ensureNode } from "../scripts/ensure.mjs";
import { useEtcd } from "./harness/etcd.js";
import { run as runProcess } from "./harness/processes.js";

const root = join(import.meta.dirname, "..");
const consumers = join(root, "test/consumers");
const bin = (pkg: string, file: string) => join(root, "node_modules", pkg, file);
const etcd = useEtcd();
const lines = Object.keys(NODE_LINES).map(Number) as Array<keyof typeof NODE_LINES>;
const newest = lines.at(-1)!;

const run = (cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runProcess(cmd, args, { cwd: root, ...options });

/** npm's own script, so that npm can run under the Node line being tested (npm checks engines against it). */
function npmCli(): string {
  if (process.env.npm_execpath?.endsWith("npm-cli.js")) return process.env.npm_execpath;
  return realpathSync(execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim());
}

const tmp = mkdtempSync(join(tmpdir(), "etcd-connect-package-"));
let tarball = "";

/** Copies a consumer project to `dir` and installs the packed package into it with npm under `node`. */
async function install(project: string, dir: string, node: string) {
  cpSync(join(consumers, project), dir, { recursive: true });
  const r = await run(node, [npmCli(), "install", "--prefer-offline", "--no-audit", "--no-fund", "--engine-strict", tarball], { cwd: dir });
  return { ...r, dir };
}

/** Runs the repository's TypeScript on a consumer project's tsconfig. */
const tsc = (dir: string, config: string) => run(process.execPath, [bin("typescript", "bin/tsc"), "-p", config], { cwd: dir });

beforeAll(async () => {
  const pack = await run("npm", ["pack", "--silent", "--pack-destination", tmp]);
  expect(pack.code, pack.stderr).toBe(0);
  tarball = join(tmp, readdirSync(tmp).find((f) => f.endsWith(".tgz"))!);
}, 180000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the packed package", () => {
  it("passes publint and arethetypeswrong (ESM only)", async () => {
    const [publint, attw] = await Promise.all([
      run(process.execPath, [bin("publint", "src/cli.js"), "run", tarball, "--strict"]),
      run(process.execPath, [bin("@arethetypeswrong/cli", "dist/index.js"), tarball, "--profile", "esm-only", "--format", "ascii"]),
    ]);
    expect(publint.code, publint.stdout + publint.stderr).toBe(0);
    expect(publint.stdout).toContain("All good!");
    expect(attw.code, attw.stdout + attw.stderr).toBe(0);
    expect(attw.stdout).toContain('"etcd-connect/web"');
  }, 60000);

  it(`meets npm install --engine-strict on the machine's Node ${process.versions.node} as engines says`, async () => {
    const dir = join(tmp, "machine-node");
    cpSync(join(consumers, "node"), dir, { recursive: true });
    const r = await run(process.execPath, [npmCli(), "install", "--dry-run", "--prefer-offline", "--no-audit", "--no-fund", "--engine-strict", tarball], { cwd: dir });
    if (Number(process.versions.node.split(".")[0]) < Math.min(...lines)) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/EBADENGINE[\s\S]*Not compatible with your version of node\/npm: etcd-connect@/);
    } else {
      // On a machine whose Node is a supported line, the same install is accepted.
      expect(r.code, r.stderr).toBe(0);
    }
  }, 60000);
});

describe("a Node project (node16, nodenext and bundler resolution, @types/node)", () => {
  const modes = ["node16", "nodenext", "bundler"];
  const dirs = new Map<number, string>();
  let checks: Array<Awaited<ReturnType<typeof run>>> = [];

  beforeAll(async () => {
    const installs = await Promise.all(lines.map((line) => install("node", join(tmp, `node${line}`), ensureNode(line))));
    for (const [i, r] of installs.entries()) {
      expect(r.code, `Node ${lines[i]}: ${r.stderr}`).toBe(0);
      expect(r.stderr, `Node ${lines[i]}`).not.toMatch(/EBADENGINE/);
      dirs.set(lines[i]!, r.dir);
    }
    // Checked (and compiled to out/<mode>/) once; the output runs under every line, against that line's install.
    const dir = dirs.get(newest)!;
    checks = await Promise.all(modes.map((mode) => tsc(dir, `tsconfig.${mode}.json`)));
    for (const line of lines) if (line !== newest && existsSync(join(dir, "out"))) cpSync(join(dir, "out"), join(dirs.get(line)!, "out"), { recursive: true });
  }, 300000);

  it("type-checks with skipLibCheck: false under each resolution", () => {
    expect(checks).toHaveLength(modes.length);
    for (const c of checks) expect(c.code, c.stdout + c.stderr).toBe(0);
  });

  it.each(lines)("puts, watches and gets on Node %s, as compiled under each resolution", async (line) => {
    for (const mode of modes) {
      const r = await run(ensureNode(line), [`out/${mode}/main.js`, etcd.endpoint, `package-${line}-${mode}`], { cwd: dirs.get(line)! });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ value: "2", seen: ["put 1", "put 2"], entries: ["function", "function", "function", "function"] });
    }
  }, 60000);

  it("ships source and declaration maps, the files the README links to, and no dev-only export condition", () => {
    const pkgDir = join(dirs.get(newest)!, "node_modules/etcd-connect");
    const map = JSON.parse(readFileSync(join(pkgDir, "dist/src/client.js.map"), "utf8")) as { sources: string[] };
    expect(existsSync(join(pkgDir, "dist/src", map.sources[0]!))).toBe(true);
    expect(existsSync(join(pkgDir, "dist/src/client.d.ts.map"))).toBe(true);
    expect(existsSync(join(pkgDir, "CHANGELOG.md")) && existsSync(join(pkgDir, "LICENSE"))).toBe(true);
    // Relative links in the README (images, bench/RESULTS.md, ...) resolve inside the package too.
    const readme = readFileSync(join(pkgDir, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !existsSync(join(pkgDir, l)))).toEqual([]);
    // What maps `etcd-connect` to src/ in the repository (tsconfig paths) is not part of the package.
    const manifest = readFileSync(join(pkgDir, "package.json"), "utf8");
    expect(manifest).not.toMatch(/etcd-connect-dev|\.\/src\//);
    expect(JSON.parse(manifest).engines).toEqual(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines);
  });

  it("installs the proxy's command", async () => {
    const dir = dirs.get(newest)!;
    // The command's `#!/usr/bin/env node` finds the Node line first on PATH.
    const env = { ...process.env, PATH: `${dirname(ensureNode(newest))}:${process.env.PATH}` };
    const version = await run(join(dir, "node_modules/.bin/etcd-connect-proxy"), ["--version"], { cwd: dir, env });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(`etcd-connect-proxy ${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}`);
  });
});

describe("a browser project (bundler resolution, browser condition, DOM types, no @types/node)", () => {
  let dir = "";
  let vite: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    const r = await install("browser", join(tmp, "browser"), ensureNode(newest));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EBADENGINE/);
    dir = r.dir;
    vite = await run(process.execPath, [bin("vite", "bin/vite.js"), "build", "--logLevel", "warn"], { cwd: dir });
  }, 180000);

  it("type-checks with skipLibCheck: false, and the Node transport is not there", async () => {
    const [ok, wrong] = await Promise.all([tsc(dir, "tsconfig.json"), tsc(dir, "tsconfig.wrong.json")]);
    expect(existsSync(join(dir, "node_modules/@types/node"))).toBe(false);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(wrong.stdout).toMatch(/has no exported member named 'createNodeTransport'/);
  }, 60000);

  it("builds with Vite from the package's browser entry", () => {
    expect(vite.code, vite.stdout + vite.stderr).toBe(0);
    // Vite warns when it stubs out a Node built-in for the browser: nothing of the Node entry may reach the bundle.
    expect(vite.stdout + vite.stderr).not.toMatch(/externalized for browser compatibility/);
    const assets = join(dir, "dist/assets");
    const code = readdirSync(assets).filter((f) => f.endsWith(".js")).map((f) => readFileSync(join(assets, f), "utf8")).join("\n");
    expect(code).toContain("application/grpc-web");
    expect(code).not.toMatch(/node:|__vite-browser-external|http2/);
  });

  it("bundles from the web entry under Vercel's edge conditions (edge-light, worker, browser), as e2e/edge-runtime.test.ts runs it", async () => {
    const r = await build({
      absWorkingDir: dir,
      entryPoints: ["main.ts"],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: ["edge-light", "worker", "browser"],
      write: false,
      logLevel: "silent",
    });
    const code = r.outputFiles[0]!.text;
    expect(code).toContain("application/grpc-web");
    expect(code).not.toMatch(/node:|http2/);
  });

  it("puts, watches and gets in Chromium, through the package's own proxy", async () => {
    expect(vite.code, vite.stdout + vite.stderr).toBe(0);
    const assets = join(dir, "dist/assets");
    const scripts = readdirSync(assets).filter((f) => f.endsWith(".js"));
    expect(scripts).toHaveLength(1);
    const site = await servePage(readFileSync(join(assets, scripts[0]!), "utf8"));
    const { createProxy } = (await import(pathToFileURL(join(dir, "node_modules/etcd-connect/dist/src/proxy/index.js")).href)) as typeof import("../src/proxy/index.js");
    const proxy = createProxy({ endpoints: etcd.endpoints, allowOrigins: [site.origin], logLevel: "silent" });
    const browser = await launchChromium();
    try {
      const proxyUrl = (await proxy.listen(0)).url;
      const page = await browser.newPage();
      await page.goto(`${site.origin}/#proxy=${encodeURIComponent(proxyUrl)}`);
      const result = await page.waitForFunction(() => document.body.dataset.result, undefined, { timeout: 20000 });
      expect(JSON.parse((await result.jsonValue())!)).toEqual({ value: "2", seen: ["put 1", "put 2"] });
    } finally {
      await browser.close();
      await proxy.close();
      await site.close();
    }
  }, 60000);
});
