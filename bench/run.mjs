#!/usr/bin/env node
// `npm run bench`: the etcd-connect benchmark against the bench-anchors kit.
//   1. the kit's setup.sh (apt packages when root, npm etcd3 and the Go anchor in .bench-work)
//   2. npm run build (the bench programs import dist/)
//   3. the kit's run-all.sh with the two anchors and two etcd-connect clients:
//        etcd-connect          node bench/bench-etcd-connect.mjs --transport h2
//        etcd-connect-connect  node bench/bench-etcd-connect.mjs --transport connect
//   4. bench/extra.mjs against a fresh etcd (--unsafe-no-fsync) started with the kit's start-etcd.sh, then
//      bench/profile.mjs (CPU profiles of puts at 64 in flight per transport, and of gets on the HTTP/2 one) and
//      bench/proxy.mjs (the gRPC-Web proxy driven by fetch and by Chromium, next to the direct client and
//      grpcwebproxy built by bench/grpcwebproxy/build.sh; 10,000 watches) and
//      bench/memory.mjs (where the standard run's peak RSS goes) against the same etcd
//   5. node scripts/bundle-size.mjs
//   6. bench/RESULTS.md: machine, versions, the kit's SUMMARY.md, the extra workloads, the targets
// etcd: 3.6 by default (scripts/etcd-versions.mjs builds it), `--etcd 3.4|3.5|3.6|3.7` for another; the kit's
// start-etcd.sh runs it through BENCH_ETCD_BIN.
// Go anchors: `go-clientv3-3.6` is Go's current client (go.etcd.io/etcd/client/v3 at the 3.6 pin, built by
// bench/go-clientv3/build.sh) and the baseline of every ratio; the kit's `go-clientv3` (Debian's 3.4) stays as a row.
// Env: SCALE, ROUNDS, PHYS, PHYS_N (run-all.sh's, defaults 1, 3, 1), BENCH_KIT (default
// ../shared/bench-anchors from the repo root), BENCH_WORK (default <repo>/.bench-work), BENCH_PORT.
// Quick run: SCALE=0.1 ROUNDS=1 npm run bench
// `npm run bench -- --report-only`: rewrites bench/RESULTS.md from the results of the last run in .bench-work
// (kit JSONL, extra.json), running only the CPU profiles, the memory breakdown and the bundle size again.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEtcd } from '../scripts/ensure.mjs';
import { renderProxySection } from './proxy-report.mjs';
import { DEFAULT_ETCD_VERSION, ETCD_VERSIONS, etcdBinaries, pinnedRelease } from '../scripts/etcd-versions.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KIT = resolve(root, process.env.BENCH_KIT || '../shared/bench-anchors');
const WORK = resolve(root, process.env.BENCH_WORK || '.bench-work');
const SCALE = process.env.SCALE || '1';
const ROUNDS = process.env.ROUNDS || '3';
const PHYS = process.env.PHYS || '1';
const PORT = process.env.BENCH_PORT || '23790';
const RESULTS_DIR = join(WORK, 'results');
const REPORT_ONLY = process.argv.includes('--report-only');
const etcdArg = process.argv.indexOf('--etcd');
const ETCD = etcdArg === -1 ? DEFAULT_ETCD_VERSION : process.argv[etcdArg + 1];
if (!(ETCD in ETCD_VERSIONS)) {
  process.stderr.write(`bench: --etcd takes one of ${Object.keys(ETCD_VERSIONS).join(', ')}, got ${ETCD}\n`);
  process.exit(2);
}
const ETCD_BINS = etcdBinaries(ETCD);
/** Go's current client, the baseline of the ratios (bench/go-clientv3). */
const GO = 'go-clientv3-3.6';
const GO_CMD = join(WORK, 'bin', 'bench-go-current');
const CLIENTS = [
  { name: 'etcd-connect', transport: 'h2', cmd: 'node bench/bench-etcd-connect.mjs --transport h2' },
  { name: 'etcd-connect-connect', transport: 'connect', cmd: 'node bench/bench-etcd-connect.mjs --transport connect' },
];
const env = {
  ...process.env, BENCH_WORK: WORK, BENCH_PORT: PORT, BENCH_KIT: KIT, BENCH_ETCD_BIN: ETCD_BINS.etcd, BASELINE: GO,
  // the kit's start-etcd.sh checks health with etcdctl from PATH: the one of the same version
  PATH: `${dirname(ETCD_BINS.etcdctl)}:${process.env.PATH}`,
};

