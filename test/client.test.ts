import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { Code, EtcdError, connect, createClient, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { connectionsTo } from "./harness/sockets.js";

const etcd = useEtcd();

/** A loopback port that refuses connections (nothing listens on it). */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("connect", () => {
  it("resolves once an endpoint answers, skipping dead ones", async () => {
    const client = await connect({ endpoints: [await deadEndpoint(), etcd.endpoint], dialTimeoutMs: 5000 });
    try {
      await client.put("c/a", "1");
      expect(text((await client.get("c/a")).kvs[0]!.value)).toBe("1");
    } finally {
      client.close();
    }
  });

  it("rejects with unavailable when no endpoint answers within dialTimeoutMs", async () => {
    const started = Date.now();
    const err = await connect({ endpoints: [await deadEndpoint(), await deadEndpoint()], dialTimeoutMs: 700 }).catch((e) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect([err.kind, err.code]).toEqual(["unavailable", Code.Unavailable]);
    expect(err.message).toMatch(/no endpoint answered within 700 ms/);
    // It waited for the dial timeout rather than failing at the first refusal.
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
  });

  it("accepts a comma-separated endpoint string", async () => {
    const client = await connect({ endpoints: `${etcd.endpoint},` });
    expect(client.endpoints).toEqual([etcd.endpoint]);
    client.close();
  });

  it("rejects bad options with TypeError/RangeError", () => {
    expect(() => createClient({ endpoints: [] })).toThrow(TypeError);
    expect(() => createClient({ endpoints: ["127.0.0.1:2379"] })).toThrow(TypeError);
    expect(() => createClient({ endpoints: ["ftp://127.0.0.1:2379"] })).toThrow(TypeError);
    expect(() => createClient({ endpoints: [etcd.endpoint], maxCallSendMsgSize: 0 })).toThrow(RangeError);
    return expect(connect({ endpoints: [etcd.endpoint], dialTimeoutMs: -1 })).rejects.toBeInstanceOf(RangeError);
  });
});

describe("createClient", () => {
  it("is lazy: no connection until the first call", async () => {
    const port = Number(new URL(etcd.endpoint).port);
    await expect.poll(() => connectionsTo(port)).toBe(0); // earlier tests' clients are gone
    const client = createClient({ endpoints: [etcd.endpoint] });
    try {
      expect(connectionsTo(port)).toBe(0);
      await client.get("x");
      expect(connectionsTo(port)).toBe(1);
    } finally {
      client.close();
    }
  });

  it("waits for an endpoint while all are down (bounded by the call's deadline), then reports why", async () => {
    const client = createClient({ endpoints: [await deadEndpoint()] });
    try {
      const started = Date.now();
      const err = await client.get("x", { timeoutMs: 600 }).catch((e) => e);
      expect(err).toMatchObject({ kind: "unavailable", code: Code.Unavailable });
      expect(err.message).toMatch(/ECONNREFUSED/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(550); // it waited, it did not fail at once
      // A write that never reached a server waits the same way.
      await expect(client.put("x", "1", { timeoutMs: 300 })).rejects.toMatchObject({ kind: "unavailable" });
      // Without a deadline the caller's signal ends the wait.
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("gave up")), 300);
      await expect(client.get("x", { signal: ac.signal })).rejects.toMatchObject({ kind: "canceled" });
    } finally {
      client.close();
    }
  });
});

describe("connection sharing", () => {
  it("runs many concurrent calls over one HTTP/2 connection per endpoint", async () => {
    const port = Number(new URL(etcd.endpoint).port);
    await expect.poll(() => connectionsTo(port)).toBe(0);
    const client = await connect({ endpoints: [etcd.endpoint] });
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => client.put(`share/${i}`, String(i))));
      await Promise.all(Array.from({ length: 200 }, (_, i) => client.get(`share/${i}`)));
      await client.cluster.memberList();
      expect(connectionsTo(port)).toBe(1);
      expect((await client.get("share/", { prefix: true, countOnly: true })).count).toBe(200n);
    } finally {
      client.close();
    }
  });
});

describe("close", () => {
  it("closes the connection and rejects later calls with closed", async () => {
    const port = Number(new URL(etcd.endpoint).port);
    await expect.poll(() => connectionsTo(port)).toBe(0);
    const client = await connect({ endpoints: [etcd.endpoint] });
    await client.get("x");
    expect(connectionsTo(port)).toBe(1);
    client.close();
    client.close(); // idempotent
    await expect(client.get("x")).rejects.toMatchObject({ kind: "closed" });
    await expect.poll(() => connectionsTo(port)).toBe(0);
  });

  it("supports await using", async () => {
    let leaked: api.Client | undefined;
    {
      await using client = await connect({ endpoints: [etcd.endpoint] });
      leaked = client;
      await client.put("using", "1");
    }
    await expect(leaked.get("using")).rejects.toMatchObject({ kind: "closed" });
  });
});

describe("public API shape", () => {
  it("has nothing named then (a thenable would break await)", async () => {
    const client = createClient({ endpoints: [etcd.endpoint] });
    const seen = new Set<unknown>();
    const offenders: string[] = [];
    const walk = (value: unknown, path: string, depth: number): void => {
      if (depth > 4 || value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value)) return;
      seen.add(value);
      for (const key of Reflect.ownKeys(value as object)) {
        if (key === "then") offenders.push(`${path}.then`);
        if (typeof key === "string" && !["prototype", "constructor", "caller", "arguments"].includes(key)) {
          walk((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
        }
      }
    };
    walk(api, "exports", 0);
    walk(client, "client", 0);
    walk(api.op.get("k"), "op", 0);
    client.close();
    expect(offenders).toEqual([]);
  });

  it("uses bigint for every int64 in responses", async () => {
    const client = await connect({ endpoints: [etcd.endpoint] });
    try {
      const r = await client.put("shape", "1");
      const { header } = await client.get("shape");
      for (const v of [r.header.revision, header.clusterId, header.memberId, header.raftTerm]) expect(typeof v).toBe("bigint");
    } finally {
      client.close();
    }
  });
});
