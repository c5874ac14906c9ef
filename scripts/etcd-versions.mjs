// The etcd versions the project runs against, where their binaries come from,
// and the server flags that differ between them: the one place that knows.
//
//   3.4  Debian's etcd-server / etcd-client packages (3.4.23).
//   3.5, 3.6, 3.7  built from Go modules: scripts/etcd-server/main.go with the
//        go.mod pinned for that version (go.3.5.mod, go.mod, go.3.7.mod), into
//        .cache/etcd/<version>/ (etcd, etcdctl and etcdutl), rebuilt only when
//        the pin changes.
//
// ETCD_VERSION picks the version (default 3.6). ETCD_BIN / ETCDCTL_BIN point
// at other binaries; the version is then read from `etcd --version`.
//
// Dependency-free on purpose (only `node:` imports): it runs before
// node_modules exists.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const serverDir = path.join(root, "scripts", "etcd-server");

/** The version `npm test`, `npm start`, `npm run example` and the bench use unless told otherwise. */
export const DEFAULT_ETCD_VERSION = "3.6";

/**
 * Every version the project supports, oldest first. `modfile`: the Go module pin it is built from (under
 * scripts/etcd-server/); `debian`: installed from Debian's packages instead.
 * @type {Record<string, { modfile?: string, debian?: { etcd: string, etcdctl: string, etcdutl: string } }>}
 */
export const ETCD_VERSIONS = {
  // 3.4 has no etcdutl: its etcdctl has the offline commands (snapshot status/restore) with the same output.
  "3.4": { debian: { etcd: "/usr/bin/etcd", etcdctl: "/usr/bin/etcdctl", etcdutl: "/usr/bin/etcdctl" } },
  "3.5": { modfile: "go.3.5.mod" },
  "3.6": { modfile: "go.mod" },
  "3.7": { modfile: "go.3.7.mod" },
};

/**
 * Server flags renamed between versions, by their current name: the name each older version knows. Tests and
 * tools write the current name; `flagsFor` translates. (3.6 took the `--experimental-` prefix off these and 3.7
 * dropped the old names.)
 * @type {Record<string, { before: string, name: string }>}
 */
const RENAMED_FLAGS = {
  "--watch-progress-notify-interval": { before: "3.6", name: "--experimental-watch-progress-notify-interval" },
  "--compaction-batch-limit": { before: "3.6", name: "--experimental-compaction-batch-limit" },
  "--corrupt-check-time": { before: "3.6", name: "--experimental-corrupt-check-time" },
  "--downgrade-check-time": { before: "3.6", name: "--experimental-downgrade-check-time" },
};

/** Compares "3.5" with "3.6" (major.minor strings). */
export function compareVersions(a, b) {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am !== bm ? am - bm : an - bn;
}

/** Throws unless `version` is one of ETCD_VERSIONS. */
function checkVersion(version) {
  if (!(version in ETCD_VERSIONS)) {
    throw new Error(`unknown etcd version ${JSON.stringify(version)}: use one of ${Object.keys(ETCD_VERSIONS).join(", ")}`);
  }
  return version;
}

const versionOfBinaryCache = new Map();

/** The major.minor version an etcd binary reports (`etcd --version`), e.g. "3.6". */
export function versionOfBinary(bin) {
  let v = versionOfBinaryCache.get(bin);
  if (v === undefined) {
    const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10000 });
    const m = /etcd Version: (\d+)\.(\d+)\./.exec(r.stdout ?? "");
    if (!m) throw new Error(`${bin} --version did not report an etcd version: ${r.error?.message ?? r.stderr ?? r.stdout}`);
    v = `${m[1]}.${m[2]}`;
    versionOfBinaryCache.set(bin, v);
  }
  return v;
}

/**
 * The etcd version in use: `$ETCD_VERSION`; else the version of `$ETCD_BIN` when that is set; else
 * DEFAULT_ETCD_VERSION.
 * @returns {string}
 */
export function etcdVersion() {
  const wanted = process.env["ETCD_VERSION"];
  if (wanted) return checkVersion(wanted);
  if (process.env["ETCD_BIN"]) return versionOfBinary(process.env["ETCD_BIN"]);
  return DEFAULT_ETCD_VERSION;
}

/**
 * The full release a version is pinned to, e.g. "3.6.17" (from its go.mod), or "debian" for 3.4.
 * @param {string} version
 * @returns {string}
 */