const log = (msg) => process.stderr.write(`\n== bench: ${msg}\n`);

// ---------- child processes ----------
// Each child runs in its own process group (detached), so a signal to this
// process reaches it only through the handler below, which sends SIGINT to that
// group by its PID: run-all.py then kills its client run and stops its etcd.
let current;
let extraEtcdStarted = false;
function run(cmd, args, { capture = false, extraEnv = {} } = {}) {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, {
      cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], detached: true,
    });
    current = p;
    let out = '';
    if (capture) p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      current = undefined;
      resolvePromise({ code: code ?? (signal ? 128 : 1), out });
    });
  });
}
function stopEtcd() {
  // stop-etcd.sh signals only the PID in .bench-work/etcd/etcd.pid, and only if it is an etcd of this work dir
  spawnSync(join(KIT, 'stop-etcd.sh'), { cwd: root, env, stdio: 'inherit' });
}
// On SIGINT/SIGTERM: no further step starts; the running child's process group
// gets SIGINT (by its PID); once it has exited, main() stops the etcd of the work
// dir and exits 130. If it has not exited within 20 s, it gets SIGKILL.
let interrupted;
class Interrupted extends Error {}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = sig;
    process.stderr.write(`\nbench: ${sig}, stopping\n`);
    const p = current;
    if (p?.pid) {
      try { process.kill(-p.pid, 'SIGINT'); } catch { /* gone */ }
      setTimeout(() => { if (current === p) { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } } }, 20000).unref();
    }
  });
}
const checkInterrupted = () => { if (interrupted) throw new Interrupted(`interrupted by ${interrupted}`); };

// The bench programs import dist/, which a concurrent `npm run build` or `npm pack`
// in this checkout deletes and rewrites: before each stage, wait for it to be back
// (up to 60 s), else build again.
async function ensureBuilt() {
  const f = join(root, 'dist', 'src', 'node.js');
  for (let i = 0; i < 120 && !existsSync(f); i++) await new Promise((r) => setTimeout(r, 500));
  if (existsSync(f)) return;
  log('dist/ is gone (another build?): npm run build');
  const b = await run('npm', ['run', 'build']);
  checkInterrupted();
  if (b.code !== 0) throw new Error('npm run build failed');
}

// ---------- JSONL results of the kit ----------
function readRuns(tag) {
  const f = join(RESULTS_DIR, `${tag}.jsonl`);
  if (!existsSync(f)) return { meta: undefined, runs: [] };
  const lines = readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const metas = lines.filter((d) => d.kind === 'meta');
  const meta = metas[metas.length - 1];
  const runs = lines.filter((d) => d.kind === 'run' && (!meta || d.run_id === meta.run_id));
  return { meta, runs };
}
const getPath = (d, path) => {
  let v = d;
  for (const p of path.split('.')) { if (v == null || typeof v !== 'object') return undefined; v = v[p]; }
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const usPerOp = (phase) => (r) => {
  const ph = r[phase];
  if (!ph || typeof ph.cpu_s !== 'number') return undefined;
  const n = ph.received ?? ph.n;
  return n ? (ph.cpu_s / n) * 1e6 : undefined;
};
const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
// value of `client` divided by the value of `base` in the same round, median [min, max] over the rounds (as summarize.py)
function paired(runs, client, base, fn) {
  const byRound = (name) => new Map(runs.filter((r) => r.client === name && !r.error).map((r) => [r.round, fn(r)]));
  const a = byRound(client), b = byRound(base);
  const ratios = [];
  for (const [round, v] of a) {
    const w = b.get(round);
    if (v !== undefined && w !== undefined && w !== 0) ratios.push(v / w);
  }
  return ratios.length ? { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), n: ratios.length } : undefined;
}
function values(runs, client, fn) {
  return runs.filter((r) => r.client === client && !r.error).map(fn).filter((v) => v !== undefined);
}
const fx = (x, d = 2) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const fr = (p) => (p ? `${fx(p.median)}x` + (p.n > 1 ? ` [${fx(p.min)}-${fx(p.max)}]` : '') : 'n/a');

