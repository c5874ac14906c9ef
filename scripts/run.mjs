#!/usr/bin/env node
// Entry of `npm start`, `npm run example` and `npm test`: installs what is
// missing first, so each works as the first command on a fresh machine.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_LINES, ensureEtcd, ensureNode, ensureNodeModules, ensureSystem, root } from "./ensure.mjs";
import { ETCD_VERSIONS, etcdVersion, pinnedRelease } from "./etcd-versions.mjs";

const job = process.argv[2];

/** Runs a command to completion; resolves with its exit code. */
function exec(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", cwd: root, env });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/**
 * The etcd to use: `ETCD_ENDPOINTS` when set, else a throwaway single-member etcd on loopback of `ETCD_VERSION`
 * (default 3.6; installed or built first if missing). `cluster` is the throwaway one, for stopping.
 */
async function etcdEndpoints(clusterOptions = {}) {
  ensureNodeModules();
  if (process.env.ETCD_ENDPOINTS) return { endpoints: process.env.ETCD_ENDPOINTS, cluster: undefined };
  const version = etcdVersion();
  ensureEtcd([version]);
  const { startCluster } = await import("./etcd-cluster.mjs");
  console.error(`etcd-connect: starting a throwaway etcd ${version} on loopback...`);
  const cluster = await startCluster({ size: 1, ...clusterOptions });
  return { endpoints: cluster.endpoints.join(","), cluster };
}

async function example() {
  const { endpoints, cluster } = await etcdEndpoints({ installSignalHandlers: true });
  try {
    return await exec(process.execPath, ["--import", "tsx", "examples/hello.ts"], { ...process.env, ETCD_ENDPOINTS: endpoints });
  } finally {
    await cluster?.stop();
  }
}

/**
 * `npm start`: the console. A throwaway etcd (unless ETCD_ENDPOINTS is set), the proxy and the console's static
 * server, all on loopback, until Ctrl-C (SIGINT) or SIGTERM stops them. CONSOLE_PORT picks the console's port
 * (default 8379, or a free one when that is taken), CONSOLE_HOST its address (default 127.0.0.1).
 */
async function start() {
  // No signal handlers from the launcher: ours below stops the console before etcd.
  const { endpoints, cluster } = await etcdEndpoints();
  let server;
  let stopping;
  const stop = (signal) => {
    stopping ??= (async () => {
      console.error(`\netcd-connect: ${signal}: stopping the console, the proxy${cluster ? " and etcd" : ""}...`);
      await server?.close();
      await cluster?.stop();
      return 0;
    })();
    return stopping;
  };
  const stopped = new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => void stop(signal).then(resolve));
  });
  try {
    const { tsImport } = await import("tsx/esm/api");
    const { startConsole } = await tsImport("../console/server.ts", import.meta.url);
    const options = {
      endpoints: endpoints.split(",").map((e) => e.trim()).filter(Boolean),
      host: process.env.CONSOLE_HOST || "127.0.0.1",
      // Other clusters' proxies the console's saved connections may reach (the page's CSP allows only these).
      connectSrc: (process.env.CONSOLE_CONNECT_SRC ?? "").split(/[\s,]+/).filter(Boolean),
    };
    const wanted = process.env.CONSOLE_PORT ? Number(process.env.CONSOLE_PORT) : 8379;
    try {
      server = await startConsole({ ...options, port: wanted });
    } catch (err) {
      if (err?.code !== "EADDRINUSE" || process.env.CONSOLE_PORT) throw err;
      server = await startConsole({ ...options, port: 0 });
    }
    console.log(`etcd console: ${server.url}`);
    console.log(`  proxy:     ${server.proxyUrl} -> etcd ${options.endpoints.join(", ")}`);
    console.log(`  scripts:   ${(server.size.gzip / 1024).toFixed(1)} KB min+gzip at start, editor ${(server.size.lazyGzip / 1024).toFixed(1)} KB when first opened`);
    console.log("Press Ctrl-C to stop.");
  } catch (err) {
    console.error(`etcd-connect: the console did not start: ${err?.stack ?? err}`);
    await stop("error");
    return 1;
  }
  return stopped;
}

