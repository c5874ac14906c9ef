// Extra etcd-connect workloads that the bench-anchors kit does not have.
// Prints ONE JSON line on stdout (last line) and a readable summary on stderr.
//
// Usage: node --expose-gc bench/extra.mjs --endpoint 127.0.0.1:PORT [--scale 1]
//          [--workloads watchers,leases,txn,grpcweb] [--transports h2,connect]
//          [--watchers 10000] [--timeout 300]
// Options may also come from env: BENCH_ENDPOINT, BENCH_SCALE, BENCH_TRANSPORTS, ...
//
// Workloads (each (workload, transport) pair runs in its own child process, so
// RSS and CPU figures are not mixed up between runs):
//   watchers  `--watchers` (10,000, not scaled) watchers on distinct keys on one client, all confirmed
//             created; then 10,000 x scale puts (64 in flight) to random watched keys.
//             RSS growth (after GC with --expose-gc), create time, event latency (put acknowledged ->
//             event received; events that arrive before the ack count as 0; also put sent -> event),
//             lost events.
//   leases    1,000 x scale (at least 100) leases, TTL 3 s, kept alive for max(4, 10 x scale) s;
//             renewals counted through each keeper's async iterator; client CPU us per renewal,
//             leases lost (keeper.done with an error, or timeToLive <= 0 afterwards).
//   txn       compare-and-swap txns (compare modRevision =, then put) on 10,000 x scale distinct keys,
//             64 in flight: ops/s, CPU us/op, CAS failures.
//   grpcweb   the etcd-connect proxy in this process + a client on the web entry (gRPC-Web over fetch):
//             4,000 x scale puts and as many gets, 64 in flight. CPU includes the proxy (same process).
// Transports (transports.mjs): h2 (createGrpcH2Transport if exported, else the default transport,
// reported as such), connect (Connect's createGrpcTransport); grpcweb always uses the web transport.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { endpointOption, opt } from './options.mjs';
import { pct, pool } from './pool.mjs';
import { pickTransport } from './transports.mjs';

// ---------- options ----------
const scale = Number(opt('scale', 1));
const endpoint = endpointOption();
const WORKLOADS = ['watchers', 'leases', 'txn', 'grpcweb'];

