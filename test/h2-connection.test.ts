// The HTTP/2 client (transport/h2/) against another HTTP/2 implementation
// (Node's nghttp2 server): the protocol cases that etcd rarely shows on
// demand (flow control both ways, GOAWAY, stream limits, resets, Huffman and
// table-indexed headers). gRPC against real etcd is covered by every other test.
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type H2Connection, connectH2 } from "../src/transport/h2/connection.js";
import { REFUSED_CODE } from "../src/transport/h2/refused.js";
import type { H2Headers } from "../src/transport/h2/hpack.js";
import type { H2Stream } from "../src/transport/h2/stream.js";

const servers: http2.Http2Server[] = [];
const connections: H2Connection[] = [];
const sessions: http2.ServerHttp2Session[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  for (const s of sessions.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve(handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void, settings?: http2.Settings) {
  const server = http2.createServer(settings === undefined ? {} : { settings });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {}); // resets are what some tests are about
    handler(stream, headers);
  });
  server.on("session", (s) => sessions.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const c = connectH2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  connections.push(c);
  return { server, c };
}

/** What a stream delivered: headers, trailers, body bytes, and how it closed. */
function collect(open: (l: Parameters<H2Connection["request"]>[2]) => H2Stream) {
  const got = { headers: [] as H2Headers[], body: [] as Uint8Array[], bytes: 0, stream: undefined as H2Stream | undefined };
  const closed = new Promise<{ error: Error | undefined; rst: number }>((resolve) => {
    got.stream = open({
      onHeaders: (h) => got.headers.push(h),
      onData: (d) => {
        got.body.push(d.slice());
        got.bytes += d.length;
      },
      onClose: (error, rst) => resolve({ error, rst }),
    });
  });
  return { got, closed };
}

const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString();

