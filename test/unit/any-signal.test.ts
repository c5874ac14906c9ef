// anySignal's fallback for runtimes without AbortSignal.any (edge-runtime 4): the same outcome as the native one.
import { describe, expect, it } from "vitest";
import { anySignal, linkSignals } from "../../src/util/any-signal.js";

/** Counts the "abort" listeners added to and removed from a signal. */
function counted(signal: AbortSignal) {
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, l: EventListener) => (listeners++, add(type, l))) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, l: EventListener) => (listeners--, remove(type, l))) as typeof signal.removeEventListener;
  return { signal, listeners: () => listeners };
}

describe("linkSignals (anySignal without AbortSignal.any)", () => {
  it("aborts with the reason of the first input to abort, once, and leaves no listener on the inputs", () => {
    const a = new AbortController();
    const b = new AbortController();
    const ca = counted(a.signal);
    const cb = counted(b.signal);
    const linked = linkSignals([ca.signal, cb.signal]);
    let fired = 0;
    linked.addEventListener("abort", () => fired++);
    expect(linked.aborted).toBe(false);
    expect([ca.listeners(), cb.listeners()]).toEqual([1, 1]);
    b.abort(new Error("b first"));
    a.abort(new Error("a later"));
    expect(linked.aborted).toBe(true);
    expect((linked.reason as Error).message).toBe("b first");
    expect(fired).toBe(1);
    expect([ca.listeners(), cb.listeners()]).toEqual([0, 0]);
  });

  it("is aborted at once, with that reason, when an input already is", () => {
    const live = counted(new AbortController().signal);
    const linked = linkSignals([live.signal, AbortSignal.abort("already")]);
    expect(linked.aborted).toBe(true);
    expect(linked.reason).toBe("already");
    expect(live.listeners()).toBe(0);
  });

  it("behaves as AbortSignal.any for a timeout", async () => {
    for (const any of [anySignal, linkSignals]) {
      const linked = any([new AbortController().signal, AbortSignal.timeout(10)]);
      await new Promise((resolve) => linked.addEventListener("abort", resolve));
      expect((linked.reason as DOMException).name).toBe("TimeoutError");
    }
  });
});
