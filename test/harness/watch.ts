// Helpers for watch tests: consume a watcher in the background and wait for what it saw.
import { expect } from "vitest";
import { type WatchEvent, type WatchResponse, type Watcher, text } from "../../src/index.js";

/** A watcher consumed in the background; what it saw so far, and how it ended. */
export interface Consumed {
  responses: WatchResponse[];
  events: WatchEvent[];
  /** Resolves when iteration ends: undefined when it ended quietly, else the error. */
  ended: Promise<unknown>;
  /** Waits (polling) until at least `n` events arrived. */
  waitForEvents(n: number, timeoutMs?: number): Promise<void>;
}

/** Starts consuming `watcher` in the background. */
export function consume(watcher: Watcher): Consumed {
  const responses: WatchResponse[] = [];
  const events: WatchEvent[] = [];
  const ended = (async () => {
    try {
      for await (const r of watcher) {
        responses.push(r);
        events.push(...r.events);
      }
      return undefined;
    } catch (err) {
      return err;
    }
  })();
  return {
    responses,
    events,
    ended,
    async waitForEvents(n, timeoutMs = 15000) {
      await expect.poll(() => events.length, { timeout: timeoutMs, interval: 20 }).toBeGreaterThanOrEqual(n);
    },
  };
}

/** `type key=value@rev` per event, for readable comparisons. */
export function describeEvents(events: WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${text(e.kv.key)}=${text(e.kv.value)}@${e.kv.modRevision}`);
}

/** Asserts mod revisions strictly increase across responses, except events of one txn (same revision, other keys). */
export function expectInOrderOnce(events: WatchEvent[]): void {
  const seen = new Set<string>();
  let last = 0n;
  for (const e of events) {
    const id = `${e.kv.modRevision}/${text(e.kv.key)}`;
    expect(seen.has(id), `event ${id} delivered twice`).toBe(false);
    seen.add(id);
    expect(e.kv.modRevision >= last, `event ${id} out of order after revision ${last}`).toBe(true);
    last = e.kv.modRevision;
  }
}

/** Writes to `keys` in a loop (each put unique) until stopped; failed puts are retried as new puts. */
export function startWriter(client: import("../../src/index.js").Client, keys: string[]) {
  let running = true;
  const acked: bigint[] = [];
  let failures = 0;
  const done = (async () => {
    for (let i = 0; running; i++) {
      try {
        const r = await client.put(keys[i % keys.length]!, `v${i}`, { timeoutMs: 2000 });
        acked.push(r.header.revision);
      } catch {
        failures++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  })();
  return {
    acked,
    get failures() {
      return failures;
    },
    /** Waits until `n` more puts were acknowledged. */
    async waitForAcks(n: number, timeoutMs = 20000) {
      const target = acked.length + n;
      await expect.poll(() => acked.length, { timeout: timeoutMs, interval: 20 }).toBeGreaterThanOrEqual(target);
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
