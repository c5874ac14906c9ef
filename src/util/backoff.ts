/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** First delay in milliseconds. Default: 50. */
  initialMs?: number;
  /** Largest delay in milliseconds. Default: 2000. */
  maxMs?: number;
  /** Whether the first retry after a success goes at once (delay 0). Default: true. */
  firstImmediate?: boolean;
}

/**
 * The client's one backoff: exponential with equal jitter (a delay between half the ceiling and the ceiling),
 * reset after a success. Streams reconnect with it, failing endpoints are skipped by it, the dial probes with it.
 */
export interface Backoff {
  /** The next delay in milliseconds. */
  next(): number;
  /** Call after a success: the backoff starts over. */
  reset(): void;
}

/** Creates a {@link Backoff}; by default 0, then 25-50, 50-100, 100-200, ... 1000-2000 ms. */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialMs ?? 50;
  const max = options.maxMs ?? 2000;
  const skip = options.firstImmediate === false ? 1 : 0;
  let attempt = skip;
  return {
    next() {
      const n = attempt++;
      if (n === 0) return 0;
      const ceiling = Math.min(max, initial * 2 ** (n - 1));
      return ceiling / 2 + Math.random() * (ceiling / 2);
    },
    reset() {
      attempt = skip;
    },
  };
}

/**
 * Resolves after `ms`, or at once when any of `signals` aborts; never rejects (the caller checks its signal). The
 * one sleep of the client: backoffs, retry pauses and dial retries all use it.
 */
export function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  if (ms <= 0 || signals.some((s) => s?.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s?.addEventListener("abort", done, { once: true });
  });
}
