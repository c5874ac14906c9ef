// Bad input on the public API: each case gets a TypeError or RangeError (or an EtcdError where etcd's own kind
// exists) that names what is wrong, before anything is sent (RPCs counted with an interceptor). And inputs at the
// edges that must work: deadlines too long for gRPC's 8-digit milliseconds, against real etcd.
import { beforeAll, describe, expect, it } from "vitest";
import { type Client, type ClientOptions, EtcdError, connect, createClient, op } from "../src/index.js";
import { useCountingClient } from "./harness/counting-client.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
const counting = useCountingClient(etcd);
let client: Client;
beforeAll(() => {
  client = counting.client;
});

/** What `fn` threw or rejected with (sync or async), and how many RPCs it sent. */
async function failure(fn: () => unknown): Promise<{ err: Error; rpcs: number }> {
  const before = counting.sent;
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Error)) throw new Error("expected a failure");
  return { err, rpcs: counting.sent - before };
}

const options = (extra: Record<string, unknown>) => ({ endpoints: etcd.endpoints, ...extra }) as unknown as ClientOptions;

describe("client options", () => {
  const cases: [string, Record<string, unknown>, ErrorConstructor, RegExp][] = [
    ["an endpoint that is not a string", { endpoints: [123] }, TypeError, /endpoints must be strings/],
    ["endpoints that are not a list", { endpoints: { url: "x" } }, TypeError, /endpoints must be a URL string or an array/],
    ["an endpoint with a path", { endpoints: ["http://127.0.0.1:2379/some/path"] }, TypeError, /without a path/],
    ["an endpoint with a query", { endpoints: ["http://127.0.0.1:2379?x=1"] }, TypeError, /query or fragment/],
    ["an endpoint with credentials", { endpoints: ["http://root:s3cret@127.0.0.1:2379"] }, TypeError, /must not carry credentials.*username and password options/],
    ["an endpoint that is not http(s)", { endpoints: ["ftp://127.0.0.1"] }, TypeError, /http: or https:/],
    ["timeoutMs past what timers hold", { timeoutMs: 2 ** 31 }, RangeError, /timeoutMs must be a number of milliseconds from above 0 to 2147483647/],
    ["timeoutMs 0", { timeoutMs: 0 }, RangeError, /timeoutMs/],
    ["dialTimeoutMs past what timers hold", { dialTimeoutMs: 2 ** 31 }, RangeError, /dialTimeoutMs/],
    ["keepAliveTimeMs past what timers hold", { keepAliveTimeMs: 2 ** 32 }, RangeError, /keepAliveTimeMs/],
    ["keepAliveTimeMs below what etcd accepts", { keepAliveTimeMs: 1000 }, RangeError, /keepAliveTimeMs .*from 5000/],
    ["keepAliveTimeoutMs past what timers hold", { keepAliveTimeoutMs: 2 ** 32 }, RangeError, /keepAliveTimeoutMs/],
    ["a fractional message size", { maxCallSendMsgSize: 0.5 }, RangeError, /maxCallSendMsgSize must be a whole number of bytes/],
    ["a negative receive size", { maxCallRecvMsgSize: -1 }, RangeError, /maxCallRecvMsgSize/],
    ["a NaN sync interval", { autoSyncIntervalMs: Number.NaN }, RangeError, /autoSyncIntervalMs/],
  ];
  it.each(cases)("refuses %s", async (_, extra, type, message) => {
    const { err } = await failure(() => createClient(options(extra)));
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/s3cret/);
  });

  it("connect() refuses the same, without dialing", async () => {
    const { err } = await failure(() => connect(options({ dialTimeoutMs: 2 ** 31 })));
    expect(err).toBeInstanceOf(RangeError);
  });
});

describe("calls", () => {
  const put = (o: unknown) => ({ type: "put", ...(o as object) });
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ["a key with a lone surrogate", () => client.put("bad/\ud800", "v"), TypeError, /key is not well-formed UTF-16/],
    ["a value with a lone surrogate", () => client.put("k", "\udc00"), TypeError, /value is not well-formed UTF-16/],
    ["a get of a lone-surrogate key", () => client.get("bad/\udc00"), TypeError, /well-formed/],
    ["a key that is a number", () => client.delete(123 as unknown as string), TypeError, /key must be a string or Uint8Array, got number/],
    ["timeoutMs past what timers hold", () => client.get("k", { timeoutMs: 2 ** 31 }), RangeError, /timeoutMs/],
    ["a negative timeoutMs", () => client.put("k", "v", { timeoutMs: -5 }), RangeError, /timeoutMs/],
    ["txn(null)", () => client.txn(null as never), TypeError, /txn takes \{ compare\?, success\?, failure\? \}, got null/],
    ["a txn branch that is not a list", () => client.txn({ success: "x" as never }), TypeError, /txn success must be an array, got string/],
    ["a hand-made op without its request", () => client.txn({ success: [put({}) as never] }), TypeError, /ops built with op\.get\/put\/delete\/txn, got \["type"\]/],
    ["a hand-made op with a made-up request", () => client.txn({ failure: [put({ request: { key: "k" } }) as never] }), TypeError, /ops built with op/],
    ["a compare not built with compare.*", () => client.txn({ compare: [{ key: "k" } as never] }), TypeError, /compare entries must be built with compare/],
    ["a negative revision", () => client.get("k", { revision: -1 }), RangeError, /revision/],
    ["a lease TTL below 0", () => client.lease.grant(-1), RangeError, /ttl/],
    ["an op with a lone surrogate", () => op.put("x\ud800y", "v"), TypeError, /well-formed/],
  ];
  it.each(cases)("refuses %s before sending", async (_, call, type, message) => {
    const { err, rpcs } = await failure(call);
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
    expect(rpcs).toBe(0);
  });

  it("keeps keys that differ only in a surrogate apart: they are refused, not merged into U+FFFD", async () => {
    await client.put("sur/\ufffd", "replacement char"); // the real U+FFFD is a fine key
    await expect(client.get("sur/\ud800")).rejects.toBeInstanceOf(TypeError);
    expect((await client.get("sur/", { prefix: true })).kvs).toHaveLength(1);
  });
});

describe("deadlines longer than gRPC's 8-digit milliseconds", () => {
  it("a put and a get with timeoutMs 1e8 and 2^31 - 1 work, and the endpoint stays ready", async () => {
    for (const timeoutMs of [99_999_999, 1e8, 2 ** 31 - 1]) {
      await client.put("long/deadline", String(timeoutMs), { timeoutMs });
      expect(new TextDecoder().decode((await client.get("long/deadline", { timeoutMs })).kvs[0]!.value)).toBe(String(timeoutMs));
    }
    expect(client.endpointStates().some((s) => s.state === "failing")).toBe(false);
  });

  it("a client-wide timeoutMs of a week works, and an abort still ends a call at once", async () => {
    const week = createClient({ endpoints: etcd.endpoints, timeoutMs: 7 * 24 * 3600 * 1000 });
    try {
      await week.put("long/week", "v");
      const ac = new AbortController();
      const pending = week.watch("long/never", { signal: ac.signal });
      ac.abort();
      const err = await (async () => {
        try {
          for await (const _ of pending) return undefined;
        } catch (e) {
          return e;
        }
        return "ended";
      })();
      expect(err === "ended" || err instanceof EtcdError).toBe(true);
    } finally {
      week.close();
    }
  });
});
