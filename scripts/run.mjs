#!/usr/bin/env node
// Entry of `npm start`, `npm run example` and `npm test`: installs what is
// missing first, so each works as the first command on a fresh machine.
import { spawn } from "node:child_process";
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
  ensureSystem(["etcd", "etcdctl"]);
  const steps = [
    ["typecheck", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]],
    ["gen:check", process.execPath, ["scripts/gen-check.mjs"]],
    ["vitest", "npx", ["vitest", "run"]],
  ];
  for (const [name, cmd, args] of steps) {
    console.error(`\n== ${name}`);
    const code = await exec(cmd, args);
    if (code !== 0) {
      console.error(`\n${name} failed (exit ${code})`);
      return code;
    }
  }
  return 0;
}

const jobs = { example, test };
if (!jobs[job]) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(jobs).join("|")}`);
  process.exit(2);
}
process.exitCode = await jobs[job]();
