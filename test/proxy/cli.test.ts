// The etcd-connect-proxy command, and a bounded fuzz run against it: malformed requests must each get an HTTP
// answer, and the process must stay up and keep serving.
import { create, toBinary } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { describe, expect, it } from "vitest";
import { KV, RangeRequestSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { etcdAtLeast, useEtcd } from "../harness/etcd.js";
import { frame, parseGrpcWeb, useProxyProcesses, utf8, watchCreateBytes, webClient } from "./helpers.js";

const etcd = useEtcd();
const { spawnCli, runCli, startCli: startCliOn } = useProxyProcesses();
const startCli = (args: string[]) => startCliOn(etcd.endpoint, args);

describe("etcd-connect-proxy", () => {
  it("--help prints usage and exits 0", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: etcd-connect-proxy/);
    expect(stdout).toMatch(/--allow-origin/);
  });

  it("--version prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    for (const flag of ["--version", "-v"]) {
      const { code, stdout } = await runCli([flag]);
      expect([code, stdout]).toEqual([0, `etcd-connect-proxy ${version}\n`]);
    }
  });

  it("exits 2 with a message and the usage on bad arguments", async () => {
    const cases = [
      [],
      ["--endpoints", etcd.endpoint, "--bogus"],
      ["--endpoints", "ftp://x"],
      ["--endpoints", etcd.endpoint, "--listen", "nope"],
      ["--endpoints", etcd.endpoint, "--max-request-bytes", "lots"],
      ["--endpoints", etcd.endpoint, "--log-level", "loud"],
      ["--endpoints", etcd.endpoint, "--tls-cert", "/nonexistent.pem"],
      ["--endpoints", etcd.endpoint, "stray"],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args)));
    for (const [i, r] of results.entries()) {
      expect({ args: cases[i], code: r.code }).toEqual({ args: cases[i], code: 2 });
      expect(r.stderr).toMatch(/^etcd-connect-proxy: .+\n\nUsage:/);
    }
  });

  it("serves, logs requests at debug and exits 0 on SIGTERM", async () => {
    const { child, url, exited } = await startCli([
      "--endpoints", `${etcd.endpoint},${etcd.endpoint}`, "--allow-origin", "https://a.example", "--log-level", "debug",
    ]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const kv = webClient(KV, url);
    await kv.put({ key: utf8("cli/a"), value: utf8("1") });
    expect((await kv.range({ key: utf8("cli/a") })).kvs).toHaveLength(1);
    // etcd 3.4 checks a token even with auth off (later versions ignore it); either way the log must not show it.
    const answer = await kv.range({ key: utf8("cli/a") }, { headers: { token: "secret-token" } }).catch((e: unknown) => e);
    if (etcdAtLeast("3.5")) expect((answer as { count: bigint }).count).toBe(1n);
    else expect(String(answer)).toMatch(/invalid auth token/);
    await expect.poll(() => child.output().stderr, { timeout: 5000 }).toMatch(/POST \/etcdserverpb\.KV\/Range HTTP\/1\.1 grpc-status 0/);
    expect(child.output().stderr).not.toMatch(/secret-token/);
    process.kill(child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  });

  it("stops on SIGINT during an open watch", async () => {
    const { child, url, exited } = await startCli([]);
    const req = http.request(new URL("/etcdserverpb.Watch/Watch", url), {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/grpc-web+proto" },
    });
    req.on("error", () => {});
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      req.on("response", (res) => {
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", resolve);
        res.on("error", () => resolve());
      });
    });
    req.end(frame(watchCreateBytes({ key: utf8("cli/w") })));
    await expect.poll(() => chunks.length, { timeout: 10000 }).toBeGreaterThan(0);
    process.kill(child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    await done;
    // The open call was ended with a status, not cut off.
    expect(parseGrpcWeb(Buffer.concat(chunks)).trailers?.["grpc-status"]).toBe("14");
  });
});

// ---------------------------------------------------------------------------
// Fuzz

/** Small seeded PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Methods that cannot harm the throwaway cluster whatever they decode; Watch gets a deadline (it never ends alone).
const FUZZ_PATHS = [
  "/etcdserverpb.KV/Range",
  "/etcdserverpb.KV/Put",
  "/etcdserverpb.KV/DeleteRange",
  "/etcdserverpb.KV/Txn",
  "/etcdserverpb.Lease/LeaseTimeToLive",
  "/etcdserverpb.Lease/LeaseLeases",
  "/etcdserverpb.Cluster/MemberList",
  "/etcdserverpb.Maintenance/Status",
  "/etcdserverpb.Auth/AuthStatus",
  "/etcdserverpb.Watch/Watch",
];
const BAD_PATHS = ["/", "/etcdserverpb.KV/", "/etcdserverpb.KV/Nope", "/etcdserverpb.Evil/Range", "/../etc/passwd",
  "/etcdserverpb.KV/Range/", "//etcdserverpb.KV/Range", "/etcdserverpb.KV/Range?q", "/%2e%2e/x", "/" + "a".repeat(6000)];
const CONTENT_TYPES = ["application/grpc-web+proto", "application/grpc-web", "application/grpc-web+proto; charset=x",
  "application/grpc-web-text", "application/grpc", "text/plain", "application/json", ""];
const MAX = 65536;

interface FuzzCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Send this many body bytes of a larger declared length, then drop the connection. */
  abortAfter?: number;
}

