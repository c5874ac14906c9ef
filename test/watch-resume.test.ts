// Watchers survive etcd restarts and member deaths: every revision exactly once, in order.
import { afterEach, describe, expect, it } from "vitest";
import { type Client, EtcdError, type WatchStateChange, connect, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { type Consumed, consume, describeEvents, expectInOrderOnce, startWriter } from "./harness/watch.js";

const clients: Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
async function client(endpoints: string[]): Promise<Client> {
  const c = await connect({ endpoints });
  clients.push(c);
  return c;
}

/** Every event after `after` under `prefix`, read afterwards by a fresh watch (no disconnects). */
async function truth(c: Client, prefix: string, after: bigint, through: bigint) {
  const seen = consume(c.watch(prefix, { prefix: true, startRevision: after + 1n }));
  await expect.poll(() => seen.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 20000 }).toBe(through);
  return seen.events;
}

/** Waits until a watcher has caught up to `through`, then checks it against the truth for its key(s). */
async function expectExactly(w: Consumed, expected: ReturnType<typeof describeEvents>, through: bigint) {
  await expect.poll(() => w.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 20000 }).toBe(through);
  expectInOrderOnce(w.events);
  expect(describeEvents(w.events)).toEqual(expected);
}

describe("single member restart", () => {
  const etcd = useEtcd();

  it("resumes every watcher from its next revision across an etcd restart", async () => {
    const watcherClient = await client(etcd.endpoints);
    const writerClient = await client(etcd.endpoints);
    const base = (await writerClient.put("r/base", "0")).header.revision;
    const keys = ["r/k0", "r/k1", "r/k2", "r/k3", "r/k4"];
    const states: WatchStateChange["state"][] = [];

    const prefixFromNow = consume(
      watcherClient.watch("r/k", { prefix: true, createdNotify: true, onStateChange: (c) => states.push(c.state) }),
    );
    const prefixFromRev = consume(watcherClient.watch("r/k", { prefix: true, startRevision: base + 1n, createdNotify: true }));
    const perKey = keys.map((k) => consume(watcherClient.watch(k, { createdNotify: true })));
    for (const w of [prefixFromNow, prefixFromRev, ...perKey]) {
      await expect.poll(() => w.responses.some((r) => r.created)).toBe(true);
    }

    const writer = startWriter(writerClient, keys);
    await writer.waitForAcks(50);
    await etcd.members[0]!.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await etcd.members[0]!.start();
    await writer.waitForAcks(50);
    await writer.stop();
    const through = writer.acked.at(-1)!;

    const all = await truth(await client(etcd.endpoints), "r/k", base, through);
    for (const rev of writer.acked) expect(all.some((e) => e.kv.modRevision === rev)).toBe(true);
    const expected = describeEvents(all);
    await expectExactly(prefixFromNow, expected, through);
    await expectExactly(prefixFromRev, expected, through);
    for (const [i, w] of perKey.entries()) {
      const mine = all.filter((e) => text(e.kv.key) === keys[i]);
      await expectExactly(w, describeEvents(mine), mine.at(-1)!.kv.modRevision);
    }
    expect(states).toContain("reconnecting");
    expect(states.at(-1)).toBe("watching");
  });
});

describe("3-member cluster", () => {
  const etcd = useEtcd({ size: 3 });

  it("moves watchers to another member when theirs is killed, losing and repeating nothing", async () => {
    const endpointsSeen: string[] = [];
    const watcherClient = await client(etcd.endpoints);
    const prefix = consume(
      watcherClient.watch("c/k", {
        prefix: true,
        createdNotify: true,
        onStateChange: (c) => {
          if (c.state === "watching" && c.endpoint) endpointsSeen.push(c.endpoint);
        },
      }),
    );
    await expect.poll(() => endpointsSeen.length).toBe(1);
    const victim = etcd.members.find((m) => m.clientUrl === endpointsSeen[0])!;
    const others = etcd.members.filter((m) => m !== victim).map((m) => m.clientUrl);
    const writerClient = await client(others);
    const base = (await writerClient.put("c/base", "0")).header.revision;
    const keyed = consume(watcherClient.watch("c/k1", { startRevision: base + 1n }));

    const writer = startWriter(writerClient, ["c/k0", "c/k1", "c/k2"]);
    try {
      await writer.waitForAcks(50);
      await victim.kill();
      await writer.waitForAcks(100);
      await writer.stop();
      const through = writer.acked.at(-1)!;

      const all = await truth(await client(others), "c/k", base, through);
      await expectExactly(prefix, describeEvents(all), through);
      const k1 = all.filter((e) => text(e.kv.key) === "c/k1");
      await expectExactly(keyed, describeEvents(k1), k1.at(-1)!.kv.modRevision);
      expect(endpointsSeen.length).toBeGreaterThanOrEqual(2);
      expect(endpointsSeen.at(-1)).not.toBe(victim.clientUrl);
    } finally {
      await writer.stop();
      if (!victim.running) await victim.start();
      await etcd.cluster.waitHealthy();
    }
  });

  it("ends a requireLeader watch with no-leader when its member loses quorum", async () => {
    const [keep, ...others] = etcd.members;
    const c = await client([keep!.clientUrl]);
    const plain = consume(c.watch("nl/", { prefix: true, createdNotify: true }));
    const leader = consume(c.watch("nl/", { prefix: true, createdNotify: true, requireLeader: true }));
    await expect.poll(() => leader.responses.length + plain.responses.length).toBe(2);
    try {
      for (const m of others) await m.stop();
      const err = (await leader.ended) as EtcdError;
      expect(err).toBeInstanceOf(EtcdError);
      expect(err.kind).toBe("no-leader");
    } finally {
      for (const m of others) await m.start();
      await etcd.cluster.waitHealthy();
    }
    // Without requireLeader the watch stays and keeps delivering once the quorum is back.
    await (await client(etcd.endpoints)).put("nl/after", "1");
    await plain.waitForEvents(1);
    expect(text(plain.events[0]!.kv.key)).toBe("nl/after");
  });
});
