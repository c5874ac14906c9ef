/**
 * `AbortSignal.any()`, also where the runtime lacks it: edge-runtime 4 (Vercel's edge functions as `next dev` and its
 * CLI run them) and Safari before 17.4. There the result is linked by hand: it aborts with the reason of the first
 * input to abort, and its listeners then leave every input, so callers include a signal that aborts when their call
 * ends (runCall's over-27-hour deadline is the exception: its listener stays until that deadline or the caller's
 * signal aborts).
 */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  if (AbortSignal.any) return AbortSignal.any(signals);
  const linked = new AbortController();
  const onAbort = () => linked.abort(signals.find((s) => s.aborted)!.reason);
  for (const s of signals) s.addEventListener("abort", onAbort, { signal: linked.signal });
  if (signals.some((s) => s.aborted)) onAbort();
  return linked.signal;
}
