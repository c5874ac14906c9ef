import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, text } from "../../src/index.js";
import { type Isolation, stm } from "../../src/concurrency/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
let client: Client;
let writer: Client;
let txnCalls = 0;
const countTxns: Interceptor = (next) => async (req) => {
  if (req.method.name === "Txn") txnCalls++;
  return next(req);
};
const clients: Client[] = [];
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints, interceptors: [countTxns] });
  writer = await connect({ endpoints: etcd.endpoints });
  for (let i = 0; i < 4; i++) clients.push(await connect({ endpoints: etcd.endpoints }));
});
afterAll(() => {
  client?.close();
  writer?.close();
  for (const c of clients) c.close();
});

const isolations: Isolation[] = ["serializable-snapshot", "serializable", "repeatable-reads", "read-committed"];
const value = async (key: string) => {
  const kv = (await writer.get(key)).kvs[0];
  return kv ? text(kv.value) : undefined;
};

describe("stm transfers", () => {
  for (const isolation of isolations) {
    it(`${isolation}: 20 concurrent transfers between 5 accounts`, async () => {
      const accounts = Array.from({ length: 5 }, (_, i) => `stm/${isolation}/acct/${i}`);
      await Promise.all(accounts.map((a) => writer.put(a, "100")));
      let attempts = 0;
      await Promise.all(
        Array.from({ length: 20 }, (_, t) => {
          const from = accounts[t % 5]!;
          const to = accounts[(t + 1 + (t % 4)) % 5]!;
          const amount = 1 + ((t * 7) % 13);
          return stm(
            clients[t % clients.length]!,
            async (s) => {
              attempts++;
              const a = Number(await s.get(from));
              const b = Number(await s.get(to));
              s.put(from, String(a - amount));
              s.put(to, String(b + amount));
            },
            { isolation },
          );
        }),
      );
      const balances = await Promise.all(accounts.map(async (a) => Number(await value(a))));
      const total = balances.reduce((x, y) => x + y, 0);
      console.log(`stm ${isolation}: 20 transfers in ${attempts} attempts, total ${total}`);
      if (isolation === "read-committed") {
        // Not serializable (Go's ReadCommitted never conflicts): updates can be lost, so only completion is checked.
        expect(balances.every(Number.isInteger)).toBe(true);
      } else {
        expect(total).toBe(500);
        expect(attempts).toBeGreaterThanOrEqual(20);
      }
    });
  }
});