export function pinnedRelease(version) {
  const spec = ETCD_VERSIONS[checkVersion(version)];
  if (!spec.modfile) return "debian";
  const mod = fs.readFileSync(path.join(serverDir, spec.modfile), "utf8");
  const m = /go\.etcd\.io\/etcd\/server\/v3 v(\S+)/.exec(mod);
  if (!m?.[1]) throw new Error(`${spec.modfile} does not require go.etcd.io/etcd/server/v3`);
  return m[1];
}

/** Directory the binaries of a Go-built version live in. */
function cacheDir(version) {
  return path.join(root, ".cache", "etcd", version);
}

/** Hash of what a Go-built version is made from: main.go, its go.mod and go.sum. */
function pinHash(version) {
  const { modfile } = ETCD_VERSIONS[version];
  const h = createHash("sha256");
  for (const f of ["main.go", modfile, modfile.replace(/\.mod$/, ".sum")]) h.update(fs.readFileSync(path.join(serverDir, f)));
  return h.digest("hex");
}

const TOOLS = ["etcd", "etcdctl", "etcdutl"];

/**
 * Paths of the etcd, etcdctl and etcdutl binaries of `version` (default: etcdVersion()). `$ETCD_BIN`,
 * `$ETCDCTL_BIN` and `$ETCDUTL_BIN` win when set. Does not build or install anything: see ensureEtcd() in
 * ensure.mjs.
 * @returns {{ etcd: string, etcdctl: string, etcdutl: string, version: string }}
 */
export function etcdBinaries(version = etcdVersion()) {
  const spec = ETCD_VERSIONS[checkVersion(version)];
  const own = spec.debian ?? Object.fromEntries(TOOLS.map((t) => [t, path.join(cacheDir(version), t)]));
  return {
    etcd: process.env["ETCD_BIN"] || own.etcd,
    etcdctl: process.env["ETCDCTL_BIN"] || own.etcdctl,
    etcdutl: process.env["ETCDUTL_BIN"] || own.etcdutl,
    version,
  };
}

/** Whether a Go-built version's binaries exist and were built from the current pin. */
export function isBuilt(version) {
  const dir = cacheDir(version);
  const stamp = path.join(dir, "pin.sha256");
  return (
    TOOLS.every((t) => fs.existsSync(path.join(dir, t))) &&
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, "utf8").trim() === pinHash(version)
  );
}

/**
 * Builds etcd, etcdctl and etcdutl of a Go-built version into .cache/etcd/<version>/ unless they are there for the current
 * pin. Needs `go` on PATH (or `$GO_BIN`) and the Go module proxy. Throws with go's output when the build fails.
 * @param {string} version
 * @param {(line: string) => void} [log]
 */
export function buildEtcd(version, log = (line) => process.stderr.write(`${line}\n`)) {
  const spec = ETCD_VERSIONS[checkVersion(version)];
  if (!spec.modfile) throw new Error(`etcd ${version} is not built from Go modules`);
  if (isBuilt(version)) return;
  const go = process.env["GO_BIN"] || "go";
  const dir = cacheDir(version);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, "pin.sha256"), { force: true });
  log(`etcd-connect: building etcd ${pinnedRelease(version)} from Go modules into ${path.relative(root, dir)}/ (once per pin)...`);
  const env = { ...process.env, GOFLAGS: `-modfile=${spec.modfile} -mod=readonly -buildvcs=false`, CGO_ENABLED: "0" };
  for (const [out, pkg] of [["etcd", "."], ["etcdctl", "go.etcd.io/etcd/etcdctl/v3"], ["etcdutl", "go.etcd.io/etcd/etcdutl/v3"]]) {
    const r = spawnSync(go, ["build", "-trimpath", "-o", path.join(dir, out), pkg], { cwd: serverDir, env, encoding: "utf8" });
    if (r.error) throw new Error(`could not run ${go} (install Go, e.g. apt-get install golang-go): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`building ${out} ${version} failed:\n${r.stderr}`);
  }
  fs.writeFileSync(path.join(dir, "pin.sha256"), `${pinHash(version)}\n`);
}

/**
 * Server arguments for `version`: flags written under their current name are renamed to what that version knows.
 * Both `--flag value` and `--flag=value` forms are handled.
 * @param {string} version
 * @param {string[]} args
 * @returns {string[]}
 */
export function flagsFor(version, args) {
  return args.map((arg) => {
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const renamed = RENAMED_FLAGS[name];
    if (!renamed || compareVersions(version, renamed.before) >= 0) return arg;
    return eq === -1 ? renamed.name : `${renamed.name}${arg.slice(eq)}`;
  });
}
