// The proxy against a real single-member etcd, driven as a browser would: Connect's gRPC-Web transport over
// HTTP/1.1, plus raw HTTP requests where the wire format itself is checked.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createClient } from "@connectrpc/connect";
import * as http from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import {
  Auth,
  KV,
  Lease,
  RangeRequestSchema,
  WatchResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { createProxy } from "../../src/proxy/index.js";
import { etcdAtLeast, useEtcd } from "../harness/etcd.js";
import {
  connectError,
  grpcWebPost,
  parseGrpcWeb,
  rawRequest,
  useProxies,
  utf8,
  watchCreateBytes,
  watchVia,
  webClient,
  webTransport,
} from "./helpers.js";

const etcd = useEtcd();
const startProxy = useProxies();
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const watchers = () => etcd.metric("etcd_debugging_mvcc_watcher_total");

describe("unary calls", () => {
  it("puts and reads a key through the proxy", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const kv = webClient(KV, url);
    const put = await kv.put({ key: utf8("unary/a"), value: utf8("1") });
    const got = await kv.range({ key: utf8("unary/a") });
    expect(got.kvs).toHaveLength(1);
    expect(text(got.kvs[0]?.value)).toBe("1");
    expect(got.kvs[0]?.modRevision).toBe(put.header?.revision);
    expect(await etcd.etcdctl(["get", "unary/a", "--print-value-only"])).toBe("1\n");
  });

  it("passes etcd's errors (trailers-only answers) with their code and message", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const kv = webClient(KV, url);
    const empty = await connectError(kv.range({ key: new Uint8Array() }));
    expect(empty.code).toBe(Code.InvalidArgument);
    expect(empty.rawMessage).toBe("etcdserver: key is not provided");

    let rev = 0n;
    for (let i = 0; i < 3; i++) rev = (await kv.put({ key: utf8("unary/c"), value: utf8(String(i)) })).header!.revision;
    await kv.compact({ revision: rev });
    const compacted = await connectError(kv.range({ key: utf8("unary/c"), revision: rev - 1n }));
    expect(compacted.code).toBe(Code.OutOfRange);
    expect(compacted.rawMessage).toBe("etcdserver: mvcc: required revision has been compacted");

    const lease = await connectError(webClient(Lease, url).leaseRevoke({ ID: 0x7777n }));
    expect(lease.code).toBe(Code.NotFound);
  });

  it("answers with a trailer frame, not grpc-status response headers", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const bad = toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: new Uint8Array() }));
    const res = await grpcWebPost(url, "/etcdserverpb.KV/Range", [bad]);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/grpc-web+proto");
    expect(res.headers["grpc-status"]).toBeUndefined();
    expect(res.messages).toHaveLength(0);
    expect(res.trailers).toEqual({ "grpc-status": "3", "grpc-message": "etcdserver: key is not provided" });
    expect(res.leftover).toBe(0);

    const ok = await grpcWebPost(url, "/etcdserverpb.KV/Range", [
      toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: utf8("nothing-here") })),
    ]);
    expect(ok.messages).toHaveLength(1);
    expect(ok.trailers).toEqual({ "grpc-status": "0" });
  });

  it("refuses what is not an etcd gRPC-Web call", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const post = (path: string, contentType?: string, method = "POST") =>
      rawRequest(url, { method, path, headers: contentType ? { "content-type": contentType } : {}, body: new Uint8Array() });
    expect((await post("/etcdserverpb.KV/Nope", "application/grpc-web+proto")).status).toBe(404);
    expect((await post("/v3/kv/range", "application/grpc-web+proto")).status).toBe(404);
    expect((await post("/etcdserverpb.KV/Range?x=1", "application/grpc-web+proto")).status).toBe(404);
    expect((await post("/etcdserverpb.KV/Range", "application/grpc-web+proto", "GET")).status).toBe(405);
    expect((await post("/etcdserverpb.KV/Range", "application/json")).status).toBe(415);
    expect((await post("/etcdserverpb.KV/Range")).status).toBe(415);
    const textMode = await post("/etcdserverpb.KV/Range", "application/grpc-web-text");
    expect(textMode.status).toBe(415);
    expect(textMode.body.toString()).toMatch(/binary/);
  });

  it("enforces maxRequestBytes and frame rules with gRPC statuses", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], maxRequestBytes: 1024 });
    const kv = webClient(KV, url);
    const big = await connectError(kv.put({ key: utf8("big"), value: new Uint8Array(2000) }));
    expect(big.code).toBe(Code.ResourceExhausted);

    const post = async (body: Buffer) => {
      const res = await rawRequest(url, {
        path: "/etcdserverpb.KV/Range",
        headers: { "content-type": "application/grpc-web+proto" },
        body,
      });
      expect(res.status).toBe(200);
      return parseGrpcWeb(res.body).trailers;
    };
    const compressed = Buffer.from([1, 0, 0, 0, 1, 0]);
    expect(await post(compressed)).toMatchObject({ "grpc-status": "3", "grpc-message": "compressed or invalid frame" });
    const truncated = Buffer.from([0, 0, 0, 0, 10, 1, 2]);
    expect((await post(truncated))?.["grpc-status"]).toBe("3");
    const huge = Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0]);
    expect((await post(huge))?.["grpc-status"]).toBe("8");
    expect(await etcd.etcdctl(["get", "big"])).toBe("");
  });
});

