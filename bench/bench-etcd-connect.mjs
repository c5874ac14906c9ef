// etcd-connect bench program for the bench-anchors kit (../shared/bench-anchors).
// A copy of the kit's bench-etcd3.mjs with the client swapped: the option
// parsing, pool, timing, CPU and RSS code are unchanged, so the numbers mean
// the same thing. Runs the warm-up and workloads a-d against one etcd endpoint
// and prints ONE JSON line on stdout (kit README, "JSON line contract").
//
// Usage:  node bench/bench-etcd-connect.mjs [--transport h2|connect]
//                              [--scale 1] [--endpoint 127.0.0.1:23790]
//                              [--seq 2000] [--conc 20000] [--get 20000] [--watch 20000]
//                              [--c-low 64] [--c-high 512] [--get-c 64] [--watch-c 256]
//                              [--warmup 500] [--watch-timeout 60]
//                              [--phases seq,put64,put512,getlin,getser,watch]
// Every option may also be given as env var BENCH_<NAME> (BENCH_SCALE, BENCH_ENDPOINT,
// BENCH_C_LOW, BENCH_TRANSPORT, ...); command-line options win. The default endpoint
// port is BENCH_PORT (default 23790). --scale multiplies the op counts
// (seq/conc/get/watch/warmup), for smoke tests.
//
// --transport h2 (default): etcd.createLeanTransport when the package exports it;
//   otherwise the package's default transport, reported as such in `versions`.
// --transport connect: Connect's createGrpcTransport (see transports.mjs).
//
// etcd-connect is loaded from ../dist (run `npm run build` first).
//
// Key layout (shared with the anchors): 16-byte keys
//   <phase char><15-digit zero-padded decimal index>; value = 64 bytes of 'v'.
//   x = warm-up, a = sequential puts, b = puts at c-low (read back by the gets),
//   c = puts at c-high, w = watch puts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as etcd from '../dist/src/node.js';
import { endpointOption, opt } from './options.mjs';
import { pct, pool } from './pool.mjs';
import { pickTransport } from './transports.mjs';

const requireHere = createRequire(import.meta.url);

// ---------- options ----------
const scale = Number(opt('scale', 1));
const sc = (n) => Math.max(1, Math.round(Number(n) * scale));
const cfg = {
  endpoint: endpointOption(),
  seq: sc(opt('seq', 2000)),
  conc: sc(opt('conc', 20000)),
  get: sc(opt('get', 20000)),
  watch: sc(opt('watch', 20000)),
  c_low: Number(opt('c-low', 64)),
  c_high: Number(opt('c-high', 512)),
  get_c: Number(opt('get-c', 64)),
  watch_c: Number(opt('watch-c', 256)),
  warmup: sc(opt('warmup', 500)),
  watch_timeout_s: Number(opt('watch-timeout', 60)),
  phases: String(opt('phases', 'seq,put64,put512,getlin,getser,watch')).split(','),
};

// ---------- transport ----------
const transportWanted = String(opt('transport', 'h2'));
let picked;
try {
  picked = pickTransport(etcd, transportWanted);
} catch (e) {
  process.stderr.write(`bench-etcd-connect: ${e.message}\n`);
  process.exit(2);
}
const transportName = picked.name;
const clientOptions = { endpoints: ['http://' + cfg.endpoint] };
if (picked.transport) clientOptions.transport = picked.transport;