// ---------- RESULTS.md ----------
function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || cpus()[0]?.model || 'unknown';
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(cpus().length);
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout?.trim();
  return { nproc, model, memGiB: (totalmem() / 2 ** 30).toFixed(1), kernel };
}

function targetsSection(nof, getv, extra, bundle) {
  const base = GO, npm = 'etcd3-npm';
  const lines = [
    '## Targets', '',
    'Computed from the kit\'s JSONL results (`.bench-work/results/*.jsonl`): paired ratio = the client\'s value divided by',
    `the anchor's value in the same round, median [min-max] over the rounds (as \`summarize.py\`); a target is met when`,
    `the median meets it. "Go" is Go's current client (\`${GO}\`). Puts, watch, sequential latency, CPU and RSS come`,
    'from the `nofsync` run; gets from both the `nofsync` run (etcd\'s default configuration) and `nofsync-getvariant`',
    '(`--backend-batch-limit 100`). `etcd-connect` is the HTTP/2 transport, `etcd-connect-connect` Connect\'s',
    '`createGrpcTransport`.', '',
  ];
  const names = CLIENTS.map((c) => c.name);
  const transportOf = (name, runs) => runs.find((r) => r.client === name && r.versions)?.versions?.transport;
  const head = ['target', ...names.map((n) => `${n}: ${transportOf(n, nof.runs) ?? '?'}`)];
  const rows = [];
  const verdict = (ok, text) => (ok === undefined ? `n/a (${text})` : `${ok ? '**met**' : '**not met**'}: ${text}`);

  const throughput = (label, runs, path) => rows.push([`${label} >= 1.0x Go`, ...names.map((n) => {
    const g = paired(runs, n, base, (r) => getPath(r, path));
    const e = paired(runs, n, npm, (r) => getPath(r, path));
    const abs = values(runs, n, (r) => getPath(r, path));
    return verdict(g ? g.median >= 1.0 : undefined, `${fr(g)} Go (${fr(e)} npm etcd3); ${abs.length ? Math.round(median(abs)) : '-'} ops/s`);
  })]);
  throughput('puts @64', nof.runs, 'put_c_low.ops_s');
  throughput('puts @512', nof.runs, 'put_c_high.ops_s');
  throughput('gets @64, linearizable (default etcd)', nof.runs, 'get_lin.ops_s');
  throughput('gets @64, serializable (default etcd)', nof.runs, 'get_ser.ops_s');
  throughput('gets @64, linearizable (batch limit 100)', getv.runs, 'get_lin.ops_s');
  throughput('gets @64, serializable (batch limit 100)', getv.runs, 'get_ser.ops_s');
  throughput('watch (puts @256 until the last event)', nof.runs, 'watch.ops_s');

  rows.push(['sequential put p50 <= 1.2x Go', ...names.map((n) => {
    const g = paired(nof.runs, n, base, (r) => getPath(r, 'seq_put.p50_ms'));
    const abs = values(nof.runs, n, (r) => getPath(r, 'seq_put.p50_ms'));
    const goAbs = values(nof.runs, base, (r) => getPath(r, 'seq_put.p50_ms'));
    return verdict(g ? g.median <= 1.2 : undefined, `${fr(g)} Go; ${abs.length ? fx(median(abs), 3) : '-'} ms vs ${goAbs.length ? fx(median(goAbs), 3) : '-'} ms`);
  })]);

  const cpuPhases = [
    ['seq put', nof.runs, 'seq_put'], ['put @64', nof.runs, 'put_c_low'], ['put @512', nof.runs, 'put_c_high'],
    ['get lin @64', getv.runs, 'get_lin'], ['get ser @64', getv.runs, 'get_ser'], ['watch (put + event)', nof.runs, 'watch'],
  ];
  rows.push(['client CPU per op <= Go (every phase)', ...names.map((n) => {
    const parts = cpuPhases.map(([label, runs, ph]) => {
      const p = paired(runs, n, base, usPerOp(ph));
      const us = values(runs, n, usPerOp(ph));
      return { label, p, ok: p ? p.median <= 1.0 : undefined, us: us.length ? median(us) : undefined };
    });
    const known = parts.filter((x) => x.ok !== undefined);
    const ok = known.length ? known.every((x) => x.ok) : undefined;
    return verdict(ok, parts.map((x) => `${x.label} ${fr(x.p)} (${x.us === undefined ? '-' : Math.round(x.us)} µs)`).join('; '));
  })]);

  // etcd's own CPU while it served each client's run (the kit's env.etcd_cpu_s): the same work for every client.
  // Not a target: what the client costs the server, for reference (issue #16 asked why it was 1.35x on etcd 3.4).
  rows.push(['(reference) etcd CPU serving the client vs serving Go (whole `nofsync` run; gets-only `nofsync-getvariant` run)', ...names.map((n) => {
    const all = paired(nof.runs, n, base, (r) => getPath(r, 'env.etcd_cpu_s'));
    const gets = paired(getv.runs, n, base, (r) => getPath(r, 'env.etcd_cpu_s'));
    return `${fr(all)} Go (all phases); ${fr(gets)} Go (gets)`;
  })]);

  rows.push(['peak RSS < 80 MB (standard run, max over the rounds)', ...names.map((n) => {
    const rss = values(nof.runs, n, (r) => getPath(r, 'rusage.maxrss_mb'));
    const mx = rss.length ? Math.max(...rss) : undefined;
    return verdict(mx === undefined ? undefined : mx < 80, `${mx === undefined ? '-' : fx(mx, 1)} MiB ru_maxrss`);
  })]);

  rows.push(['10,000 watchers: RSS growth < 100 MB, all events delivered', ...CLIENTS.map((c) => {
    const w = (extra?.results || []).find((r) => r.workload === 'watchers' && r.transport_arg === c.transport);
    if (!w) return verdict(undefined, 'no result');
    if (w.error) return verdict(false, `error: ${w.error.split('\n')[0]}`);
    const ok = w.watchers >= 10000 && w.created === w.watchers && w.all_delivered && w.rss_growth_mb < 100;
    return verdict(w.watchers >= 10000 ? ok : undefined,
      `${w.created}/${w.watchers} watchers, +${w.rss_growth_mb} MiB, ${w.events_received}/${w.puts} events, lost ${w.lost}`);
  })]);

  const b = bundle.gzipKB === undefined ? verdict(undefined, bundle.text || 'not measured')
    : verdict(bundle.gzipKB <= 45, `${bundle.gzipKB} KB min+gzip (budget 45 KB)`);
  rows.push(['browser bundle <= 45 KB min+gzip (`scripts/bundle-size.mjs`)', ...names.map(() => b)]);

  lines.push('| ' + head.join(' | ') + ' |', '|' + '---|'.repeat(head.length));
  for (const r of rows) lines.push('| ' + r.join(' | ') + ' |');
  return lines.join('\n');
}

