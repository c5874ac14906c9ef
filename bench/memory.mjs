#!/usr/bin/env node
// Where the client's memory goes: the standard run (bench-etcd-connect.mjs, all phases) under
// bench/memory-probe.mjs, and the same probe on two baselines: Node alone, and Node after importing the client.
// Also the standard run with V8's young generation capped (--max-semi-space-size), to show how much of the
// peak is V8's young-generation sizing rather than the client. Prints one JSON line; bench/run.mjs puts it in
// bench/RESULTS.md.
//   node bench/memory.mjs --endpoint 127.0.0.1:23790 [--transport h2|connect]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string', default: '127.0.0.1:2379' },
    transport: { type: 'string', default: 'h2' },
  },
});
const probe = join(here, 'memory-probe.mjs');
const dir = mkdtempSync(join(tmpdir(), 'etcd-connect-mem-'));

/** Runs node with the probe and `argv`; returns the probe's report. */
function probed(name, argv) {
  const file = join(dir, `${name}.json`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(probe).href, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, MEMORY_PROBE_OUT: file },
  });
  if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

try {
  const client = pathToFileURL(resolve(here, '../dist/src/node.js')).href;
  const run = [join(here, 'bench-etcd-connect.mjs'), '--endpoint', args.endpoint, '--transport', args.transport];
  const result = {
    transport: args.transport,
    node_alone: probed('node-alone', ['-e', '0']),
    after_import: probed('after-import', ['--input-type=module', '-e', `await import(${JSON.stringify(client)});`]),
    standard_run: probed('standard-run', run),
    standard_run_semi_space_4: probed('standard-run-semi-4', ['--max-semi-space-size=4', ...run]),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
