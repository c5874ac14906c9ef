// Unit tests of the proxy's pure parts: frames, header filter, CORS, routes, options, logger.
import { describe, expect, it } from "vitest";
import { ALLOWED_REQUEST_HEADERS, createCors } from "../../src/proxy/cors.js";
import {
  FrameSplitter,
  decodeGrpcMessage,
  encodeGrpcMessage,
  encodeTrailerFrame,
  statusFromHeaders,
} from "../../src/proxy/frames.js";
import { filterRequestHeaders, grpcTimeoutMs } from "../../src/proxy/headers.js";
import { createProxy } from "../../src/proxy/index.js";
import { createLogger } from "../../src/proxy/logger.js";
import { ROUTES, findRoute } from "../../src/proxy/routes.js";
import { frame, memoryLogger, parseGrpcWeb } from "./helpers.js";

describe("trailer frames", () => {
  it("encodes status and percent-encoded message", () => {
    const f = encodeTrailerFrame({ code: 14, message: "etcd down: 100% gone\r\nx é" });
    expect(f[0]).toBe(0x80);
    expect(f.readUInt32BE(1)).toBe(f.length - 5);
    expect(f.subarray(5).toString("latin1")).toBe("grpc-status: 14\r\ngrpc-message: etcd down: 100%25 gone%0D%0Ax %C3%A9\r\n");
    expect(parseGrpcWeb(f).trailers).toEqual({ "grpc-status": "14", "grpc-message": "etcd down: 100%25 gone%0D%0Ax %C3%A9" });
    expect(encodeTrailerFrame({ code: 0, message: "" }).subarray(5).toString()).toBe("grpc-status: 0\r\n");
  });

  it("round-trips grpc-message encoding, tolerating bad escapes", () => {
    for (const m of ["plain", "a%b", "ünïcödé ✓", "\t\n"]) expect(decodeGrpcMessage(encodeGrpcMessage(m))).toBe(m);
    expect(decodeGrpcMessage("50%zz off %C3%A9")).toBe("50%zz off é");
  });

  it("reads statuses from upstream headers", () => {
    expect(statusFromHeaders({ "grpc-status": "3", "grpc-message": "etcdserver: key is not provided" })).toEqual({
      code: 3,
      message: "etcdserver: key is not provided",
    });
    expect(statusFromHeaders({ "grpc-status": "0" })).toEqual({ code: 0, message: "" });
    expect(statusFromHeaders({ ":status": "200" } as Record<string, string>)).toBeUndefined();
    expect(statusFromHeaders({ "grpc-status": "abc" })).toBeUndefined();
    expect(statusFromHeaders({ "grpc-status": "99" })).toBeUndefined();
  });
});

describe("FrameSplitter", () => {
  const split = (chunks: Uint8Array[], max = 100, budget = Infinity) => {
    let reserved = 0;
    const s = new FrameSplitter(max, (n) => (reserved + n <= budget ? ((reserved += n), true) : false));
    const out: Buffer[] = [];
    for (const c of chunks) {
      const err = s.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength), out);
      if (err) return { err, frames: out.length, out, pending: s.pendingBytes };
    }
    return { err: s.end(), frames: out.length, out, pending: s.pendingBytes };
  };
  const scan = (chunks: Uint8Array[], max = 100) => {
    const { err, frames } = split(chunks, max);
    return { err, frames };
  };

  it("gives whole frames, byte for byte, however the body is split", () => {
    const frames = [frame(Buffer.from("hello")), frame(new Uint8Array()), frame(Buffer.alloc(30, 7))];
    const body = Buffer.concat(frames);
    for (let size = 1; size <= body.length; size++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
      const r = split(chunks);
      expect(r.err).toBeUndefined();
      expect(r.out.map((b) => b.toString("hex"))).toEqual(frames.map((b) => b.toString("hex")));
      expect(r.pending).toBe(0);
    }
    expect(scan([])).toEqual({ err: undefined, frames: 0 });
  });

  it("holds back an incomplete frame: it never comes out", () => {
    const whole = frame(Buffer.from("put"));
    const r = split([Buffer.concat([whole, Buffer.from([0, 0, 0, 0, 9, 1, 2])])]);
    expect(r.frames).toBe(1);
    expect(r.out[0]!.toString("hex")).toBe(whole.toString("hex"));
    expect(r.pending).toBe(14); // the incomplete frame's claimed size, reserved
    expect(r.err).toEqual({ code: 3, message: "truncated frame at end of request body" });
  });

  it("reserves each frame's size before holding it, and refuses when the budget says no", () => {
    const claim = Buffer.from([0, 0, 0, 0, 60]); // a 65-byte frame, of which only the header came
    expect(split([claim], 100, 64).err?.message).toMatch(/maxBufferedBytes/);
    expect(split([claim], 100, 65).err?.message).toMatch(/truncated/);
    expect(split([frame(Buffer.alloc(10)), frame(Buffer.alloc(10))], 100, 20).err?.code).toBe(8);
  });

  it("refuses compressed or unknown flags", () => {
    expect(scan([frame(Buffer.from("x"), 1)]).err).toEqual({ code: 3, message: "compressed or invalid frame" });
    expect(scan([frame(Buffer.from("x"), 0x80)]).err?.code).toBe(3);
    expect(scan([frame(Buffer.from("ok")), Buffer.from([2])]).err?.code).toBe(3);
  });

  it("refuses frames and bodies over the limit", () => {
    expect(scan([Buffer.from([0, 0, 0, 0, 101])]).err?.code).toBe(8);
    expect(scan([Buffer.from([0, 0xff, 0xff, 0xff, 0xff])]).err?.code).toBe(8);
    expect(scan([frame(Buffer.alloc(60)), frame(Buffer.alloc(60))]).err?.code).toBe(8);
    expect(scan([frame(Buffer.alloc(95))]).err).toBeUndefined();
  });

  it("refuses a body that ends inside a frame", () => {
    expect(scan([Buffer.from([0, 0])]).err).toEqual({ code: 3, message: "truncated frame at end of request body" });
    expect(scan([Buffer.from([0, 0, 0, 0, 4, 1, 2])]).err?.code).toBe(3);
  });
});

