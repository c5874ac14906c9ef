// anySignal where the runtime has no AbortSignal.any (edge-runtime 4): the same outcome as the native one.
import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { anySignal } from "../../src/util/any-signal.js";

describe("anySignal without AbortSignal.any", () => {
  const native = AbortSignal.any;
  beforeEach(() => {
    (AbortSignal as { any?: unknown }).any = undefined;
  });
  afterEach(() => {
    AbortSignal.any = native;
  });

  it("aborts with the reason of the first input to abort, once, and then leaves no listener on the inputs", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = anySignal([a.signal, b.signal]);
    let fired = 0;
    linked.addEventListener("abort", () => fired++);
    expect(linked.aborted).toBe(false);
    expect([getEventListeners(a.signal, "abort").length, getEventListeners(b.signal, "abort").length]).toEqual([1, 1]);
    b.abort(new Error("b first"));
    a.abort(new Error("a later"));
    expect(linked.aborted).toBe(true);
    expect((linked.reason as Error).message).toBe("b first");
    expect(fired).toBe(1);
    expect([getEventListeners(a.signal, "abort").length, getEventListeners(b.signal, "abort").length]).toEqual([0, 0]);
  });

  it("is aborted at once, with that reason, when an input already is", () => {
    const live = new AbortController().signal;
    const linked = anySignal([live, AbortSignal.abort("already")]);
    expect(linked.aborted).toBe(true);
    expect(linked.reason).toBe("already");
    expect(getEventListeners(live, "abort")).toHaveLength(0);
  });

  it("aborts with a timeout's TimeoutError, as AbortSignal.any does", async () => {
    const linked = anySignal([new AbortController().signal, AbortSignal.timeout(10)]);
    await new Promise((resolve) => linked.addEventListener("abort", resolve));
    expect((linked.reason as DOMException).name).toBe("TimeoutError");
  });
});
