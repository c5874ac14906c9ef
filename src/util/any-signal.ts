/**
 * `AbortSignal.any()`, also where the runtime lacks it: edge-runtime 4 (the runtime behind Vercel's edge functions,
 * as `next dev` and its CLI run them) ships an `AbortSignal` without `any`.
 */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  return typeof AbortSignal.any === "function" ? AbortSignal.any(signals) : linkSignals(signals);
}

/**
 * The fallback of {@link anySignal}: a signal that aborts with the reason of the first input to abort. Its listeners
 * leave the inputs when it aborts, so every caller passes a signal that aborts when its call ends.
 */
export function linkSignals(signals: AbortSignal[]): AbortSignal {
  const linked = new AbortController();
  const first = signals.find((s) => s.aborted);
  if (first) {
    linked.abort(first.reason);
    return linked.signal;
  }
  const listeners = signals.map((s) => {
    const onAbort = () => {
      for (const [input, listener] of listeners) input.removeEventListener("abort", listener);
      linked.abort(s.reason);
    };
    s.addEventListener("abort", onAbort);
    return [s, onAbort] as const;
  });
  return linked.signal;
}
