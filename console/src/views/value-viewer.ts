// A value shown as text, pretty JSON or a hex dump, with the viewer picked from the bytes.
import { h, replaceChildren } from "../dom.js";
import { asJson, asText, formatSize, hexDump, valueKind, type ValueKind } from "../format.js";

const LABELS: Record<ValueKind, string> = { text: "Text", json: "JSON", binary: "Hex" };

/** Renders `value` with tabs for the viewers that apply to it. */
export function valueViewer(value: Uint8Array): HTMLElement {
  const text = asText(value);
  const json = asJson(text);
  const kinds: ValueKind[] = text === undefined ? ["binary"] : json === undefined ? ["text", "binary"] : ["json", "text", "binary"];
  const body = h("pre", { class: "value", "data-testid": "value" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const show = (kind: ValueKind) => {
    body.dataset.kind = kind;
    body.textContent = kind === "json" ? json! : kind === "text" ? text! : hexDump(value);
    for (const tab of tabs.children) tab.setAttribute("aria-selected", String((tab as HTMLElement).dataset.kind === kind));
  };
  for (const kind of kinds) {
    tabs.append(h("button", { role: "tab", "data-kind": kind, onclick: () => show(kind) }, LABELS[kind]));
  }
  show(valueKind(value));
  const wrap = h("div", { class: "viewer" }, h("div", { class: "viewer-bar" }, tabs, h("span", { class: "muted" }, formatSize(value.length))), body);
  if (value.length === 0) replaceChildren(body, h("span", { class: "muted" }, "(empty value)"));
  return wrap;
}