describe("filterRequestHeaders", () => {
  it("keeps only grpc-timeout, token, authorization and hasleader", () => {
    const r = filterRequestHeaders({
      "content-type": "application/grpc-web+proto",
      "x-grpc-web": "1",
      "x-user-agent": "connect-es/2",
      "x-evil": "1",
      "grpc-encoding": "gzip",
      "grpc-accept-encoding": "gzip",
      "grpc-custom": "x",
      cookie: "session=1",
      origin: "https://a.example",
      host: "evil.example:2379",
      connection: "keep-alive",
      "transfer-encoding": "chunked",
      te: "trailers",
      "grpc-timeout": "500m",
      token: "t0k",
      authorization: "Bearer abc",
      hasleader: "true",
    });
    expect(r).toEqual({
      ok: true,
      headers: { "grpc-timeout": "500m", token: "t0k", authorization: "Bearer abc", hasleader: "true" },
    });
  });

  it("refuses values HTTP/2 could not carry and malformed timeouts", () => {
    expect(filterRequestHeaders({ "grpc-timeout": "soon" })).toEqual({ ok: false, message: "invalid grpc-timeout header" });
    expect(filterRequestHeaders({ "grpc-timeout": "123456789S" }).ok).toBe(false);
    expect(filterRequestHeaders({ token: "a\u00ffb" }).ok).toBe(false);
    expect(filterRequestHeaders({}).ok).toBe(true);
  });
});

describe("CORS", () => {
  it("allows exact origins only", () => {
    const cors = createCors(["https://a.example"]);
    expect(cors.responseHeaders("https://a.example")).toEqual({
      "access-control-allow-origin": "https://a.example",
      vary: "origin",
      "access-control-expose-headers": "grpc-status, grpc-message",
    });
    expect(cors.responseHeaders("https://a.example:443")).toEqual({});
    expect(cors.responseHeaders("https://b.example")).toEqual({});
    expect(cors.responseHeaders(undefined)).toEqual({});
    expect(cors.preflightHeaders("https://b.example")).toBeUndefined();
    expect(cors.preflightHeaders("https://a.example")).toMatchObject({
      "access-control-allow-headers": ALLOWED_REQUEST_HEADERS,
      "access-control-max-age": "86400",
    });
  });

  it("allows nothing by default and everything only with *", () => {
    expect(createCors([]).preflightHeaders("https://a.example")).toBeUndefined();
    expect(createCors(["*"]).responseHeaders("https://z.example")["access-control-allow-origin"]).toBe("*");
  });
});

