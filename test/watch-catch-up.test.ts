// A watcher that starts far behind catches up in batches (etcd sends up to 1,000 revisions per sync, about every
// 100 ms). Progress responses differ by version during that catch-up: etcd 3.4 answers requestProgress at once with
// its current revision, ahead of the events the watcher still has to get; 3.5+ answers only once every watcher on
// the stream is synced. Either way the client resumes from the last event's revision + 1, so a break in the middle
// of the catch-up loses and repeats nothing, on every version.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type WatchEvent, connect } from "../src/index.js";
import { etcdAtLeast, useEtcd } from "./harness/etcd.js";
import { consume, describeEvents, expectInOrderOnce } from "./harness/watch.js";

const etcd = useEtcd({ extraArgs: ["--watch-progress-notify-interval=100ms"] });
let writer: Client;
let watcher: Client;
beforeAll(async () => {
  writer = await connect({ endpoints: etcd.endpoints });
  watcher = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => {
  writer?.close();
  watcher?.close();
});

const HISTORY = 8000;

describe("catch-up", () => {
  it("resumes a watch broken during catch-up with every event exactly once; progress never runs ahead on 3.5+", { timeout: 90000 }, async () => {
    const start = (await writer.put("cu/start", "0")).header.revision + 1n;
    for (let batch = 0; batch < HISTORY / 500; batch++) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => writer.put(`cu/${batch}-${i}`, `${batch}.${i}`)));
    }
    const last = (await writer.get("cu/", { prefix: true, countOnly: true })).header.revision;
    expect(last - start + 1n).toBe(BigInt(HISTORY));

    const events: WatchEvent[] = [];
    // Each progress response's revision, with the newest event revision delivered before it.
    const progress: { revision: bigint; delivered: bigint }[] = [];
    const w = watcher.watch("cu/", { prefix: true, startRevision: start, progressNotify: true });
    const consumed = (async () => {
      for await (const r of w) {
        if (r.progressNotify) progress.push({ revision: r.header.revision, delivered: events.at(-1)?.kv.modRevision ?? 0n });
        events.push(...r.events);
        if (events.length >= HISTORY) break;
      }
    })();
    const delivered = () => events.length;

    await expect.poll(delivered, { timeout: 20000, interval: 5 }).toBeGreaterThanOrEqual(500);
    await w.requestProgress();
    await expect.poll(delivered, { timeout: 20000, interval: 5 }).toBeGreaterThanOrEqual(1500);
    // The break: etcd goes away while the watcher is still catching up.
    expect(delivered()).toBeLessThan(HISTORY);
    await etcd.members[0]!.stop();
    await etcd.members[0]!.start();
    await consumed;

    expect(events).toHaveLength(HISTORY);
    expectInOrderOnce(events);
    expect(events[0]!.kv.modRevision).toBe(start);
    expect(events.at(-1)!.kv.modRevision).toBe(last);
    const truth = consume(writer.watch("cu/", { prefix: true, startRevision: start }));
    await truth.waitForEvents(HISTORY, 30000);
    expect(describeEvents(events)).toEqual(describeEvents(truth.events.slice(0, HISTORY)));

    const ahead = progress.filter((p) => p.revision > p.delivered);
    if (etcdAtLeast("3.5")) {
      // Only synced watchers get progress: its revision never runs ahead of the events delivered.
      expect(ahead).toEqual([]);
    } else {
      // 3.4 answered the requestProgress during the catch-up with a revision the watcher had not reached.
      expect(ahead.length).toBeGreaterThan(0);
      expect(ahead[0]!.revision).toBe(last);
    }
  });
});
