// Cleanup of what the launcher started, in layers: Cluster#stop() and Member#stop() (graceful, awaited);
// a process "exit" handler that SIGKILLs every member still running and removes data dirs synchronously;
// optional SIGINT/SIGTERM handlers; and a watchdog child process that does the same when this process dies
// without running its exit handlers. Also the registry of what is running, which all of them read.
// Part of the etcd launcher (../etcd-cluster.mjs says how it fits together); only `node:` imports.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
/** @typedef {import("./member.mjs").Member} Member */
/** @typedef {import("./cluster.mjs").Cluster} Cluster */

// Process-wide registry used by the exit handler, signal handlers and watchdog.

/** @type {Set<Member>} members whose process is running */
export const liveMembers = new Set();
/** @type {Set<Cluster>} clusters not yet stopped */
export const liveClusters = new Set();
/** @type {Map<string, boolean>} data dir roots to remove -> remove the root itself */
export const liveRoots = new Map();
let exitHandlerInstalled = false;
let signalHandlersInstalled = false;

export function installExitHandler() {
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

export function installSignalHandlersOnce() {
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
export function waitStoppedSync(pid) {
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
export function removeRootSync(root, removeRoot) {
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
export function ensureWatchdog(enabled) {
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
export function tellWatchdog(line) {
  const stdin = watchdogProc?.stdin;
  if (stdin && !stdin.destroyed && stdin.writable) {
    try {
      stdin.write(line + "\n");
    } catch {
      // ignore
    }
  }
}
