// Installs what the project's commands need when it is missing: npm
// dependencies, and Debian packages (etcd, ...) when running as root with apt.
// Dependency-free on purpose: it runs before node_modules exists.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ETCD_VERSIONS, buildEtcd, etcdBinaries } from "./etcd-versions.mjs";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...options });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function fail(message) {
  console.error(`\n${message}\n`);
  process.exit(1);
}

/** Runs `npm ci` when node_modules is missing or older than package-lock.json. */
export function ensureNodeModules() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error("etcd-connect: installing npm dependencies (npm ci)...");
  if (run("npm", ["ci", "--no-audit", "--no-fund"]) !== 0) fail("npm ci failed; see the output above.");
}

const packages = {
  etcd: { bin: () => "/usr/bin/etcd", debian: ["etcd-server"], env: "ETCD_BIN" },
  etcdctl: { bin: () => "/usr/bin/etcdctl", debian: ["etcd-client"], env: "ETCDCTL_BIN" },
  chromium: { bin: () => process.env.CHROMIUM_BIN || "/usr/bin/chromium", debian: ["chromium"], env: "CHROMIUM_BIN" },
  openssl: { bin: () => "/usr/bin/openssl", debian: ["openssl"] },
  firefox: { bin: () => process.env.FIREFOX_BIN || "/usr/bin/firefox-esr", debian: ["firefox-esr"], env: "FIREFOX_BIN" },
  // WebKitWebDriver; its package depends on libwebkit2gtk-4.1-0, which holds the MiniBrowser it drives.
  webkitdriver: { bin: () => "/usr/bin/WebKitWebDriver", debian: ["webkit2gtk-driver"] },
  minibrowser: {
    bin: () => process.env.MINIBROWSER_BIN || "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    debian: ["webkit2gtk-driver"],
    env: "MINIBROWSER_BIN",
  },
  xvfb: { bin: () => "/usr/bin/Xvfb", debian: ["xvfb"] },
};

/**
 * Makes sure the named system tools exist, installing their Debian packages
 * when possible (root + apt-get), else exits with what to install.
 * @param {Array<keyof typeof packages>} names
 */
export function ensureSystem(names) {
  const missing = names.filter((n) => !existsSync(packages[n].bin()));
  if (missing.length === 0) return;
  const debs = [...new Set(missing.flatMap((n) => packages[n].debian))];
  const canApt = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
  if (!canApt) {
    const envs = missing.map((n) => packages[n].env).filter(Boolean);
    fail(
      `etcd-connect needs ${missing.join(", ")}, which is not installed.\n` +
        `Install it with:  sudo apt-get install -y ${debs.join(" ")}` +
        (envs.length > 0 ? `\nor point ${envs.join(" / ")} at the binaries.` : ""),
    );
  }
  console.error(`etcd-connect: installing ${debs.join(" ")} with apt-get...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (run("apt-get", ["update", "-q"], { env }) !== 0) fail("apt-get update failed; see the output above.");
  if (run("apt-get", ["install", "-y", "-q", ...debs], { env }) !== 0) fail("apt-get install failed; see the output above.");
  const still = names.filter((n) => !existsSync(packages[n].bin()));
  if (still.length > 0) fail(`still missing after install: ${still.map((n) => packages[n].bin()).join(", ")}`);
}

/**
 * Makes sure etcd and etcdctl of each version exist: Debian's packages for 3.4, a build from Go modules (once per
 * pin, into .cache/etcd/) for the others. With `$ETCD_BIN` set, only checks that it exists.
 * @param {string[]} versions
 */
export function ensureEtcd(versions) {
  if (process.env.ETCD_BIN) {
    if (!existsSync(process.env.ETCD_BIN)) fail(`ETCD_BIN=${process.env.ETCD_BIN} does not exist`);
    return;
  }
  for (const version of versions) {
    if (ETCD_VERSIONS[version]?.debian) {
      ensureSystem(["etcd", "etcdctl"]);
      continue;
    }
    // Machines here have Go in /usr/local/go without always having it on PATH.
    if (!process.env.GO_BIN && spawnSync("go", ["version"]).error && existsSync("/usr/local/go/bin/go")) {
      process.env.GO_BIN = "/usr/local/go/bin/go";
    }
    try {
      buildEtcd(version);
    } catch (err) {
      fail(`etcd-connect: could not build etcd ${version}: ${err.message}`);
    }
    const { etcd, etcdctl } = etcdBinaries(version);
    if (!existsSync(etcd) || !existsSync(etcdctl)) fail(`etcd ${version}: no ${etcd} or ${etcdctl} after the build`);
  }
}

/**
 * The Node lines the package supports (package.json `engines`), each pinned to the release `npm test` runs: the Node
 * suite under 24, the packed package's install and checks under both (test/package.test.ts).
 */
export const NODE_LINES = { 22: "22.23.5", 24: "24.9.0" };

/**
 * Returns the path of the Node binary of a supported line (`$NODE22_BIN` / `$NODE24_BIN` when set), fetching the
 * `node-<platform>` npm package into .cache/ on first use. (The `node` npm package cannot be a devDependency: its
 * `node` bin would shadow the machine's Node in npm scripts.)
 * @param {keyof typeof NODE_LINES} line
 */
export function ensureNode(line) {
  const override = process.env[`NODE${line}_BIN`];
  if (override) return override;
  const version = NODE_LINES[line];
  if (!version) fail(`no pinned release for Node ${line}`);
  const platform = `${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  const dir = join(root, ".cache", `node-${version}-${platform}`);
  const bin = join(dir, "package", "bin", "node");
  if (existsSync(bin)) return bin;
  console.error(`etcd-connect: fetching Node ${version} (npm package node-${platform})...`);
  mkdirSync(dir, { recursive: true });
  const pack = spawnSync("npm", ["pack", `node-${platform}@${version}`, "--silent", "--pack-destination", dir], { cwd: dir, encoding: "utf8" });
  if (pack.status !== 0) fail(`could not fetch Node ${version}: ${pack.stderr}`);
  const tarball = join(dir, pack.stdout.trim().split("\n").at(-1));
  if (run("tar", ["-xzf", tarball, "-C", dir]) !== 0) fail(`could not unpack ${tarball}`);
  rmSync(tarball, { force: true });
  if (!existsSync(bin)) fail(`no node binary in ${dir}`);
  return bin;
}
