#!/usr/bin/env node
// Where the client's CPU time goes: puts (or linearizable gets) at 64 in flight under `node --cpu-prof`, then the profile's self time
// summed by where the code lives (idle, GC, socket writes, node:http2, other Node internals, protobuf-es, Connect,
// etcd-connect's HTTP/2 client, the rest of etcd-connect). Prints one JSON line; bench/run.mjs puts it in bench/RESULTS.md.
//   node bench/profile.mjs --endpoint 127.0.0.1:23790 [--n 20000] [--transport h2|connect] [--op put|get]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string', default: '127.0.0.1:2379' },
    n: { type: 'string', default: '20000' },
    transport: { type: 'string', default: 'h2' },
    op: { type: 'string', default: 'put' },
    child: { type: 'boolean', default: false },
  },
});
const endpoint = args.endpoint.includes('://') ? args.endpoint : `http://${args.endpoint}`;
const N = Number(args.n);
if (args.op !== 'put' && args.op !== 'get') throw new Error(`--op is put or get, got ${args.op}`);

if (args.child) {
  // The profiled loop: warm up (writing the keys the gets read), then N puts or gets with 64 in flight.
  const etcd = await import(resolve(here, '../dist/src/node.js'));
  const transport = args.transport === 'connect' ? etcd.createConnectGrpcTransport : etcd.createLeanTransport;
  const client = etcd.createClient({ endpoints: [endpoint], transport });
  const value = 'v'.repeat(64);
  for (let i = 0; i < 2000; i++) await client.put(`prof/warm${i}`, value);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < N) {
      const i = next++;
      if (args.op === 'get') await client.get(`prof/warm${i % 2000}`);
      else await client.put(`prof/k${String(i).padStart(12, '0')}`, value);
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  client.close();
  process.stdout.write(JSON.stringify({ ops_s: Math.round(N / (ms / 1000)), cpu_us_per_op: Math.round((cpu.user + cpu.system) / N) }) + '\n');
  process.exit(0);
}

/** The category of a profile node's own (self) time. */
function category(frame) {
  const fn = frame.functionName;
  const url = frame.url || '';
  if (fn === '(idle)') return 'idle (waiting for etcd)';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8 and native code outside JS (program)';
  if (/^node:(internal\/)?http2/.test(url)) return 'node:http2 (streams, headers, session)';
  if (!url && (fn === 'writeBuffer' || fn === 'writev')) return 'socket writes (the write syscall)';
  if (url.startsWith('node:')) return 'other Node internals (streams, events, timers, net)';
  if (url.includes('@bufbuild/protobuf')) return 'protobuf-es (encode/decode)';
  if (url.includes('@connectrpc')) return 'Connect';
  if (url.includes('/dist/src/transport/h2/')) return 'etcd-connect: HTTP/2 client (transport/h2)';
  if (url.includes('/dist/src/') || url.includes('/dist/gen/')) return 'etcd-connect: the rest';
  if (url.includes('/bench/')) return 'the bench loop';
  return 'V8 builtins and other';
}

const dir = mkdtempSync(join(tmpdir(), 'etcd-connect-prof-'));
try {
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, fileURLToPath(import.meta.url), '--child',
    '--endpoint', endpoint, '--n', String(N), '--transport', args.transport, '--op', args.op], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`profiled run failed (${r.status}): ${r.stderr}`);
  const run = JSON.parse(r.stdout.trim().split('\n').pop());
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  const cats = new Map();
  const fns = new Map();
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame;
    total += us;
    const c = category(frame);
    cats.set(c, (cats.get(c) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url ? frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/') : ''}${frame.url ? `:${frame.lineNumber + 1}` : ''}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / total) * 1000) / 10;
  const categories = [...cats].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, pct: pct(us) }));
  const top = [...fns].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([name, us]) => ({ name, pct: pct(us) }));
  process.stdout.write(JSON.stringify({ transport: args.transport, op: args.op, n: N, ...run, profile_s: Math.round(total / 1e4) / 100, categories, top }) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