// version of an installed dependency (read from its package.json, which some
// packages leave out of their "exports")
function pkgVersion(name) {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

// ---------- helpers ----------
const VALUE = 'v'.repeat(64);
const key = (p, i) => p + String(i).padStart(15, '0'); // 16 bytes
const now = () => process.hrtime.bigint();
const secs = (t0, t1) => Number(t1 - t0) / 1e9;
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let peakRss = 0;
const sampleRss = () => { const r = process.memoryUsage().rss; if (r > peakRss) peakRss = r; };
const rssTimer = setInterval(sampleRss, 50);
rssTimer.unref();

const r3 = (x) => Math.round(x * 1000) / 1000;
const r1 = (x) => Math.round(x * 10) / 10;

async function timed(n, conc, fn) {
  const c0 = cpuNow();
  const t0 = now();
  await pool(n, conc, fn);
  const t1 = now();
  sampleRss();
  const el = secs(t0, t1);
  return { n, conc, elapsed_s: r3(el), ops_s: r1(n / el), cpu_s: r3(cpuNow() - c0) };
}

// the value bytes of a get response (undefined when the key is missing)
const valueOf = (resp) => (resp.kvs.length ? resp.kvs[0].value : undefined);

// ---------- main ----------
const client = etcd.createClient(clientOptions);
const res = {
  client: 'etcd-connect',
  versions: {
    node: process.version,
    'etcd-connect': requireHere('../package.json').version,
    transport: transportName,
    '@connectrpc/connect': pkgVersion('@connectrpc/connect'),
    '@bufbuild/protobuf': pkgVersion('@bufbuild/protobuf'),
  },
  cfg,
};

try {
  // warmup: establishes the connection, JITs the hot paths
  await pool(cfg.warmup, 1, (i) => client.put(key('x', i), VALUE));
  await pool(cfg.warmup, 64, (i) => client.put(key('x', i), VALUE));
  await pool(cfg.warmup, 64, (i) => client.get(key('x', i)).then(valueOf));

  const ph = new Set(cfg.phases);

  // a. sequential put latency
  if (ph.has('seq')) {
    const lat = new Float64Array(cfg.seq);
    const c0 = cpuNow();
    const t0 = now();
    for (let i = 0; i < cfg.seq; i++) {
      const s = now();
      await client.put(key('a', i), VALUE);
      lat[i] = Number(now() - s) / 1e6;
    }
    const el = secs(t0, now());
    lat.sort();
    res.seq_put = {
      n: cfg.seq, p50_ms: r3(pct(lat, 0.5)), p99_ms: r3(pct(lat, 0.99)),
      max_ms: r3(lat[lat.length - 1]), ops_s: r1(cfg.seq / el), elapsed_s: r3(el),
      cpu_s: r3(cpuNow() - c0),
    };
    sampleRss();
  }

  // b. concurrent put throughput
  if (ph.has('put64')) res.put_c_low = await timed(cfg.conc, cfg.c_low, (i) => client.put(key('b', i), VALUE));
  if (ph.has('put512')) res.put_c_high = await timed(cfg.conc, cfg.c_high, (i) => client.put(key('c', i), VALUE));

  // c. range get throughput (single key, reads keys written by put_c_low; ensure they exist)
  if (ph.has('getlin') || ph.has('getser')) {
    const nk = Math.min(cfg.get, cfg.conc);
    if (!ph.has('put64')) await pool(nk, 64, (i) => client.put(key('b', i), VALUE));
    let bad = 0;
    const check = (b) => { if (!b || b.length !== 64) bad++; };
    if (ph.has('getlin')) {
      res.get_lin = await timed(cfg.get, cfg.get_c, async (i) => check(valueOf(await client.get(key('b', i % nk)))));
    }
    if (ph.has('getser')) {
      res.get_ser = await timed(cfg.get, cfg.get_c, async (i) =>
        check(valueOf(await client.get(key('b', i % nk), { serializable: true }))));
    }
    res.get_bad_values = bad;
  }

  // d. watch delivery
  if (ph.has('watch')) {
    const n = cfg.watch;
    const prefix = 'w';
    const seen = new Uint8Array(n);
    let received = 0, dup = 0, foreign = 0, lastRev = 0n, outOfOrder = 0;
    let tLast = 0n;
    let resolveDone;
    const done = new Promise((r) => { resolveDone = r; });
    let resolveCreated, rejectCreated;
    const created = new Promise((r, j) => { resolveCreated = r; rejectCreated = j; });
    const watcher = client.watch(prefix, { prefix: true, createdNotify: true });
    const latin1 = new TextDecoder('latin1');
    // The consumer loop: confirms creation, then checks off every put event.
    const consumer = (async () => {
      try {
        for await (const resp of watcher) {
          if (resp.created) resolveCreated();
          for (const ev of resp.events) {
            if (ev.type !== 'put') continue;
            const i = Number(latin1.decode(ev.kv.key).slice(1));
            const rev = ev.kv.modRevision;
            if (rev < lastRev) outOfOrder++;
            lastRev = rev;
            if (!(i >= 0 && i < n)) { foreign++; continue; }
            if (seen[i]) { dup++; continue; }
            seen[i] = 1;
            received++;
            if (received === n) { tLast = now(); resolveDone(); }
          }
          if (received === n) break; // cancels the watch on etcd
        }
      } catch (e) {
        res.watch_error = String(e);
        rejectCreated(e);
      } finally {
        rejectCreated(new Error('the watch ended before it was created')); // no-op once created
      }
    })();
    await created; // the clock starts only once the watch is confirmed created
    const c0 = cpuNow();
    const t0 = now();
    await pool(n, cfg.watch_c, (i) => client.put(key(prefix, i), VALUE));
    const tPutsDone = now();
    let timedOut = false;
    let timer;
    await Promise.race([
      done,
      new Promise((r) => { timer = setTimeout(() => { timedOut = true; r(); }, cfg.watch_timeout_s * 1000); }),
    ]);
    clearTimeout(timer);
    const tEnd = timedOut ? now() : tLast;
    const el = secs(t0, tEnd);
    res.watch = {
      n, put_conc: cfg.watch_c, received, lost: n - received, dup, foreign, out_of_order: outOfOrder,
      timed_out: timedOut, elapsed_s: r3(el), ops_s: r1(received / el),
      puts_elapsed_s: r3(secs(t0, tPutsDone)), put_ops_s: r1(n / secs(t0, tPutsDone)),
      tail_after_last_put_ms: r3(Number(tEnd - tPutsDone) / 1e6),
      cpu_s: r3(cpuNow() - c0),
    };
    watcher.close(); // no-op when the loop already broke out
    await consumer;
    sampleRss();
  }
} catch (e) {
  res.error = String(e && e.stack || e);
} finally {
  client.close();
}

sampleRss();
const ru = process.resourceUsage();
res.rusage = {
  maxrss_mb: r1(ru.maxRSS / 1024), // KiB -> MiB (getrusage ru_maxrss)
  sampled_peak_rss_mb: r1(peakRss / 1048576),
  heap_used_mb: r1(process.memoryUsage().heapUsed / 1048576),
  user_s: r3(ru.userCPUTime / 1e6), sys_s: r3(ru.systemCPUTime / 1e6),
  cpu_s: r3((ru.userCPUTime + ru.systemCPUTime) / 1e6),
};
process.stdout.write(JSON.stringify(res) + '\n');
process.exit(res.error ? 1 : 0);
