// Shared UI pieces: notices, confirmations and small forms (native <dialog>).
import { h, type Child } from "./dom.js";
import { describeError } from "./errors.js";

/** Shows an error in the notice area: plain words, with the etcd kind. */
export function showError(err: unknown, context?: string): void {
  const { text, kind, detail } = describeError(err);
  notice("error", [context ? `${context}: ` : "", text, " ", h("code", { class: "kind", title: detail }, kind)], kind);
}

/** Kinds of errors that mean "etcd or the proxy cannot be reached": they end when a call succeeds again. */
const CONNECTION_KINDS = new Set(["unavailable", "deadline-exceeded", "no-leader", "closed"]);

/**
 * Removes error notices whose condition ended: `"connection"` when etcd answers again, `"all"` when the client was
 * replaced (signed in as someone else).
 */
export function clearNotices(which: "connection" | "all"): void {
  const area = document.getElementById("notices");
  if (!area) return;
  for (const el of [...area.querySelectorAll<HTMLElement>(".notice.error")]) {
    if (which === "all" || CONNECTION_KINDS.has(el.dataset.kind ?? "")) el.remove();
  }
}

/** Shows a short confirmation of something done. */
export function showInfo(text: string): void {
  notice("info", [text]);
}

function notice(level: "error" | "info", content: Child[], kind?: string): void {
  const area = document.getElementById("notices");
  if (!area) return;
  // A view that polls can hit the same error every few seconds: show it once while it is the newest notice.
  const body = h("span", null, content);
  if (area.firstElementChild?.firstElementChild?.textContent === body.textContent) return;
  const close = h("button", { class: "link", "aria-label": "dismiss", onclick: () => el.remove() }, "×");
  const el = h("div", { class: `notice ${level}`, role: level === "error" ? "alert" : "status", "data-kind": kind }, body, close);
  area.prepend(el);
  // Errors stay until dismissed (or pushed out); infos fade.
  if (level === "info") setTimeout(() => el.remove(), 4000);
  while (area.children.length > 5) area.lastElementChild?.remove();
}

/** Asks for confirmation; resolves true when the user confirms. */
export function confirmAction(title: string, body: Child, confirmLabel = "Confirm", danger = true): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-label": title });
    const done = (ok: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    dialog.append(
      h("h3", null, title),
      h("div", { class: "body" }, body),
      h(
        "div",
        { class: "actions" },
        h("button", { onclick: () => done(false) }, "Cancel"),
        h("button", { class: danger ? "danger" : "primary", onclick: () => done(true) }, confirmLabel),
      ),
    );
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** One field of {@link formDialog}. */
export interface Field {
  name: string;
  label: string;
  type?: "text" | "password" | "number" | "textarea" | "select";
  value?: string;
  options?: readonly string[];
  placeholder?: string;
  required?: boolean;
}

/**
 * A form in a dialog. `submit` runs with the values; when it throws, the error shows in the dialog and the form
 * stays open, so nothing typed is lost. Resolves with the values once `submit` succeeded, undefined on cancel.
 */
export function formDialog(
  title: string,
  fields: readonly Field[],
  submit: (values: Record<string, string>) => Promise<void>,
  submitLabel = "Save",
  intro?: Child,
): Promise<Record<string, string> | undefined> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "form", "aria-label": title });
    const error = h("div", { class: "form-error", role: "alert" });
    const inputs = new Map<string, HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>();
    const rows = fields.map((f) => {
      let input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
      if (f.type === "textarea") {
        input = h("textarea", { name: f.name, rows: 10, placeholder: f.placeholder, spellcheck: "false" });
        input.value = f.value ?? "";
      } else if (f.type === "select") {
        input = h("select", { name: f.name }, (f.options ?? []).map((o) => h("option", { value: o, selected: o === f.value }, o)));
      } else {
        input = h("input", { name: f.name, type: f.type ?? "text", value: f.value ?? "", placeholder: f.placeholder, required: f.required, autocomplete: "off" });
      }
      inputs.set(f.name, input);
      return h("label", null, h("span", null, f.label), input);
    });
    const finish = (values: Record<string, string> | undefined) => {
      dialog.close();
      dialog.remove();
      resolve(values);
    };
    const submitButton = h("button", { type: "submit", class: "primary" }, submitLabel);
    const form = h(
      "form",
      {
        method: "dialog",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const values: Record<string, string> = {};
          for (const [name, input] of inputs) values[name] = input.value;
          submitButton.disabled = true;
          error.textContent = "";
          try {
            await submit(values);
            finish(values);
          } catch (err) {
            const d = describeError(err);
            error.replaceChildren(d.text, " ", h("code", { class: "kind", title: d.detail }, d.kind));
          } finally {
            submitButton.disabled = false;
          }
        },
      },
      h("h3", null, title),
      intro ?? null,
      rows,
      error,
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => finish(undefined) }, "Cancel"), submitButton),
    );
    dialog.append(form);
    dialog.addEventListener("cancel", () => finish(undefined));
    document.body.append(dialog);
    dialog.showModal();
  });
}
