// The gRPC-Web proxy under load, interleaved round by round against the direct Node client and (when its binary
// is given) another gRPC-Web proxy on the same etcd:
//   direct      the Node client (HTTP/2 gRPC straight to etcd), puts and linearizable gets at 64 in flight
//   <proxy>     the web client (gRPC-Web over Node's fetch, HTTP/1.1) through the proxy in its own process
//   <proxy> chromium  the same calls from Debian's Chromium (the browser entry bundled into a page), over HTTP/2
//               with TLS to the proxy (one connection carries every call)
//   watches     10,000 watches opened through the proxy over 100 HTTP/2 (TLS) connections, proxy RSS after
// Reports ops/s, the driver's CPU per call (the direct client's cost) and the proxy process's CPU per forwarded
// call (from /proc/<pid>/stat), and its RSS. Prints one JSON line.
//
//   node bench/proxy.mjs --endpoint 127.0.0.1:23790 [--n 5000] [--rounds 3] [--watches 10000]
//        [--grpcwebproxy /path/to/grpcwebproxy] [--write]
// --write also puts the section into bench/RESULTS.md (bench/proxy-report.mjs), between its markers.
// Each round also measures the drivers' own ceiling: Chromium's fetch of a trivial same-origin endpoint at 64 in
// flight (no proxy, no etcd), since neither fetch client can drive a proxy faster than it fetches at all.
//
// Imports ../dist (run `npm run build` first).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endpointOption, opt } from './options.mjs';
import { pool } from './pool.mjs';

const endpoint = endpointOption();
const N = Number(opt('n', 5000));
const ROUNDS = Number(opt('rounds', 3));
const C = 64;
const WATCHES = Number(opt('watches', 10000));
const WATCH_CONNS = 100;
const grpcwebproxyBin = opt('grpcwebproxy', '');
const VALUE = 'v'.repeat(64);
const root = fileURLToPath(new URL('..', import.meta.url));
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ on Linux)

const etcd = await import(new URL('../dist/src/node.js', import.meta.url).href);
const { build } = await import('esbuild');
const { chromium } = await import('playwright-core');
const web = await import(new URL('../dist/src/web.js', import.meta.url).href);

