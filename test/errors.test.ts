import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, Code, EtcdError, connect, createClient, op } from "../src/index.js";
import { useCountingClient } from "./harness/counting-client.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
const counting = useCountingClient(etcd);
const counter = counting.counter;
let client: Client;
beforeAll(() => {
  client = counting.client;
});

/** Runs `fn` and returns what it rejected with, and how many RPCs it sent. */
async function rejection(fn: () => Promise<unknown>): Promise<{ err: EtcdError; rpcs: number }> {
  const before = counting.sent;
  const err = await fn().then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EtcdError);
  return { err: err as EtcdError, rpcs: counting.sent - before };
}

describe("client-side validation (nothing is sent)", () => {
  it("rejects empty keys with empty-key", async () => {
    for (const call of [() => client.get(""), () => client.put("", "v"), () => client.delete(""), () => client.get("", { end: "z" })]) {
      const { err, rpcs } = await rejection(call);
      expect([err.kind, err.code, rpcs]).toEqual(["empty-key", Code.InvalidArgument, 0]);
    }
  });

  it("throws empty-key synchronously when an op for a txn is built", () => {
    expect(() => op.get("")).toThrow(EtcdError);
  });

  it("rejects requests over maxCallSendMsgSize with request-too-large", async () => {
    const big = new Uint8Array(2 * 1024 * 1024 + 1);
    const { err, rpcs } = await rejection(() => client.put("big", big));
    expect([err.kind, rpcs]).toEqual(["request-too-large", 0]);
    const txn = await rejection(() => client.txn({ success: [op.put("a", big.subarray(0, 1200000)), op.put("b", big.subarray(0, 1200000))] }));
    expect([txn.err.kind, txn.rpcs]).toEqual(["request-too-large", 0]);

    const small = createClient({ endpoints: etcd.endpoints, maxCallSendMsgSize: 1024, interceptors: [counter] });
    try {
      const r = await rejection(() => small.put("k", new Uint8Array(2000)));
      expect([r.err.kind, r.rpcs]).toEqual(["request-too-large", 0]);
      await small.put("k", new Uint8Array(900)); // under the limit: sent
    } finally {
      small.close();
    }
  });

  it("rejects bad options with TypeError/RangeError before sending", async () => {
    const before = counting.sent;
    await expect(client.get("k", { limit: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(client.get("k", { revision: 0.5 })).rejects.toBeInstanceOf(TypeError);
    await expect(client.compact(-1)).rejects.toBeInstanceOf(RangeError);
    await expect(client.get("k", { timeoutMs: -5 })).rejects.toBeInstanceOf(RangeError);
    await expect(client.put("k", 5 as unknown as string)).rejects.toBeInstanceOf(TypeError);
    expect(counting.sent - before).toBe(0);
  });

  it("rejects a pre-aborted signal with canceled, carrying the reason", async () => {
    const reason = new Error("page closed");
    const { err, rpcs } = await rejection(() => client.get("k", { signal: AbortSignal.abort(reason) }));
    expect([err.kind, err.code, err.cause, rpcs]).toEqual(["canceled", Code.Canceled, reason, 0]);
  });
});

describe("errors from etcd", () => {
  it("maps a request over etcd's --max-request-bytes to request-too-large", async () => {
    // 1.8 MiB: under the client's 2 MiB limit, over etcd's default 1.5 MiB.
    const { err, rpcs } = await rejection(() => client.put("big", new Uint8Array(1.8 * 1024 * 1024)));
    expect([err.kind, err.code, err.rawMessage, rpcs]).toEqual(["request-too-large", Code.InvalidArgument, "etcdserver: request is too large", 1]);
  });

  it("maps future revisions, unknown leases and compactions", async () => {
    const { header } = await client.put("e/k", "v");
    expect((await rejection(() => client.get("e/k", { revision: header.revision + 1000n }))).err).toMatchObject({
      kind: "future-revision",
      code: Code.OutOfRange,
    });
    expect((await rejection(() => client.put("e/k", "v", { lease: 0x1234 }))).err).toMatchObject({
      kind: "lease-not-found",
      code: Code.NotFound,
    });
    await client.compact(header.revision);
    expect((await rejection(() => client.compact(header.revision - 1n))).err).toMatchObject({ kind: "compacted" });
    expect((await rejection(() => client.compact(header.revision + 1000n))).err).toMatchObject({ kind: "future-revision" });
  });

  it("refuses responses over maxCallRecvMsgSize with response-too-large", async () => {
    await client.put("e/large", new Uint8Array(8192));
    const small = createClient({ endpoints: etcd.endpoints, maxCallRecvMsgSize: 1024 });
    try {
      expect((await rejection(() => small.get("e/large"))).err.kind).toBe("response-too-large");
      await small.get("e/missing"); // small responses still pass
    } finally {
      small.close();
    }
  });
});

describe("deadlines and cancellation against a hung member", () => {
  it("fails with deadline-exceeded after timeoutMs, canceled on abort", async () => {
    const member = etcd.members[0]!;
    await client.get("warm-up");
    member.pause();
    try {
      const timed = await rejection(() => client.get("k", { timeoutMs: 300 }));
      expect([timed.err.kind, timed.err.code]).toEqual(["deadline-exceeded", Code.DeadlineExceeded]);

      const withTimeoutSignal = await rejection(() => client.get("k", { signal: AbortSignal.timeout(300) }));
      expect(withTimeoutSignal.err.kind).toBe("deadline-exceeded");

      const ac = new AbortController();
      const reason = new Error("user navigated away");
      const pending = rejection(() => client.put("k", "v", { signal: ac.signal }));
      setTimeout(() => ac.abort(reason), 100);
      const aborted = await pending;
      expect([aborted.err.kind, aborted.err.cause]).toEqual(["canceled", reason]);

      const withDefault = createClient({ endpoints: etcd.endpoints, timeoutMs: 300 });
      try {
        expect((await rejection(() => withDefault.get("k"))).err.kind).toBe("deadline-exceeded");
      } finally {
        withDefault.close();
      }
    } finally {
      member.resume();
    }
    // The shared session still works once the member is back.
    await client.put("after-pause", "ok", { timeoutMs: 10000 });
  });
});

describe("quota", () => {
  const small = useEtcd({ extraArgs: ["--quota-backend-bytes=2097152"] });
  it("maps a full backend to no-space", async () => {
    const c = await connect({ endpoints: small.endpoints });
    try {
      // etcd checks the quota against the backend size, which grows on each
      // backend commit (every 100 ms): keep writing until the quota trips.
      const value = new Uint8Array(64 * 1024);
      let err: unknown;
      for (let i = 0; i < 5000 && err === undefined; i++) {
        await c.put(`fill/${i}`, value).catch((e: unknown) => {
          err = e;
        });
      }
      expect(err).toMatchObject({ kind: "no-space", code: Code.ResourceExhausted });
      expect(await small.etcdctl(["alarm", "list"])).toMatch(/NOSPACE/);
    } finally {
      c.close();
    }
  });
});
