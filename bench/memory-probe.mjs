// Loaded with `node --import bench/memory-probe.mjs <program>`: samples the process's memory every 100 ms and,
// at exit, writes where the memory was at the sample with the highest RSS to the file in MEMORY_PROBE_OUT.
// RSS by mapping comes from /proc/self/smaps (the node executable's pages, anonymous memory, other files);
// the V8 heap's share of the anonymous memory from v8.getHeapSpaceStatistics(). Linux only.
import { closeSync, openSync, readSync, realpathSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.MEMORY_PROBE_OUT;
const exe = realpathSync(process.execPath);
const MiB = 1024 * 1024;
let peak;

// /proc/self/smaps is read into one reused buffer and parsed as bytes: reading it as a string (hundreds of KB,
// split into thousands of lines) ten times a second would itself fill V8's large-object space.
let smaps = Buffer.allocUnsafe(1 << 20);

function readSmaps() {
  const fd = openSync('/proc/self/smaps', 'r');
  try {
    let n = 0;
    for (;;) {
      if (n === smaps.length) smaps = Buffer.concat([smaps, Buffer.allocUnsafe(smaps.length)]);
      const got = readSync(fd, smaps, n, smaps.length - n, null);
      if (got === 0) return n;
      n += got;
    }
  } finally {
    closeSync(fd);
  }
}

const isHexDigit = (b) => (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66);
const RSS = Buffer.from('Rss:');

function sample() {
  let nodeBinary = 0, anon = 0, files = 0;
  let kind = 'anon';
  const end = readSmaps();
  for (let pos = 0; pos < end; ) {
    let eol = smaps.indexOf(10, pos);
    if (eol < 0 || eol > end) eol = end;
    if (isHexDigit(smaps[pos])) {
      // A mapping's first line: "start-end perms offset dev inode   [path]".
      const slash = smaps.indexOf(0x2f, pos); // the path, if any, is the first '/' on the line
      if (slash >= 0 && slash < eol) kind = smaps.toString('latin1', slash, eol) === exe ? 'node' : 'file';
      else kind = 'anon';
    } else if (smaps.compare(RSS, 0, 4, pos, pos + 4) === 0) {
      let kb = 0;
      for (let i = pos + 4; i < eol; i++) {
        const b = smaps[i];
        if (b >= 0x30 && b <= 0x39) kb = kb * 10 + (b - 0x30);
        else if (kb > 0) break;
      }
      if (kind === 'node') nodeBinary += kb * 1024;
      else if (kind === 'file') files += kb * 1024;
      else anon += kb * 1024;
    }
    pos = eol + 1;
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
