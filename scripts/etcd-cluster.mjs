// Launcher for throwaway, real etcd servers (one member or a 3-member cluster)
// used by the test harness and by `npm start`.
//
// Dependency-free on purpose: only `node:` imports, so it works before
// node_modules exists. Types are given in JSDoc for allowJs/checkJs consumers.
//
// With `tls` (startCluster({ tls: { clientCertAuth: true } })), members serve
// clients on https:// with a throwaway CA and certificates made by `openssl`;
// cluster.tls holds the client credentials, which the launcher's own health
// checks, fetchMetrics and etcdctl use for that cluster's URLs.
//
// Membership changes, the way an operator makes them: cluster.prepareMember()
// returns a registered but unstarted Member (ports, data dir, peerUrl and
// clientUrl fixed); the caller runs `etcdctl member add NAME
// --peer-urls=PEER_URL [--learner]`, then member.join(initialCluster) starts
// etcd with `--initial-cluster-state existing`. After `etcdctl member remove`
// etcd exits by itself (member.running turns false); cluster.forget(member)
// drops it from members/endpoints. stop() and the cleanup layers below cover
// every member ever prepared.
//
// Cleanup is layered:
//   1. Cluster#stop() / Member#stop() (graceful, awaited);
//   2. a process "exit" handler that SIGKILLs every member still running and
//      removes data dirs synchronously;
//   3. optional SIGINT/SIGTERM handlers (installSignalHandlers: true);
//   4. a tiny watchdog child process (one per host process, on by default)
//      that SIGKILLs the members and removes the data dirs when the host dies
//      without running its exit handlers (e.g. a vitest fork worker that is
//      terminated with SIGTERM or SIGKILL).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { etcdBinaries, flagsFor, versionOfBinary } from "./etcd-versions.mjs";

/**
 * @typedef {object} StartClusterOptions
 * @property {1 | 3 | undefined} [size] Number of members (default 1).
 * @property {string | undefined} [etcdBin] etcd binary (default: `$ETCD_BIN`, else the binary of `$ETCD_VERSION`, else
 *   of 3.6; see etcd-versions.mjs). Flags in extraArgs/memberArgs are written under their current names and renamed
 *   for older versions there.
 * @property {string[] | undefined} [extraArgs] Appended to every member's arguments.
 * @property {((index: number) => string[]) | undefined} [memberArgs] Per-member extra arguments (after extraArgs).
 * @property {string | undefined} [dataDirRoot] Directory for data dirs and logs (default: fresh mkdtemp under os.tmpdir()).
 *   If given, it is created if missing; stop() removes what the launcher put in it, and the directory
 *   itself only if the launcher created it or it is left empty.
 * @property {number | undefined} [startTimeoutMs] Time for the cluster to become healthy, per attempt (default 20000).
 * @property {string | undefined} [logPrefix] If set, the launcher reports progress (start, retry, stop) on stderr
 *   with this prefix; etcd's own output always goes to the member's log file. Default: silent.
 * @property {boolean | undefined} [installSignalHandlers] Install SIGINT/SIGTERM handlers that stop every cluster
 *   and exit (once per process). For `npm start`; tests should not use it.
 * @property {boolean | undefined} [watchdog] Start the watchdog child process that cleans up if this process dies
 *   abruptly (default true, or false when `$ETCD_NO_WATCHDOG=1`).
 * @property {ClusterTlsOptions | undefined} [tls] Serve clients over HTTPS (peers stay plain HTTP): a throwaway CA,
 *   server and client certificate are generated with `openssl` (`$OPENSSL_BIN` or `openssl` on PATH) in the data
 *   dir root, once per cluster. Default: plain HTTP.
 */

/**
 * @typedef {object} ClusterTlsOptions
 * @property {boolean | undefined} [clientCertAuth] Pass `--client-cert-auth` and `--trusted-ca-file`: etcd then
 *   refuses clients (including `/health` and `/metrics` requests) without a certificate signed by the cluster's
 *   CA. Default false: no client certificate needed (etcd 3.4 would require one with `--trusted-ca-file` alone,
 *   so that flag is left out too).
 */

/**
 * Client-side TLS material of a cluster started with `tls` (also the launcher's own credentials for health checks,
 * /metrics and etcdctl). The server certificate (CN localhost, subjectAltName IP:127.0.0.1 and DNS:localhost,
 * serverAuth + clientAuth) is not included.
 * @typedef {object} ClusterTls
 * @property {string} caFile Path of the CA certificate (PEM) that signed the server and client certificates (and
 *   the members' `--trusted-ca-file` with clientCertAuth).
 * @property {string} certFile Path of the client certificate (PEM, CN etcd-connect-test-client, clientAuth).
 * @property {string} keyFile Path of the client certificate's private key (PEM, EC P-256).
 * @property {string} ca The CA certificate (PEM text).
 * @property {string} cert The client certificate (PEM text).
 * @property {string} key The client key (PEM text).
 * @property {boolean} clientCertAuth Whether the members require a client certificate.
 */

/**
 * TLS settings for the launcher's HTTPS requests (isHealthy, fetchMetrics). A ClusterTls fits.
 * @typedef {object} HttpsClientOptions
 * @property {string | Buffer | undefined} [ca]
 * @property {string | Buffer | undefined} [cert]
 * @property {string | Buffer | undefined} [key]
 */

/**
 * etcdctl's TLS flags (`--cacert`, `--cert`, `--key`), each only when given. A ClusterTls fits.
 * @typedef {object} EtcdctlTlsOptions
 * @property {string | undefined} [caFile]
 * @property {string | undefined} [certFile]
 * @property {string | undefined} [keyFile]
 */

/**
 * @typedef {object} EtcdctlOptions
 * @property {string | Buffer | undefined} [input] Written to etcdctl's stdin.
 * @property {NodeJS.ProcessEnv | undefined} [env] Extra environment variables.
 * @property {number | undefined} [timeoutMs] Kill etcdctl (SIGKILL) and reject after this long (default 15000).
 * @property {EtcdctlTlsOptions | undefined} [tls] Adds `--cacert`/`--cert`/`--key`. Default: for `https://`
 *   endpoints of a running cluster started by this launcher, that cluster's files; otherwise none.
 */

const DEFAULT_OPENSSL_BIN = "openssl";
const MAX_START_ATTEMPTS = 5;
const STOP_KILL_AFTER_MS = 5000;
const LOG_TAIL_LINES = 30;

// ---------------------------------------------------------------------------
// Process-wide registry used by the exit handler, signal handlers and watchdog.

