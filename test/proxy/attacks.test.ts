// The proxy attacked as issue #18 describes it, each attack bounded in count and time, against a proxy in its own
// process (its memory read from /proc) in front of a real etcd (data checked with etcdctl, memory from /proc):
// a complete Put followed by a truncated frame, 300 connections each holding a 2 MB body open, HTTP/2 streams that
// send headers and nothing more, slow headers and bodies, a connection flood, and tokens in query strings.
import { create, toBinary } from "@bufbuild/protobuf";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutRequestSchema, RangeRequestSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { useEtcd } from "../harness/etcd.js";
import { frame, grpcWebPost, memoryLogger, parseGrpcWeb, rawRequest, useProxies, useProxyProcesses, utf8 } from "./helpers.js";

const etcd = useEtcd();
const { startCli } = useProxyProcesses();
const startProxy = useProxies();

const putBytes = (key: string) => toBinary(PutRequestSchema, create(PutRequestSchema, { key: utf8(key), value: utf8("v") }));
const rangeBytes = (key: string) => toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: utf8(key) }));
const GRPC_WEB = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };

/** Resident memory of a process in MB, from /proc. */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) / 1024;
}

/**
 * A normal Range through the proxy from another loopback address (127.0.0.2), as another client would send it
 * during an attack; resolves with its round trip in ms and its grpc-status.
 */
async function normalRange(url: string): Promise<{ ms: number; status: string | undefined }> {
  const started = performance.now();
  const res = await new Promise<Buffer>((resolve, reject) => {
    const req = http.request(
      new URL("/etcdserverpb.KV/Range", url),
      { method: "POST", headers: GRPC_WEB, agent: false, localAddress: "127.0.0.2", timeout: 10000 },
      (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => resolve(Buffer.concat(chunks)));
        r.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("normal request timed out")));
    req.on("error", reject);
    req.end(frame(rangeBytes("attack/normal")));
  });
  return { ms: performance.now() - started, status: parseGrpcWeb(res).trailers?.["grpc-status"] };
}

/** Opens `n` HTTP/1.1 connections that each send headers and `bodyBytes` of a larger body, then hold. */
function holdBodies(port: number, n: number, header: string, body: Buffer): { sockets: net.Socket[]; closed: () => number } {
  let closed = 0;
  const sockets = Array.from({ length: n }, () => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    s.on("close", () => closed++);
    s.on("data", () => {}); // read the answers, so that the proxy can finish writing them
    s.write(header);
    s.write(body);
    return s;
  });
  return { sockets, closed: () => closed };
}

describe("a malformed body never applies a write", () => {
  it("answers a complete Put followed by a truncated frame with InvalidArgument, and etcd has no such key (5 of 5)", async () => {
    const { url } = await startCli(etcd.endpoint, []);
    for (let i = 0; i < 5; i++) {
      const body = Buffer.concat([frame(putBytes(`attack/trunc/${i}`)), Buffer.from([0, 0, 0, 0, 9, 1, 2])]);
      const res = await rawRequest(url, { path: "/etcdserverpb.KV/Put", headers: GRPC_WEB, body });
      const parsed = parseGrpcWeb(res.body);
      expect(parsed.trailers?.["grpc-status"]).toBe("3");
      expect(decodeURIComponent(parsed.trailers?.["grpc-message"] ?? "")).toMatch(/truncated frame/);
    }
    // Two whole Puts in one unary call: refused too, neither applied.
    const two = Buffer.concat([frame(putBytes("attack/two/a")), frame(putBytes("attack/two/b"))]);
    const res = await rawRequest(url, { path: "/etcdserverpb.KV/Put", headers: GRPC_WEB, body: two });
    expect(parseGrpcWeb(res.body).trailers?.["grpc-status"]).toBe("3");
    // A well-formed Put still works, so the keys' absence is not an outage.
    const ok = await grpcWebPost(url, "/etcdserverpb.KV/Put", [putBytes("attack/ok")]);
    expect(ok.trailers?.["grpc-status"]).toBe("0");
    expect((await etcd.etcdctl(["get", "attack/", "--prefix", "--keys-only"])).trim()).toBe("attack/ok");
    await etcd.etcdctl(["del", "attack/", "--prefix"]);
  });
});

