// Counts this process's established TCP connections to a loopback port, from
// /proc (Linux): how tests check that calls share one HTTP/2 session.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fd closed while listing
    }
  }
  return inodes;
}

/** Established TCP connections from this process to `port` (IPv4 and IPv6). */
export function connectionsTo(port: number): number {
  const own = ownSocketInodes();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const remotePort = cols[2]!.split(":")[1];
      const state = cols[3];
      const inode = cols[9]!;
      if (remotePort === hexPort && state === "01" && own.has(inode)) n++;
    }
  }
  return n;
}