/** @type {Set<Member>} members whose process is running */
const liveMembers = new Set();
/** @type {Set<Cluster>} clusters not yet stopped */
const liveClusters = new Set();
/** @type {Map<string, boolean>} data dir roots to remove -> remove the root itself */
const liveRoots = new Map();
/** @type {Map<string, ClusterTls>} origin (`https://127.0.0.1:PORT`) of a running TLS member -> its cluster's TLS */
const knownTls = new Map();
let exitHandlerInstalled = false;
let signalHandlersInstalled = false;

function installExitHandler() {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", () => {
    for (const m of liveMembers) {
      const pid = m.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    liveMembers.clear();
    for (const [root, removeRoot] of liveRoots) removeRootSync(root, removeRoot);
    liveRoots.clear();
  });
}

function installSignalHandlersOnce() {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  let stopping = false;
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    const code = 128 + (os.constants.signals[signal] ?? 15);
    if (stopping) {
      // Second signal: give up on graceful shutdown; the exit handler SIGKILLs.
      process.exit(code);
    }
    stopping = true;
    Promise.allSettled([...liveClusters].map((c) => c.stop())).finally(() => process.exit(code));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/**
 * Blocks until every thread of `pid` is in the stopped state (Linux /proc), at most ~2 s.
 * @param {number} pid
 */
function waitStoppedSync(pid) {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 400; i++) {
    let allStopped = true;
    try {
      for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
        const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if (state !== "T" && state !== "t") allStopped = false;
      }
    } catch {
      return; // no /proc, or the process is gone
    }
    if (allStopped) return;
    Atomics.wait(nap, 0, 0, 5);
  }
}

/**
 * @param {string} root
 * @param {boolean} removeRoot
 */
function removeRootSync(root, removeRoot) {
  try {
    if (removeRoot) {
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
    }
    // When the root was supplied by the caller, members' dirs and logs are
    // removed by the cluster itself; only an empty root goes.
    else fs.rmdirSync(root);
  } catch {
    // best effort
  }
}

// ---------------------------------------------------------------------------
// Watchdog: a child node process reading commands on stdin. When stdin hits
// EOF (this process exited or died) it SIGKILLs the registered PIDs (after
// checking /proc/PID/cmdline still mentions the member's data dir, to avoid
// hitting a recycled PID) and removes the registered dirs.

const WATCHDOG_SOURCE = `
const fs = require("node:fs");
const pids = new Map();
const dirs = new Set();
let buf = "";
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const sp = line.indexOf(" ");
    const cmd = line.slice(0, sp);
    const arg = line.slice(sp + 1);
    if (cmd === "pid") {
      const sp2 = arg.indexOf(" ");
      pids.set(Number(arg.slice(0, sp2)), arg.slice(sp2 + 1));
    } else if (cmd === "unpid") pids.delete(Number(arg));
    else if (cmd === "dir") dirs.add(arg);
    else if (cmd === "undir") dirs.delete(arg);
  }
});
const cleanup = () => {
  for (const [pid, marker] of pids) {
    let ok = true;
    try {
      ok = fs.readFileSync("/proc/" + pid + "/cmdline", "utf8").includes(marker);
    } catch (e) {
      ok = !(e && e.code === "ENOENT" && fs.existsSync("/proc/self"));
    }
    if (ok) { try { process.kill(pid, "SIGKILL"); } catch {} }
  }
  for (const d of dirs) {
    try { fs.rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
  }
  process.exit(0);
};
process.stdin.on("end", cleanup);
process.stdin.on("error", cleanup);
process.on("SIGTERM", cleanup);
`;

/** @type {import("node:child_process").ChildProcess | undefined} */
let watchdogProc;
let watchdogFailed = false;

/** @param {boolean} enabled */
function ensureWatchdog(enabled) {
  if (!enabled || watchdogProc || watchdogFailed) return;
  try {
    const child = spawn(process.execPath, ["-e", WATCHDOG_SOURCE], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: false,
      env: { PATH: process.env["PATH"] ?? "" },
    });
    child.on("error", () => {
      watchdogFailed = true;
      watchdogProc = undefined;
    });
    child.on("exit", () => {
      if (watchdogProc === child) watchdogProc = undefined;
    });
    child.stdin?.on("error", () => {});
    child.unref();
    const stdin = /** @type {any} */ (child.stdin);
    stdin?.unref?.();
    watchdogProc = child;
  } catch {
    watchdogFailed = true;
  }
}

/** @param {string} line */
function tellWatchdog(line) {
  const stdin = watchdogProc?.stdin;
  if (stdin && !stdin.destroyed && stdin.writable) {
    try {
      stdin.write(line + "\n");
    } catch {
      // ignore
    }
  }
}

// ---------------------------------------------------------------------------
// Small utilities

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Picks `count` distinct free loopback ports (all listeners are held open
 * until every port is assigned, so they are distinct within one call).
 * @param {number} count
 * @returns {Promise<number[]>}
 */
export async function pickFreePorts(count) {
  /** @type {net.Server[]} */
  const servers = [];
  try {
    /** @type {number[]} */
    const ports = [];
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve(undefined));
      });
      const addr = srv.address();
      if (addr === null || typeof addr === "string") throw new Error("unexpected server address");
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/**
 * Last `lines` lines of a file ("" if unreadable).
 * @param {string} file
 * @param {number} [lines]
 * @returns {string}
 */