describe("stm semantics", () => {
  it("reads missing keys as empty, reads its own writes and deletes, and commits atomically", async () => {
    await writer.put("sem/x", "1");
    const resp = await stm(client, async (s) => {
      expect(await s.get("sem/missing")).toBe("");
      expect(await s.getBytes("sem/missing")).toEqual(new Uint8Array(0));
      expect(await s.rev("sem/missing")).toBe(0n);
      expect(await s.get("sem/x")).toBe("1");
      expect(await s.rev("sem/x")).toBeGreaterThan(0n);
      s.put("sem/y", new Uint8Array([104, 105]));
      expect(await s.get("sem/y")).toBe("hi");
      s.del("sem/x");
      expect(await s.get("sem/x")).toBe("");
    });
    expect(resp.succeeded).toBe(true);
    expect(await value("sem/x")).toBeUndefined();
    expect(await value("sem/y")).toBe("hi");
    expect((await writer.get("sem/y")).kvs[0]!.modRevision).toBe(resp.header.revision);
  });

  /** Runs fn in an STM, calling `interfere` once during the first attempt; returns the attempt count. */
  async function conflictRun(isolation: Isolation, fn: (s: import("../../src/concurrency/index.js").StmTx, first: boolean) => Promise<void>) {
    let attempts = 0;
    await stm(client, async (s) => fn(s, ++attempts === 1), { isolation });
    return attempts;
  }

  it("retries when a key it read changed, except under read-committed", async () => {
    const runs: Record<string, number> = {};
    for (const isolation of isolations) {
      await writer.put("rc/a", "0");
      runs[isolation] = await conflictRun(isolation, async (s, first) => {
        await s.get("rc/a");
        if (first) await writer.put("rc/a", "changed");
        s.put(`rc/out/${isolation}`, "x");
      });
    }
    expect(runs).toEqual({ "serializable-snapshot": 2, serializable: 2, "repeatable-reads": 2, "read-committed": 1 });
  });

  it("serializable-snapshot also retries when a key it only writes changed after its first read", async () => {
    const runs: Record<string, number> = {};
    for (const isolation of isolations) {
      await writer.put("ww/a", "0");
      runs[isolation] = await conflictRun(isolation, async (s, first) => {
        await s.get("ww/a");
        if (first) await writer.put("ww/b", "theirs");
        s.put("ww/b", `mine-${isolation}`);
      });
      expect(await value("ww/b")).toBe(`mine-${isolation}`);
    }
    expect(runs).toEqual({ "serializable-snapshot": 2, serializable: 1, "repeatable-reads": 1, "read-committed": 1 });
  });

  it("serializable levels read at the revision of the first read; repeatable-reads does not", async () => {
    const firstReads: Record<string, string> = {};
    for (const isolation of isolations) {
      await writer.put("pin/a", "a");
      await writer.put("pin/b", "old");
      await conflictRun(isolation, async (s, first) => {
        await s.get("pin/a");
        if (first) await writer.put("pin/b", "new");
        const b = await s.get("pin/b");
        if (first) firstReads[isolation] = b;
        s.put("pin/c", b);
      });
      // Whatever the level, the committed copy is the latest b.
      expect(await value("pin/c")).toBe("new");
    }
    expect(firstReads).toEqual({
      "serializable-snapshot": "old",
      serializable: "old",
      "repeatable-reads": "new",
      "read-committed": "new",
    });
  });

  it("prefetches keys in one request, and reloads the read set from a failed commit", async () => {
    await writer.put("pf/a", "1");
    await writer.put("pf/b", "2");
    txnCalls = 0;
    await stm(
      client,
      async (s) => {
        s.put("pf/sum", String(Number(await s.get("pf/a")) + Number(await s.get("pf/b"))));
      },
      { prefetch: ["pf/a", "pf/b"] },
    );
    expect(txnCalls).toBe(2); // one read, one commit
    expect(await value("pf/sum")).toBe("3");

    // After a conflict, serializable levels take the retry's reads from the failed commit's answer.
    const calls: Record<string, number> = {};
    for (const isolation of ["serializable", "repeatable-reads"] as const) {
      await writer.put("pf/a", "1");
      txnCalls = 0;
      await conflictRun(isolation, async (s, first) => {
        const a = await s.get("pf/a");
        if (first) await writer.put("pf/a", "5");
        s.put("pf/copy", a);
      });
      calls[isolation] = txnCalls;
      expect(await value("pf/copy")).toBe("5");
    }
    expect(calls).toEqual({ serializable: 3, "repeatable-reads": 4 });
  });

  it("aborts without writing when fn throws or the signal aborts", async () => {
    const boom = new Error("boom");
    await expect(
      stm(client, async (s) => {
        s.put("ab/k", "v");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await value("ab/k")).toBeUndefined();

    const ac = new AbortController();
    await expect(
      stm(
        client,
        async (s) => {
          s.put("ab/k", "v");
          ac.abort();
          await s.get("ab/other");
        },
        { signal: ac.signal },
      ),
    ).rejects.toMatchObject({ kind: "canceled" });
    expect(await value("ab/k")).toBeUndefined();
    await expect(stm(client, () => {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({ kind: "canceled" });
    await expect(stm(client, () => {}, { isolation: "snapshot" as Isolation })).rejects.toBeInstanceOf(TypeError);
  });

  it("fails the transaction when a read fails, even if fn catches it", async () => {
    const ac = new AbortController();
    let caught: unknown;
    await expect(
      stm(
        client,
        async (s) => {
          ac.abort();
          caught = await s.get("rf/k").catch((e: unknown) => e);
          s.put("rf/k", "v");
        },
        { signal: ac.signal },
      ),
    ).rejects.toMatchObject({ kind: "canceled" });
    expect(caught).toMatchObject({ kind: "canceled" });
    expect(await value("rf/k")).toBeUndefined();
  });
});