describe("watch", () => {
  it("streams events and frees the etcd watcher when the browser aborts", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
    const ac = new AbortController();
    const stream = watchVia(webTransport(url), { key: utf8("w/"), rangeEnd: utf8("w0") }, ac.signal);
    const created = await stream.next();
    expect(created.value?.created).toBe(true);
    await etcd.etcdctl(["put", "w/a", "1"]);
    await etcd.etcdctl(["put", "w/b", "2"]);
    const seen: string[] = [];
    while (seen.length < 2) {
      const { value } = await stream.next();
      for (const e of value?.events ?? []) seen.push(`${text(e.kv?.key)}=${text(e.kv?.value)}`);
    }
    expect(seen).toEqual(["w/a=1", "w/b=2"]);
    expect(await watchers()).toBe(1);
    ac.abort();
    await stream.next().catch(() => undefined);
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
  });

  it("frees the etcd watcher when the browser's connection drops", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
    const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from(watchCreateBytes({ key: utf8("drop") }))]);
    body.writeUInt32BE(body.length - 5, 1);
    const req = http.request(new URL("/etcdserverpb.Watch/Watch", url), {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/grpc-web+proto" },
    });
    req.on("error", () => {});
    const res = await new Promise<http.IncomingMessage>((resolve) => {
      req.on("response", resolve);
      req.end(body);
    });
    await new Promise((resolve) => res.once("data", resolve));
    expect(await watchers()).toBe(1);
    req.socket?.destroy();
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
  });
});

describe("metadata", () => {
  it("passes hasleader", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const kv = webClient(KV, url);
    const r = await kv.range({ key: utf8("hl") }, { headers: { hasleader: "true" } });
    expect(r.header?.memberId).not.toBe(0n);
  });

  it("passes grpc-timeout: etcd ends an idle watch at the deadline", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const started = Date.now();
    // Raw, so that only etcd (not a client timer) can end the call.
    const res = await grpcWebPost(url, "/etcdserverpb.Watch/Watch", [watchCreateBytes({ key: utf8("timeout") })], {
      "grpc-timeout": "500m",
    });
    expect(Date.now() - started).toBeLessThan(10000);
    expect(res.messages.length).toBeGreaterThanOrEqual(1);
    expect(fromBinary(WatchResponseSchema, res.messages[0]!).created).toBe(true);
    // etcd 3.4 reports a server-side deadline as Unknown "context deadline exceeded"; 3.5+ resets the stream, which
    // the proxy reports as DeadlineExceeded.
    expect(res.trailers?.["grpc-status"]).toBe(etcdAtLeast("3.5") ? "4" : "2");
    expect(decodeURIComponent(res.trailers?.["grpc-message"] ?? "")).toMatch(/deadline/);
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
  });

  it("a Connect deadline ends a watch with DeadlineExceeded", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint] });
    const stream = watchVia(webTransport(url), { key: utf8("deadline") }, new AbortController().signal, undefined, 500);
    expect((await stream.next()).value?.created).toBe(true);
    const err = await connectError(stream.next());
    expect(err.code).toBe(Code.DeadlineExceeded);
  });
});