describe("HTTP/2 client connection", () => {
  it("sends the request headers and body, and reads headers, body and trailers (Huffman and indexed)", async () => {
    const { c } = await serve((stream, headers) => {
      let body = "";
      stream.on("data", (d: Buffer) => (body += d));
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "x-echo-path": headers[":path"], "x-body": body, "x-token": headers["authorization"] }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "all%20fine" }));
        stream.end("payload");
      });
    });
    for (let i = 0; i < 3; i++) {
      // The second and third requests reuse HPACK table entries on both sides.
      const { got, closed } = collect((l) => c.request("/svc/Method", { authorization: "Bearer abc", "grpc-timeout": `${i + 1}m` }, l));
      got.stream!.write(new TextEncoder().encode(`hello ${i}`), true);
      expect(await closed).toEqual({ error: undefined, rst: 0 });
      expect(got.headers[0]).toMatchObject({ ":status": "200", "x-echo-path": "/svc/Method", "x-body": `hello ${i}`, "x-token": "Bearer abc" });
      expect(got.headers[1]).toEqual({ "grpc-status": "0", "grpc-message": "all%20fine" });
      expect(text(got.body)).toBe("payload");
    }
  });

  it("holds a paused stream's server back with flow control, and gets every byte after resume", async () => {
    const size = 5 << 20;
    let serverWrote = 0;
    const { c } = await serve((stream) => {
      stream.respond({ ":status": 200 });
      const chunk = Buffer.alloc(64 << 10, 7);
      const pump = () => {
        while (serverWrote < size) {
          serverWrote += chunk.length;
          if (!stream.write(chunk)) return void stream.once("drain", pump);
        }
        stream.end();
      };
      pump();
    });
    const { got, closed } = collect((l) => c.request("/big", undefined, l));
    got.stream!.end();
    got.stream!.pause();
    await expect.poll(() => got.bytes).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500)); // time for the server to send more, were it allowed to
    // The stream window is 1 MiB: the server cannot have sent more while nothing was acknowledged.
    expect(got.bytes).toBeLessThanOrEqual(1 << 20);
    expect(serverWrote).toBeLessThan(size);
    got.stream!.resume();
    expect((await closed).error).toBeUndefined();
    expect(got.bytes).toBe(size);
    expect(got.body.every((b) => b.every((x) => x === 7))).toBe(true);
  });

  it("sends a body larger than the server's windows, waiting for WINDOW_UPDATEs", async () => {
    const size = 3 << 20;
    const { c } = await serve((stream) => {
      let n = 0;
      stream.on("data", (d: Buffer) => (n += d.length));
      stream.on("end", () => {
        stream.respond({ ":status": 200, "x-received": String(n) });
        stream.end();
      });
    });
    const { got, closed } = collect((l) => c.request("/upload", undefined, l));
    expect(got.stream!.write(new Uint8Array(size).fill(1), true)).toBe(false); // more than the 64 KiB default window
    await got.stream!.drained();
    expect((await closed).error).toBeUndefined();
    expect(got.headers[0]!["x-received"]).toBe(String(size));
  });

  it("queues streams above the server's MAX_CONCURRENT_STREAMS and runs them all", async () => {
    let open = 0;
    let maxOpen = 0;
    const { c } = await serve(
      (stream) => {
        maxOpen = Math.max(maxOpen, ++open);
        setTimeout(() => {
          open--;
          stream.respond({ ":status": 200 });
          stream.end("ok");
        }, 20);
      },
      { maxConcurrentStreams: 2 },
    );
    // Let the server's SETTINGS arrive first.
    await new Promise<void>((r) => c.ping(() => r()));
    const calls = Array.from({ length: 7 }, (_, i) => {
      const { got, closed } = collect((l) => c.request(`/q${i}`, undefined, l));
      got.stream!.end();
      return closed.then((r) => ({ ...r, body: text(got.body) }));
    });
    for (const r of await Promise.all(calls)) expect(r).toEqual({ error: undefined, rst: 0, body: "ok" });
    expect(maxOpen).toBe(2);
  });

  it("reports a server's RST_STREAM with its code, and a client cancel resets the stream on the server", async () => {
    const serverSaw: number[] = [];
    const { c } = await serve((stream, headers) => {
      if (headers[":path"] === "/reset") return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      stream.on("close", () => serverSaw.push(stream.rstCode));
      stream.respond({ ":status": 200 });
    });
    const reset = collect((l) => c.request("/reset", undefined, l));
    reset.got.stream!.end();
    const r = await reset.closed;
    expect(r.rst).toBe(7);
    expect(r.error).toMatchObject({ message: "Stream closed with error code NGHTTP2_REFUSED_STREAM", code: REFUSED_CODE });

    const hang = collect((l) => c.request("/hang", undefined, l));
    await expect.poll(() => hang.got.headers.length).toBe(1);
    hang.got.stream!.cancel();
    expect(await hang.closed).toEqual({ error: undefined, rst: 8 });
    await expect.poll(() => serverSaw).toEqual([http2.constants.NGHTTP2_CANCEL]);
  });

  it("after GOAWAY lets the open stream finish, fails new ones as refused, and closes when idle", async () => {
    let goaway: (() => void) | undefined;
    let finish: () => void = () => {};
    const { c } = await serve((stream) => {
      goaway = () => stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      finish = () => {
        stream.respond({ ":status": 200 });
        stream.end("done");
      };
    });
    const first = collect((l) => c.request("/first", undefined, l));
    first.got.stream!.end();
    await expect.poll(() => goaway).toBeDefined(); // the server has the stream
    goaway!();
    await expect.poll(() => c.usable).toBe(false);
    expect(() => c.request("/second", undefined, { onHeaders() {}, onData() {}, onClose() {} })).toThrow(expect.objectContaining({ code: REFUSED_CODE }));
    finish();
    expect(await first.closed).toEqual({ error: undefined, rst: 0 });
    expect(text(first.got.body)).toBe("done");
    await expect.poll(() => c.destroyed).toBe(true);
    expect(c.failure).toBeUndefined();
  });

  it("answers PINGs, and fails open streams with the socket's error when the connection dies", async () => {
    const sockets: Socket[] = [];
    const { server, c } = await serve((stream) => stream.respond({ ":status": 200 }));
    server.on("connection", (s: Socket) => sockets.push(s));
    expect(await new Promise<Error | undefined>((r) => c.ping(r))).toBeUndefined();
    const open = collect((l) => c.request("/open", undefined, l));
    await expect.poll(() => open.got.headers.length).toBe(1);
    expect(sockets).toHaveLength(1);
    sockets[0]!.resetAndDestroy(); // a TCP RST, as when the server's host vanishes
    const r = await open.closed;
    expect(r.error).toMatchObject({ code: "ECONNRESET" });
    expect(c.destroyed).toBe(true);
    expect(c.failure).toBe(r.error);
  });

  it("says so when the server is not an HTTP/2 server", async () => {
    const server = http.createServer((_req, res) => res.end("hi"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const c = connectH2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      connections.push(c);
      const { closed } = collect((l) => c.request("/x", undefined, l));
      expect((await closed).error?.message).toMatch(/^the server does not speak HTTP\/2 here \(it answered: "HTTP\/1\.1 400 Bad Request/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("fails with the connect error when nothing listens", async () => {
    const server = http2.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const c = connectH2(`http://127.0.0.1:${port}`);
    connections.push(c);
    const { closed } = collect((l) => c.request("/x", undefined, l));
    expect((await closed).error).toMatchObject({ code: "ECONNREFUSED" });
  });
});
