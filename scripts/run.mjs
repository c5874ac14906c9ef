#!/usr/bin/env node
// Entry of `npm start`, `npm run example` and `npm test`: installs what is
// missing first, so each works as the first command on a fresh machine.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, ensureNodeModules, ensureSystem } from "./ensure.mjs";

const job = process.argv[2];

/** Runs a command to completion; resolves with its exit code. */
function exec(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", cwd: root, env });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function example() {
  ensureNodeModules();
  let cluster;
  let endpoints = process.env.ETCD_ENDPOINTS;
  if (!endpoints) {
    ensureSystem(["etcd"]);
    const { startCluster } = await import("./etcd-cluster.mjs");
    console.error("etcd-connect: starting a throwaway etcd on loopback...");
    cluster = await startCluster({ size: 1, installSignalHandlers: true });
    endpoints = cluster.endpoints.join(",");
  }
  try {
    return await exec(process.execPath, ["--conditions=etcd-connect-dev", "--import", "tsx", "examples/hello.ts"], { ...process.env, ETCD_ENDPOINTS: endpoints });
  } finally {
    await cluster?.stop();
  }
}

async function test() {
  ensureNodeModules();
  const reportDir = mkdtempSync(join(tmpdir(), "etcd-connect-test-"));
  const report = join(reportDir, "vitest.json");
  try {
    return await runTests(report, process.argv.slice(3));
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}

/** Type check, gen check, then vitest (extra arguments go to vitest, e.g. a test file). */
async function runTests(report, vitestArgs) {
  ensureSystem(["etcd", "etcdctl"]);
  const steps = [
    ["typecheck", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]],
    ["gen:check", process.execPath, ["scripts/gen-check.mjs"]],
    ["vitest", "npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...vitestArgs]],
  ];
  for (const [name, cmd, args] of steps) {
    console.error(`\n== ${name}`);
    const code = await exec(cmd, args);
    if (code !== 0) {
      console.error(`\n${name} failed (exit ${code})`);
      printSummary(report);
      return code;
    }
  }
  printSummary(report);
  return 0;
}

/** One closing line with the test counts, read from vitest's JSON report. */
function printSummary(report) {
  if (!existsSync(report)) return;
  const r = JSON.parse(readFileSync(report, "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
}

const jobs = { example, test };
if (!jobs[job]) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(jobs).join("|")}`);
  process.exit(2);
}
process.exitCode = await jobs[job]();
