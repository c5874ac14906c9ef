// The keys view's actions on the whole open prefix: copy, rename and delete (console/src/prefix-copy.ts copies).
import type { App } from "../app.js";
import { h } from "../dom.js";
import { ConsoleError } from "../errors.js";
import { displayKey, encodeKeyParam, utf8 } from "../format.js";
import { copyPrefix } from "../prefix-copy.js";
import { formDialog, showInfo } from "../ui.js";

/** Buttons for the open prefix: "Copy prefix…", "Rename prefix…" and "Delete prefix…"; none at the root. */
export function prefixActions(app: App, prefix: Uint8Array): HTMLElement[] {
  if (prefix.length === 0) return [];
  const name = displayKey(prefix);
  const count = async () => (await app.client.get(prefix, { prefix: true, countOnly: true })).count;

  // Copy and rename: count first, then a target prefix; refused when the target holds keys.
  const copyOrRename = (rename: boolean) => async () => {
    try {
      const n = await count();
      if (n === 0n) return showInfo(`No keys under ${name}`);
      const progress = h("p", { class: "muted", role: "status" });
      await formDialog(
        `${rename ? "Rename" : "Copy"} ${n} keys under ${name}`,
        [{ name: "target", label: "New prefix", value: name, required: true }],
        async (values) => {
          const target = utf8(values.target ?? "");
          if (displayKey(target) === name) throw new ConsoleError("same-prefix", "Choose another prefix.");
          const r = await copyPrefix(app.client, prefix, target, { rename, onProgress: (done) => (progress.textContent = `${done} of ${n} keys…`) });
          showInfo(`${rename ? "Renamed" : "Copied"} ${r.copied} keys from ${name} to ${values.target} (${r.txns} txns)`);
          if (rename) location.hash = `#/keys?prefix=${encodeKeyParam(target)}`;
        },
        rename ? "Rename" : "Copy",
        [
          h("p", null, `Each key keeps its value and lease. Written in txns of up to 64 keys, each only if its keys are unchanged${rename ? " (and deleted from here in the same txn)" : ""}; refused if the new prefix holds any key.`),
          progress,
        ],
      );
    } catch (err) {
      app.handleError(err, rename ? "rename prefix" : "copy prefix");
    }
  };

  // Delete: count first, confirm by typing the prefix, one DeleteRange.
  const remove = async () => {
    try {
      const n = await count();
      if (n === 0n) return showInfo(`No keys under ${name}`);
      await formDialog(`Delete ${n} keys under ${name}?`, [{ name: "confirm", label: `Type ${name} to confirm`, required: true }], async (values) => {
        if (values.confirm !== name) throw new ConsoleError("not-confirmed", `Type the prefix exactly (${name}) to delete its keys.`);
        const r = await app.client.delete(prefix, { prefix: true });
        showInfo(`Deleted ${r.deleted} keys under ${name}`);
      }, "Delete", h("p", null, "Every key under this prefix is deleted in one request. This cannot be undone."));
    } catch (err) {
      app.handleError(err, "delete prefix");
    }
  };

  return [
    h("button", { onclick: copyOrRename(false) }, "Copy prefix…"),
    h("button", { onclick: copyOrRename(true) }, "Rename prefix…"),
    h("button", { class: "danger", onclick: remove }, "Delete prefix…"),
  ];
}