describe("bounded memory", () => {
  const ATTACKERS = 1000;
  it(`${ATTACKERS} connections each holding a 2 MB Range body: proxy +150 MB at most, etcd +50 MB at most, others served within 1 s`, async () => {
    const { child, url } = await startCli(etcd.endpoint, ["--request-timeout-ms", "5000"]);
    const port = Number(new URL(url).port);
    const etcdPid = etcd.members[0]!.pid!;
    await normalRange(url); // warm up
    const proxyBefore = rssMb(child.pid!);
    const etcdBefore = rssMb(etcdPid);
    const header =
      "POST /etcdserverpb.KV/Range HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\n" +
      "Content-Length: 2000005\r\n\r\n";
    const body = Buffer.alloc(5 + 1_999_000);
    body.writeUInt32BE(2_000_000, 1);
    const attack = holdBodies(port, ATTACKERS, header, body);
    let proxyPeak = proxyBefore;
    let etcdPeak = etcdBefore;
    const latencies: number[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 400));
        proxyPeak = Math.max(proxyPeak, rssMb(child.pid!));
        etcdPeak = Math.max(etcdPeak, rssMb(etcdPid));
        const normal = await normalRange(url);
        expect(normal.status).toBe("0");
        latencies.push(normal.ms);
      }
      // Held bodies end at the request deadline: every attacking connection is closed by the proxy.
      await expect.poll(() => attack.closed(), { timeout: 15000, interval: 200 }).toBe(ATTACKERS);
    } finally {
      for (const s of attack.sockets) s.destroy();
    }
    console.log(
      `held bodies: proxy RSS ${proxyBefore.toFixed(0)} -> peak ${proxyPeak.toFixed(0)} MB, etcd ${etcdBefore.toFixed(0)} -> ` +
        `${etcdPeak.toFixed(0)} MB, normal Range ${Math.max(...latencies).toFixed(0)} ms at worst`,
    );
    expect(proxyPeak - proxyBefore).toBeLessThanOrEqual(150);
    expect(etcdPeak - etcdBefore).toBeLessThanOrEqual(50);
    expect(Math.max(...latencies)).toBeLessThan(1000);
  });

  it("a request over the byte budget is refused at once with ResourceExhausted, and the budget comes back", async () => {
    // A budget of 3 MB: one held 2 MB body fits, a second does not.
    const { url } = await startProxy({ endpoints: [etcd.endpoint], maxBufferedBytes: 3_000_000, requestTimeoutMs: 1500 });
    const port = Number(new URL(url).port);
    const header =
      "POST /etcdserverpb.KV/Range HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\n" +
      "Content-Length: 2000005\r\n\r\n";
    const body = Buffer.alloc(5 + 1_999_000);
    body.writeUInt32BE(2_000_000, 1);
    const first = holdBodies(port, 1, header, body);
    await new Promise((r) => setTimeout(r, 300));
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      let got = Buffer.alloc(0);
      s.on("data", (c: Buffer) => (got = Buffer.concat([got, c])));
      s.on("close", () => resolve(got.toString("latin1")));
      s.on("error", () => {});
      s.write(header);
      s.write(body);
    });
    expect(answer).toMatch(/grpc-status: 8/);
    expect(answer).toMatch(/maxBufferedBytes/);
    // The held one ends at its deadline (DeadlineExceeded), which gives its bytes back: a small call works again.
    await expect.poll(() => first.closed(), { timeout: 5000 }).toBe(1);
    const ok = await grpcWebPost(url, "/etcdserverpb.KV/Range", [rangeBytes("attack/x")]);
    expect(ok.trailers?.["grpc-status"]).toBe("0");
  });
});

