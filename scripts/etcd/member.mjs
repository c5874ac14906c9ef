// One etcd server process: start, stop, kill, pause, resume, restart, join, health.
// Part of the etcd launcher (../etcd-cluster.mjs says how it fits together); only `node:` imports.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { liveMembers, tellWatchdog, waitStoppedSync } from "./cleanup.mjs";
import { LOG_TAIL_LINES, isHealthy, serverEnv, sleep, tailFile } from "./tools.mjs";

/** @typedef {import("../etcd-cluster.mjs").ClusterTls} ClusterTls */

const STOP_KILL_AFTER_MS = 5000;

// Member

/** Error raised when a member could not bind its ports (start is retried). */
export class AddressInUseError extends Error {}

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
