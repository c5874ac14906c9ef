// The keys view's Export and Import buttons (console/src/transfer.ts does the work).
import type { App } from "../app.js";
import { h } from "../dom.js";
import { displayKey } from "../format.js";
import { applyImport, parseExport, planImport, readKeys, toEtcdctlJson, toEtcdctlText, toExportFile } from "../transfer.js";
import { confirmAction, formDialog, showInfo } from "../ui.js";

/** The export formats offered, by their label in the dialog. */
const FORMATS = {
  json: { id: "json", suffix: ".json", type: "application/json" },
  "etcdctl text": { id: "etcdctl", suffix: ".txt", type: "application/octet-stream" },
  "etcdctl JSON (-w json)": { id: "etcdctl-json", suffix: ".etcdctl.json", type: "application/json" },
} as const;

/** Buttons that export the open prefix (everything at the root) and import a file into etcd after a dry run. */
export function transferButtons(app: App, prefix: Uint8Array): HTMLElement[] {
  const exportButton = h("button", {
    onclick: () =>
      void formDialog(
        `Export ${displayKey(prefix) || "every key"}`,
        [{ name: "format", label: "Format", type: "select", options: Object.keys(FORMATS), value: "json" }],
        async (values) => {
          const format = FORMATS[values.format as keyof typeof FORMATS] ?? FORMATS.json;
          const read = await readKeys(app.client, prefix);
          const base = `etcd-export-${(displayKey(prefix) || "all").replace(/[^\w.-]+/g, "_")}-rev${read.header.revision}`;
          const body = format.id === "etcdctl" ? toEtcdctlText(read) : format.id === "etcdctl-json" ? toEtcdctlJson(read) : JSON.stringify(toExportFile(read, prefix), null, 1);
          const link = h("a", { href: URL.createObjectURL(new Blob([body as BlobPart], { type: format.type })), download: `${base}${format.suffix}` });
          link.click();
          setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
          showInfo(`Exported ${read.kvs.length} keys at revision ${read.header.revision}`);
        },
        "Export",
        h("p", { class: "muted" }, "Every key under this prefix, read at one revision. JSON can be imported here; etcdctl text is what etcdctl get --prefix prints; etcdctl JSON is what etcdctl get --prefix -w json prints, and can be imported too."),
      ),
  }, "Export…");

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
