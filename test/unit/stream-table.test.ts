import { describe, expect, it } from "vitest";
import { StreamTable } from "../../src/transport/h2/stream-table.js";

/** A small deterministic PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("StreamTable", () => {
  it("agrees with a Map over random adds and removes, across growth and wrap-around", () => {
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const table = new StreamTable<string>();
      const reference = new Map<number, string>();
      let nextId = 1;
      const longLived = [nextId, nextId + 2]; // like watch streams that stay open while calls come and go
      for (const id of longLived) {
        table.set(id, `s${id}`);
        reference.set(id, `s${id}`);
      }
      nextId += 4;
      for (let step = 0; step < 20_000; step++) {
        const open = [...reference.keys()].filter((id) => !longLived.includes(id));
        // Grow to a few hundred open streams, then shrink back, twice.
        const target = step % 10_000 < 5_000 ? 300 : 5;
        if (open.length < target && random() < 0.7) {
          table.set(nextId, `s${nextId}`);
          reference.set(nextId, `s${nextId}`);
          nextId += 2;
        } else if (open.length > 0) {
          const id = open[Math.floor(random() * open.length)]!;
          expect(table.delete(id)).toBe(true);
          reference.delete(id);
        }
        if (step % 97 === 0) {
          expect(table.size).toBe(reference.size);
          for (const [id, v] of reference) expect(table.get(id)).toBe(v);
          expect(table.get(nextId)).toBeUndefined();
          expect(table.list().sort()).toEqual([...reference.values()].sort());
        }
      }
      for (const id of longLived) expect(table.get(id)).toBe(`s${id}`);
    }
  });

  it("answers undefined for ids it never held (0 and even ids included) and false for their removal", () => {
    const table = new StreamTable<number>();
    table.set(1, 10);
    table.set(129, 20); // same home slot as 1 in a 64-slot table
    expect(table.get(129)).toBe(20);
    expect(table.get(0)).toBeUndefined();
    expect(table.get(2)).toBeUndefined();
    expect(table.get(257)).toBeUndefined();
    expect(table.delete(257)).toBe(false);
    expect(table.delete(1)).toBe(true);
    expect(table.get(129)).toBe(20); // moved back into the freed slot, still found
    expect(table.size).toBe(1);
  });

  it("replaces the value of an id it holds without growing", () => {
    const table = new StreamTable<string>();
    table.set(5, "a");
    table.set(5, "b");
    expect(table.size).toBe(1);
    expect(table.get(5)).toBe("b");
  });
});
