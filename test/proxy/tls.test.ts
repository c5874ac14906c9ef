// The proxy serving HTTPS: HTTP/2 and HTTP/1.1 on the same port, chosen by ALPN.
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http2 from "node:http2";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KV } from "../../gen/etcdserverpb/rpc_pb.js";
import { useEtcd } from "../harness/etcd.js";
import { frame, memoryLogger, parseGrpcWeb, useProxies, utf8, watchVia } from "./helpers.js";

const etcd = useEtcd();
const startProxy = useProxies();
let dir = "";
let cert = "";
let key = "";

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "proxy-tls-"));
  await promisify(execFile)("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes",
    "-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem"),
    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  cert = fs.readFileSync(path.join(dir, "c.pem"), "utf8");
  key = fs.readFileSync(path.join(dir, "k.pem"), "utf8");
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("TLS", () => {
  it("serves gRPC-Web over HTTP/2 and HTTP/1.1 on one port", async () => {
    const logger = memoryLogger();
    const { url } = await startProxy({ endpoints: [etcd.endpoint], tls: { cert, key }, logger, logLevel: "debug" });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(logger.lines.some((l) => /^info listening on https:.*tls yes/.test(l))).toBe(true);

    const h2 = createClient(KV, createGrpcWebTransport({ baseUrl: url, httpVersion: "2", nodeOptions: { ca: cert } }));
    await h2.put({ key: utf8("tls/a"), value: utf8("2") });
    const h1 = createClient(KV, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca: cert } }));
    expect(new TextDecoder().decode((await h1.range({ key: utf8("tls/a") })).kvs[0]?.value)).toBe("2");

    const served = logger.lines.filter((l) => l.startsWith("debug POST"));
    expect(served.some((l) => l.includes("/etcdserverpb.KV/Put HTTP/2.0 grpc-status 0"))).toBe(true);
    expect(served.some((l) => l.includes("/etcdserverpb.KV/Range HTTP/1.1 grpc-status 0"))).toBe(true);
  });

  it("negotiates h2 and http/1.1 with ALPN", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], tls: { cert, key } });
    const h1 = await new Promise<{ version: string; status: number }>((resolve, reject) => {
      const req = https.request(
        new URL("/etcdserverpb.KV/Range", url),
        { method: "POST", ca: cert, agent: false, headers: { "content-type": "application/grpc-web+proto" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ version: res.httpVersion, status: res.statusCode ?? 0 }));
        },
      );
      req.on("error", reject);
      req.end(frame(new Uint8Array()));
    });
    expect(h1).toEqual({ version: "1.1", status: 200 });

    const session = http2.connect(url, { ca: cert });
    try {
      await new Promise<void>((resolve, reject) => {
        session.once("connect", () => resolve());
        session.once("error", reject);
      });
      expect(session.alpnProtocol).toBe("h2");
      const stream = session.request({
        ":method": "POST",
        ":path": "/etcdserverpb.KV/Range",
        "content-type": "application/grpc-web+proto",
      });
      const chunks: Buffer[] = [];
      const response = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve));
      stream.on("data", (c: Buffer) => chunks.push(c));
      const ended = new Promise((resolve) => stream.once("end", resolve));
      stream.end(frame(new Uint8Array()));
      const headers = await response;
      await ended;
      expect(headers[":status"]).toBe(200);
      expect(headers["content-type"]).toBe("application/grpc-web+proto");
      // An empty RangeRequest has an empty key: etcd's own error, in the trailer frame.
      expect(parseGrpcWeb(Buffer.concat(chunks)).trailers?.["grpc-status"]).toBe("3");
    } finally {
      session.destroy();
    }
  });

  it("frees the etcd watcher when an HTTP/2 browser stream is cancelled", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], tls: { cert, key } });
    const transport = createGrpcWebTransport({ baseUrl: url, httpVersion: "2", nodeOptions: { ca: cert } });
    const watchers = () => etcd.metric("etcd_debugging_mvcc_watcher_total");
    const streams = [0, 1, 2].map(() => new AbortController());
    const its = streams.map((ac, i) => watchVia(transport, { key: utf8(`tls/w${i}`) }, ac.signal));
    for (const it of its) expect((await it.next()).value?.created).toBe(true);
    expect(await watchers()).toBe(3);
    for (const ac of streams) ac.abort();
    await Promise.all(its.map((it) => it.next().catch(() => undefined)));
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
  });
});