function extraSection(extra) {
  const L = ['## Extra workloads (`bench/extra.mjs`)', ''];
  if (!extra) return [...L, 'Not run or failed (see the console output).'].join('\n');
  L.push(`Against a fresh etcd (\`${extra.etcd_flags ?? '?'}\`), scale ${extra.scale}. Each row is its own Node process.`, '');
  const rs = extra.results || [];
  const err = (r) => (r.error ? `error: ${r.error.split('\n')[0]}` : undefined);
  const t = (r) => r.transport ?? r.transport_arg;
  L.push('(a) watchers on distinct keys, one client; puts (64 in flight) to random watched keys. Latency ack->event counts',
    'events that arrive before the put acknowledgement as 0; sent->event is from sending the put.', '',
    '| transport | watchers created | create time s | RSS growth MiB (after GC) | puts | ack->event p50 / p99 ms | sent->event p50 / p99 ms | events received | lost | all delivered |',
    '|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rs.filter((x) => x.workload === 'watchers')) {
    L.push(err(r) ? `| ${t(r)} | ${err(r)} |||||||||` : `| ${t(r)} | ${r.created}/${r.watchers} | ${r.create_s} | ${r.rss_growth_mb} | ${r.puts} | ` +
      `${r.lat_p50_ms} / ${r.lat_p99_ms} | ${r.lat_send_p50_ms} / ${r.lat_send_p99_ms} | ${r.events_received} | ${r.lost} | ${r.all_delivered} |`);
  }
  L.push('', '(b) leases kept alive (TTL 3 s, renewed every 1 s), renewals counted through the keepers\' iterators.', '',
    '| transport | leases | seconds | renewals | renewals/s | min-max per lease | client CPU µs/renewal | lost | expired after | all ok |',
    '|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rs.filter((x) => x.workload === 'leases')) {
    L.push(err(r) ? `| ${t(r)} | ${err(r)} |||||||||` : `| ${t(r)} | ${r.leases} | ${r.elapsed_s} | ${r.renewals} | ${r.renewals_per_s} | ` +
      `${r.renewals_per_lease_min}-${r.renewals_per_lease_max} | ${r.cpu_us_per_renewal} | ${r.lost} | ${r.expired_after} | ${r.all_ok} |`);
  }
  L.push('', '(c) compare-and-swap txns (compare modRevision =, put) on distinct keys, 64 in flight.', '',
    '| transport | txns | ops/s | client CPU µs/op | CAS failed |', '|---|---|---|---|---|');
  for (const r of rs.filter((x) => x.workload === 'txn')) {
    L.push(err(r) ? `| ${t(r)} | ${err(r)} ||||` : `| ${t(r)} | ${r.n} | ${r.ops_s} | ${r.cpu_us_per_op} | ${r.cas_failed} |`);
  }
  L.push('', '(d) gRPC-Web: the etcd-connect proxy and a web-entry client (fetch) in one process, 64 in flight.',
    'CPU includes the proxy, which runs in the same process.', '',
    '| transport | ops | puts ops/s | put CPU µs/op | gets ops/s | get CPU µs/op |', '|---|---|---|---|---|---|');
  for (const r of rs.filter((x) => x.workload === 'grpcweb')) {
    L.push(err(r) ? `| ${t(r)} | ${err(r)} |||||` : `| ${t(r)} | ${r.put.n} | ${r.put.ops_s} | ${r.put.cpu_us_per_op} | ${r.get.ops_s} | ${r.get.cpu_us_per_op} |`);
  }
  return L.join('\n');
}

