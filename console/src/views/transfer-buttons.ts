// The keys view's Export and Import buttons (console/src/transfer.ts does the work).
import type { App } from "../app.js";
import { h } from "../dom.js";
import { displayKey } from "../format.js";
import { applyImport, exportKeys, parseExport, planImport } from "../transfer.js";
import { confirmAction, showInfo } from "../ui.js";

/** Buttons that export the open prefix (everything at the root) and import a file into etcd after a dry run. */
export function transferButtons(app: App, prefix: Uint8Array): HTMLElement[] {
  const exportButton = h("button", {
    onclick: async () => {
      try {
        const file = await exportKeys(app.client, prefix);
        const name = `etcd-export-${(displayKey(prefix) || "all").replace(/[^\w.-]+/g, "_")}-rev${file.revision}.json`;
        const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(file, null, 1)], { type: "application/json" })), download: name });
        link.click();
        showInfo(`Exported ${file.keys.length} keys at revision ${file.revision}`);
      } catch (err) {
        app.handleError(err, "export");
      }
    },
  }, "Export");

  const picker = h("input", { type: "file", accept: "application/json,.json", hidden: true, "data-testid": "import-file" });
  picker.addEventListener("change", async () => {
    const file = picker.files?.[0];
    picker.value = "";
    if (!file) return;
    try {
      const plan = await planImport(app.client, parseExport(await file.text()));
      const count = (a: string) => plan.filter((p) => p.action === a).length;
      const shown = plan.filter((p) => p.action !== "same").slice(0, 50);
      const ok = await confirmAction(
        `Import ${file.name}`,
        h("div", { "data-testid": "import-plan" },
          h("p", null, `${count("create")} to create, ${count("change")} to change, ${count("same")} already the same.`),
          shown.length ? h("ul", null, shown.map((p) => h("li", null, h("span", { class: `badge ${p.action === "create" ? "put" : "delete"}` }, p.action), " ", displayKey(p.key)))) : null,
          plan.length - count("same") > shown.length ? h("p", { class: "muted" }, `and ${plan.length - count("same") - shown.length} more`) : null),
        "Apply",
        false,
      );
      if (!ok) return;
      const written = await applyImport(app.client, plan);
      showInfo(`Imported ${written} keys`);
    } catch (err) {
      app.handleError(err, "import");
    }
  });
  const importButton = h("button", { onclick: () => picker.click() }, "Import…");
  return [exportButton, importButton, picker];
}