export function tailFile(file, lines = LOG_TAIL_LINES) {
  try {
    const text = fs.readFileSync(file, "utf8");
    const all = text.split("\n");
    if (all.length > 0 && all[all.length - 1] === "") all.pop();
    return all.slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * TLS of the running launcher-started member serving `url` (an `https://` URL), if any.
 * @param {string} url
 * @returns {ClusterTls | undefined}
 */
function knownTlsOf(url) {
  if (knownTls.size === 0 || !url.startsWith("https:")) return undefined;
  try {
    return knownTls.get(new URL(url).origin);
  } catch {
    return undefined;
  }
}

/**
 * GET a URL with node:http, or node:https for `https://` URLs (with `tls`, else the credentials of the
 * launcher-started cluster serving it, else Node's defaults).
 * @param {string} url
 * @param {number} timeoutMs
 * @param {HttpsClientOptions} [tls]
 * @returns {Promise<{ status: number, body: string }>}
 */
function httpGet(url, timeoutMs, tls) {
  return new Promise((resolve, reject) => {
    /** @type {import("node:https").RequestOptions} */
    const options = { agent: false, timeout: timeoutMs };
    const secure = url.startsWith("https:");
    if (secure) {
      const t = tls ?? knownTlsOf(url);
      if (t?.ca !== undefined) options.ca = t.ca;
      if (t?.cert !== undefined) options.cert = t.cert;
      if (t?.key !== undefined) options.key = t.key;
    }
    /** @param {import("node:http").IncomingMessage} res */
    const onResponse = (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    };
    const req = secure ? https.get(url, options, onResponse) : http.get(url, options, onResponse);
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/**
 * One `GET {clientUrl}/health` probe: true iff the answer is `{"health":"true"}`.
 * Never throws. For `https://` URLs, `tls` defaults to the credentials of the
 * launcher-started cluster serving that URL.
 * @param {string} clientUrl
 * @param {number} [timeoutMs]
 * @param {HttpsClientOptions} [tls]
 * @returns {Promise<boolean>}
 */
export async function isHealthy(clientUrl, timeoutMs = 2000, tls) {
  try {
    const { status, body } = await httpGet(`${clientUrl}/health`, timeoutMs, tls);
    if (status !== 200) return false;
    return JSON.parse(body).health === "true";
  } catch {
    return false;
  }
}

/**
 * Text of `GET {clientUrl}/metrics` (Prometheus exposition format; etcd 3.4
 * serves it on the client URL). For `https://` URLs, `tls` defaults to the
 * credentials of the launcher-started cluster serving that URL.
 * @param {string} clientUrl
 * @param {number} [timeoutMs]
 * @param {HttpsClientOptions} [tls]
 * @returns {Promise<string>}
 */
export async function fetchMetrics(clientUrl, timeoutMs = 5000, tls) {
  const { status, body } = await httpGet(`${clientUrl.replace(/\/+$/, "")}/metrics`, timeoutMs, tls);
  if (status !== 200) throw new Error(`GET ${clientUrl}/metrics: HTTP ${status}: ${body.slice(0, 200)}`);
  return body;
}

/**
 * Parses a Prometheus label set body (without braces).
 * @param {string} s
 * @returns {Record<string, string>}
 */
function parseLabels(s) {
  /** @type {Record<string, string>} */
  const out = {};
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === "," || s[i] === " ")) i++;
    if (i >= s.length) break;
    const eq = s.indexOf("=", i);
    if (eq < 0) break;
    const key = s.slice(i, eq).trim();
    i = eq + 1;
    if (s[i] !== '"') break;
    i++;
    let val = "";
    while (i < s.length && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < s.length) {
        const n = s[i + 1];
        val += n === "n" ? "\n" : n;
        i += 2;
      } else {
        val += s[i++];
      }
    }
    i++; // closing quote
    out[key] = val;
  }
  return out;
}

/**
 * Value of a metric in Prometheus text. Sums every series named `name` whose
 * labels include all of `labels` (so with no labels, all series of that name
 * are summed). Returns 0 if no series matches.
 * @param {string} text
 * @param {string} name
 * @param {Record<string, string>} [labels]
 * @returns {number}
 */
export function metricValue(text, name, labels) {
  let sum = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || !line.startsWith(name)) continue;
    const next = line[name.length];
    /** @type {Record<string, string>} */
    let lbls = {};
    let rest;
    if (next === "{") {
      const close = line.lastIndexOf("}");
      if (close < 0) continue;
      lbls = parseLabels(line.slice(name.length + 1, close));
      rest = line.slice(close + 1);
    } else if (next === " " || next === "\t") {
      rest = line.slice(name.length);
    } else {
      continue;
    }
    if (labels && !Object.entries(labels).every(([k, v]) => lbls[k] === v)) continue;
    const valueStr = rest.trim().split(/\s+/)[0];
    const v = valueStr === "+Inf" ? Infinity : valueStr === "-Inf" ? -Infinity : Number(valueStr);
    if (!Number.isNaN(v)) sum += v;
  }
  return sum;
}

/**
 * Runs etcdctl (`$ETCDCTL_BIN`, else the etcdctl of `$ETCD_VERSION`: see etcd-versions.mjs) with ETCDCTL_API=3 and
 * `--endpoints=<comma list>`; resolves with stdout, rejects (message includes
 * stderr) on a non-zero exit or timeout. With `options.tls` (by default the TLS
 * files of the launcher-started cluster serving an `https://` endpoint), adds
 * `--cacert`, `--cert` and `--key` before `args`.
 * @param {string | string[]} endpoints
 * @param {string[]} args
 * @param {EtcdctlOptions} [options]
 * @returns {Promise<string>}
 */
export function etcdctl(endpoints, args, options = {}) {
  const list = Array.isArray(endpoints) ? endpoints : endpoints.split(",");
  const eps = list.join(",");
  let tls = options.tls;
  for (let i = 0; tls === undefined && i < list.length; i++) tls = knownTlsOf(/** @type {string} */ (list[i]).trim());
  /** @type {string[]} */
  const tlsArgs = [];
  if (tls?.caFile !== undefined) tlsArgs.push(`--cacert=${tls.caFile}`);
  if (tls?.certFile !== undefined) tlsArgs.push(`--cert=${tls.certFile}`);
  if (tls?.keyFile !== undefined) tlsArgs.push(`--key=${tls.keyFile}`);
  return runTool("etcdctl", etcdBinaries().etcdctl, [`--endpoints=${eps}`, ...tlsArgs, ...args], {
    ...options,
    env: { ...options.env, ETCDCTL_API: "3" },
  });
}

/**
 * Runs etcd's offline tool (`$ETCDUTL_BIN`, else etcdutl of `$ETCD_VERSION`; on 3.4, whose etcdctl still has the
 * offline commands, etcdctl), e.g. `["snapshot", "status", file, "-w", "json"]`. Resolves with stdout.
 * @param {string[]} args
 * @param {EtcdctlOptions} [options] `tls` is ignored.
 * @returns {Promise<string>}
 */
export function etcdutl(args, options = {}) {
  return runTool("etcdutl", etcdBinaries().etcdutl, args, { ...options, env: { ...options.env, ETCDCTL_API: "3" } });
}

/**
 * The environment for etcd and its tools: ours without the `ETCD_*` and `ETCDCTL_*` variables, which etcd and
 * etcdctl read as flags (`ETCD_VERSION=3.4` would be `--version=3.4`, a parse error in 3.4). Every flag the
 * launcher means to pass is on the command line.
 * @param {NodeJS.ProcessEnv} [extra]
 * @returns {NodeJS.ProcessEnv}
 */
function serverEnv(extra = {}) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^ETCD(CTL|UTL)?_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Runs one of etcd's command-line tools to completion; resolves with stdout, rejects (message includes stderr) on
 * a non-zero exit or timeout.
 * @param {string} name
 * @param {string} bin
 * @param {string[]} fullArgs
 * @param {EtcdctlOptions} options
 * @returns {Promise<string>}
 */