// ---------- helpers ----------
const VALUE = 'v'.repeat(64);
const key = (p, i) => p + String(i).padStart(15, '0'); // 16 bytes, as in the kit
const now = () => process.hrtime.bigint();
const secs = (t0, t1) => Number(t1 - t0) / 1e9;
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const r3 = (x) => Math.round(x * 1000) / 1000;
const r1 = (x) => Math.round(x * 10) / 10;
const mib = (b) => b / 1048576;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let peakRss = 0;
const sampleRss = () => { const r = process.memoryUsage().rss; if (r > peakRss) peakRss = r; return r; };
async function timed(n, conc, fn) {
  const c0 = cpuNow();
  const t0 = now();
  await pool(n, conc, fn);
  const el = secs(t0, now());
  const cpu = cpuNow() - c0;
  return { n, conc, elapsed_s: r3(el), ops_s: r1(n / el), cpu_s: r3(cpu), cpu_us_per_op: r1((cpu / n) * 1e6) };
}
// RSS after a full GC (when --expose-gc), settled
async function rssAfterGc() {
  for (let i = 0; i < 3; i++) {
    if (globalThis.gc) globalThis.gc();
    await sleep(50);
  }
  return sampleRss();
}
function mulberry32(seed) { // small seeded PRNG: the same random keys every run
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Imports a module of the build. The build lives in the shared dist/, which a
// concurrent `npm run build` (or `npm pack`) in this checkout deletes and
// rewrites: wait up to 60 s for the file to be back.
async function importDist(rel) {
  const url = new URL(`../dist/src/${rel}`, import.meta.url);
  for (let i = 0; i < 120 && !existsSync(url); i++) await sleep(500);
  return import(url.href);
}

async function nodeClient(transport) {
  const etcd = await importDist('node.js');
  const { transport: factory, name } = pickTransport(etcd, transport);
  const options = { endpoints: ['http://' + endpoint] };
  if (factory) options.transport = factory;
  return { etcd, client: etcd.createClient(options), transportName: name };
}

// ---------- (a) many watchers ----------
async function runWatchers(transport) {
  const W = Math.max(1, Math.round(Number(opt('watchers', 10000))));
  const N = Math.max(100, Math.round(10000 * scale));
  const { client, transportName } = await nodeClient(transport);
  const res = { transport: transportName, watchers: W, puts: N };
  const watchers = [];
  try {
    await pool(200, 64, (i) => client.put(key('y', i), VALUE)); // connect + JIT, untimed
    const rss0 = await rssAfterGc();
    const ackAt = new Map(); // revision -> put acknowledged (ns)
    const eventAt = new Map(); // revision -> event received (ns)
    let events = 0, dup = 0, wrongKey = 0, created = 0, watchErrors = 0;
    let onCreated, onAllEvents;
    const allCreated = new Promise((r) => { onCreated = r; });
    const allEvents = new Promise((r) => { onAllEvents = r; });
    const keys = [];
    const utf8 = new TextDecoder();
    const t0 = now();
    for (let i = 0; i < W; i++) {
      const k = key('m', i);
      keys.push(k);
      const w = client.watch(k, { createdNotify: true });
      watchers.push(w);
      (async () => {
        try {
          for await (const resp of w) {
            if (resp.created && ++created === W) onCreated();
            if (resp.events.length) {
              const t = now();
              for (const ev of resp.events) {
                const rev = Number(ev.kv.modRevision);
                if (utf8.decode(ev.kv.key) !== k) wrongKey++;
                if (eventAt.has(rev)) { dup++; continue; }
                eventAt.set(rev, t);
                if (++events === N) onAllEvents();
              }
            }
          }
        } catch (e) {
          watchErrors++;
          res.watch_error ??= String(e);
        }
      })();
    }
    const createTimeout = Number(opt('create-timeout', 120)) * 1000;
    let tm;
    await Promise.race([allCreated, new Promise((r) => { tm = setTimeout(r, createTimeout); })]);
    clearTimeout(tm);
    const tCreated = now();
    res.created = created;
    res.create_s = r3(secs(t0, tCreated));
    res.creates_per_s = r1(created / secs(t0, tCreated));
    const rss1 = await rssAfterGc();
    res.rss_base_mb = r1(mib(rss0));
    res.rss_growth_created_mb = r1(mib(rss1 - rss0));
    res.rss_per_watcher_kib = r3((rss1 - rss0) / 1024 / W);
    if (created < W) throw new Error(`only ${created} of ${W} watchers confirmed created in ${createTimeout / 1000} s`);

    // N puts to random watched keys, 64 in flight
    const rnd = mulberry32(42);
    const c0 = cpuNow();
    const tp = now();
    const sentAt = new Map(); // revision -> put sent (ns)
    await pool(N, 64, async () => {
      const ts = now();
      const r = await client.put(keys[Math.floor(rnd() * W)], VALUE);
      const rev = Number(r.header.revision);
      ackAt.set(rev, now());
      sentAt.set(rev, ts);
    });
    const tPuts = now();
    await Promise.race([allEvents, new Promise((r) => { tm = setTimeout(r, 30000); })]);
    clearTimeout(tm);
    const tEnd = now();
    res.puts_s = r3(secs(tp, tPuts));
    res.put_ops_s = r1(N / secs(tp, tPuts));
    res.events_s = r3(secs(tp, tEnd));
    res.cpu_us_per_event = r1(((cpuNow() - c0) / N) * 1e6);
    const lat = [], latSend = [];
    let early = 0, lost = 0;
    for (const [rev, ta] of ackAt) {
      const te = eventAt.get(rev);
      if (te === undefined) { lost++; continue; }
      const ms = Number(te - ta) / 1e6;
      if (ms < 0) early++;
      lat.push(Math.max(0, ms));
      latSend.push(Number(te - sentAt.get(rev)) / 1e6);
    }
    lat.sort((a, b) => a - b);
    latSend.sort((a, b) => a - b);
    Object.assign(res, {
      events_received: events, lost, dup, wrong_key: wrongKey, watch_errors: watchErrors,
      events_before_ack: early,
      lat_p50_ms: r3(pct(lat, 0.5)), lat_p99_ms: r3(pct(lat, 0.99)), lat_max_ms: r3(lat[lat.length - 1] ?? NaN),
      lat_send_p50_ms: r3(pct(latSend, 0.5)), lat_send_p99_ms: r3(pct(latSend, 0.99)),
    });
    const rss2 = await rssAfterGc();
    res.rss_growth_after_events_mb = r1(mib(rss2 - rss0));
    res.rss_growth_mb = r1(Math.max(mib(rss1 - rss0), mib(rss2 - rss0)));
    res.all_delivered = lost === 0 && dup === 0 && wrongKey === 0 && watchErrors === 0 && events === N;
  } finally {
    for (const w of watchers) w.close();
    client.close();
  }
  return res;
}

// ---------- (b) many leases kept alive ----------
async function runLeases(transport) {
  const L = Math.max(100, Math.round(1000 * scale));
  const TTL = 3;
  const D = Math.max(4, 10 * scale);
  const { client, transportName } = await nodeClient(transport);
  const res = { transport: transportName, leases: L, ttl_s: TTL, duration_s: D };
  const keepers = [];
  let ids = [];
  try {
    await pool(200, 64, (i) => client.put(key('y', i), VALUE)); // connect + JIT, untimed
    ids = new Array(L);
    await pool(L, 64, async (i) => { ids[i] = (await client.lease.grant(TTL)).id; });
    const perLease = new Uint32Array(L);
    let renewals = 0, lost = 0, iterErrors = 0, badTtl = 0;
    const c0 = cpuNow();
    const t0 = now();
    for (let i = 0; i < L; i++) {
      const k = client.lease.keepAlive(ids[i]);
      keepers.push(k);
      k.done.then((e) => { if (e) { lost++; res.lost_error ??= String(e); } });
      (async () => {
        try {
          for await (const r of k) {
            renewals++;
            perLease[i]++;
            if (!(r.ttl > 0)) badTtl++;
          }
        } catch (e) {
          iterErrors++;
        }
      })();
    }
    await sleep(D * 1000);
    const cpu = cpuNow() - c0;
    const el = secs(t0, now());
    const counted = renewals;
    let minPer = Infinity, maxPer = 0;
    for (const c of perLease) { minPer = Math.min(minPer, c); maxPer = Math.max(maxPer, c); }
    // afterwards (untimed): every lease still alive on etcd?
    let expired = 0;
    await pool(L, 64, async (i) => { if ((await client.lease.timeToLive(ids[i])).ttl <= 0) expired++; });
    Object.assign(res, {
      elapsed_s: r3(el), renewals: counted, renewals_per_s: r1(counted / el),
      renewals_per_lease_min: minPer, renewals_per_lease_max: maxPer,
      expected_per_lease: Math.floor(el / (TTL / 3)),
      cpu_s: r3(cpu), cpu_us_per_renewal: r1((cpu / Math.max(1, counted)) * 1e6),
      lost, iter_errors: iterErrors, bad_ttl: badTtl, expired_after: expired,
      all_ok: lost === 0 && iterErrors === 0 && badTtl === 0 && expired === 0 && minPer >= 1,
    });
  } finally {
    for (const k of keepers) k.close();
    try {
      const granted = ids.filter(Boolean);
      await pool(granted.length, 64, (i) => client.lease.revoke(granted[i]).catch(() => {}));
    } finally {
      client.close();
    }
  }
  return res;
}

// ---------- (c) compare-and-swap txns ----------
async function runTxn(transport) {
  const N = Math.max(200, Math.round(10000 * scale));
  const C = 64;
  const { etcd, client, transportName } = await nodeClient(transport);
  const { compare, op } = etcd;
  const res = { transport: transportName };
  try {
    const cas = async (p, i, revs) => {
      const k = key(p, i);
      const r = await client.txn({ compare: [compare.modRevision(k, '=', revs[i])], success: [op.put(k, VALUE)] });
      return r.succeeded;
    };
    // untimed: warm-up on 'u' keys, then create the 't' keys and note their modRevision
    const W = 500;
    const wrevs = new Array(W);
    await pool(W, C, async (i) => { wrevs[i] = (await client.put(key('u', i), VALUE)).header.revision; });
    await pool(W, C, (i) => cas('u', i, wrevs));
    const revs = new Array(N);
    await pool(N, C, async (i) => { revs[i] = (await client.put(key('t', i), VALUE)).header.revision; });
    let failed = 0;
    Object.assign(res, await timed(N, C, async (i) => { if (!(await cas('t', i, revs))) failed++; }));
    res.cas_failed = failed;
  } finally {
    client.close();
  }
  return res;
}

// ---------- (d) gRPC-Web through the in-process proxy ----------
async function runGrpcWeb() {
  const N = Math.max(200, Math.round(4000 * scale));
  const C = 64;
  const { createProxy } = await importDist('proxy/index.js');
  const web = await importDist('web.js');
  const proxy = createProxy({ endpoints: ['http://' + endpoint], logLevel: 'silent' });
  const { url } = await proxy.listen(0);
  let client;
  const res = { transport: 'web (gRPC-Web over fetch, proxy in-process)', proxy_url: url, cpu_note: 'CPU includes the proxy' };
  try {
    client = await web.connect({ endpoints: [url] });
    await pool(500, C, (i) => client.put(key('h', i), VALUE)); // untimed warm-up
    await pool(500, C, (i) => client.get(key('h', i)));
    res.put = await timed(N, C, (i) => client.put(key('g', i), VALUE));
    let bad = 0;
    res.get = await timed(N, C, async (i) => {
      const r = await client.get(key('g', i));
      if (!r.kvs.length || r.kvs[0].value.length !== 64) bad++;
    });
    res.get_bad_values = bad;
  } finally {
    client?.close();
    await proxy.close();
  }
  return res;
}

// ---------- child: one workload, one transport ----------
async function child() {
  const w = String(opt('child', ''));
  const t = String(opt('transport', 'h2'));
  const out = { workload: w, transport_arg: t };
  setInterval(sampleRss, 50).unref();
  try {
    if (w === 'watchers') Object.assign(out, await runWatchers(t));
    else if (w === 'leases') Object.assign(out, await runLeases(t));
    else if (w === 'txn') Object.assign(out, await runTxn(t));
    else if (w === 'grpcweb') Object.assign(out, await runGrpcWeb());
    else throw new Error(`unknown workload ${w}`);
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  const ru = process.resourceUsage();
  out.maxrss_mb = r1(ru.maxRSS / 1024);
  out.process_cpu_s = r3((ru.userCPUTime + ru.systemCPUTime) / 1e6);
  out.gc_exposed = typeof globalThis.gc === 'function';
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(out.error ? 1 : 0);
}

// ---------- parent: runs the children, prints the summary ----------
function runChild(workload, transport, timeoutS) {
  return new Promise((resolve) => {
    const argv = ['--expose-gc', fileURLToPath(import.meta.url), '--child', workload, '--transport', transport,
      '--endpoint', endpoint, '--scale', String(scale)];
    for (const k of ['watchers', 'create-timeout']) if (opt(k, undefined) !== undefined) argv.push('--' + k, String(opt(k)));
    const p = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { try { process.kill(p.pid, 'SIGKILL'); } catch {} }, timeoutS * 1000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      let r;
      try { r = JSON.parse(line); } catch { r = { workload, transport_arg: transport, error: `no JSON line (exit ${code})` }; }
      if (code !== 0 && !r.error) r.error = `exit ${code}`;
      if (r.error) r.stderr_tail = err.slice(-1500);
      resolve(r);
    });
  });
}