describe("routes", () => {
  it("serves etcd's real methods only", () => {
    expect(findRoute("/etcdserverpb.KV/Range")).toEqual({ path: "/etcdserverpb.KV/Range", readOnly: true, unary: true });
    expect(findRoute("/etcdserverpb.Watch/Watch")?.unary).toBe(false);
    expect(findRoute("/etcdserverpb.KV/Put")?.readOnly).toBe(false);
    expect(findRoute("/etcdserverpb.Maintenance/Snapshot")?.readOnly).toBe(false);
    expect(findRoute("/etcdserverpb.KV/range")).toBeUndefined();
    expect(findRoute("/etcdserverpb.Lock/Lock")).toBeUndefined();
    expect(findRoute(undefined)).toBeUndefined();
    const readOnly = [...ROUTES.values()].filter((r) => r.readOnly).map((r) => r.path);
    expect(readOnly.sort()).toEqual(
      [
        "/etcdserverpb.KV/Range",
        "/etcdserverpb.KV/RangeStream",
        "/etcdserverpb.Watch/Watch",
        "/etcdserverpb.Lease/LeaseTimeToLive",
        "/etcdserverpb.Lease/LeaseLeases",
        "/etcdserverpb.Cluster/MemberList",
        "/etcdserverpb.Maintenance/Status",
        "/etcdserverpb.Auth/AuthStatus",
        "/etcdserverpb.Auth/Authenticate",
        "/etcdserverpb.Auth/UserList",
        "/etcdserverpb.Auth/UserGet",
        "/etcdserverpb.Auth/RoleList",
        "/etcdserverpb.Auth/RoleGet",
      ].sort(),
    );
    for (const path of ROUTES.keys()) expect(path).toMatch(/^\/etcdserverpb\.(KV|Watch|Lease|Cluster|Maintenance|Auth)\/[A-Za-z]+$/);
  });
});

describe("options", () => {
  it("rejects invalid options", () => {
    expect(() => createProxy({ endpoints: [] })).toThrow(TypeError);
    expect(() => createProxy({ endpoints: ["127.0.0.1:2379"] })).toThrow(/http/);
    expect(() => createProxy({ endpoints: ["unix:///x"] })).toThrow(TypeError);
    expect(() => createProxy({ endpoints: ["http://x"], maxRequestBytes: 0 })).toThrow(RangeError);
    expect(() => createProxy({ endpoints: ["http://x"], logLevel: "loud" as "info" })).toThrow(RangeError);
    expect(() => createProxy({ endpoints: ["http://x"], tls: { cert: "c" } as { cert: string; key: string } })).toThrow(TypeError);
    expect(() => createProxy({ endpoints: ["http://x"], allowOrigins: [""] })).toThrow(TypeError);
  });

  it("listen() can be called once and close() is idempotent", async () => {
    const logger = memoryLogger();
    const proxy = createProxy({ endpoints: ["http://127.0.0.1:1"], logger });
    const { url, port } = await proxy.listen();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(logger.lines).toEqual([
      `info listening on ${url} (HTTP/1.1), endpoints http://127.0.0.1:1, read-only no, tls no`,
    ]);
    await expect(proxy.listen()).rejects.toThrow(/already/);
    await proxy.close();
    await proxy.close();
    await expect(proxy.listen()).rejects.toThrow(/closed/);
  });
});

describe("logger", () => {
  it("filters by level and survives a throwing sink", () => {
    const sink = memoryLogger();
    const log = createLogger(sink, "warn");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(sink.lines).toEqual(["warn w", "error e"]);
    expect(log.debugEnabled).toBe(false);
    expect(createLogger(sink, "debug").debugEnabled).toBe(true);
    const silent = memoryLogger();
    createLogger(silent, "silent").error("x");
    expect(silent.lines).toEqual([]);
    const throwing = createLogger({ debug() {}, info() {}, warn() {}, error() { throw new Error("sink down"); } }, "info");
    expect(() => throwing.error("x")).not.toThrow();
  });
});

describe("grpcTimeoutMs", () => {
  it("reads each gRPC timeout unit in milliseconds, and nothing else", () => {
    expect(grpcTimeoutMs("500m")).toBe(500);
    expect(grpcTimeoutMs("2S")).toBe(2000);
    expect(grpcTimeoutMs("1M")).toBe(60000);
    expect(grpcTimeoutMs("1H")).toBe(3600000);
    expect(grpcTimeoutMs("1500u")).toBe(1.5);
    expect(grpcTimeoutMs("99999999n")).toBeCloseTo(99.999999);
    for (const bad of [undefined, "", "5", "5s", "123456789m", " 5m", 5]) expect(grpcTimeoutMs(bad)).toBeUndefined();
  });
});
