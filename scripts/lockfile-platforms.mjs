#!/usr/bin/env node
// Adds lockfile entries for other platforms' optional binary packages (rollup's,
// buf's, ...). The npm registry reachable from this project's machines serves
// only the Linux x64 builds, so `npm install` leaves the others out of
// package-lock.json, and `npm ci` then refuses the lockfile ("Missing: ... from
// lock file"). An entry with os/cpu set is skipped by `npm ci` on a mismatching
// platform without being fetched. Run after `npm install` changes the lockfile.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./ensure.mjs";

const file = join(root, "package-lock.json");
const lock = JSON.parse(readFileSync(file, "utf8"));
const packages = lock.packages;

/** os, cpu and libc from a platform package name like `rollup-linux-arm64-musl`. */
function platformOf(name) {
  const m = /[-/](darwin|linux|win32|windows|android|freebsd|openbsd|netbsd|sunos|aix|openharmony)-([a-z0-9]+)(?:-(gnu|glibc|musl|msvc|gnueabihf|musleabihf|eabi))?$/.exec(name);
  if (!m) return undefined;
  const cpu = { armv7: "arm", 64: "x64" }[m[2]] ?? m[2];
  const entry = { os: [m[1] === "windows" ? "win32" : m[1]], cpu: [cpu] };
  if (m[3]?.startsWith("gnu") || m[3] === "glibc") entry.libc = ["glibc"];
  if (m[3]?.startsWith("musl")) entry.libc = ["musl"];
  return entry;
}

let added = 0;
for (const [path, pkg] of Object.entries(packages)) {
  for (const [dep, spec] of Object.entries(pkg.optionalDependencies ?? {})) {
    const nested = `${path ? `${path}/` : ""}node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (packages[nested] || packages[hoisted]) continue;
    const platform = platformOf(dep);
    if (!platform || !/^\d+\.\d+\.\d+/.test(spec)) continue;
    packages[hoisted] = { version: spec, ...(pkg.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform entries`);