function makeCase(rand: () => number): FuzzCase {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const path = pick(FUZZ_PATHS);
  const headers: Record<string, string> = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
  if (path.includes("Watch")) headers["grpc-timeout"] = "1S";
  const c: FuzzCase = { method: "POST", path, headers, body: Buffer.alloc(0) };
  const validRange = () => frame(toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: utf8("fz") })));
  switch (Math.floor(rand() * 14)) {
    case 0: c.body = bytes(Math.floor(rand() * 200)); break;
    case 1: c.body = frame(bytes(Math.floor(rand() * 100))); break;
    case 2: { // truncated payload
      const f = frame(bytes(10 + Math.floor(rand() * 100)));
      c.body = f.subarray(0, 5 + Math.floor(rand() * (f.length - 6)));
      break;
    }
    case 3: c.body = bytes(1 + Math.floor(rand() * 4)).fill(0, 0, 1); break; // partial header
    case 4: c.body = Buffer.concat([Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), bytes(Math.floor(rand() * 50))]); break;
    case 5: { // flag bits set
      c.body = frame(bytes(Math.floor(rand() * 30)), 1 + Math.floor(rand() * 255));
      break;
    }
    case 6: c.headers["content-type"] = pick(CONTENT_TYPES); c.body = validRange(); break;
    case 7: c.path = pick(BAD_PATHS); c.body = bytes(Math.floor(rand() * 50)); break;
    case 8: c.method = pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]); c.body = bytes(Math.floor(rand() * 20)); break;
    case 9: c.body = Buffer.concat([validRange(), validRange(), bytes(Math.floor(rand() * 10))]); break;
    case 10: { // dropped mid-body
      c.body = Buffer.concat([frame(bytes(200 + Math.floor(rand() * 500)))]);
      c.abortAfter = Math.floor(rand() * c.body.length);
      break;
    }
    case 11: {
      c.headers["grpc-timeout"] = pick(["", "abc", "999999999S", "-1S", "1", "10x", "5m"]);
      c.headers["hasleader"] = pick(["true", "false", "\u00ff", "x".repeat(3000)]);
      c.headers["token"] = bytes(20).toString("latin1").replace(/[\r\n\0]/g, "");
      c.body = validRange();
      break;
    }
    case 12: c.body = frame(bytes(MAX + 1 + Math.floor(rand() * 1000))); break; // over max-request-bytes
    default: c.body = Buffer.concat(Array.from({ length: 1 + Math.floor(rand() * 5) }, () => frame(bytes(Math.floor(rand() * 40))))); break;
  }
  return c;
}

type Outcome = { kind: "answer"; status: number; contentType: string | undefined; body: Buffer } | { kind: "aborted" } | { kind: "error"; message: string };

function send(url: string, c: FuzzCase): Promise<Outcome> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      const { hostname, port } = new URL(url);
      req = http.request({
        host: hostname,
        port,
        path: c.path,
        method: c.method,
        agent: false,
        headers: { ...c.headers, "content-length": String(c.abortAfter !== undefined ? c.body.length + 100 : c.body.length) },
        timeout: 20000,
      });
    } catch (err) {
      // The client itself refuses some header values; that is not the proxy's answer.
      resolve({ kind: "aborted" });
      return;
    }
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ kind: "answer", status: res.statusCode ?? 0, contentType: res.headers["content-type"], body: Buffer.concat(chunks) }));
      res.on("error", (e) => resolve(c.abortAfter !== undefined ? { kind: "aborted" } : { kind: "error", message: e.message }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 20 s")));
    req.on("error", (e) => resolve(c.abortAfter !== undefined ? { kind: "aborted" } : { kind: "error", message: e.message }));
    if (c.abortAfter !== undefined) {
      req.write(c.body.subarray(0, c.abortAfter), () => setTimeout(() => req.destroy(), 5));
    } else req.end(c.body);
  });
}

describe("fuzz", () => {
  it("answers every malformed request and keeps serving", async () => {
    const { child, url, exited } = await startCli(["--max-request-bytes", String(MAX)]);
    const rand = prng(0xe7cd);
    const cases = Array.from({ length: 300 }, () => makeCase(rand));
    const problems: string[] = [];
    const started = Date.now();
    for (let i = 0; i < cases.length; i += 10) {
      const batch = cases.slice(i, i + 10);
      const outcomes = await Promise.all(batch.map((c) => send(url, c)));
      for (const [j, o] of outcomes.entries()) {
        const c = batch[j]!;
        const what = `#${i + j} ${c.method} ${c.path.slice(0, 60)} ct=${c.headers["content-type"]} body=${c.body.subarray(0, 12).toString("hex")}(${c.body.length})`;
        if (o.kind === "error") problems.push(`${what}: ${o.message}`);
        if (o.kind !== "answer") continue;
        if (o.status === 200) {
          const parsed = parseGrpcWeb(o.body);
          if (o.contentType !== "application/grpc-web+proto" || parsed.trailers?.["grpc-status"] === undefined || parsed.leftover !== 0) {
            problems.push(`${what}: 200 without a trailer frame: ${o.body.toString("hex").slice(0, 80)}`);
          }
        } else if (![204, 403, 404, 405, 415].includes(o.status) && !(o.status === 400 && c.path.length > 5000)) {
          problems.push(`${what}: HTTP ${o.status}`);
        }
      }
      expect(child.exitCode).toBeNull();
    }
    expect(problems).toEqual([]);
    expect(Date.now() - started).toBeLessThan(60000);

    // Still up, still serving.
    const kv = webClient(KV, url);
    await kv.put({ key: utf8("fz/after"), value: utf8("ok") });
    expect((await kv.range({ key: utf8("fz/after") })).kvs).toHaveLength(1);
    expect(child.output().stderr).not.toMatch(/unexpected error|TypeError|RangeError/);
    process.kill(child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  }, 120000);
});