async function test() {
  ensureNodeModules();
  // The browser suite's engines: Chromium, Firefox, and WebKit (MiniBrowser via WebKitWebDriver, under Xvfb).
  ensureSystem(["chromium", "firefox", "webkitdriver", "minibrowser", "xvfb", "openssl"]);
  const vitestArgs = process.argv.slice(3);
  // A run of chosen test files uses one version (ETCD_VERSION, default 3.6); the full run uses all of them.
  ensureEtcd(vitestArgs.length > 0 ? [etcdVersion()] : Object.keys(ETCD_VERSIONS));
  // Every supported Node line (test/package.test.ts installs and runs the packed package under each).
  const nodes = Object.fromEntries(Object.keys(NODE_LINES).map((line) => [line, ensureNode(line)]));
  const reportDir = mkdtempSync(join(tmpdir(), "etcd-connect-test-"));
  try {
    return await runTests(reportDir, nodes, vitestArgs);
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}

/** The version of the `bun` devDependency (its binary is what the Bun pass runs). */
function bunVersion() {
  return JSON.parse(readFileSync(join(root, "node_modules", "bun", "package.json"), "utf8")).version;
}

/**
 * Type check, gen check, bundle budget, docs, then vitest against etcd 3.6 (the default version): everything under the
 * machine's Node (HTTP/2 transport), the Node suite (test/) again under Node 24, under Bun, and under Node 22 on Connect's own
 * gRPC transport; then the Node suite under Node 22 on every other etcd version (3.4, 3.5, 3.7), so both supported
 * Node lines run the whole Node suite. The extra passes leave out
 * test/package.test.ts, which runs the packed package under every supported Node line itself. Extra arguments go to
 * vitest (e.g. a test file) and skip the extra passes; ETCD_VERSION picks the version for such a run.
 */
async function runTests(reportDir, nodes, vitestArgs) {
  const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
  const reports = [];
  const reporter = (name) => {
    const file = join(reportDir, `${reports.length}-${name}.json`);
    reports.push(file);
    return ["--reporter=default", "--reporter=json", `--outputFile.json=${file}`];
  };
  const main = etcdVersion();
  const on = (version) => ({ ETCD_VERSION: version });
  const steps = [
    ["typecheck", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]],
    ["gen:check", process.execPath, ["scripts/gen-check.mjs"]],
    ["bundle size", process.execPath, ["scripts/bundle-size.mjs"]],
    // Every public symbol documented (typedoc.json treats warnings as errors), without writing docs/api; the types
    // were checked above.
    ["docs", "npx", ["typedoc", "--emit", "none", "--skipErrorChecking"]],
    [`vitest (Node ${process.versions.node}, etcd ${pinnedRelease(main)})`, process.execPath, [vitest, "run", ...reporter("node"), ...vitestArgs], on(main)],
  ];
  if (vitestArgs.length === 0) {
    const nodeSuite = ["test/", "--exclude", "test/package.test.ts"];
    steps.push([`vitest (Node 24, Node suite, etcd ${pinnedRelease(main)})`, nodes[24], [vitest, "run", ...nodeSuite, ...reporter("node24")], on(main)]);
    // Bun (npm package `bun`): vitest itself runs under Bun, so its workers do too and the Node suite runs there
    // unchanged: KV, txn, watch resume, leases, failover, auth, TLS, admin, concurrency, the proxy and `npm pack`.
    // Left out: test/h2-connection.test.ts, whose peer is the test's own node:http2 server; under Bun that is Bun's
    // server, not nghttp2, and Bun 1.4's stream.close(code) sends no RST_STREAM, so the reset case fails on the
    // server side (the client's HTTP/2 runs under Bun against etcd in every other file).
    steps.push([
      `vitest (Bun ${bunVersion()}, Node suite, etcd ${pinnedRelease(main)})`,
      join(root, "node_modules", ".bin", "bun"),
      [vitest, "run", ...nodeSuite, "--exclude", "test/h2-connection.test.ts", ...reporter("bun")],
      { ...on(main), ETCD_CONNECT_TEST_RUNTIME: "bun" },
    ]);
    // The transport matrix: the Node suite again on Connect's own gRPC transport.
    steps.push([
      `vitest (Node 22, Node suite on Connect's createGrpcTransport, etcd ${pinnedRelease(main)})`,
      nodes[22],
      [vitest, "run", ...nodeSuite, ...reporter("connect")],
      { ...on(main), ETCD_CONNECT_NODE_TRANSPORT: "connect" },
    ]);
    // The version matrix: the Node suite on every other etcd version (not with ETCD_BIN, which pins one binary).
    if (process.env.ETCD_BIN) console.error(`\nETCD_BIN is set: the Node suite runs on ${process.env.ETCD_BIN} (etcd ${main}) only, not on the other versions.`);
    for (const version of process.env.ETCD_BIN ? [] : Object.keys(ETCD_VERSIONS).filter((v) => v !== main)) {
      const release = pinnedRelease(version) === "debian" ? `${version} (Debian)` : pinnedRelease(version);
      steps.push([`vitest (Node 22, Node suite, etcd ${release})`, nodes[22], [vitest, "run", ...nodeSuite, ...reporter(`etcd-${version}`)], on(version)]);
    }
  }
  let code = 0;
  const times = [];
  for (const [name, cmd, args, env] of steps) {
    console.error(`\n== ${name}`);
    const started = Date.now();
    code = await exec(cmd, args, env ? { ...process.env, ...env } : process.env);
    times.push(`${name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (code !== 0) {
      console.error(`\n${name} failed (exit ${code})`);
      break;
    }
  }
  console.error(`\ntime per step:\n  ${times.join("\n  ")}`);
  printSummary(reports);
  return code;
}

/** One closing line with the test counts of every vitest run, read from their JSON reports. */
function printSummary(reports) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const report of reports.filter((r) => existsSync(r))) {
    const r = JSON.parse(readFileSync(report, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
}

const jobs = { start, example, test };
if (!jobs[job]) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(jobs).join("|")}`);
  process.exit(2);
}
process.exitCode = await jobs[job]().catch((err) => {
  // A setup mistake (an unknown ETCD_VERSION, a failed build) in one line; the tests run in child processes.
  console.error(`etcd-connect: ${err?.message ?? err}`);
  return 1;
});
