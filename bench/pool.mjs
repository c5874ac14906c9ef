// What both bench programs measure with (the same code as the kit's bench-etcd3.mjs).

/** Runs `fn(0..n-1)` with `conc` calls in flight: a pool of `conc` async loops. */
export async function pool(n, conc, fn) {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await fn(i);
    }
  };
  const ws = [];
  for (let w = 0; w < Math.min(conc, n); w++) ws.push(worker());
  await Promise.all(ws);
}

/** Nearest-rank percentile `p` (0..1) of an ascending array; NaN when it is empty. */
export function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