const now = () => new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
/** When the last kit run ended (its SUMMARY.md's mtime). */
function runDate() {
  const f = join(RESULTS_DIR, 'SUMMARY.md');
  return existsSync(f) ? statSync(f).mtime.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '?';
}

function profileSection(profiles) {
  const L = ['## Where the client\'s time goes (`bench/profile.mjs`)', ''];
  if (!profiles.length) return [...L, 'Not run or failed (see the console output).'].join('\n');
  L.push('Puts, and linearizable gets, at 64 in flight under `node --cpu-prof` (same etcd as the extra workloads), the',
    'profile\'s self time by where the code lives. Idle is time the client waited for etcd; a client that is the',
    'bottleneck has little.', '');
  for (const p of profiles) {
    const what = p.op === 'get' ? 'gets' : 'puts';
    L.push(`### ${p.transport}: ${p.n} ${what}, ${p.ops_s} ops/s, ${p.cpu_us_per_op} µs client CPU per ${p.op ?? 'put'} (profiled)`, '',
      '| where | share of samples |', '|---|---|', ...p.categories.map((c) => `| ${c.name} | ${c.pct}% |`), '',
      'Top functions by self time:', '', '| function | share |', '|---|---|', ...p.top.map((t) => `| \`${t.name}\` | ${t.pct}% |`), '');
  }
  return L.join('\n');
}

