import { describe, expect, it } from "vitest";
import { createAsyncQueue } from "../../src/util/async-queue.js";

describe("AsyncQueue (the one queue behind watchers, keepers, streams and bidi requests)", () => {
  it("hands items over in order, to a waiting reader and from the buffer", async () => {
    const q = createAsyncQueue<number>();
    const first = q.next();
    q.push(1);
    q.push(2);
    q.push(3);
    expect(await first).toEqual({ done: false, value: 1 });
    q.end();
    const rest: number[] = [];
    for await (const n of q) rest.push(n);
    expect(rest).toEqual([2, 3]);
  });

  it("tells the producer to pause at highWater and to resume at half, by weight", async () => {
    const calls: string[] = [];
    const q = createAsyncQueue<number[]>({ weight: (a) => a.length, highWater: 6, onFull: () => calls.push("full"), onDrain: () => calls.push("drain") });
    expect(q.push([1, 2])).toBe(false);
    expect(q.push([3, 4, 5, 6])).toBe(true);
    expect(q.push([7])).toBe(true);
    expect(calls).toEqual(["full"]);
    await q.next(); // 5 left: above half
    expect(calls).toEqual(["full"]);
    await q.next(); // 1 left
    expect(calls).toEqual(["full", "drain"]);
  });

  it("ends after what is buffered, throws the error once, then is done", async () => {
    let finished = 0;
    const q = createAsyncQueue<number>({ onFinished: () => finished++ });
    q.push(1);
    q.end(new Error("broke"));
    expect(q.done).toBe(true);
    expect(q.push(2)).toBe(false); // ignored once ended
    expect(await q.next()).toEqual({ done: false, value: 1 });
    expect(finished).toBe(0);
    await expect(q.next()).rejects.toThrow("broke");
    expect(finished).toBe(1);
    expect(await q.next()).toEqual({ done: true, value: undefined });
  });

  it("fail() drops what is buffered and rejects a waiting reader", async () => {
    const q = createAsyncQueue<number>();
    q.push(1);
    q.fail(new Error("now"));
    await expect(q.next()).rejects.toThrow("now");
    const q2 = createAsyncQueue<number>();
    const waiting = q2.next();
    q2.fail(new Error("gone"));
    await expect(waiting).rejects.toThrow("gone");
  });

  it("break calls onReturn once, and not after the queue ended by itself", async () => {
    let returned = 0;
    const q = createAsyncQueue<number>({ onReturn: () => returned++ });
    q.push(1);
    q.push(2);
    for await (const _ of q) break;
    expect(returned).toBe(1);
    expect(q.done).toBe(true);
    expect(q.length).toBe(0);
    const q2 = createAsyncQueue<number>({ onReturn: () => returned++ });
    q2.end();
    for await (const _ of q2) break;
    expect(returned).toBe(1);
  });

  it("keepLatest drops the oldest", async () => {
    const q = createAsyncQueue<number>({ keepLatest: 2 });
    for (let i = 1; i <= 5; i++) q.push(i);
    q.end();
    const got: number[] = [];
    for await (const n of q) got.push(n);
    expect(got).toEqual([4, 5]);
  });

  it("keeps order across compaction of a long backlog", async () => {
    const q = createAsyncQueue<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    const got: number[] = [];
    for (let i = 0; i < 3000; i++) got.push((await q.next()).value as number);
    for (let i = 5000; i < 6000; i++) q.push(i);
    q.end();
    for await (const n of q) got.push(n);
    expect(got).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });
});
