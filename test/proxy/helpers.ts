// Shared helpers for the proxy tests: start/stop proxies, Connect gRPC-Web clients, raw HTTP requests and
// gRPC-Web body parsing.
import { create, toBinary, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import { fileURLToPath } from "node:url";
import { afterEach, expect } from "vitest";
import { Watch, WatchCreateRequestSchema, WatchRequestSchema, type WatchResponse } from "../../gen/etcdserverpb/rpc_pb.js";
import { createProxy, type EtcdProxy, type ProxyLogger, type ProxyOptions } from "../../src/proxy/index.js";
import { callHalfDuplex } from "../../src/transport/half-duplex.js";

/** Starts proxies and closes every one after each test. */
export function useProxies(): (options: ProxyOptions) => Promise<{ proxy: EtcdProxy; url: string; port: number }> {
  const open: EtcdProxy[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  return async (options) => {
    const proxy = createProxy({ logLevel: "error", ...options });
    open.push(proxy);
    const { url, port } = await proxy.listen(0);
    return { proxy, url, port };
  };
}

/** A gRPC-Web transport as a browser would use it (HTTP/1.1). */
export function webTransport(baseUrl: string, headers?: Record<string, string>): Transport {
  const interceptors: Interceptor[] = headers
    ? [(next) => (req) => {
        for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
        return next(req);
      }]
    : [];
  return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
}

/** A generated client for `service` over gRPC-Web to `baseUrl`. */
export function webClient<S extends DescService>(service: S, baseUrl: string, headers?: Record<string, string>): Client<S> {
  return createClient(service, webTransport(baseUrl, headers));
}

/** The error a call that must fail failed with, as a ConnectError; throws when it succeeded. */
export async function connectError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

/** A logger that keeps every line, for assertions. */
export function memoryLogger(): ProxyLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (msg: string) => lines.push(`${level} ${msg}`);
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

/** One gRPC length-prefixed frame. */
export function frame(payload: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** A gRPC-Web response body split into message payloads and the trailer frame's fields. */
export interface GrpcWebBody {
  messages: Buffer[];
  trailers: Record<string, string> | undefined;
  /** Bytes after the trailer frame, or a partial frame (should be 0). */
  leftover: number;
}

/** Parses a gRPC-Web response body. */
export function parseGrpcWeb(body: Buffer): GrpcWebBody {
  const messages: Buffer[] = [];
  let trailers: Record<string, string> | undefined;
  let i = 0;
  while (i + 5 <= body.length && trailers === undefined) {
    const flag = body[i]!;
    const len = body.readUInt32BE(i + 1);
    if (i + 5 + len > body.length) break;
    const payload = body.subarray(i + 5, i + 5 + len);
    i += 5 + len;
    if (flag & 0x80) {
      trailers = {};
      for (const line of payload.toString("latin1").split("\r\n")) {
        const c = line.indexOf(":");
        if (c > 0) trailers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
    } else messages.push(Buffer.from(payload));
  }
  return { messages, trailers, leftover: body.length - i };
}

/** The answer to a raw HTTP request. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  httpVersion: string;
}

/** A raw HTTP/1.1 request (no agent, so no pooled connections are left behind). */
export function rawRequest(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(options.path, url),
      { method: options.method ?? "POST", headers: options.headers, agent: false, timeout: options.timeoutMs ?? 15000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), httpVersion: res.httpVersion }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${options.path} timed out`)));
    req.on("error", reject);
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}

/** A raw gRPC-Web POST of `messages` (each framed) to `path`. */
export async function grpcWebPost(
  url: string,
  path: string,
  messages: Uint8Array[],
  headers: Record<string, string> = {},
): Promise<RawResponse & GrpcWebBody> {
  const body = Buffer.concat(messages.map((m) => frame(m)));
  const res = await rawRequest(url, {
    path,
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
    body,
  });
  return { ...res, ...parseGrpcWeb(res.body) };
}


/** UTF-8 bytes. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A watch through gRPC-Web, as the client's half-duplex path runs it (server-streaming, one create request). */
export function watchVia(
  transport: Transport,
  create: MessageInitShape<typeof WatchCreateRequestSchema>,
  signal: AbortSignal,
  headers?: Record<string, string>,
  timeoutMs?: number,
): AsyncIterator<WatchResponse> {
  return callHalfDuplex(
    transport,
    Watch.method.watch,
    { requestUnion: { case: "createRequest", value: create } },
    signal,
    headers,
    timeoutMs,
  )[Symbol.asyncIterator]();
}

/** The encoded WatchRequest that creates a watch. */
export function watchCreateBytes(init: MessageInitShape<typeof WatchCreateRequestSchema>): Uint8Array {
  return toBinary(
    WatchRequestSchema,
    create(WatchRequestSchema, { requestUnion: { case: "createRequest", value: create(WatchCreateRequestSchema, init) } }),
  );
}

/** A proxy CLI process and what it has printed so far. */
export type ProxyProcess = ChildProcess & { output: () => { stdout: string; stderr: string } };

/**
 * Runs etcd-connect-proxy (src/proxy/cli.ts) as its own process, e.g. to read its memory in /proc; every process
 * is killed (SIGKILL, by PID) after each test.
 */
export function useProxyProcesses() {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const children = new Set<ChildProcess>();
  afterEach(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, "SIGKILL");
        await new Promise((resolve) => child.once("exit", resolve));
      }
    }
    children.clear();
  });

  const spawnCli = (args: string[]): ProxyProcess => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/proxy/cli.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    return Object.assign(child, { output: () => ({ stdout, stderr }) });
  };

  const runCli = async (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const child = spawnCli(args);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    return { code, ...child.output() };
  };

  /** Starts the CLI on a free port in front of `endpoint` and waits for its startup line. */
  const startCli = async (endpoint: string, args: string[]) => {
    const child = spawnCli(["--listen", "127.0.0.1:0", "--endpoints", endpoint, ...args]);
    await expect.poll(() => /listening on (\S+)/.test(child.output().stderr) || child.exitCode !== null, { timeout: 20000 }).toBe(true);
    const url = /listening on (\S+)/.exec(child.output().stderr)?.[1];
    if (!url) throw new Error(`CLI did not start: ${child.output().stderr}`);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    return { child, url, exited };
  };

  return { spawnCli, runCli, startCli };
}