function memorySection(memory) {
  const L = ['## Where the client\'s memory goes (`bench/memory.mjs`)', ''];
  if (!memory) return [...L, 'Not run or failed (see the console output).'].join('\n');
  L.push('RSS at its highest sample (every 100 ms, `/proc/self/smaps`), split into the node executable\'s own pages,',
    'the V8 heap (physical size per space, `v8.getHeapSpaceStatistics()`), the rest of the anonymous memory (malloc,',
    'socket buffers, thread stacks) and other mapped files. Same etcd as the extra workloads; the standard run is',
    '`bench-etcd-connect.mjs` with all phases, as in the kit. The last column caps V8\'s young generation',
    '(`--max-semi-space-size=4`, a flag for the application, not something a library can set).', '');
  const cols = [['Node alone (`node -e 0`)', memory.node_alone], ['after importing etcd-connect', memory.after_import],
    [`standard run (${memory.transport})`, memory.standard_run], ['standard run, semi-space 4 MiB', memory.standard_run_semi_space_4]];
  const spaces = [...new Set(cols.flatMap(([, m]) => Object.keys(m.v8_spaces_mib)))];
  const row = (name, f) => `| ${name} | ${cols.map(([, m]) => f(m)).join(' | ')} |`;
  L.push(`| MiB | ${cols.map(([n]) => n).join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`,
    row('**peak RSS** (ru_maxrss)', (m) => `**${m.max_rss_mib}**`),
    row('node executable (code pages)', (m) => m.node_binary_mib),
    row('V8 heap', (m) => m.v8_heap_mib),
    ...spaces.map((sp) => row(`&nbsp;&nbsp;${sp}`, (m) => m.v8_spaces_mib[sp] ?? 0)),
    row('other anonymous (malloc, buffers, stacks)', (m) => m.other_anonymous_mib),
    row('other files (shared libraries)', (m) => m.other_files_mib), '');
  return L.join('\n');
}

function writeResults({ extra, bundle, failures, profiles, memory, proxy }) {
  const m = machine();
  const nof = readRuns('nofsync'), fs = readRuns('fsync'), getv = readRuns('nofsync-getvariant');
  const summaryPath = join(RESULTS_DIR, 'SUMMARY.md');
  const summary = existsSync(summaryPath) ? readFileSync(summaryPath, 'utf8').trim() : '(no SUMMARY.md: run-all.sh failed)';
  const full = Number(SCALE) === 1 && Number(ROUNDS) >= 3;
  const out = [];
  if (!full) {
    out.push(`> **Smoke run** at SCALE=${SCALE}, ROUNDS=${ROUNDS}${PHYS === '0' ? ', PHYS=0' : ''}: the figures are not`,
      '> meaningful (tiny op counts, on a shared machine); the full run (`npm run bench`) overwrites this file.', '');
  }
  out.push('# etcd-connect benchmark results', '',
    `- date: ${REPORT_ONLY && nof.meta ? `kit and extra workloads ${runDate()}; CPU profiles, memory and bundle ${now()}` : now()}`,
    `- machine: ${m.nproc} CPUs (nproc), ${m.model}, ${m.memGiB} GiB RAM, Linux ${m.kernel}`,
    `- node ${process.version}; etcd ${nof.meta?.etcd_version ?? getv.meta?.etcd_version ?? '?'} (\`--etcd ${ETCD}\`: ${pinnedRelease(ETCD) === 'debian' ? "Debian's package" : `built from Go modules, pin ${pinnedRelease(ETCD)}`})`,
    `- SCALE=${SCALE}, ROUNDS=${ROUNDS}, PHYS=${PHYS}; kit ${KIT}`);
  for (const [tag, d] of [['nofsync', nof], ['fsync', fs], ['nofsync-getvariant', getv]]) {
    if (d.meta) out.push(`- etcd flags (${tag}): \`${d.meta.etcd_flags}\``);
  }
  if (extra?.etcd_flags) out.push(`- etcd flags (extra workloads): \`${extra.etcd_flags}\``);
  if (failures.length) out.push(`- **failures**: ${failures.join('; ')}`);
  out.push('', 'Clients: `etcd3-npm` (npm etcd3 1.1.2) and `go-clientv3` (Go\'s clientv3 3.4.23 from Debian) are the kit\'s',
    `anchors; \`${GO}\` is the kit's Go program built against Go's current client (\`bench/go-clientv3\`, go.etcd.io/etcd/client/v3`,
    'at the 3.6 pin with the grpc-go it requires), the baseline of every ratio; `etcd-connect` runs',
    '`node bench/bench-etcd-connect.mjs --transport h2`, `etcd-connect-connect` the same with `--transport connect`.', '',
    targetsSection(nof, getv, extra, bundle), '',
    '## Kit summary (`.bench-work/results/SUMMARY.md`, verbatim)', '', summary, '',
    extraSection(extra), '',
    profileSection(profiles), '',
    memorySection(memory), '',
    proxy ? renderProxySection(proxy) : '## gRPC-Web proxy (`bench/proxy.mjs`)\n\nNot run or failed (see the console output).', '',
    '## Browser bundle', '', '```', bundle.text || '(not measured)', '```', '');
  writeFileSync(join(root, 'bench', 'RESULTS.md'), out.join('\n'));
}