describe("deadlines and limits", () => {
  let dir = "";
  let certFile = "";
  let keyFile = "";
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "proxy-attack-"));
    certFile = path.join(dir, "c.pem");
    keyFile = path.join(dir, "k.pem");
    await promisify(execFile)("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile,
      "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("HTTP/2: 200 streams that send headers and no body end at the request deadline; etcd never sees them", async () => {
    const { url } = await startCli(etcd.endpoint, ["--tls-cert", certFile, "--tls-key", keyFile, "--request-timeout-ms", "2000"]);
    const rangesBefore = await etcd.metric("grpc_server_started_total", { grpc_method: "Range" });
    const session = http2.connect(url, { ca: fs.readFileSync(certFile) });
    session.on("error", () => {});
    try {
      await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
      expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 200 }, () => {
          const stream = session.request({ ":method": "POST", ":path": "/etcdserverpb.KV/Range", ...GRPC_WEB }, { endStream: false });
          return new Promise<{ status: string | undefined; ms: number }>((resolve) => {
            const chunks: Buffer[] = [];
            stream.on("data", (c: Buffer) => chunks.push(c));
            stream.on("error", () => {});
            stream.on("close", () =>
              resolve({ status: parseGrpcWeb(Buffer.concat(chunks)).trailers?.["grpc-status"], ms: performance.now() - started }),
            );
          });
        }),
      );
      // 100 at a time (the server's limit): the first hundred end after ~2 s, the rest ~2 s later.
      expect(results.every((r) => r.status === "4")).toBe(true);
      expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(10000);
    } finally {
      session.destroy();
    }
    expect(await etcd.metric("grpc_server_started_total", { grpc_method: "Range" })).toBe(rangesBefore);
  });

  it("HTTP/1.1: slow headers, a silent connection and a slow body are all closed by the deadline", async () => {
    const { url } = await startCli(etcd.endpoint, ["--request-timeout-ms", "1500"]);
    const port = Number(new URL(url).port);
    const started = performance.now();
    const closedAfter = (s: net.Socket) => new Promise<number>((resolve) => s.once("close", () => resolve(performance.now() - started)));
    const silent = net.connect({ host: "127.0.0.1", port });
    const slowHeaders = net.connect({ host: "127.0.0.1", port });
    const slowBody = net.connect({ host: "127.0.0.1", port });
    let slowBodyAnswer = "";
    for (const s of [silent, slowHeaders, slowBody]) s.on("error", () => {});
    slowBody.on("data", (c: Buffer) => (slowBodyAnswer += c.toString("latin1")));
    const closes = [closedAfter(silent), closedAfter(slowHeaders), closedAfter(slowBody)];
    slowBody.write("POST /etcdserverpb.KV/Put HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: 100\r\n\r\n");
    const trickle = setInterval(() => {
      if (!slowHeaders.destroyed) slowHeaders.write("X-A: b\r\n");
      if (!slowBody.destroyed) slowBody.write(Buffer.from([0]));
    }, 200);
    try {
      slowHeaders.write("POST /etcdserverpb.KV/Range HTTP/1.1\r\nHost: x\r\n");
      const times = await Promise.all(closes);
      expect(Math.max(...times)).toBeLessThan(5000);
      expect(slowBodyAnswer).toMatch(/grpc-status: 4/);
    } finally {
      clearInterval(trickle);
      for (const s of [silent, slowHeaders, slowBody]) s.destroy();
    }
  });

  it("a connection flood from one address is cut at maxConnectionsPerAddress; other addresses are served", async () => {
    const { url } = await startCli(etcd.endpoint, ["--max-connections-per-address", "50"]);
    const port = Number(new URL(url).port);
    let closed = 0;
    const flood = Array.from({ length: 300 }, () => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      s.on("close", () => closed++);
      return s;
    });
    try {
      await expect.poll(() => closed, { timeout: 5000 }).toBe(250);
      const normal = await normalRange(url);
      expect(normal.status).toBe("0");
      expect(normal.ms).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 300));
      expect(closed).toBe(250); // the 50 admitted stay until their own deadline
    } finally {
      for (const s of flood) s.destroy();
    }
  });

  it("never logs a query string or the value of token or authorization", async () => {
    const logger = memoryLogger();
    const { url } = await startProxy({ endpoints: [etcd.endpoint], logger, logLevel: "debug" });
    await rawRequest(url, { path: "/etcdserverpb.KV/Range?token=s3cr3t-q", headers: GRPC_WEB, body: frame(rangeBytes("x")) });
    await rawRequest(url, {
      path: "/etcdserverpb.KV/Range",
      headers: { ...GRPC_WEB, token: "s3cr3t-h", authorization: "Bearer s3cr3t-a" },
      body: frame(rangeBytes("x")),
    });
    await rawRequest(url, { path: "/nope?token=s3cr3t-n", headers: GRPC_WEB, body: frame(rangeBytes("x")) });
    expect(logger.lines.length).toBeGreaterThanOrEqual(3);
    expect(logger.lines.join("\n")).not.toMatch(/s3cr3t/);
  });
});
