// The leases view: every lease with its TTL counting down and its keys; grant and revoke.
import { EtcdError } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren } from "../dom.js";
import { displayKey, formatTtl, hexId, parseHexId } from "../format.js";
import { confirmAction, formDialog, showInfo } from "../ui.js";
import { keyHref } from "./key-detail.js";

/** Leases whose details (TTL, keys) are loaded; the rest are listed by ID only. */
const MAX_DETAILED = 500;
/** Keys shown per lease before "+N more". */
const MAX_KEYS_SHOWN = 10;
/** How often the list is read again from etcd. */
const REFRESH_MS = 5000;

interface LeaseRow {
  id: bigint;
  grantedTtl: number;
  /** When the lease expires (ms since epoch, from the TTL etcd gave at read time), or undefined if not loaded. */
  expiresAt: number | undefined;
  keys: Uint8Array[];
}

/** Mounts the view; the returned function unmounts it. */
export function leasesView(app: App, root: HTMLElement, params: URLSearchParams): () => void {
  const highlight = params.get("lease");
  const body = h("tbody");
  const summary = h("p", { class: "muted" }, "loading…");
  let rows: LeaseRow[] = [];
  let stopped = false;
  let refreshing: Promise<void> | undefined;
  const abort = new AbortController();

  const refresh = () => {
    refreshing ??= (async () => {
      try {
        const leases = await app.client.lease.leases({ signal: abort.signal });
        const ids = leases.map((l) => l.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const detailed = await mapLimit(ids.slice(0, MAX_DETAILED), 8, async (id): Promise<LeaseRow | undefined> => {
          let t;
          try {
            t = await app.client.lease.timeToLive(id, { keys: true, signal: abort.signal });
          } catch (err) {
            if (err instanceof EtcdError && err.kind === "lease-not-found") return undefined;
            throw err;
          }
          if (t.ttl < 0) return undefined; // expired between the list and this read
          return { id, grantedTtl: t.grantedTtl, expiresAt: Date.now() + t.ttl * 1000, keys: t.keys };
        });
        rows = [
          ...detailed.filter((r): r is LeaseRow => r !== undefined),
          ...ids.slice(MAX_DETAILED).map((id) => ({ id, grantedTtl: 0, expiresAt: undefined, keys: [] })),
        ];
        summary.textContent = `${ids.length} lease${ids.length === 1 ? "" : "s"}${ids.length > MAX_DETAILED ? ` (details for the first ${MAX_DETAILED})` : ""}`;
        render();
      } catch (err) {
        if (!stopped) app.handleError(err, "listing leases");
      } finally {
        refreshing = undefined;
      }
    })();
  };

  const render = () => {
    replaceChildren(
      body,
      rows.map((row) => {
        const keys = row.keys.slice(0, MAX_KEYS_SHOWN).map((k) => h("a", { href: keyHref(new Uint8Array(), k), class: "lease-key" }, displayKey(k)));
        const extra = row.keys.length > MAX_KEYS_SHOWN ? h("span", { class: "muted" }, ` +${row.keys.length - MAX_KEYS_SHOWN} more`) : null;
        return h(
          "tr",
          { "data-lease": hexId(row.id), class: hexId(row.id) === highlight ? "highlight" : undefined },
          h("td", null, h("code", null, hexId(row.id))),
          h("td", { class: "ttl", "data-expires": row.expiresAt ?? "" }, row.expiresAt === undefined ? "–" : formatTtl(remaining(row))),
          h("td", null, row.grantedTtl ? `${row.grantedTtl}s` : "–"),
          h("td", { class: "keys" }, keys.length ? keys : h("span", { class: "muted" }, "none"), extra),
          h("td", null, h("button", { class: "danger", onclick: () => void revoke(row) }, "Revoke")),
        );
      }),
      rows.length === 0 ? h("tr", null, h("td", { colspan: 5, class: "muted" }, "No leases.")) : null,
    );
  };

  // The countdown runs locally between reads; a lease that reaches zero triggers a read to see it go.
  const tick = setInterval(() => {
    let expired = false;
    for (const cell of body.querySelectorAll<HTMLElement>("td.ttl[data-expires]")) {
      const at = Number(cell.dataset.expires);
      if (!at) continue;
      const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
      cell.textContent = formatTtl(left);
      if (left === 0) expired = true;
    }
    if (expired) refresh();
  }, 1000);
  const poll = setInterval(refresh, REFRESH_MS);

  const grant = () =>
    formDialog(
      "Grant a lease",
      [
        { name: "ttl", label: "TTL (seconds)", type: "number", value: "60", required: true },
        { name: "id", label: "ID (hex, optional)", placeholder: "etcd picks one" },
      ],
      async (values) => {
        const ttl = Number(values.ttl);
        const id = values.id?.trim() ? parseHexId(values.id) : undefined;
        if (values.id?.trim() && id === undefined) throw new Error("The ID must be hex digits.");
        const r = await app.client.lease.grant(ttl, id === undefined ? {} : { id });
        showInfo(`Granted lease ${hexId(r.id)} (${r.ttl}s)`);
        refresh();
      },
      "Grant",
    );
  const revoke = async (row: LeaseRow) => {
    const ok = await confirmAction(
      "Revoke lease",
      h("p", null, "Revoke lease ", h("code", null, hexId(row.id)), row.keys.length ? ` and delete its ${row.keys.length} key${row.keys.length === 1 ? "" : "s"}?` : "?"),
      "Revoke",
    );
    if (!ok) return;
    try {
      await app.client.lease.revoke(row.id);
      showInfo(`Revoked lease ${hexId(row.id)}`);
      refresh();
    } catch (err) {
      app.handleError(err, "revoking the lease");
    }
  };

  replaceChildren(
    root,
    h(
      "div",
      { class: "leases-view" },
      h("div", { class: "toolbar" }, h("h2", null, "Leases"), summary, h("button", { class: "primary", onclick: () => void grant() }, "Grant lease")),
      h(
        "table",
        { class: "grid", "data-testid": "leases" },
        h("thead", null, h("tr", null, h("th", null, "ID"), h("th", null, "Time left"), h("th", null, "Granted TTL"), h("th", null, "Keys"), h("th", null, ""))),
        body,
      ),
    ),
  );
  refresh();
  return () => {
    stopped = true;
    abort.abort();
    clearInterval(tick);
    clearInterval(poll);
  };
}

function remaining(row: LeaseRow): number {
  return row.expiresAt === undefined ? 0 : Math.max(0, Math.ceil((row.expiresAt - Date.now()) / 1000));
}

/** `fn` over `items` with at most `limit` calls at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
