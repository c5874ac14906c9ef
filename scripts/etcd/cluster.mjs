// A set of members: startCluster() (free ports, retries on a port clash, health), growing and shrinking
// the cluster, stopping it.
// Part of the etcd launcher (../etcd-cluster.mjs says how it fits together); only `node:` imports.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { etcdBinaries, flagsFor, versionOfBinary } from "../etcd-versions.mjs";
import { ensureWatchdog, installExitHandler, installSignalHandlersOnce, liveClusters, liveRoots, removeRootSync, tellWatchdog } from "./cleanup.mjs";
import { etcdctl, fetchMetrics, metricValue, pickFreePorts, sleep } from "./tools.mjs";
import { TLS_DIR, forgetTls, generateTls, rememberTls } from "./tls.mjs";
import { AddressInUseError, Member } from "./member.mjs";

/** @typedef {import("../etcd-cluster.mjs").StartClusterOptions} StartClusterOptions */
/** @typedef {import("../etcd-cluster.mjs").ClusterTls} ClusterTls */
/** @typedef {import("../etcd-cluster.mjs").EtcdctlOptions} EtcdctlOptions */
/** @typedef {import("../etcd-cluster.mjs").MemberSpec} MemberSpec */
/** @typedef {import("../etcd-cluster.mjs").PrepareMemberOptions} PrepareMemberOptions */

const MAX_START_ATTEMPTS = 5;

// Cluster

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
    // join() inserts `--initial-cluster <list>` after the peer URL.
    const { dataDir, logFile, args } = memberLayout(spec, this.dataDirRoot, {
      name: memberName, index, clientPort, peerPort, state: "existing", token: spec.token,
    });
    const member = new Member({
      name: memberName, index, clientPort, peerPort, dataDir, logFile, etcdBin: spec.etcdBin, args,
      logPrefix: this.#logPrefix, tls: this.tls, prepared: true,
    });
    this.#all.push(member);
    this.members.push(member);
    rememberTls([member]);
    if (this.#logPrefix !== undefined) {
      process.stderr.write(`${this.#logPrefix} prepared ${memberName}: peer ${member.peerUrl} client ${member.clientUrl}\n`);
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
/**
 * One member's data dir, log file and etcd arguments, the same for the members of a new cluster and for members
 * added later (prepareMember); clears what a previous attempt left in its data dir and log.
 * @param {MemberSpec} spec
 * @param {string} root
 * @param {{ name: string, index: number, clientPort: number, peerPort: number, state: "new" | "existing",
 *   token: string, initialCluster?: string }} m
 * @returns {{ dataDir: string, logFile: string, args: string[] }}
 */
function memberLayout(spec, root, m) {
  const clientUrl = `${spec.scheme}://127.0.0.1:${m.clientPort}`;
  const peerUrl = `http://127.0.0.1:${m.peerPort}`;
  const dataDir = path.join(root, m.name);
  const logFile = path.join(root, `${m.name}.log`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(logFile, { force: true });
  const args = [
    "--name", m.name,
    "--data-dir", dataDir,
    "--listen-client-urls", clientUrl,
    "--advertise-client-urls", clientUrl,
    "--listen-peer-urls", peerUrl,
    "--initial-advertise-peer-urls", peerUrl,
    ...(m.initialCluster === undefined ? [] : ["--initial-cluster", m.initialCluster]),
    "--initial-cluster-state", m.state,
    "--initial-cluster-token", m.token,
    ...spec.commonArgs,
    // Member flags use today's names too; older versions get them renamed.
    ...(spec.memberArgs ? flagsFor(spec.version, spec.memberArgs(m.index)) : []),
  ];
  return { dataDir, logFile, args };
}

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
    /** @type {MemberSpec} */
    const spec = { etcdBin, version, scheme, token, commonArgs, memberArgs: options.memberArgs };
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peerPortOf(i)}`).join(",");
    const members = names.map((name, i) => {
      const { dataDir, logFile, args } = memberLayout(spec, root, {
        name, index: i, clientPort: clientPortOf(i), peerPort: peerPortOf(i), state: "new", token, initialCluster,
      });
      return new Member({
        name, index: i, clientPort: clientPortOf(i), peerPort: peerPortOf(i),
        dataDir, logFile, etcdBin, args, logPrefix, tls: tls?.client,
      });
    });
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
