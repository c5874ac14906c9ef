// The keys view: a lazily loaded prefix tree, the selected key, and a live watch on the prefix.
import { prefixEnd, type WatchEvent, type Watcher, type WatchState } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren } from "../dom.js";
import { bytesEqual, compareBytes, decodeKeyParam, displayKey, encodeKeyParam, hasPrefix, parseHexId, utf8 } from "../format.js";
import { ConsoleError } from "../errors.js";
import { listLevel, type TreeEntry } from "../key-tree.js";
import { formDialog, showInfo } from "../ui.js";
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
}

const id = (key: Uint8Array) => encodeKeyParam(key);

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
    const empty = !level.cursor && level.entries.length === 0 && !level.loading ? h("li", { class: "muted" }, "(no keys)") : null;
    replaceChildren(level.list, items, more, empty);
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
    schedule(level);
    try {
      const page = await listLevel(app.client, level.prefix, { pageSize: PAGE_SIZE, after: level.cursor, signal: abort.signal });
      for (const entry of page.entries) insertEntry(level, entry);
      level.cursor = page.cursor;
    } catch (err) {
      if (!abort.signal.aborted) app.handleError(err, `listing ${displayKey(level.prefix) || "keys"}`);
    } finally {
      level.loading = false;
      schedule(level);
    }
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
      if (!abort.signal.aborted) app.handleError(err, "live watch");
    } finally {
      reportWatch(undefined);
    }
  };

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
      h("div", { class: "toolbar" }, crumbs, goto, newKey),
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
