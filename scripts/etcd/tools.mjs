// Small utilities of the launcher: free ports, log tails, health and /metrics over HTTP(S), etcdctl and
// etcdutl runs, and the TLS credentials known for a running member's URL.
// Part of the etcd launcher (../etcd-cluster.mjs says how it fits together); only `node:` imports.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { etcdBinaries } from "../etcd-versions.mjs";

/** @typedef {import("../etcd-cluster.mjs").ClusterTls} ClusterTls */
/** @typedef {import("../etcd-cluster.mjs").HttpsClientOptions} HttpsClientOptions */
/** @typedef {import("../etcd-cluster.mjs").EtcdctlOptions} EtcdctlOptions */

export const LOG_TAIL_LINES = 30;

// Small utilities

/** @type {Map<string, ClusterTls>} origin (`https://127.0.0.1:PORT`) of a running TLS member -> its cluster's TLS */
export const knownTls = new Map();

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
export function serverEnv(extra = {}) {
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