function summary(results) {
  const f = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : String(x));
  const lines = ['workload | transport | figures'];
  for (const r of results) {
    let s;
    if (r.error) s = `ERROR ${r.error.split('\n')[0]}`;
    else if (r.workload === 'watchers') {
      s = `${r.created}/${r.watchers} created in ${r.create_s} s; RSS +${r.rss_growth_mb} MiB; ${r.puts} puts: ` +
        `ack->event p50 ${f(r.lat_p50_ms)} ms p99 ${f(r.lat_p99_ms)} ms (sent->event p50 ${f(r.lat_send_p50_ms)} p99 ${f(r.lat_send_p99_ms)}); lost ${r.lost}; all delivered ${r.all_delivered}`;
    } else if (r.workload === 'leases') {
      s = `${r.leases} leases ${r.duration_s} s: ${r.renewals} renewals, ${r.cpu_us_per_renewal} us CPU/renewal; ` +
        `lost ${r.lost}, expired ${r.expired_after}; ok ${r.all_ok}`;
    } else if (r.workload === 'txn') {
      s = `${r.n} CAS txns @${r.conc}: ${r.ops_s} ops/s, ${r.cpu_us_per_op} us CPU/op, failed ${r.cas_failed}`;
    } else {
      s = `puts @64 ${r.put.ops_s} ops/s ${r.put.cpu_us_per_op} us/op; gets @64 ${r.get.ops_s} ops/s ` +
        `${r.get.cpu_us_per_op} us/op (CPU includes the proxy)`;
    }
    lines.push(`${r.workload} | ${r.transport ?? r.transport_arg} | ${s}`);
  }
  return lines.join('\n');
}

async function parent() {
  const workloads = String(opt('workloads', WORKLOADS.join(','))).split(',').filter(Boolean);
  const transports = String(opt('transports', 'h2,connect')).split(',').filter(Boolean);
  const timeoutS = Number(opt('timeout', 300));
  const results = [];
  for (const w of workloads) {
    if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
    for (const t of w === 'grpcweb' ? ['web'] : transports) {
      process.stderr.write(`extra: ${w} (${t}) ...\n`);
      const r = await runChild(w, t, timeoutS);
      process.stderr.write(`extra: ${w} (${t}) ${r.error ? 'ERROR ' + r.error.split('\n')[0] : 'done'}\n`);
      results.push(r);
    }
  }
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const out = {
    kind: 'extra', endpoint, scale, node: process.version, 'etcd-connect': pkg.version,
    date: new Date().toISOString(), results,
  };
  if (results.some((r) => r.error)) out.error = 'some workloads failed';
  process.stderr.write(summary(results) + '\n');
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(out.error ? 1 : 0);
}

if (opt('child', undefined) !== undefined) await child();
else await parent();
