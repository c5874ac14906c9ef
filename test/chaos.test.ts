// Chaos: members of a 3-member cluster are killed (-9) and restarted in
// rotation while one client writes, increments a counter by CAS, watches the
// keyspace and keeps leases alive. Afterwards nothing acknowledged is lost,
// no txn applied twice, every revision watched exactly once, no kept lease
// expired. CI runs it for CHAOS_SECONDS (default 20); run longer by hand:
//   CHAOS_SECONDS=180 npx vitest run test/chaos.test.ts
import { describe, expect, it } from "vitest";
import { type Client, EtcdError, compare, connect, op, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume, describeEvents, expectInOrderOnce } from "./harness/watch.js";

const etcd = useEtcd({ size: 3 });
const seconds = Number(process.env.CHAOS_SECONDS ?? 20);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("chaos", () => {
  it(`survives ${seconds} s of members dying in rotation`, async () => {
    const client = await connect({ endpoints: etcd.endpoints, keepAliveTimeMs: 5000, keepAliveTimeoutMs: 2000 });
    const checker = await connect({ endpoints: etcd.endpoints });
    let running = true;
    const started = Date.now();
    const acked = new Map<string, string>(); // key -> value of every acknowledged put
    let putFailures = 0;
    let casAcked = 0;
    let casAmbiguous = 0;
    let casConflicts = 0;
    const kills: number[] = [];
    const recoveries: number[] = [];
    let lastAck = Date.now();

    try {
      const base = (await client.put("chaos/base", "0")).header.revision;
      await client.put("chaos/counter", "0");
      const watcher = consume(client.watch("chaos/", { prefix: true, startRevision: base + 1n }));

      const leases = await Promise.all(Array.from({ length: 5 }, () => client.lease.grant(5)));
      for (const [i, l] of leases.entries()) await client.put(`chaos/lease/${i}`, "held", { lease: l.id });
      const keepers = leases.map((l) => client.lease.keepAlive(l.id));

      const putWorker = async (w: number) => {
        for (let i = 0; running; i++) {
          const key = `chaos/p/${w}/${i}`;
          const value = `${w}-${i}-${Math.random().toString(36).slice(2)}`;
          try {
            await client.put(key, value, { timeoutMs: 3000 });
            acked.set(key, value);
            lastAck = Date.now();
          } catch {
            putFailures++;
            await sleep(20);
          }
        }
      };
      const casWorker = async () => {
        while (running) {
          try {
            const cur = (await client.get("chaos/counter", { timeoutMs: 3000 })).kvs[0]!;
            const next = String(Number(text(cur.value)) + 1);
            const r = await client.txn(
              { compare: [compare.modRevision("chaos/counter", "=", cur.modRevision)], success: [op.put("chaos/counter", next)] },
              { timeoutMs: 3000 },
            );
            if (r.succeeded) casAcked++;
            else casConflicts++;
          } catch (err) {
            // A txn whose fate is unknown may or may not have been applied; it is never retried.
            if (EtcdError.from(err).kind !== "invalid-auth-token") casAmbiguous++;
            await sleep(20);
          }
        }
      };
      const killer = async () => {
        for (let n = 0; running; n++) {
          await sleep(1500);
          if (!running) break;
          const victim = etcd.members[n % 3]!;
          const killedAt = Date.now();
          await victim.kill();
          kills.push(killedAt);
          // Recovery: the first acknowledged put after the kill.
          const before = acked.size;
          while (running && acked.size === before && Date.now() - killedAt < 20000) await sleep(10);
          if (acked.size > before) recoveries.push(lastAck - killedAt);
          await sleep(1000);
          await victim.start();
          await etcd.cluster.waitHealthy(30000);
        }
      };

      const workers = [putWorker(0), putWorker(1), putWorker(2), casWorker(), killer()];
      await sleep(seconds * 1000);
      running = false;
      await Promise.all(workers);
      for (const m of etcd.members) if (!m.running) await m.start();
      await etcd.cluster.waitHealthy(30000);
      const elapsed = (Date.now() - started) / 1000;

      // 1. Every acknowledged put is there, with its value (checked with etcdctl too).
      const stored = await checker.get("chaos/p/", { prefix: true, timeoutMs: 10000 });
      const byKey = new Map(stored.kvs.map((kv) => [text(kv.key), text(kv.value)]));
      const lost = [...acked].filter(([k, v]) => byKey.get(k) !== v);
      expect(lost).toEqual([]);
      const ctl = JSON.parse(await etcd.etcdctl(["get", "chaos/p/", "--prefix", "--keys-only", "--limit", "1", "-w", "json"]));
      expect(ctl.count).toBe(stored.kvs.length);

      // 2. No txn applied twice: the counter counts acknowledged increments,
      //    plus at most the ones whose fate was unknown.
      const counter = Number(text((await checker.get("chaos/counter")).kvs[0]!.value));
      expect(counter).toBeGreaterThanOrEqual(casAcked);
      expect(counter).toBeLessThanOrEqual(casAcked + casAmbiguous);

      // 3. The watcher saw every revision exactly once, in order.
      const through = (await checker.get("chaos/", { prefix: true, countOnly: true })).header.revision;
      const truth = consume(checker.watch("chaos/", { prefix: true, startRevision: base + 1n }));
      await expect.poll(() => truth.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 30000 }).toBeGreaterThanOrEqual(through - 1n);
      const last = truth.events.at(-1)!.kv.modRevision;
      await expect.poll(() => watcher.events.at(-1)?.kv.modRevision ?? 0n, { timeout: 30000 }).toBe(last);
      expectInOrderOnce(watcher.events);
      expect(describeEvents(watcher.events)).toEqual(describeEvents(truth.events.filter((e) => e.kv.modRevision <= last)));
      // The counter's history has each value once: 0 (the initial put), 1, 2, 3, ...
      const counts = watcher.events.filter((e) => text(e.kv.key) === "chaos/counter").map((e) => Number(text(e.kv.value)));
      expect(counts).toEqual(Array.from({ length: counts.length }, (_, i) => i));
      expect(counts.at(-1)).toBe(counter);

      // 4. No kept lease expired (one member down at a time keeps the quorum).
      for (const [i, k] of keepers.entries()) {
        expect(await Promise.race([k.done.then((e) => `lost: ${e?.kind}`), sleep(0).then(() => "alive")]), `lease ${i}`).toBe("alive");
        expect((await checker.get(`chaos/lease/${i}`)).count).toBe(1n);
      }

      const figures = {
        seconds: Math.round(elapsed),
        ackedPuts: acked.size,
        failedPuts: putFailures,
        casIncrements: casAcked,
        casConflicts,
        casUnknownOutcome: casAmbiguous,
        counter,
        watchedEvents: watcher.events.length,
        kills: kills.length,
        maxRecoveryMs: Math.max(0, ...recoveries),
        opsPerSecond: Math.round((acked.size + casAcked) / elapsed),
      };
      console.log(`chaos: ${JSON.stringify(figures)}`);
      expect(kills.length).toBeGreaterThanOrEqual(Math.min(3, Math.floor(seconds / 6)));
      expect(acked.size).toBeGreaterThan(0);
    } finally {
      running = false;
      client.close();
      checker.close();
    }
  }, (seconds + 120) * 1000);
});