// etcd 3.5+ ignores tokens while auth is off (3.4 checked them anyway), so this one has auth on.
describe("token metadata", () => {
  const secured = useEtcd();
  beforeAll(async () => {
    await secured.etcdctl(["user", "add", "root", "--new-user-password", "rootpw"]);
    await secured.etcdctl(["auth", "enable"]);
  });

  it("passes token: etcd checks it", async () => {
    const { url } = await startProxy({ endpoints: [secured.endpoint] });
    const kv = webClient(KV, url);
    const err = await connectError(kv.range({ key: utf8("t") }, { headers: { token: "not-a-token" } }));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toBe("etcdserver: invalid auth token");
    expect((await connectError(kv.range({ key: utf8("t") }))).rawMessage).toBe("etcdserver: user name is empty");
    const { token } = await webClient(Auth, url).authenticate({ name: "root", password: "rootpw" });
    expect((await kv.range({ key: utf8("t") }, { headers: { token } })).count).toBe(0n);
    // Headers outside the allow-list never reach etcd (see the unit tests of filterRequestHeaders).
    expect((await kv.range({ key: utf8("t") }, { headers: { token, "x-evil": "1", cookie: "a=b" } })).count).toBe(0n);
  });
});

describe("CORS", () => {
  const origin = "https://app.example";
  it("answers preflights for allowed origins with the full header list", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], allowOrigins: [origin] });
    const res = await rawRequest(url, {
      method: "OPTIONS",
      path: "/etcdserverpb.KV/Range",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,grpc-timeout",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      "access-control-allow-origin": origin,
      "access-control-allow-methods": "POST, OPTIONS",
      "access-control-allow-headers": "content-type, x-grpc-web, x-user-agent, grpc-timeout, token, authorization, hasleader, x-etcd-endpoint",
      "access-control-max-age": "86400",
      vary: "origin",
    });
  });

  it("refuses preflights from other origins, without CORS headers", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], allowOrigins: [origin] });
    for (const other of ["https://evil.example", "null", origin + ".evil"]) {
      const res = await rawRequest(url, {
        method: "OPTIONS",
        path: "/etcdserverpb.KV/Range",
        headers: { origin: other, "access-control-request-method": "POST" },
      });
      expect(res.status).toBe(403);
      expect(Object.keys(res.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    }
    // Without allowOrigins, no origin is allowed.
    const closed = await startProxy({ endpoints: [etcd.endpoint] });
    const res = await rawRequest(closed.url, {
      method: "OPTIONS",
      path: "/etcdserverpb.KV/Range",
      headers: { origin, "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(403);
  });

  it("marks every answer to an allowed origin, errors included", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], allowOrigins: [origin] });
    const range = toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: utf8("cors") }));
    const ok = await grpcWebPost(url, "/etcdserverpb.KV/Range", [range], { origin });
    expect(ok.trailers?.["grpc-status"]).toBe("0");
    expect(ok.headers).toMatchObject({
      "access-control-allow-origin": origin,
      "access-control-expose-headers": "grpc-status, grpc-message",
      vary: "origin",
    });
    const notFound = await rawRequest(url, { path: "/nope", headers: { origin } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers["access-control-allow-origin"]).toBe(origin);
    const other = await grpcWebPost(url, "/etcdserverpb.KV/Range", [range], { origin: "https://evil.example" });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it('allows any origin only when "*" is given', async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], allowOrigins: ["*"] });
    const res = await rawRequest(url, {
      method: "OPTIONS",
      path: "/etcdserverpb.KV/Range",
      headers: { origin: "https://any.example", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("*");
  });
});