// ---------- main ----------
async function main() {
  const failures = [];
  if (!existsSync(join(KIT, 'run-all.sh'))) {
    throw new Error(`bench-anchors kit not found at ${KIT}; set BENCH_KIT to its path`);
  }
  mkdirSync(WORK, { recursive: true });

  if (!REPORT_ONLY) {
    log(`setup (${KIT}/setup.sh, BENCH_WORK=${WORK})`);
    const setup = await run(join(KIT, 'setup.sh'), []);
    checkInterrupted();
    if (setup.code !== 0) throw new Error('setup.sh failed');

    log(`etcd ${ETCD} (${ETCD_BINS.etcd})`);
    ensureEtcd([ETCD]);
    log('Go\'s current clientv3 anchor (bench/go-clientv3/build.sh)');
    const goBuild = await run('bash', [join(root, 'bench', 'go-clientv3', 'build.sh')]);
    checkInterrupted();
    if (goBuild.code !== 0) throw new Error('bench/go-clientv3/build.sh failed');

    log('npm run build');
    const build = await run('npm', ['run', 'build']);
    checkInterrupted();
    if (build.code !== 0) throw new Error('npm run build failed');

    await ensureBuilt();
    log(`run-all.sh (SCALE=${SCALE} ROUNDS=${ROUNDS} PHYS=${PHYS})`);
    const clientArgs = [`${GO}=${GO_CMD}`, ...CLIENTS.map((c) => `${c.name}=${c.cmd}`)].flatMap((c) => ['--client', c]);
    const ra = await run(join(KIT, 'run-all.sh'), clientArgs, { extraEnv: { SCALE, ROUNDS, PHYS } });
    checkInterrupted();
    if (ra.code !== 0) failures.push(`run-all.sh exited ${ra.code}`);
    for (const tag of ['nofsync', 'fsync', 'nofsync-getvariant']) {
      for (const r of readRuns(tag).runs) if (r.error) failures.push(`${tag} ${r.client} round ${r.round}: ${String(r.error).split('\n')[0].slice(0, 160)}`);
    }
  } else {
    log('report only: the kit\'s and the extra workloads\' results of the last run, new CPU profiles');
  }
  await ensureBuilt();
  log('extra workloads (bench/extra.mjs) against a fresh etcd (--unsafe-no-fsync)');
  let extra;
  let memory;
  let proxy;
  const profiles = [];
  const st = await run(join(KIT, 'start-etcd.sh'), ['nofsync'], { extraEnv: { BENCH_ETCD_FLAGS: '' } });
  extraEtcdStarted = st.code === 0;
  checkInterrupted();
  if (st.code !== 0) {
    failures.push('start-etcd.sh for the extra workloads failed');
  } else {
    try {
      const flagsFile = join(WORK, 'etcd', 'etcd-nofsync.flags');
      const etcdFlags = existsSync(flagsFile) ? readFileSync(flagsFile, 'utf8').trim() : undefined;
      if (REPORT_ONLY) {
        const saved = join(RESULTS_DIR, 'extra.json');
        if (existsSync(saved)) extra = JSON.parse(readFileSync(saved, 'utf8'));
      } else {
        const ex = await run(process.execPath, ['bench/extra.mjs', '--endpoint', `127.0.0.1:${PORT}`, '--scale', SCALE], { capture: true });
        checkInterrupted();
        const line = ex.out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
        if (line) {
          extra = JSON.parse(line);
          extra.etcd_flags = etcdFlags;
          mkdirSync(RESULTS_DIR, { recursive: true });
          writeFileSync(join(RESULTS_DIR, 'extra.json'), JSON.stringify(extra, null, 1) + '\n');
        }
        if (ex.code !== 0) failures.push(`extra.mjs exited ${ex.code}`);
      }

      log('CPU profiles of puts and gets at 64 in flight (bench/profile.mjs)');
      for (const [transport, op] of [['h2', 'put'], ['h2', 'get'], ['connect', 'put']]) {
        const pr = await run(process.execPath, ['bench/profile.mjs', '--endpoint', `127.0.0.1:${PORT}`, '--transport', transport, '--op', op], { capture: true });
        checkInterrupted();
        const pline = pr.out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
        if (pr.code !== 0 || !pline) failures.push(`profile.mjs --transport ${transport} --op ${op} exited ${pr.code}`);
        else profiles.push(JSON.parse(pline));
      }

      if (REPORT_ONLY) {
        const saved = join(RESULTS_DIR, 'proxy.json');
        if (existsSync(saved)) proxy = JSON.parse(readFileSync(saved, 'utf8'));
      } else {
        log('the gRPC-Web proxy against grpcwebproxy (bench/grpcwebproxy/build.sh, bench/proxy.mjs)');
        const gb = await run('bash', [join(root, 'bench', 'grpcwebproxy', 'build.sh')]);
        checkInterrupted();
        if (gb.code !== 0) failures.push('bench/grpcwebproxy/build.sh failed');
        const px = await run(process.execPath, ['bench/proxy.mjs', '--endpoint', `127.0.0.1:${PORT}`,
          ...(gb.code === 0 ? ['--grpcwebproxy', join(WORK, 'bin', 'grpcwebproxy')] : [])], { capture: true });
        checkInterrupted();
        const pline = px.out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
        if (px.code !== 0 || !pline) failures.push(`proxy.mjs exited ${px.code}`);
        else {
          proxy = JSON.parse(pline);
          mkdirSync(RESULTS_DIR, { recursive: true });
          writeFileSync(join(RESULTS_DIR, 'proxy.json'), JSON.stringify(proxy, null, 1) + '\n');
        }
      }

      log('memory of the standard run (bench/memory.mjs)');
      const mr = await run(process.execPath, ['bench/memory.mjs', '--endpoint', `127.0.0.1:${PORT}`, '--transport', 'h2'], { capture: true });
      checkInterrupted();
      const mline = mr.out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (mr.code !== 0 || !mline) failures.push(`memory.mjs exited ${mr.code}`);
      else memory = JSON.parse(mline);
    } finally {
      stopEtcd();
      extraEtcdStarted = false;
    }
  }

  log('browser bundle (scripts/bundle-size.mjs)');
  const bs = spawnSync(process.execPath, ['scripts/bundle-size.mjs'], { cwd: root, env, encoding: 'utf8' });
  const bundleText = `${bs.stdout ?? ''}${bs.stderr ?? ''}`.trim();
  process.stderr.write(bundleText + '\n');
  const mm = bundleText.match(/([\d.]+) KB min\+gzip/);
  const bundle = { text: bundleText, gzipKB: mm ? Number(mm[1]) : undefined };

  writeResults({ extra, bundle, failures, profiles, memory, proxy });
  log(`wrote bench/RESULTS.md${failures.length ? ` (failures: ${failures.length})` : ''}`);
  if (failures.length) {
    process.stderr.write(failures.map((f) => `  - ${f}`).join('\n') + '\n');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  if (e instanceof Interrupted) {
    process.stderr.write(`bench: ${e.message}; nothing written to bench/RESULTS.md\n`);
    stopEtcd(); // whichever etcd of this work dir is still running (stop-etcd.sh checks its pid file)
    process.exit(130);
  }
  process.stderr.write(`bench: ${e.stack || e}\n`);
  if (extraEtcdStarted) stopEtcd();
  process.exit(1);
});
