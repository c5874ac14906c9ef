// Maintenance for the cluster view: compaction, a snapshot download checked against its SHA-256, and defragmenting
// one member (through the proxy's per-member routing).
import type { Client } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren } from "../dom.js";
import { ConsoleError } from "../errors.js";
import { formatSize } from "../format.js";
import { confirmAction, formDialog, showInfo } from "../ui.js";

/** The "Maintenance" section: compact and snapshot buttons, with a status line for a snapshot in progress. */
export function maintenanceSection(app: App): HTMLElement {
  const status = h("span", { class: "muted", "data-testid": "snapshot-status", role: "status" });
  return h(
    "div",
    { class: "actions maintenance" },
    h("button", { onclick: () => void compact(app) }, "Compact…"),
    h("button", { onclick: () => void snapshot(app, status) }, "Download snapshot"),
    status,
  );
}

/** Compacts the keyspace at a revision the user picks (default: the current one), after a plain warning. */
async function compact(app: App): Promise<void> {
  try {
    const { header } = await app.client.get("\0", { countOnly: true, fromKey: true });
    await formDialog(
      "Compact the keyspace",
      [
        { name: "revision", label: `Revision (current: ${header.revision})`, value: String(header.revision), required: true },
        { name: "physical", label: "Wait until the space is freed on every member (physical)", type: "select", options: ["no", "yes"], value: "no" },
      ],
      async (v) => {
        const rev = /^\d+$/.test(v.revision ?? "") ? BigInt(v.revision!) : 0n;
        if (rev < 1n || rev > header.revision) throw new ConsoleError("invalid-revision", `The revision must be a number from 1 to ${header.revision}.`);
        await app.client.compact(rev, { physical: v.physical === "yes" });
        showInfo(`Compacted at revision ${rev}`);
      },
      "Compact",
      h("p", null, "Compaction drops every older version of every key before this revision: history and watches from before it are gone for good. The current values stay."),
    );
  } catch (err) {
    app.handleError(err, "compacting");
  }
}

/**
 * Streams a snapshot through the proxy, checks its SHA-256 (etcd appends the digest of the rest as the last 32
 * bytes) and hands it to the browser as a download.
 */
async function snapshot(app: App, status: HTMLElement): Promise<void> {
  try {
    const { header, dbSize } = await app.client.maintenance.status(app.client.endpoints[0]!);
    const chunks: Uint8Array[] = [];
    let received = 0;
    for await (const chunk of app.client.maintenance.snapshot()) {
      chunks.push(chunk);
      received += chunk.length;
      replaceChildren(status, `snapshot: ${formatSize(received)} of about ${formatSize(dbSize)}…`);
    }
    const all = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    if (received <= 32) throw new ConsoleError("snapshot-too-short", "The snapshot ended before it held any data.");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all.subarray(0, received - 32)));
    const expected = all.subarray(received - 32);
    if (!digest.every((b, i) => b === expected[i])) throw new ConsoleError("snapshot-corrupt", "The snapshot's SHA-256 does not match: it was not saved.");
    const link = h("a", { href: URL.createObjectURL(new Blob([all], { type: "application/octet-stream" })), download: `etcd-snapshot-rev${header.revision}.db`, "data-testid": "snapshot-link" }, `etcd-snapshot-rev${header.revision}.db`);
    replaceChildren(status, `snapshot of ${formatSize(received)}, SHA-256 checked: `, link);
    link.click();
  } catch (err) {
    replaceChildren(status, "");
    app.handleError(err, "snapshot");
  }
}

/** Defragments one member, after a confirmation, and reports its database size before and after. */
export async function defragmentMember(app: App, member: string, client: Client, before: bigint): Promise<void> {
  const ok = await confirmAction(
    `Defragment ${member}`,
    h("p", null, `Defragment ${member}? It blocks that member's reads and writes while it rewrites its database (${formatSize(before)}).`),
    "Defragment",
  );
  if (!ok) return;
  try {
    await client.maintenance.defragment(client.endpoints[0]!, { timeoutMs: 120_000 });
    const after = await client.maintenance.status(client.endpoints[0]!);
    showInfo(`Defragmented ${member}: ${formatSize(before)} → ${formatSize(after.dbSize)}`);
  } catch (err) {
    app.handleError(err, `defragmenting ${member}`);
  }
}
