#!/usr/bin/env node
// Fails when gen/ is not what `buf generate` makes from proto/ (offline).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { root } from "./ensure.mjs";

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), "etcd-connect-gen-"));
try {
  const r = spawnSync(join(root, "node_modules/.bin/buf"), ["generate", "--output", tmp], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    console.error(r.stderr || r.error);
    process.exit(1);
  }
  const fresh = join(tmp, "gen");
  const committed = join(root, "gen");
  const a = files(fresh).map((f) => relative(fresh, f)).sort();
  const b = files(committed).map((f) => relative(committed, f)).sort();
  const problems = [];
  for (const f of new Set([...a, ...b])) {
    if (!a.includes(f)) problems.push(`gen/${f} is not generated from proto/ any more`);
    else if (!b.includes(f)) problems.push(`gen/${f} is missing`);
    else if (readFileSync(join(fresh, f), "utf8") !== readFileSync(join(committed, f), "utf8")) problems.push(`gen/${f} is out of date`);
  }
  if (problems.length > 0) {
    console.error(`${problems.join("\n")}\nRun \`npm run gen\` and commit gen/.`);
    process.exit(1);
  }
  console.log(`gen/ is up to date with proto/ (${a.length} files)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