/** CPU seconds a process has used, from /proc. */
function procCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime (fields 14 and 15)
}
function procRssMb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}
const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitPort(port, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((r) => { const s = net.connect(port, '127.0.0.1'); s.on('connect', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a proxy process; returns { name, url, pid, stop }. `profileDir`: run ours under --cpu-prof. */
async function startProxy(kind, tls, profileDir) {
  const port = await freePort();
  let child;
  if (kind === 'etcd-connect') {
    const args = [join(root, 'dist/src/proxy/cli.js'), '--endpoints', `http://${endpoint}`, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'];
    if (tls) args.push('--tls-cert', tls.cert, '--tls-key', tls.key, '--max-concurrent-streams', '128');
    if (tls?.origin) args.push('--allow-origin', tls.origin);
    const flags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    child = spawn(process.execPath, [...flags, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    const args = ['--backend_addr', endpoint, '--backend_tls=false', '--allow_all_origins', '--backend_max_call_recv_msg_size', '16777216',
      '--server_http_max_write_timeout', '0s', '--server_http_max_read_timeout', '0s', '--use_websockets=false'];
    if (tls) args.push('--run_http_server=false', '--run_tls_server=true', '--server_tls_cert_file', tls.cert, '--server_tls_key_file', tls.key, '--server_http_tls_port', String(port));
    else args.push('--run_tls_server=false', '--server_http_debug_port', String(port));
    child = spawn(grpcwebproxyBin, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  }
  await waitPort(port);
  return {
    name: kind,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    pid: child.pid,
    // A profiled proxy stops with SIGINT, so that it writes its profile.
    stop: () => new Promise((r) => { child.once('exit', r); process.kill(child.pid, profileDir ? 'SIGINT' : 'SIGKILL'); }),
  };
}

async function timed(label, fn, pid) {
  const c0 = selfCpu();
  const p0 = pid ? procCpu(pid) : 0;
  const t0 = performance.now();
  await pool(N, C, fn);
  const s = (performance.now() - t0) / 1000;
  return {
    phase: label,
    ops_s: Math.round(N / s),
    driver_cpu_us_per_op: Math.round(((selfCpu() - c0) / N) * 1e6 * 10) / 10,
    ...(pid ? { proxy_cpu_us_per_op: Math.round(((procCpu(pid) - p0) / N) * 1e6 * 10) / 10, proxy_rss_mb: Math.round(procRssMb(pid)) } : {}),
  };
}

async function runClient(client, tag, pid) {
  const rows = [];
  rows.push(await timed(`${tag} put`, (i) => client.put(`bp/${tag}/${i}`, VALUE), pid));
  rows.push(await timed(`${tag} get`, (i) => client.get(`bp/${tag}/${i}`), pid));
  return rows;
}

/** A page on its own origin running the browser entry (bundled from dist/), and Chromium on it. */
async function startBrowser() {
  const bundle = (await build({ stdin: { contents: `import * as etcd from ${JSON.stringify(join(root, 'dist/src/web.js'))}; globalThis.etcd = etcd;`, resolveDir: root, loader: 'js' },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })).outputFiles[0].text;
  const html = '<!doctype html><html><head><script type="module" src="/b.js"></script></head><body>bench</body></html>';
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    if (req.url === '/b.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/echo') req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(80)));
    else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://localhost:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  });
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await page.goto(origin);
  await page.waitForFunction(() => globalThis.etcd !== undefined);
  return { origin, page, close: async () => { await browser.close(); server.closeAllConnections(); server.close(); } };
}

/** Chromium's own ceiling: POSTs of 80 bytes to a same-origin endpoint answering 80 bytes, 64 in flight. */
async function browserCeiling(browserPage) {
  const ops = await browserPage.evaluate(async ({ n, c }) => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: c }, async () => {
      for (let i = next++; i < n; i = next++) await (await fetch('/echo', { method: 'POST', body: new Uint8Array(80) })).arrayBuffer();
    }));
    return n / ((performance.now() - t0) / 1000);
  }, { n: N, c: C });
  return { phase: 'chromium fetch ceiling (no proxy)', ops_s: Math.round(ops) };
}

/** Puts then gets at 64 in flight from the page, through the proxy at `url`; the proxy's CPU per call. */
async function browserRun(browserPage, url, tag, pid) {
  const rows = [];
  for (const op of ['put', 'get']) {
    const p0 = procCpu(pid);
    const ms = await browserPage.evaluate(async ({ url, op, n, c, tag }) => {
      const client = await globalThis.etcd.connect({ endpoints: [url] });
      const value = 'v'.repeat(64);
      let next = 0;
      const worker = async () => { for (let i = next++; i < n; i = next++) await (op === 'put' ? client.put(`bp/${tag}/${i}`, value) : client.get(`bp/${tag}/${i}`)); };
      await Promise.all(Array.from({ length: 200 }, (_, i) => client.put(`bp/warm/${i}`, value)));
      const t0 = performance.now();
      await Promise.all(Array.from({ length: c }, worker));
      const ms = performance.now() - t0;
      client.close();
      return ms;
    }, { url, op, n: N, c: C, tag });
    rows.push({ phase: `${tag} ${op}`, ops_s: Math.round(N / (ms / 1000)), proxy_cpu_us_per_op: Math.round(((procCpu(pid) - p0) / N) * 1e6 * 10) / 10, proxy_rss_mb: Math.round(procRssMb(pid)) });
  }
  return rows;
}

/**
 * Where our proxy's CPU goes while Node's fetch drives puts through it: its self time under --cpu-prof, by kind
 * (idle, the kernel's socket writes, GC, Node's HTTP server, the proxy's own code, the HTTP/2 client, the rest).
 */
async function profileProxy() {
  const profDir = mkdtempSync(join(tmpdir(), 'bench-proxy-prof-'));
  try {
    const p = await startProxy('etcd-connect', undefined, profDir);
    const client = await web.connect({ endpoints: [p.url] });
    try {
      await pool(N, C, (i) => client.put(`bp/prof/${i}`, VALUE));
    } finally {
      client.close();
      await p.stop();
    }
    const { readdirSync } = await import('node:fs');
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const kinds = new Map();
    let total = 0;
    prof.samples.forEach((id, i) => {
      const dt = prof.timeDeltas[i] ?? 0;
      total += dt;
      const { functionName: fn, url } = byId.get(id).callFrame;
      const kind = fn === '(idle)' ? 'idle'
        : ['writeBuffer', 'writev', 'writeUtf8String', 'writeLatin1String'].includes(fn) && url === '' ? "kernel socket writes"
        : fn === '(garbage collector)' ? 'garbage collection'
        : /node:_http|node:http|http2|node:net|stream_base|node:internal\/streams/.test(url) ? "Node's HTTP server and streams"
        : url.includes('/proxy/') ? 'the proxy (exchange, handler, limits, frames)'
        : url.includes('/transport/') ? 'the HTTP/2 client (upstream)'
        : 'other (V8, timers, events, the rest)';
      kinds.set(kind, (kinds.get(kind) ?? 0) + dt);
    });
    return [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, t]) => ({ kind, pct: Math.round((t / total) * 1000) / 10 }));
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
}

/** 10,000 watches through a TLS proxy over 100 HTTP/2 connections; the proxy's RSS once all are created. */
async function watchRss(kind, tls) {
  const p = await startProxy(kind, tls);
  const sessions = [];
  try {
    const before = procRssMb(p.pid);
    const create = (i) => {
      // WatchRequest{create_request{key}} as a gRPC-Web frame, hand-encoded: field 1 (create_request) { field 1 key }.
      const key = Buffer.from(`bw/${i}`);
      const inner = Buffer.concat([Buffer.from([0x0a, key.length]), key]);
      const msg = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
      const frame = Buffer.alloc(5 + msg.length);
      frame.writeUInt32BE(msg.length, 1);
      msg.copy(frame, 5);
      return frame;
    };
    let created = 0;
    const perConn = WATCHES / WATCH_CONNS;
    await Promise.all(Array.from({ length: WATCH_CONNS }, async (_, c) => {
      const s = http2.connect(p.url, { ca: readFileSync(tls.cert) });
      s.on('error', () => {});
      sessions.push(s);
      await Promise.all(Array.from({ length: perConn }, (_, k) => new Promise((resolve, reject) => {
        const st = s.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' });
        st.on('error', reject);
        st.once('data', () => { created++; resolve(); });
        st.end(create(c * perConn + k));
      })));
    }));
    await new Promise((r) => setTimeout(r, 1000));
    return { proxy: kind, watches: created, connections: WATCH_CONNS, proxy_rss_before_mb: Math.round(before), proxy_rss_mb: Math.round(procRssMb(p.pid)) };
  } finally {
    for (const s of sessions) s.destroy();
    await p.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bench-proxy-'));
const tls = { cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') };
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tls.key, '-out', tls.cert, '-days', '1',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
const kinds = ['etcd-connect', ...(grpcwebproxyBin ? ['grpcwebproxy'] : [])];
const out = { n: N, conc: C, rounds: [], watches: [] };
const browser = await startBrowser();
try {
  for (let r = 0; r < ROUNDS; r++) {
    const round = [await browserCeiling(browser.page)];
    const direct = await etcd.connect({ endpoints: [`http://${endpoint}`] });
    try {
      round.push(...await runClient(direct, 'direct', undefined));
    } finally {
      direct.close();
    }
    for (const kind of r % 2 === 0 ? kinds : [...kinds].reverse()) {
      const p = await startProxy(kind, undefined);
      const client = await web.connect({ endpoints: [p.url] });
      try {
        await pool(500, C, (i) => client.put(`bp/warm/${i}`, VALUE));
        round.push(...await runClient(client, kind, p.pid));
      } finally {
        client.close();
        await p.stop();
      }
      const pb = await startProxy(kind, { ...tls, origin: browser.origin });
      try {
        round.push(...await browserRun(browser.page, pb.url, `${kind} chromium`, pb.pid));
      } finally {
        await pb.stop();
      }
    }
    out.rounds.push(round);
    process.stderr.write(`round ${r + 1}: ${round.map((x) => `${x.phase} ${x.ops_s}/s`).join(', ')}\n`);
  }
  for (const kind of kinds) out.watches.push(await watchRss(kind, tls));
  out.profile = await profileProxy();
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
out.versions = { node: process.version, proxies: kinds, grpcwebproxy: grpcwebproxyBin ? 'github.com/improbable-eng/grpc-web v0.15.0 (bench/grpcwebproxy/build.sh)' : undefined };
if (process.argv.includes('--write')) {
  const { writeProxySection } = await import('./proxy-report.mjs');
  writeProxySection(out);
}
process.stdout.write(JSON.stringify(out) + '\n');