function runTool(name, bin, fullArgs, options) {
  const timeoutMs = options.timeoutMs ?? 15000;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, fullArgs, {
      stdio: ["pipe", "pipe", "pipe"],
      env: serverEnv(options.env),
    });
    /** @type {Buffer[]} */
    const out = [];
    /** @type {Buffer[]} */
    const err = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (c) => out.push(c));
    child.stderr.on("data", (c) => err.push(c));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${name} ${fullArgs.join(" ")}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code === 0 && !timedOut) resolve(stdout);
      else {
        const why = timedOut ? `timed out after ${timeoutMs} ms` : code !== null ? `exit code ${code}` : `signal ${signal}`;
        reject(new Error(`${name} ${fullArgs.join(" ")}: ${why}${stderr ? `: ${stderr}` : ""}`));
      }
    });
    child.stdin.on("error", () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

// ---------------------------------------------------------------------------
// Member

/** Error raised when a member could not bind its ports (start is retried). */
class AddressInUseError extends Error {}

/**
 * One etcd server process. Construct via startCluster() or Cluster#prepareMember() (then start it with join()).
 */
export class Member {
  /** @type {string} */ name;
  /** @type {number} */ index;
  /** @type {string} */ clientUrl;
  /** @type {string} */ peerUrl;
  /** @type {number} */ clientPort;
  /** @type {number} */ peerPort;
  /** @type {string} */ dataDir;
  /** @type {string} */ logFile;
  /** @type {string} */ etcdBin;
  /** Full argument list passed to etcd (same for every (re)start). @type {string[]} */ args;
  /** The cluster's TLS (clientUrl is then `https://`), or undefined. @type {ClusterTls | undefined} */ tls;

  /** @type {import("node:child_process").ChildProcess | undefined} */
  #child;
  /** @type {Promise<void> | undefined} resolves when #child has exited */
  #exited;
  #paused = false;
  /** @type {string | undefined} how the last process ended */
  #lastExit;
  /** @type {string | undefined} */
  #logPrefix;
  /** prepared by Cluster#prepareMember() and not joined yet */
  #prepared = false;

  /**
   * @param {{ name: string, index: number, clientPort: number, peerPort: number, dataDir: string,
   *   logFile: string, etcdBin: string, args: string[], logPrefix?: string | undefined,
   *   tls?: ClusterTls | undefined, prepared?: boolean | undefined }} init
   */
  constructor(init) {
    this.name = init.name;
    this.index = init.index;
    this.clientPort = init.clientPort;
    this.peerPort = init.peerPort;
    this.tls = init.tls;
    this.clientUrl = `${init.tls ? "https" : "http"}://127.0.0.1:${init.clientPort}`;
    this.peerUrl = `http://127.0.0.1:${init.peerPort}`;
    this.dataDir = init.dataDir;
    this.logFile = init.logFile;
    this.etcdBin = init.etcdBin;
    this.args = init.args;
    this.#logPrefix = init.logPrefix;
    this.#prepared = init.prepared === true;
  }

  /**
   * Whether this member was made by Cluster#prepareMember() and has not joined yet (start it with join(); start()
   * refuses). @returns {boolean}
   */
  get prepared() {
    return this.#prepared;
  }

  /**
   * How the last process ended (e.g. `exited (code 0, signal null)` when etcd stopped by itself after being removed
   * from the cluster), or undefined if none has ended yet. @returns {string | undefined}
   */
  get lastExit() {
    return this.#lastExit;
  }

  /** PID of the running process, or undefined when stopped. @returns {number | undefined} */
  get pid() {
    return this.#child ? this.#child.pid : undefined;
  }

  /**
   * Whether the process is running (also true while paused). Turns false as soon as the process exits, also when
   * etcd exits by itself (e.g. after `etcdctl member remove`). @returns {boolean}
   */
  get running() {
    return this.#child !== undefined;
  }

  /** Whether the process is SIGSTOPped. @returns {boolean} */
  get paused() {
    return this.#paused;
  }

  /** Last lines of the member's log. @param {number} [lines] @returns {string} */
  logTail(lines = LOG_TAIL_LINES) {
    return tailFile(this.logFile, lines);
  }

  /**
   * Spawns the etcd process without waiting for health (used internally and
   * by start()).
   * @returns {void}
   */
  spawnProcess() {
    if (this.#child) throw new Error(`${this.name} is already running (pid ${this.#child.pid})`);
    if (this.#prepared) {
      throw new Error(`${this.name} is a prepared member that has not joined yet: use join()`);
    }
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
    fs.appendFileSync(this.logFile, `--- launcher: starting ${this.etcdBin} ${this.args.join(" ")}\n`);
    const fd = fs.openSync(this.logFile, "a");
    /** @type {import("node:child_process").ChildProcess} */
    let child;
    try {
      child = spawn(this.etcdBin, this.args, {
        stdio: ["ignore", fd, fd],
        detached: false,
        env: serverEnv(),
      });
    } finally {
      fs.closeSync(fd);
    }
    this.#child = child;
    this.#paused = false;
    /** @type {(v: void) => void} */
    let done = () => {};
    this.#exited = new Promise((r) => (done = r));
    let finished = false;
    /** @param {string} how */
    const onGone = (how) => {
      if (finished) return;
      finished = true;
      if (child.pid !== undefined) tellWatchdog(`unpid ${child.pid}`);
      if (this.#child === child) {
        this.#child = undefined;
        this.#paused = false;
      }
      liveMembers.delete(this);
      this.#lastExit = how;
      try {
        fs.appendFileSync(this.logFile, `--- launcher: ${this.name} ${how}\n`);
      } catch {
        // data dir may be gone
      }
      done();
    };
    child.on("error", (e) => onGone(`failed to spawn: ${e.message}`));
    child.on("exit", (code, signal) => onGone(`exited (code ${code}, signal ${signal})`));
    if (child.pid !== undefined) {
      liveMembers.add(this);
      tellWatchdog(`pid ${child.pid} ${this.dataDir}`);
    }
    this.#say(`started ${this.name} pid ${child.pid} client ${this.clientUrl}`);
  }

  /**
   * (Re)starts the process with the same name, ports, data dir and arguments.
   * By default waits until `/health` is true (pass `waitHealthy: false` when
   * the member cannot become healthy alone, e.g. the first of several stopped
   * members of a cluster).
   * @param {{ waitHealthy?: boolean, timeoutMs?: number }} [options]
   * @returns {Promise<void>}
   */
  async start(options = {}) {
    if (this.#prepared) throw new Error(`${this.name} is a prepared member that has not joined yet: use join()`);
    this.spawnProcess();
    if (options.waitHealthy !== false) await this.waitHealthy(options.timeoutMs);
  }

  /**
   * Starts a member made by Cluster#prepareMember() as a new member of the running cluster, the way an operator
   * does after `etcdctl member add NAME --peer-urls=PEER_URL [--learner]`: etcd is run with
   * `--initial-cluster <initialCluster> --initial-cluster-state existing` (those stay in `args`, so later
   * stop()/start() restart it like any member, from its data dir). `initialCluster` is the `name=peerURL,...` list
   * that `member add` prints as ETCD_INITIAL_CLUSTER (or built by the caller); it must contain
   * `NAME=PEER_URL` of this member.
   *
   * Waits until `/health` answers `{"health":"true"}`, voting member or learner alike: in etcd 3.4 that needs a
   * known leader and a quorum read (v2 QGET, forwarded to the leader by a learner) that this member has applied, so
   * the member has caught up with the cluster's log up to that point. Rejects early if etcd exits (e.g. the member
   * was not added first: "member count is unequal"), and after `timeoutMs` (default 30000); the error includes the
   * log tail. On failure the process is killed, the data dir wiped and the member is prepared again, so join() can
   * be retried.
   * @param {string} initialCluster
   * @param {{ timeoutMs?: number }} [options]
   * @returns {Promise<void>}
   */
  async join(initialCluster, options = {}) {
    if (!this.#prepared) {
      throw new Error(`${this.name} cannot join: not a prepared member (Cluster#prepareMember()) or already joined`);
    }
    const own = `${this.name}=${this.peerUrl}`;
    if (typeof initialCluster !== "string" || !initialCluster.split(",").some((e) => e.trim() === own)) {
      throw new TypeError(`${this.name}: initialCluster must contain ${own}, got ${JSON.stringify(initialCluster)}`);
    }
    const prepared = this.args;
    const at = prepared.indexOf("--initial-cluster-state");
    this.args = [...prepared.slice(0, at), "--initial-cluster", initialCluster, ...prepared.slice(at)];
    this.#prepared = false;
    try {
      this.spawnProcess();
      await this.waitHealthy(options.timeoutMs ?? 30000);
    } catch (e) {
      await this.stop("SIGKILL");
      this.args = prepared;
      this.#prepared = true;
      fs.rmSync(this.dataDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
      throw e;
    }
  }

  /**
   * Sends `signal` (default SIGTERM; a paused member is resumed first) and
   * waits for the process to exit; escalates to SIGKILL after `killAfterMs`
   * (default 5000). No-op if not running.
   * @param {NodeJS.Signals} [signal]
   * @param {{ killAfterMs?: number }} [options]
   * @returns {Promise<void>}
   */
  async stop(signal = "SIGTERM", options = {}) {
    const child = this.#child;
    const exited = this.#exited;
    if (!child || !exited) return;
    const killAfterMs = options.killAfterMs ?? STOP_KILL_AFTER_MS;
    if (this.#paused && signal !== "SIGKILL") this.resume();
    this.#signal(child, signal);
    if (signal === "SIGKILL") {
      await exited;
      return;
    }
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const escalated = new Promise((r) => {
      timer = setTimeout(() => {
        this.#say(`${this.name} did not exit on ${signal} within ${killAfterMs} ms; SIGKILL`);
        this.#signal(child, "SIGKILL");
        r(undefined);
      }, killAfterMs);
    });
    await Promise.race([exited, escalated]);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILLs the process and waits for it to exit. @returns {Promise<void>} */
  kill() {
    return this.stop("SIGKILL");
  }

  /** SIGSTOPs the process (it keeps its ports but stops answering). @returns {void} */
  pause() {
    const child = this.#child;
    if (!child) throw new Error(`${this.name} is not running`);
    this.#signal(child, "SIGSTOP");
    this.#paused = true;
    // SIGSTOP takes effect asynchronously: on a busy machine etcd's threads can
    // still answer a request sent right after kill(). Wait until every thread
    // is stopped, so a test's next request really meets a hung member.
    if (child.pid !== undefined) waitStoppedSync(child.pid);
  }

  /** SIGCONTs a paused process. @returns {void} */
  resume() {
    const child = this.#child;
    if (!child) throw new Error(`${this.name} is not running`);
    this.#signal(child, "SIGCONT");
    this.#paused = false;
  }

  /**
   * Polls `GET {clientUrl}/health` until `{"health":"true"}`. Rejects early if
   * the process exits, and on timeout (default 20000 ms); the error includes
   * the last 30 lines of the member's log.
   * @param {number} [timeoutMs]
   * @returns {Promise<void>}
   */
  async waitHealthy(timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.#child) {
        throw this.#startError(`${this.name} is not running${this.#lastExit ? ` (${this.#lastExit})` : ""}`);
      }
      const remaining = deadline - Date.now();
      if (await isHealthy(this.clientUrl, Math.max(100, Math.min(2000, remaining)), this.tls)) return;
      if (!this.#child) throw this.#startError(`${this.name} ${this.#lastExit ?? "exited"} before becoming healthy`);
      if (Date.now() >= deadline) {
        throw this.#startError(`${this.name} (${this.clientUrl}) not healthy after ${timeoutMs} ms`);
      }
      await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
  }

  /** @param {string} message */
  #startError(message) {
    const tail = this.logTail();
    const text = `${message}\n--- last ${LOG_TAIL_LINES} lines of ${this.logFile} ---\n${tail}`;
    if (/address already in use/i.test(tail)) return new AddressInUseError(text);
    return new Error(text);
  }

  /**
   * @param {import("node:child_process").ChildProcess} child
   * @param {NodeJS.Signals} signal
   */
  #signal(child, signal) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // exited meanwhile
    }
  }

  /** @param {string} msg */
  #say(msg) {
    if (this.#logPrefix !== undefined) process.stderr.write(`${this.#logPrefix} ${msg}\n`);
  }
}

// ---------------------------------------------------------------------------
// TLS material

/** Subdirectory of the data dir root holding the generated certificates. */
const TLS_DIR = "tls";

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/**
 * Runs openssl in `cwd`; rejects with its stderr on failure.
 * @param {string[]} args
 * @param {string} cwd
 * @returns {Promise<void>}
 */
function openssl(args, cwd) {
  const bin = process.env["OPENSSL_BIN"] || DEFAULT_OPENSSL_BIN;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    /** @type {Buffer[]} */
    const err = [];
    child.stderr.on("data", (c) => err.push(c));
    child.on("error", (e) => reject(new Error(`${bin} ${args[0]}: ${e.message} (set OPENSSL_BIN)`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else {
        const stderr = Buffer.concat(err).toString("utf8").trim();
        reject(new Error(`${bin} ${args.join(" ")}: ${code !== null ? `exit code ${code}` : `signal ${signal}`}: ${stderr}`));
      }
    });
  });
}

/**
 * Generates a CA, a server certificate (for 127.0.0.1 and localhost) and a client certificate, EC P-256, valid
 * for one day, in `dir` (created). Five openssl calls, about 50 ms in all.
 * @param {string} dir
 * @param {boolean} clientCertAuth
 * @returns {Promise<{ client: ClusterTls, serverCertFile: string, serverKeyFile: string }>}
 */
async function generateTls(dir, clientCertAuth) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, "openssl.cnf"), OPENSSL_CONFIG);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const serial = () => `0x${randomBytes(8).toString("hex")}`;
  await openssl(
    ["req", "-x509", "-new", ...newKey, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
      "-subj", "/CN=etcd-connect test CA", "-set_serial", serial(),
      "-config", "openssl.cnf", "-extensions", "ca_ext"],
    dir,
  );
  /** @param {string} name @param {string} cn @param {string} ext */
  const issue = async (name, cn, ext) => {
    await openssl(
      ["req", "-new", ...newKey, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`,
        "-config", "openssl.cnf"],
      dir,
    );
    await openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-set_serial", serial(),
        "-days", "1", "-out", `${name}.pem`, "-extfile", "openssl.cnf", "-extensions", ext],
      dir,
    );
  };
  await Promise.all([
    issue("server", "localhost", "server_ext"),
    issue("client", "etcd-connect-test-client", "client_ext"),
  ]);
  const file = (/** @type {string} */ name) => path.join(dir, name);
  const read = (/** @type {string} */ name) => fs.readFileSync(file(name), "utf8");
  return {
    client: {
      caFile: file("ca.pem"),
      certFile: file("client.pem"),
      keyFile: file("client-key.pem"),
      ca: read("ca.pem"),
      cert: read("client.pem"),
      key: read("client-key.pem"),
      clientCertAuth,
    },
    serverCertFile: file("server.pem"),
    serverKeyFile: file("server-key.pem"),
  };
}

/**
 * Registers the TLS of `members`' client URLs, so that isHealthy, fetchMetrics and etcdctl find it from the URL
 * alone (forgetTls undoes it).
 * @param {Member[]} members
 */
function rememberTls(members) {
  for (const m of members) if (m.tls) knownTls.set(new URL(m.clientUrl).origin, m.tls);
}

/** @param {Member[]} members */
function forgetTls(members) {
  for (const m of members) {
    if (!m.tls) continue;
    const origin = new URL(m.clientUrl).origin;
    if (knownTls.get(origin) === m.tls) knownTls.delete(origin);
  }
}

// ---------------------------------------------------------------------------
// Cluster

/**
 * What a cluster needs to make more members like its own (Cluster#prepareMember()).
 * @typedef {object} MemberSpec
 * @property {string} etcdBin
 * @property {string} version The binary's major.minor version, e.g. "3.6".
 * @property {"http" | "https"} scheme Client URL scheme.
 * @property {string} token `--initial-cluster-token`.
 * @property {string[]} commonArgs Arguments after the per-member URLs and cluster flags (tuning, logging, TLS,
 *   extraArgs), the same for every member.
 * @property {((index: number) => string[]) | undefined} memberArgs StartClusterOptions.memberArgs.
 */

/**
 * Options of Cluster#prepareMember().
 * @typedef {object} PrepareMemberOptions
 * @property {string | undefined} [name] Member name (letters, digits, `.`, `_`, `-`); default `m{n}`, the next
 *   index not taken by a name of this cluster.
 */

/** A set of etcd members. Construct via startCluster(). */
export class Cluster {
  /**
   * The members: those started by startCluster(), then those added by prepareMember() (also before they join),
   * minus those dropped with forget(). @type {Member[]}
   */
  members;
  /** Directory holding every member's data dir and log. @type {string} */ dataDirRoot;
  /**
   * Client TLS material (CA, client certificate and key: paths and PEM text) when started with `tls`, else
   * undefined. @type {ClusterTls | undefined}
   */
  tls;
  /** @type {boolean} */ #removeRoot;
  /** @type {string | undefined} */ #logPrefix;
  /** @type {MemberSpec | undefined} */ #spec;
  /** every member ever registered, including forgotten ones (stop() cleans them all up) @type {Member[]} */
  #all;
  #stopped = false;

  /**
   * @param {Member[]} members
   * @param {string} dataDirRoot
   * @param {boolean} removeRoot
   * @param {string | undefined} logPrefix
   * @param {ClusterTls | undefined} [tls]
   * @param {MemberSpec | undefined} [spec] Needed by prepareMember().
   */
  constructor(members, dataDirRoot, removeRoot, logPrefix, tls, spec) {
    this.members = members;
    this.dataDirRoot = dataDirRoot;
    this.tls = tls;
    this.#removeRoot = removeRoot;
    this.#logPrefix = logPrefix;
    this.#spec = spec;
    this.#all = [...members];
  }

  /** The members' etcd version, major.minor (e.g. "3.6"), as the binary reports it. @type {string | undefined} */
  get version() {
    return this.#spec?.version;
  }

  /**
   * Makes a new member of this cluster without starting it: free loopback client and peer ports (so `peerUrl` and
   * `clientUrl` are known up front), a data dir and log under `dataDirRoot`, the cluster's TLS and extra
   * arguments, and `--initial-cluster-state existing`. It is registered at once: it is in `members` and
   * `endpoints` (a test that sends requests to every endpoint should join it or forget() it first), and stop(),
   * the exit handler and the watchdog clean it up, joined or not. waitHealthy() skips it until it runs.
   *
   * The caller adds it through the API, e.g. `etcdctl member add NAME --peer-urls=PEER_URL [--learner]`, then
   * starts it with `member.join(initialCluster)`.
   * @param {PrepareMemberOptions} [options]
   * @returns {Promise<Member>}
   */
  async prepareMember(options = {}) {
    const spec = this.#spec;
    if (!spec) throw new Error("prepareMember: this cluster was not made by startCluster()");
    const name = options.name;
    if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new TypeError(`prepareMember: invalid member name ${JSON.stringify(name)}`);
    }
    /** @type {number[]} */
    let ports = [];
    // Ports of this cluster's stopped members are free too: do not hand them out again.
    const taken = () => new Set(this.#all.flatMap((m) => [m.clientPort, m.peerPort]));
    for (let i = 0; i < 10 && (ports.length === 0 || ports.some((p) => taken().has(p))); i++) {
      ports = await pickFreePorts(2);
    }
    if (ports.some((p) => taken().has(p))) throw new Error("prepareMember: no free ports");
    // Synchronous from here on, so concurrent calls get distinct names and indexes.
    if (this.#stopped) throw new Error("prepareMember: the cluster is stopped");
    const names = new Set(this.#all.map((m) => m.name));
    const index = this.#all.length;
    let memberName = name;
    if (memberName === undefined) {
      for (let n = index; memberName === undefined; n++) if (!names.has(`m${n}`)) memberName = `m${n}`;
    } else if (names.has(memberName) || memberName === TLS_DIR) {
      throw new Error(`prepareMember: name ${memberName} is already taken in this cluster`);
    }
    const [clientPort, peerPort] = /** @type {[number, number]} */ (ports);
    const clientUrl = `${spec.scheme}://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const dataDir = path.join(this.dataDirRoot, memberName);
    const logFile = path.join(this.dataDirRoot, `${memberName}.log`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(logFile, { force: true });
    const args = [
      "--name", memberName,
      "--data-dir", dataDir,
      "--listen-client-urls", clientUrl,
      "--advertise-client-urls", clientUrl,
      "--listen-peer-urls", peerUrl,
      "--initial-advertise-peer-urls", peerUrl,
      // join() inserts `--initial-cluster <list>` here.
      "--initial-cluster-state", "existing",
      "--initial-cluster-token", spec.token,
      ...spec.commonArgs,
      ...(spec.memberArgs ? spec.memberArgs(index) : []),
    ];
    const member = new Member({
      name: memberName, index, clientPort, peerPort, dataDir, logFile, etcdBin: spec.etcdBin, args,
      logPrefix: this.#logPrefix, tls: this.tls, prepared: true,
    });
    this.#all.push(member);
    this.members.push(member);
    rememberTls([member]);
    if (this.#logPrefix !== undefined) {
      process.stderr.write(`${this.#logPrefix} prepared ${memberName}: peer ${peerUrl} client ${clientUrl}\n`);
    }
    return member;
  }

  /**
   * Drops `member` from `members` and `endpoints`, e.g. after `etcdctl member remove` (etcd then exits by itself).
   * Returns whether it was listed. It stays registered for cleanup: stop() still stops it if it runs and removes
   * its data dir and log.
   * @param {Member} member
   * @returns {boolean}
   */
  forget(member) {
    const i = this.members.indexOf(member);
    if (i < 0) return false;
    this.members.splice(i, 1);
    return true;
  }

  /** Client URLs of all members, e.g. `http://127.0.0.1:PORT` (`https://` with TLS). @returns {string[]} */
  get endpoints() {
    return this.members.map((m) => m.clientUrl);
  }

  /**
   * etcdctl against every member (or `options.endpoints`), with the cluster's TLS files unless `options.tls`
   * is given.
   * @param {string[]} args
   * @param {EtcdctlOptions & { endpoints?: string | string[] | undefined }} [options]
   * @returns {Promise<string>}
   */
  etcdctl(args, options = {}) {
    const { endpoints, ...rest } = options;
    return etcdctl(endpoints ?? this.endpoints, args, { ...rest, tls: rest.tls ?? this.tls });
  }

  /**
   * Member by index; throws if out of range.
   * @param {number} i
   * @returns {Member}
   */
  member(i) {
    const m = this.members[i];
    if (!m) throw new RangeError(`no member ${i} (cluster of ${this.members.length})`);
    return m;
  }

  /** Whether stop() has been called. @returns {boolean} */
  get stopped() {
    return this.#stopped;
  }

  /**
   * Waits until every running member answers `/health` with true (members not running, such as prepared members
   * that have not joined or removed members that exited, are skipped).
   * @param {number} [timeoutMs] default 20000
   * @returns {Promise<void>}
   */
  async waitHealthy(timeoutMs = 20000) {
    await Promise.all(this.members.filter((m) => m.running).map((m) => m.waitHealthy(timeoutMs)));
  }

  /**
   * Stops every member, one at a time (resumes paused ones, SIGTERM, SIGKILL
   * after 5 s), and removes the data dirs and logs. Covers prepared members (joined or not), members that already
   * exited and forgotten members. Idempotent.
   * @returns {Promise<void>}
   */
  async stop() {
    // Members are stopped one after another, followers (and learners) first
    // and the leader last. On SIGTERM a 3.4 leader first hands leadership over
    // to the peer it has been connected to the longest, and that hangs until
    // the 5 s SIGKILL when the others cannot elect it (no quorum left): when
    // all members get SIGTERM at once, or when a leader of 4+ members is
    // stopped after half of them. A leader that sees no connected peer skips
    // the transfer, but it notices a peer is gone only when redialing it fails
    // (up to ~100 ms later), so the launcher waits for its
    // etcd_network_active_peers to drop to 0 first. Takes ~100 ms in all.
    // Marked stopped first, so that prepareMember() refuses from now on.
    const first = !this.#stopped;
    this.#stopped = true;
    const all = [...this.#all];
    for (const m of all) if (m.paused) m.resume();
    const running = all.filter((m) => m.running);
    const leader = await Promise.all(
      running.map((m) =>
        fetchMetrics(m.clientUrl, 1000, m.tls).then(
          (text) => metricValue(text, "etcd_server_is_leader") === 1,
          () => false,
        ),
      ),
    );
    for (const m of running.filter((_, i) => !leader[i])) await m.stop("SIGTERM");
    for (const m of running.filter((_, i) => leader[i])) {
      await waitNoActivePeers(m, 2000);
      await m.stop("SIGTERM");
    }
    for (const m of all) await m.stop("SIGTERM");
    if (!first) return;
    liveClusters.delete(this);
    forgetTls(all);
    if (!this.#removeRoot) {
      for (const m of all) {
        fs.rmSync(m.dataDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
        fs.rmSync(m.logFile, { force: true });
      }
      if (this.tls) fs.rmSync(path.join(this.dataDirRoot, TLS_DIR), { recursive: true, force: true });
    }
    removeRootSync(this.dataDirRoot, this.#removeRoot);
    liveRoots.delete(this.dataDirRoot);
    tellWatchdog(`undir ${this.dataDirRoot}`);
    if (this.#logPrefix !== undefined) process.stderr.write(`${this.#logPrefix} stopped cluster ${this.dataDirRoot}\n`);
  }
}

/**
 * Waits (at most `timeoutMs`) until a running member's /metrics shows no active peer connection; never throws.
 * @param {Member} m
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
async function waitNoActivePeers(m, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (m.running && Date.now() < deadline) {
    try {
      const text = await fetchMetrics(m.clientUrl, Math.max(100, deadline - Date.now()), m.tls);
      if (metricValue(text, "etcd_network_active_peers") === 0) return;
    } catch {
      return;
    }
    await sleep(20);
  }
}

/**
 * Starts a throwaway etcd cluster on free loopback ports and waits until
 * every member is healthy. Retries with new ports (up to 5 attempts) if a
 * member reports "address already in use".
 * @param {StartClusterOptions} [options]
 * @returns {Promise<Cluster>}
 */
export async function startCluster(options = {}) {
  const size = options.size ?? 1;
  if (size !== 1 && size !== 3) throw new Error(`size must be 1 or 3, got ${size}`);
  const etcdBin = options.etcdBin ?? etcdBinaries().etcd;
  const startTimeoutMs = options.startTimeoutMs ?? 20000;
  const logPrefix = options.logPrefix;
  const watchdog = options.watchdog ?? process.env["ETCD_NO_WATCHDOG"] !== "1";

  if (!fs.existsSync(etcdBin)) {
    throw new Error(`etcd binary not found: ${etcdBin} (npm test builds or installs it: see scripts/etcd-versions.mjs; or set ETCD_BIN)`);
  }
  const version = versionOfBinary(etcdBin);

  installExitHandler();
  if (options.installSignalHandlers) installSignalHandlersOnce();
  ensureWatchdog(watchdog);

  /** @type {string} */
  let root;
  /** @type {boolean} */
  let removeRoot;
  if (options.dataDirRoot !== undefined) {
    root = path.resolve(options.dataDirRoot);
    removeRoot = !fs.existsSync(root);
    fs.mkdirSync(root, { recursive: true });
  } else {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-"));
    removeRoot = true;
  }
  liveRoots.set(root, removeRoot);
  if (removeRoot) tellWatchdog(`dir ${root}`);

  // Gives up: removes everything this call put in the root.
  const abandon = () => {
    if (removeRoot) {
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
    } else {
      for (const n of ["m0", "m1", "m2"]) {
        fs.rmSync(path.join(root, n), { recursive: true, force: true });
        fs.rmSync(path.join(root, `${n}.log`), { force: true });
      }
      if (options.tls) fs.rmSync(path.join(root, TLS_DIR), { recursive: true, force: true });
      removeRootSync(root, false);
    }
    liveRoots.delete(root);
    tellWatchdog(`undir ${root}`);
  };

  /** @type {Awaited<ReturnType<typeof generateTls>> | undefined} */
  let tls;
  if (options.tls) {
    try {
      tls = await generateTls(path.join(root, TLS_DIR), options.tls.clientCertAuth === true);
    } catch (e) {
      abandon();
      throw e;
    }
  }
  const scheme = tls ? "https" : "http";
  /** @type {string[]} */
  const tlsArgs = tls
    ? [
        "--cert-file", tls.serverCertFile,
        "--key-file", tls.serverKeyFile,
        // etcd 3.4 requires and verifies client certificates as soon as --trusted-ca-file is given, with or
        // without --client-cert-auth, so without clientCertAuth the CA is not passed at all.
        ...(tls.client.clientCertAuth ? ["--trusted-ca-file", tls.client.caFile, "--client-cert-auth"] : []),
      ]
    : [];
  const commonArgs = [
    "--unsafe-no-fsync",
    "--snapshot-count", "100000",
    "--heartbeat-interval", "50",
    "--election-timeout", "500",
    "--logger", "zap",
    "--log-outputs", "stderr",
    ...tlsArgs,
    ...flagsFor(version, options.extraArgs ?? []),
  ];

  let lastError;
  for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
    const ports = await pickFreePorts(2 * size);
    /** @param {number} i @returns {number} */
    const clientPortOf = (i) => /** @type {number} */ (ports[2 * i]);
    /** @param {number} i @returns {number} */
    const peerPortOf = (i) => /** @type {number} */ (ports[2 * i + 1]);
    const token = `etcd-connect-${randomBytes(6).toString("hex")}`;
    const names = Array.from({ length: size }, (_, i) => `m${i}`);
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peerPortOf(i)}`).join(",");
    const members = names.map((name, i) => {
      const clientUrl = `${scheme}://127.0.0.1:${clientPortOf(i)}`;
      const peerUrl = `http://127.0.0.1:${peerPortOf(i)}`;
      const dataDir = path.join(root, name);
      const logFile = path.join(root, `${name}.log`);
      // A previous failed attempt may have left state behind.
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(logFile, { force: true });
      const args = [
        "--name", name,
        "--data-dir", dataDir,
        "--listen-client-urls", clientUrl,
        "--advertise-client-urls", clientUrl,
        "--listen-peer-urls", peerUrl,
        "--initial-advertise-peer-urls", peerUrl,
        "--initial-cluster", initialCluster,
        "--initial-cluster-state", "new",
        "--initial-cluster-token", token,
        ...commonArgs,
        ...(options.memberArgs ? flagsFor(version, options.memberArgs(i)) : []),
      ];
      return new Member({
        name, index: i, clientPort: clientPortOf(i), peerPort: peerPortOf(i),
        dataDir, logFile, etcdBin, args, logPrefix, tls: tls?.client,
      });
    });
    /** @type {MemberSpec} */
    const spec = { etcdBin, version, scheme, token, commonArgs, memberArgs: options.memberArgs };
    const cluster = new Cluster(members, root, removeRoot, logPrefix, tls?.client, spec);
    liveClusters.add(cluster);
    rememberTls(members);
    try {
      for (const m of members) m.spawnProcess();
      await cluster.waitHealthy(startTimeoutMs);
      if (logPrefix !== undefined) {
        process.stderr.write(`${logPrefix} cluster of ${size} healthy: ${cluster.endpoints.join(",")} (data ${root})\n`);
      }
      return cluster;
    } catch (e) {
      lastError = e;
      // Stop this attempt's members but keep the root for the next attempt.
      await Promise.all(members.map((m) => m.stop("SIGKILL")));
      liveClusters.delete(cluster);
      forgetTls(members);
      const inUse = e instanceof AddressInUseError || members.some((m) => /address already in use/i.test(m.logTail()));
      if (!inUse || attempt === MAX_START_ATTEMPTS) break;
      if (logPrefix !== undefined) process.stderr.write(`${logPrefix} port clash, retrying (attempt ${attempt + 1})\n`);
    }
  }
  // Give up: clean everything.
  abandon();
  throw lastError;
}
