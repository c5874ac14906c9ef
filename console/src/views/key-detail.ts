// One key: metadata, value, edit, delete and history.
import { EtcdError, compare, op, type KeyValue, type WatchEvent } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren } from "../dom.js";
import { ConsoleError } from "../errors.js";
import { diffValues } from "../value-diff.js";
import { displayKey, encodeKeyParam, hexId, preview, utf8 } from "../format.js";
import { confirmAction, formDialog, showInfo } from "../ui.js";
import { valueViewer } from "./value-viewer.js";

/** Versions of a key loaded per click on "older". */
const HISTORY_PAGE = 20;

/** The detail pane of one key; `update` applies a live event for it. */
export interface KeyDetail {
  readonly element: HTMLElement;
  update(event: WatchEvent): void;
  dispose(): void;
}

/** Creates the pane for `key` and loads it. */
export function keyDetail(app: App, key: Uint8Array): KeyDetail {
  // Until the key has loaded (a member down can take the call's whole deadline), say so.
  const element = h("section", { class: "detail", "aria-label": "key" },
    h("h2", { class: "key-title", "data-testid": "key-title" }, displayKey(key)), h("p", { class: "muted", "data-testid": "loading" }, "loading…"));
  let current: KeyValue | undefined;
  let deletedAt: bigint | undefined;
  let disposed = false;
  const abort = new AbortController();

  const render = () => {
    if (disposed) return;
    const title = h("h2", { class: "key-title", "data-testid": "key-title" }, displayKey(key));
    if (!current) {
      replaceChildren(
        element,
        title,
        h("p", { class: "muted" }, deletedAt !== undefined ? `Deleted at revision ${deletedAt}.` : "This key does not exist."),
        h("div", { class: "actions" }, h("button", { onclick: () => void createAgain() }, "Create it")),
      );
      return;
    }
    const kv = current;
    const meta = h(
      "dl",
      { class: "meta" },
      h("dt", null, "create revision"), h("dd", { "data-testid": "create-revision" }, String(kv.createRevision)),
      h("dt", null, "mod revision"), h("dd", { "data-testid": "mod-revision" }, String(kv.modRevision)),
      h("dt", null, "version"), h("dd", { "data-testid": "version" }, String(kv.version)),
      h("dt", null, "lease"),
      h("dd", { "data-testid": "lease" }, kv.lease === 0n ? h("span", { class: "muted" }, "none") : h("a", { href: `#/leases?lease=${hexId(kv.lease)}` }, hexId(kv.lease))),
    );
    const viewerSlot = h("div", { class: "viewer-slot" }, valueViewer(kv.value));
    const history = h("div", { class: "history" });
    replaceChildren(
      element,
      title,
      h(
        "div",
        { class: "actions" },
        h("button", { onclick: () => void edit(kv) }, "Edit"),
        h("button", { class: "danger", onclick: () => void remove(kv) }, "Delete"),
        h("button", { onclick: () => void showHistory(kv, history, viewerSlot) }, "History"),
        h("button", { onclick: () => void copyTo(kv, false) }, "Copy…"),
        h("button", { onclick: () => void copyTo(kv, true) }, "Rename…"),
      ),
      meta,
      viewerSlot,
      history,
    );
  };

  const load = async () => {
    try {
      const r = await app.client.get(key, { signal: abort.signal });
      current = r.kvs[0];
      render();
    } catch (err) {
      if (disposed) return;
      element.querySelector('[data-testid="loading"]')?.replaceWith(h("p", { class: "bad" }, "Could not read this key (see the notice)."));
      app.handleError(err, `reading ${displayKey(key)}`);
    }
  };

  const edit = async (kv: KeyValue) => {
    let editor: typeof import("../editor/value-editor.js");
    try {
      // CodeMirror and the YAML parser load with the first editor, not with the console.
      editor = await import("../editor/value-editor.js");
    } catch (err) {
      app.handleError(err, "loading the editor");
      return;
    }
    await editor.openValueEditor({
      title: `Edit ${displayKey(key)}`,
      stored: kv.value,
      intro: h("p", { class: "muted" }, `Saves only if the key is still at mod revision ${kv.modRevision}.`),
      save: async (value) => {
        // Only if nobody changed the key meanwhile; the lease stays attached.
        const r = await app.client.txn({
          compare: [compare.modRevision(key, "=", kv.modRevision)],
          success: [op.put(key, value, { ignoreLease: kv.lease !== 0n })],
        });
        if (!r.succeeded) throw new ConsoleError("key-changed", `${displayKey(key)} changed since it was loaded`);
        showInfo(`Saved ${displayKey(key)}`);
      },
    });
  };

  const remove = async (kv: KeyValue) => {
    const ok = await confirmAction("Delete key", h("p", null, "Delete ", h("code", null, displayKey(key)), ` (version ${kv.version})? This cannot be undone.`), "Delete");
    if (!ok) return;
    try {
      await app.client.delete(key);
      showInfo(`Deleted ${displayKey(key)}`);
    } catch (err) {
      app.handleError(err, `deleting ${displayKey(key)}`);
    }
  };

  /**
   * Copies the key (value and lease) to a new key, or renames it (the copy and the delete in one txn). Refused when
   * the target exists or the key changed since it was loaded.
   */
  const copyTo = async (kv: KeyValue, rename: boolean) => {
    const verb = rename ? "Rename" : "Copy";
    await formDialog(`${verb} ${displayKey(key)}`, [{ name: "target", label: "New key", value: displayKey(key), required: true }], async (values) => {
      const target = utf8(values.target ?? "");
      if (target.length === 0 || displayKey(target) === displayKey(key)) throw new ConsoleError("same-key", "Choose another key.");
      const r = await app.client.txn({
        compare: [compare.createRevision(target, "=", 0n), compare.modRevision(key, "=", kv.modRevision)],
        success: [op.put(target, kv.value, kv.lease === 0n ? {} : { lease: kv.lease }), ...(rename ? [op.delete(key)] : [])],
      });
      if (!r.succeeded) {
        const exists = (await app.client.get(target, { countOnly: true })).count > 0n;
        throw new ConsoleError(exists ? "key-exists" : "key-changed", exists ? `${displayKey(target)} already exists` : `${displayKey(key)} changed since it was loaded`);
      }
      showInfo(`${rename ? "Renamed" : "Copied"} ${displayKey(key)} to ${displayKey(target)}`);
    }, verb);
  };

  /** The value at `old` against the one at `now` (the current value, or another version), line by line. */
  const diffView = (old: KeyValue, now: KeyValue) =>
    h(
      "div",
      { class: "diff-view" },
      h("p", { class: "old-version" }, `Revision ${old.modRevision} (v${old.version}) → ${now === current ? "current" : `revision ${now.modRevision}`} (v${now.version})`, " ",
        h("button", { class: "link", onclick: () => render() }, "back to current")),
      h("pre", { class: "value diff", "data-testid": "diff" },
        diffValues(old.value, now.value).map((p) => h(p.kind === "same" ? "span" : p.kind === "added" ? "ins" : "del", null, p.text))),
    );

  /** Puts an old value back, only if the key is still as loaded (compare-and-swap); the lease stays. */
  const restore = async (old: KeyValue, now: KeyValue) => {
    const ok = await confirmAction(
      "Restore version",
      h("p", null, "Put the value of revision ", String(old.modRevision), " (v", String(old.version), ") back as ", h("code", null, displayKey(key)), "'s current value?"),
      "Restore",
      false,
    );
    if (!ok) return;
    try {
      const r = await app.client.txn({
        compare: [compare.modRevision(key, "=", now.modRevision)],
        success: [op.put(key, old.value, { ignoreLease: now.lease !== 0n })],
      });
      if (!r.succeeded) throw new ConsoleError("key-changed", `${displayKey(key)} changed since it was loaded`);
      showInfo(`Restored ${displayKey(key)} to revision ${old.modRevision}'s value`);
    } catch (err) {
      app.handleError(err, `restoring ${displayKey(key)}`);
    }
  };

  const createAgain = async () => {
    await formDialog(`Create ${displayKey(key)}`, [{ name: "value", label: "Value", type: "textarea" }], async (values) => {
      await createKey(app, key, utf8(values.value ?? ""));
      showInfo(`Created ${displayKey(key)}`);
    }, "Create");
  };

  const showHistory = async (kv: KeyValue, box: HTMLElement, viewerSlot: HTMLElement) => {
    const list = h("ol", { class: "versions", "data-testid": "history" });
    const status = h("p", { class: "muted" });
    const more = h("button", { class: "link" }, "older versions");
    // Any two versions: tick them, then diff the older against the newer (a third tick replaces the first).
    const ticked: Array<{ v: KeyValue; box: HTMLInputElement }> = [];
    const diffTicked = h("button", {
      disabled: true,
      "data-testid": "diff-ticked",
      onclick: () => {
        const [a, b] = ticked.map((t) => t.v).sort((x, y) => (x.modRevision < y.modRevision ? -1 : 1));
        replaceChildren(viewerSlot, diffView(a!, b!));
      },
    }, "Diff the two ticked");
    const tick = (v: KeyValue, box: HTMLInputElement) => {
      const at = ticked.findIndex((t) => t.v === v);
      if (!box.checked && at >= 0) ticked.splice(at, 1);
      if (box.checked && at < 0) {
        ticked.push({ v, box });
        if (ticked.length > 2) ticked.shift()!.box.checked = false;
      }
      diffTicked.disabled = ticked.length !== 2;
    };
    replaceChildren(box, h("h3", null, "History"), h("p", { class: "muted" }, "Tick two versions to compare them. ", diffTicked), list, status, more);
    const item = (v: KeyValue, label: string) => {
      const box: HTMLInputElement = h("input", { type: "checkbox", class: "pick", "aria-label": `tick revision ${v.modRevision}`, onchange: () => tick(v, box) });
      return h(
        "li",
        null,
        box,
        h(
          "button",
          {
            class: "link",
            onclick: () => {
              replaceChildren(viewerSlot, h("p", { class: "old-version" }, `Revision ${v.modRevision}, version ${v.version}`, " ", h("button", { class: "link", onclick: () => replaceChildren(viewerSlot, valueViewer(kv.value)) }, "back to current")), valueViewer(v.value));
            },
          },
          `rev ${v.modRevision}`,
        ),
        ` v${v.version}${label} `,
        h("span", { class: "preview" }, preview(v.value, 60)),
        v === kv
          ? null
          : [
              " ",
              h("button", { class: "link", onclick: () => replaceChildren(viewerSlot, diffView(v, kv)) }, "diff"),
              " ",
              h("button", { class: "link", onclick: () => void restore(v, kv) }, "restore"),
            ],
      );
    };
    list.append(item(kv, " (current)"));
    let oldest = kv;
    const page = async () => {
      more.disabled = true;
      try {
        for (let n = 0; n < HISTORY_PAGE; n++) {
          if (oldest.version <= 1n) {
            status.textContent = `Created at revision ${oldest.createRevision}.`;
            more.remove();
            return;
          }
          // The key as it was just before its oldest known change: its previous version.
          const r = await app.client.get(key, { revision: oldest.modRevision - 1n, signal: abort.signal });
          const prev = r.kvs[0];
          if (!prev) {
            status.textContent = `No earlier version (created at revision ${oldest.createRevision}).`;
            more.remove();
            return;
          }
          list.append(item(prev, ""));
          oldest = prev;
        }
      } catch (err) {
        if (err instanceof EtcdError && err.kind === "compacted") {
          status.textContent = `Older versions are compacted${err.compactRevision ? ` (compacted up to revision ${err.compactRevision})` : ""}.`;
          more.remove();
          return;
        }
        app.handleError(err, "reading history");
      } finally {
        more.disabled = false;
      }
    };
    more.onclick = () => void page();
    await page();
  };

  void load();
  return {
    element,
    update(event) {
      if (event.type === "put") {
        current = event.kv;
        deletedAt = undefined;
      } else {
        current = undefined;
        deletedAt = event.kv.modRevision;
      }
      render();
    },
    dispose() {
      disposed = true;
      abort.abort();
    },
  };
}

/** Creates a key only if it does not exist. */
export async function createKey(app: App, key: Uint8Array, value: Uint8Array, lease?: bigint): Promise<void> {
  const r = await app.client.txn({
    compare: [compare.createRevision(key, "=", 0n)],
    success: [op.put(key, value, lease ? { lease } : {})],
  });
  if (!r.succeeded) throw new ConsoleError("key-exists", `${displayKey(key)} already exists`);
}

/** The URL fragment that opens a key. */
export function keyHref(prefix: Uint8Array, key: Uint8Array): string {
  return `#/keys?prefix=${encodeKeyParam(prefix)}&key=${encodeKeyParam(key)}`;
}
