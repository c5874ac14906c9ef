// The keys view: a lazily loaded prefix tree, the selected key, and a live watch on the prefix.
import { op, prefixEnd, type WatchEvent, type Watcher, type WatchState } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren } from "../dom.js";
import { bytesEqual, compareBytes, decodeKeyParam, displayKey, encodeKeyParam, hasPrefix, parseHexId, utf8 } from "../format.js";
import { ConsoleError } from "../errors.js";
import { listLevel, type TreeEntry } from "../key-tree.js";
import { confirmAction, formDialog, showInfo } from "../ui.js";
import { searchKeys } from "../key-search.js";
import { prefixActions } from "./prefix-actions.js";
import { transferButtons } from "./transfer-buttons.js";
import { eventFeed } from "./event-feed.js";
import { createKey, keyDetail, keyHref, type KeyDetail } from "./key-detail.js";

/** Entries per page of a tree level. */
const PAGE_SIZE = 100;
const DELIMITER = 0x2f;

/** A loaded level of the tree. */
interface Level {
  prefix: Uint8Array;
  entries: TreeEntry[];
  /** Where the next page starts; undefined once the whole level is loaded. */
  cursor: Uint8Array | undefined;
  list: HTMLUListElement;
  /** Levels of expanded directories, by their prefix. */
  open: Map<string, Level>;
  loading: boolean;
  /** etcd refused to list it (permission-denied): the user is offered prefixes they may open instead. */
  denied?: boolean;
  /** The last page failed otherwise (the notice says why): offer a retry rather than "(no keys)". */
  failed?: boolean;
}

const id = (key: Uint8Array) => encodeKeyParam(key);

const isDenied = (err: unknown) => (err as { kind?: string } | null)?.kind === "permission-denied";

/** Prefixes opened in this browser, newest first (at most 8). */
const RECENT_KEY = "etcd-console-recent-prefixes";
function recentPrefixes(): string[] {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]") as unknown;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === "string").slice(0, 8) : [];
  } catch {
    return [];
  }
}
function rememberPrefix(p: string): void {
  localStorage.setItem(RECENT_KEY, JSON.stringify([p, ...recentPrefixes().filter((x) => x !== p)].slice(0, 8)));
}

/** A mounted keys view. */
export interface KeysView {
  /** Shows another key of the same prefix without reloading; false when `params` name another prefix. */
  update(params: URLSearchParams): boolean;
  /** Unmounts the view, closing its watch. */
  unmount(): void;
}

