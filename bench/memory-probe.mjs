// Loaded with `node --import bench/memory-probe.mjs <program>`: samples the process's memory every 100 ms and,
// at exit, writes where the memory was at the sample with the highest RSS to the file in MEMORY_PROBE_OUT.
// RSS by mapping comes from /proc/self/smaps (the node executable's pages, anonymous memory, other files);
// the V8 heap's share of the anonymous memory from v8.getHeapSpaceStatistics(). Linux only.
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.MEMORY_PROBE_OUT;
const exe = realpathSync(process.execPath);
const MiB = 1024 * 1024;
let peak;

function sample() {
  let nodeBinary = 0, anon = 0, files = 0;
  let kind = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const path = m[1];
      kind = path === exe ? 'node' : path.startsWith('/') ? 'file' : 'anon';
      continue;
    }
    if (!line.startsWith('Rss:')) continue;
    const kb = Number(line.slice(4).trim().split(' ')[0]) * 1024;
    if (kind === 'node') nodeBinary += kb;
    else if (kind === 'file') files += kb;
    else anon += kb;
  }
  const rss = nodeBinary + anon + files;
  if (peak && rss <= peak.rss) return;
  const spaces = {};
  let heap = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.physical_space_size === 0) continue;
    spaces[s.space_name] = s.physical_space_size;
    heap += s.physical_space_size;
  }
  peak = { rss, nodeBinary, files, anon, heap, spaces };
}

const timer = setInterval(sample, 100);
timer.unref();
process.on('exit', () => {
  sample();
  if (!out) return;
  const mb = (b) => Math.round((b / MiB) * 10) / 10;
  const p = peak;
  writeFileSync(out, JSON.stringify({
    max_rss_mib: mb(process.resourceUsage().maxRSS * 1024),
    sampled_peak_rss_mib: mb(p.rss),
    node_binary_mib: mb(p.nodeBinary),
    other_files_mib: mb(p.files),
    v8_heap_mib: mb(p.heap),
    v8_spaces_mib: Object.fromEntries(Object.entries(p.spaces).map(([k, v]) => [k, mb(v)])),
    other_anonymous_mib: mb(p.anon - p.heap),
  }) + '\n');
});