describe("read-only mode", () => {
  it("serves Range and Watch and refuses Put before it reaches etcd", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], readOnly: true });
    await etcd.etcdctl(["put", "ro/existing", "x"]);
    const kv = webClient(KV, url);
    expect((await kv.range({ key: utf8("ro/existing") })).kvs).toHaveLength(1);

    const ac = new AbortController();
    const stream = watchVia(webTransport(url), { key: utf8("ro/w") }, ac.signal);
    expect((await stream.next()).value?.created).toBe(true);
    ac.abort();
    await stream.next().catch(() => undefined);

    const denied = await connectError(kv.put({ key: utf8("ro/new"), value: utf8("x") }));
    expect(denied.code).toBe(Code.PermissionDenied);
    const grant = await connectError(webClient(Lease, url).leaseGrant({ TTL: 10n }));
    expect(grant.code).toBe(Code.PermissionDenied);
    expect(await etcd.etcdctl(["get", "ro/new"])).toBe("");
    expect(await etcd.etcdctl(["lease", "list"])).not.toMatch(/[0-9a-f]{8,}/);
  });

  it("lets a Txn through when it only reads (nested too), refuses one that writes, and never Hash or HashKV", async () => {
    const { url } = await startProxy({ endpoints: [etcd.endpoint], readOnly: true });
    await etcd.etcdctl(["put", "ro/t", "1"]);
    const kv = webClient(KV, url);
    const range = { request: { case: "requestRange" as const, value: { key: utf8("ro/t") } } };
    const reads = await kv.txn({
      compare: [{ key: utf8("ro/t"), target: 3, result: 0, targetUnion: { case: "value", value: utf8("1") } }],
      success: [range, { request: { case: "requestTxn", value: { success: [range], failure: [range] } } }],
      failure: [range],
    });
    expect(reads.succeeded).toBe(true);
    expect(reads.responses).toHaveLength(2);
    const put = { request: { case: "requestPut" as const, value: { key: utf8("ro/t"), value: utf8("2") } } };
    for (const txn of [
      { success: [put] },
      { success: [range], failure: [put] },
      { success: [{ request: { case: "requestTxn" as const, value: { failure: [put] } } }] },
      { success: [{ request: { case: "requestDeleteRange" as const, value: { key: utf8("ro/t") } } }] },
    ]) {
      expect((await connectError(kv.txn(txn))).code).toBe(Code.PermissionDenied);
    }
    expect(await etcd.etcdctl(["get", "ro/t", "--print-value-only"])).toBe("1\n");
    // A body that is not a TxnRequest gets InvalidArgument, not a guess.
    const junk = await grpcWebPost(url, "/etcdserverpb.KV/Txn", [Uint8Array.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
    expect(junk.trailers?.["grpc-status"]).toBe("3");
    for (const path of ["/etcdserverpb.Maintenance/Hash", "/etcdserverpb.Maintenance/HashKV"]) {
      expect((await grpcWebPost(url, path, [new Uint8Array()])).trailers?.["grpc-status"]).toBe("7");
    }
  });
});

describe("backpressure", () => {
  it("a watch read slowly does not make the proxy buffer what etcd sends", async () => {
    const proxy = createProxy({ endpoints: [etcd.endpoint], logLevel: "warn" });
    let maxBuffered = 0;
    let paused = false;
    // Mount the handler on our own server to observe each response's write buffer.
    const server = http.createServer((req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      (res as unknown as { write: (chunk: Buffer) => boolean }).write = (chunk) => {
        const ok = write(chunk);
        if (!ok) paused = true;
        maxBuffered = Math.max(maxBuffered, res.writableLength);
        return ok;
      };
      proxy.handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const direct = createGrpcTransport({ baseUrl: etcd.endpoint });
    const kv = createClient(KV, direct);
    let req: http.ClientRequest | undefined;
    try {
      const start = (await kv.put({ key: utf8("bp/start"), value: utf8("") })).header!.revision + 1n;
      const body = Buffer.from(watchCreateBytes({ key: utf8("bp/"), rangeEnd: utf8("bp0"), startRevision: start }));
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
      framed.writeUInt32BE(body.length, 1);
      req = http.request(new URL("/etcdserverpb.Watch/Watch", url), {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/grpc-web+proto" },
      });
      req.on("error", () => {});
      const res = await new Promise<http.IncomingMessage>((resolve) => {
        req!.on("response", resolve);
        req!.end(framed);
      });
      res.pause(); // the slow consumer: reads nothing for now

      const count = 200;
      const value = new Uint8Array(100 * 1024).fill(120);
      for (let i = 0; i < count; i++) await kv.put({ key: utf8(`bp/${i}`), value });
      // 20 MB sent by etcd, more than loopback socket buffers hold: the proxy must have been told to wait.
      await expect.poll(() => paused, { timeout: 20000 }).toBe(true);

      // Now read everything: every event arrives, in order.
      let pending = Buffer.alloc(0);
      let events = 0;
      let lastKey = "";
      await new Promise<void>((resolve, reject) => {
        res.on("data", (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          while (pending.length >= 5) {
            const len = pending.readUInt32BE(1);
            if (pending.length < 5 + len) break;
            if (pending[0] !== 0) return reject(new Error(`unexpected frame ${pending.subarray(5, 5 + len).toString()}`));
            const msg = fromBinary(WatchResponseSchema, pending.subarray(5, 5 + len));
            pending = pending.subarray(5 + len);
            for (const e of msg.events) {
              events++;
              lastKey = text(e.kv?.key);
            }
            if (events >= count) return resolve();
          }
        });
        res.on("error", reject);
        res.resume();
      });
      expect(events).toBe(count);
      expect(lastKey).toBe(`bp/${count - 1}`);
      expect(maxBuffered).toBeLessThan(2 * 1024 * 1024);
    } finally {
      req?.destroy();
      await proxy.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await expect.poll(watchers, { timeout: 10000 }).toBe(0);
  });
});