/** Mounts the view on `root`. */
export function keysView(app: App, root: HTMLElement, params: URLSearchParams, reportWatch: (state: WatchState | undefined) => void): KeysView {
  const prefix = decodeKeyParam(params.get("prefix") ?? "");
  let selected = params.has("key") ? decodeKeyParam(params.get("key")!) : undefined;
  const abort = new AbortController();
  const feed = eventFeed(prefix);
  const detailSlot = h("div", { class: "detail-slot" }, h("p", { class: "muted" }, "Select a key."));
  let detail: KeyDetail | undefined;
  const tree = h("ul", { class: "tree", role: "tree", "data-testid": "tree" });
  /** Keys ticked in the tree, for "Delete selected". */
  const picked = new Map<string, Uint8Array>();
  const deletePicked = h("button", {
    class: "danger",
    hidden: true,
    onclick: async () => {
      const keys = [...picked.values()];
      const ok = await confirmAction(`Delete ${keys.length} keys`, h("div", null, h("p", null, "Delete these keys? This cannot be undone."),
        h("ul", null, keys.slice(0, 20).map((k) => h("li", null, h("code", null, displayKey(k))))), keys.length > 20 ? h("p", null, `and ${keys.length - 20} more`) : null), "Delete");
      if (!ok) return;
      try {
        // One txn per 128 keys: all of a batch or none.
        for (let i = 0; i < keys.length; i += 128) await app.client.txn({ success: keys.slice(i, i + 128).map((k) => op.delete(k)) });
        showInfo(`Deleted ${keys.length} keys`);
        picked.clear();
        updatePicked();
      } catch (err) {
        app.handleError(err, "deleting the selected keys");
      }
    },
  });
  const updatePicked = () => {
    deletePicked.hidden = picked.size === 0;
    deletePicked.textContent = `Delete selected (${picked.size})`;
  };
  const top: Level = { prefix, entries: [], cursor: undefined, list: tree, open: new Map(), loading: false };
  const dirty = new Set<Level>();
  let frame = 0;

  // ---- tree ----
  const render = (level: Level) => {
    const items = level.entries.map((entry) => {
      const name = displayKey(entry.name) || "(empty)";
      if (entry.kind === "key") {
        const isSelected = selected !== undefined && bytesEqual(entry.key, selected);
        return h(
          "li",
          { class: isSelected ? "key selected" : "key", role: "treeitem", "data-key": displayKey(entry.key) },
          h("input", {
            type: "checkbox",
            class: "pick",
            "aria-label": `select ${displayKey(entry.key)}`,
            checked: picked.has(id(entry.key)),
            onchange: (e: Event) => {
              if ((e.target as HTMLInputElement).checked) picked.set(id(entry.key), entry.key);
              else picked.delete(id(entry.key));
              updatePicked();
            },
          }),
          h("a", { href: keyHref(prefix, entry.key) }, name),
        );
      }
      const child = level.open.get(id(entry.key));
      return h(
        "li",
        { class: child ? "dir open" : "dir", role: "treeitem", "aria-expanded": String(!!child), "data-key": displayKey(entry.key) },
        h("button", { class: "toggle", "aria-label": child ? "collapse" : "expand", onclick: () => toggle(level, entry) }, child ? "▾" : "▸"),
        h("button", { class: "link dir-name", onclick: () => toggle(level, entry) }, name),
        h("a", { class: "open-prefix", href: `#/keys?prefix=${encodeKeyParam(entry.key)}`, title: "open this prefix" }, "↳"),
        child?.list,
      );
    });
    const more = level.cursor
      ? h("li", { class: "more" }, h("button", { class: "link", disabled: level.loading, onclick: () => void loadPage(level) }, level.loading ? "loading…" : "more…"))
      : null;
    const empty = level.denied
      ? h("li", { class: "denied", "data-testid": "denied" }, deniedHelp(level.prefix))
      : level.failed && !level.loading
        ? h("li", { class: "bad", "data-testid": "list-failed" }, "Could not list these keys (see the notice). ", h("button", { class: "link", onclick: () => void loadPage(level) }, "retry"))
        : !level.cursor && level.entries.length === 0 && !level.loading ? h("li", { class: "muted" }, "(no keys)") : null;
    // Re-rendering replaces the items: keep the keyboard focus on the same item (Enter on a directory, live events).
    const focused = document.activeElement;
    const focusedItem = focused instanceof HTMLElement && level.list.contains(focused) ? focused.closest("li[data-key]") : null;
    const focusKey = focusedItem?.parentElement === level.list ? focusedItem.getAttribute("data-key") : null;
    const focusClass = focused instanceof HTMLElement ? focused.className : "";
    replaceChildren(level.list, items, more, empty);
    if (focusKey !== null) {
      const li = [...level.list.children].find((c) => c.getAttribute("data-key") === focusKey);
      const target = li?.querySelector<HTMLElement>(focusClass.includes("toggle") ? ":scope > .toggle" : ":scope > a, :scope > .dir-name");
      target?.focus();
    }
  };
  const schedule = (level: Level) => {
    dirty.add(level);
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        for (const l of dirty) render(l);
        dirty.clear();
      });
    }
  };

  const loadPage = async (level: Level) => {
    level.loading = true;
    level.denied = false;
    level.failed = false;
    schedule(level);
    try {
      const page = await listLevel(app.client, level.prefix, { pageSize: PAGE_SIZE, after: level.cursor, signal: abort.signal });
      for (const entry of page.entries) insertEntry(level, entry);
      level.cursor = page.cursor;
    } catch (err) {
      // Not allowed to list here: say so in place and offer a prefix, rather than an error notice.
      if (isDenied(err)) level.denied = true;
      else if (!abort.signal.aborted) {
        level.failed = true;
        app.handleError(err, `listing ${displayKey(level.prefix) || "keys"}`);
      }
    } finally {
      level.loading = false;
      schedule(level);
    }
  };
  /** What a user who may not list `dir` can do: open a prefix they may read, or one opened before. */
  const deniedHelp = (dir: Uint8Array) => {
    const input = h("input", { name: "prefix", placeholder: "e.g. config/", "aria-label": "prefix you may read" });
    return [
      h("p", null, `You may not list ${displayKey(dir) || "every key"}${app.user ? ` as ${app.user}` : ""}. Open a prefix you have access to:`),
      h("form", { class: "goto", onsubmit: (e: Event) => { e.preventDefault(); location.hash = `#/keys?prefix=${encodeKeyParam(utf8(input.value))}`; } }, input, " ", h("button", { type: "submit" }, "Open")),
      recentPrefixes().length ? h("p", null, "Recent: ", recentPrefixes().map((p) => [h("a", { href: `#/keys?prefix=${encodeKeyParam(utf8(p))}` }, p), " "])) : null,
    ];
  };
  const newLevel = (dir: Uint8Array): Level => ({ prefix: dir, entries: [], cursor: undefined, list: h("ul", { class: "tree", role: "group" }), open: new Map(), loading: false });
  const toggle = (level: Level, entry: TreeEntry) => {
    const key = id(entry.key);
    if (level.open.has(key)) {
      level.open.delete(key);
    } else {
      const child = newLevel(entry.key);
      level.open.set(key, child);
      void loadPage(child);
    }
    schedule(level);
  };

  /** Adds an entry in key order unless present or beyond what is loaded. (A key and a directory never share a key.) */
  const insertEntry = (level: Level, entry: TreeEntry) => {
    const entries = level.entries;
    if (level.cursor && !level.loading && compareBytes(entry.key, level.cursor) >= 0) return;
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareBytes(entries[mid]!.key, entry.key);
      if (c === 0) return;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    entries.splice(lo, 0, entry);
  };
  const removeEntry = (level: Level, key: Uint8Array, kind: TreeEntry["kind"]) => {
    const i = level.entries.findIndex((e) => e.kind === kind && bytesEqual(e.key, key));
    if (i >= 0) level.entries.splice(i, 1);
    if (kind === "dir") level.open.delete(id(key));
  };

  /**
   * Drops directories a delete may have emptied, once they show no key left. Checks are batched: a prefix delete
   * of many keys costs one count per directory, not one per key.
   */
  const toPrune = new Map<string, { level: Level; dir: Uint8Array }>();
  let pruneTimer: ReturnType<typeof setTimeout> | undefined;
  const pruneIfEmpty = (level: Level, dir: Uint8Array) => {
    toPrune.set(`${id(level.prefix)} ${id(dir)}`, { level, dir });
    pruneTimer ??= setTimeout(() => void prune(), 100);
  };
  const prune = async () => {
    const batch = [...toPrune.values()];
    toPrune.clear();
    for (const { level, dir } of batch) {
      try {
        const r = await app.client.get(dir, { end: prefixEnd(dir), countOnly: true, signal: abort.signal });
        if (r.count === 0n) {
          removeEntry(level, dir, "dir");
          schedule(level);
        }
      } catch (err) {
        if (!abort.signal.aborted) app.handleError(err);
      }
    }
    pruneTimer = undefined;
    if (toPrune.size > 0) pruneTimer = setTimeout(() => void prune(), 100);
  };

  /** Applies a live event to the loaded levels. */
  const applyToTree = (event: WatchEvent) => {
    const key = event.kv.key;
    let level = top;
    for (;;) {
      if (!hasPrefix(key, level.prefix)) return;
      const at = key.indexOf(DELIMITER, level.prefix.length);
      if (at < 0) {
        if (event.type === "put") insertEntry(level, { kind: "key", key, name: key.subarray(level.prefix.length) });
        else removeEntry(level, key, "key");
        schedule(level);
        return;
      }
      const dir = key.slice(0, at + 1);
      const child = level.open.get(id(dir));
      if (event.type === "put") {
        insertEntry(level, { kind: "dir", key: dir, name: dir.subarray(level.prefix.length) });
        schedule(level);
      } else if (!child) {
        pruneIfEmpty(level, dir);
        return;
      }
      if (!child) return;
      if (event.type === "delete") pruneIfEmpty(level, dir);
      level = child;
    }
  };

  // ---- live watch ----
  let watcher: Watcher | undefined;
  const startWatch = async () => {
    // The root prefix watches every key: from "\0" on.
    watcher = prefix.length > 0
      ? app.client.watch(prefix, { prefix: true, signal: abort.signal, onStateChange: (c) => reportWatch(c.state) })
      : app.client.watch(new Uint8Array([0]), { fromKey: true, signal: abort.signal, onStateChange: (c) => reportWatch(c.state) });
    try {
      for await (const response of watcher) {
        feed.add(response.events);
        let forSelected: WatchEvent | undefined;
        for (const event of response.events) {
          applyToTree(event);
          if (selected && bytesEqual(event.kv.key, selected)) forSelected = event;
        }
        if (forSelected) detail?.update(forSelected);
      }
    } catch (err) {
      // A user who may not read this prefix already sees why in the tree.
      if (!abort.signal.aborted && !isDenied(err)) app.handleError(err, "live watch");
    } finally {
      reportWatch(undefined);
    }
  };

  // ---- keyboard: arrows, Home, End, Enter (WAI-ARIA tree pattern) ----
  const focusableOf = (li: Element) => li.querySelector<HTMLElement>(":scope > a, :scope > .dir-name");
  tree.addEventListener("keydown", (e: KeyboardEvent) => {
    const items = [...tree.querySelectorAll<HTMLLIElement>("li[role=treeitem]")];
    const current = (e.target as HTMLElement).closest<HTMLLIElement>("li[role=treeitem]");
    if (!current || items.length === 0) return;
    const i = items.indexOf(current);
    let next: Element | undefined;
    if (e.key === "ArrowDown") next = items[i + 1];
    else if (e.key === "ArrowUp") next = items[i - 1];
    else if (e.key === "Home") next = items[0];
    else if (e.key === "End") next = items.at(-1);
    else if (e.key === "ArrowRight" && current.classList.contains("dir")) {
      if (current.getAttribute("aria-expanded") === "true") next = current.querySelector("li[role=treeitem]") ?? undefined;
      else current.querySelector<HTMLElement>(":scope > .dir-name")?.click();
    } else if (e.key === "ArrowLeft") {
      if (current.getAttribute("aria-expanded") === "true") current.querySelector<HTMLElement>(":scope > .dir-name")?.click();
      else next = current.parentElement?.closest("li[role=treeitem]") ?? undefined;
    } else return;
    e.preventDefault();
    if (next) focusableOf(next)?.focus();
  });

  // ---- search: substring of keys (and values), under this prefix or everywhere ----
  const results = h("div", { class: "search-results", "data-testid": "search-results", hidden: true });
  let searching: AbortController | undefined;
  const searchForm = h("form", { class: "search", role: "search", onsubmit: (e: Event) => { e.preventDefault(); void runSearch(); } },
    h("input", { type: "search", name: "q", placeholder: "search keys… ( / )", "aria-label": "search keys" }),
    h("label", { class: "nowrap" }, h("input", { type: "checkbox", name: "everywhere", checked: prefix.length === 0 }), " everywhere"),
    h("label", { class: "nowrap" }, h("input", { type: "checkbox", name: "values" }), " values"),
    h("button", { type: "submit" }, "Search"),
  );
  const field = (name: string) => searchForm.elements.namedItem(name) as HTMLInputElement;
  const runSearch = async () => {
    const text = field("q").value;
    searching?.abort();
    if (text === "") {
      results.hidden = true;
      return;
    }
    const stop = new AbortController();
    searching = stop;
    const scope = field("everywhere").checked ? new Uint8Array() : prefix;
    const status = h("span", { role: "status" }, "searching…");
    const list = h("ol");
    results.hidden = false;
    replaceChildren(results, h("div", { class: "search-bar" }, h("progress"), " ", status, " ",
      h("button", { class: "link", onclick: () => stop.abort() }, "stop")), list);
    const link = (key: Uint8Array) => {
      // A key outside the open prefix opens in its own directory.
      const within = hasPrefix(key, prefix) ? prefix : key.slice(0, key.lastIndexOf(DELIMITER) + 1);
      return keyHref(within, key);
    };
    try {
      const r = await searchKeys(app.client, {
        prefix: scope,
        text,
        values: field("values").checked,
        signal: AbortSignal.any([stop.signal, abort.signal]),
        onProgress: (scanned, found) => (status.textContent = `scanned ${scanned.toLocaleString()} keys, ${found} found…`),
      });
      replaceChildren(list, r.matches.map((m) => h("li", null, h("a", { href: link(m.key) }, displayKey(m.key)), m.in === "value" ? h("span", { class: "badge" }, "in value") : null)));
      const where = scope.length === 0 ? "all keys" : `keys under ${displayKey(scope)}`;
      replaceChildren(results.firstElementChild!, r.matches.length === 0
        ? `No match for "${text}" in ${r.scanned.toLocaleString()} ${where}. Search finds the text anywhere in a key${field("values").checked ? " or value" : ""}; the box on the left goes to a prefix.`
        : `${r.matches.length}${r.truncated ? "+ (first 500)" : ""} of ${r.scanned.toLocaleString()} ${where} match "${text}".`, " ",
        h("button", { class: "link", onclick: () => { results.hidden = true; } }, "close"));
    } catch (err) {
      if (stop.signal.aborted && !abort.signal.aborted) {
        replaceChildren(results.firstElementChild!, `Stopped: ${list.children.length} found so far. `, h("button", { class: "link", onclick: () => { results.hidden = true; } }, "close"));
      } else if (!abort.signal.aborted) {
        results.hidden = true;
        app.handleError(err, "search");
      }
    } finally {
      if (searching === stop) searching = undefined;
    }
  };
  const slash = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || t.closest("input, textarea, select, [contenteditable]")) return;
    e.preventDefault();
    field("q").focus();
  };
  document.addEventListener("keydown", slash, { signal: abort.signal });

  // ---- layout ----
  const crumbs = h("nav", { class: "crumbs", "aria-label": "prefix" });
  const segments: Array<[string, Uint8Array]> = [["(root)", new Uint8Array()]];
  let start = 0;
  for (let i = 0; i < prefix.length; i++) {
    if (prefix[i] !== DELIMITER) continue;
    segments.push([displayKey(prefix.subarray(start, i + 1)), prefix.slice(0, i + 1)]);
    start = i + 1;
  }
  if (start < prefix.length) segments.push([displayKey(prefix.subarray(start)), prefix]);
  segments.forEach(([label, p], i) => {
    if (i > 0) crumbs.append(" ");
    crumbs.append(i === segments.length - 1 ? h("strong", null, label) : h("a", { href: `#/keys?prefix=${encodeKeyParam(p)}` }, label));
  });
  const goto = h("form", {
    class: "goto",
    onsubmit: (e: Event) => {
      e.preventDefault();
      const value = (goto.elements.namedItem("prefix") as HTMLInputElement).value;
      location.hash = `#/keys?prefix=${encodeKeyParam(utf8(value))}`;
    },
  }, h("input", { name: "prefix", placeholder: "go to prefix…", value: displayKey(prefix), "aria-label": "prefix" }));
  const newKey = h("button", {
    class: "primary",
    onclick: () =>
      void formDialog(
        "New key",
        [
          { name: "key", label: "Key", value: displayKey(prefix), required: true },
          { name: "value", label: "Value", type: "textarea" },
          { name: "lease", label: "Lease ID (hex, optional)", placeholder: "none" },
        ],
        async (values) => {
          const key = utf8(values.key ?? "");
          const lease = values.lease?.trim() ? parseHexId(values.lease) : undefined;
          if (values.lease?.trim() && lease === undefined) throw new ConsoleError("invalid-lease-id", "The lease ID must be hex digits, as the leases view shows it.");
          await createKey(app, key, utf8(values.value ?? ""), lease);
          showInfo(`Created ${values.key}`);
          location.hash = keyHref(prefix, key);
        },
        "Create",
      ),
  }, "New key");

  replaceChildren(
    root,
    h(
      "div",
      { class: "keys-view" },
      h("div", { class: "toolbar" }, crumbs, goto, searchForm, newKey, ...transferButtons(app, prefix), ...prefixActions(app, prefix), deletePicked),
      results,
      h("div", { class: "panes" }, h("div", { class: "tree-pane" }, tree), detailSlot),
      feed.element,
    ),
  );

  const select = (key: Uint8Array | undefined) => {
    selected = key;
    detail?.dispose();
    detail = key ? keyDetail(app, key) : undefined;
    replaceChildren(detailSlot, detail ? detail.element : h("p", { class: "muted" }, "Select a key."));
    const all = (level: Level) => {
      schedule(level);
      for (const child of level.open.values()) all(child);
    };
    all(top);
  };

  if (prefix.length > 0) rememberPrefix(displayKey(prefix));
  select(selected);
  void loadPage(top);
  void startWatch();
  return {
    update(next) {
      if (!bytesEqual(decodeKeyParam(next.get("prefix") ?? ""), prefix)) return false;
      const key = next.has("key") ? decodeKeyParam(next.get("key")!) : undefined;
      if (!(key && selected && bytesEqual(key, selected))) select(key);
      return true;
    },
    unmount() {
      abort.abort();
      clearTimeout(pruneTimer);
      if (frame) cancelAnimationFrame(frame);
      detail?.dispose();
      watcher?.close();
    },
  };
}
