// The value editor: CodeMirror 6 with JSON and YAML highlighting and inline syntax errors, a format button, and a
// review of the change against the stored value before it is saved. This module and what it imports (CodeMirror,
// `yaml`) form the console's editor chunk, loaded the first time an editor opens (see ./load.ts).
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { HighlightStyle, bracketMatching, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { json } from "@codemirror/lang-json";
import { yaml } from "@codemirror/lang-yaml";
import { linter, lintGutter, type Diagnostic } from "@codemirror/lint";
import { tags } from "@lezer/highlight";
import { h, replaceChildren, type Child } from "../dom.js";
import { ConsoleError, describeError } from "../errors.js";
import { asText, bytesEqual, utf8 } from "../format.js";
import { diffValues } from "../value-diff.js";
import { checkSyntax, detectSyntax, formatSyntax, type ValueSyntax } from "./value-syntax.js";

/** Options of {@link openValueEditor}. */
export interface ValueEditorOptions {
  /** The dialog's title. */
  title: string;
  /** The value as stored now; the review step diffs the edit against it. */
  stored: Uint8Array;
  /** A line under the title (e.g. what the save compares). */
  intro?: Child;
  /** Writes the value; when it throws, the error shows in the dialog and the edit stays. */
  save(value: Uint8Array): Promise<void>;
}

const SYNTAX_LABELS: Record<ValueSyntax, string> = { json: "JSON", yaml: "YAML", text: "Text", hex: "Hex (binary)" };

/** Token colours from the console's CSS variables, so the light and dark themes both apply. */
const highlight = HighlightStyle.define([
  { tag: [tags.string, tags.special(tags.string)], color: "var(--syntax-string)" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "var(--syntax-literal)" },
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: "var(--syntax-key)" },
  { tag: [tags.comment, tags.meta], color: "var(--muted)", fontStyle: "italic" },
  { tag: [tags.keyword, tags.typeName, tags.labelName], color: "var(--syntax-keyword)" },
  { tag: tags.invalid, color: "var(--bad)" },
]);

const theme = EditorView.theme({
  "&": { border: "1px solid var(--line)", borderRadius: "5px", background: "var(--input)", color: "var(--ink)", maxHeight: "55vh" },
  "&.cm-focused": { outline: "2px solid var(--accent)", outlineOffset: "-1px" },
  ".cm-scroller": { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace', fontSize: "13px", lineHeight: "1.45" },
  ".cm-gutters": { background: "var(--soft)", color: "var(--muted)", border: "none" },
  ".cm-activeLine, .cm-activeLineGutter": { background: "var(--soft)" },
  ".cm-content": { caretColor: "var(--ink)", minHeight: "10em" },
  ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": { background: "var(--selected)" },
});

/** Hex digits of `bytes`, 16 to a line. */
function toHex(bytes: Uint8Array): string {
  const pairs = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"));
  const lines: string[] = [];
  for (let i = 0; i < pairs.length; i += 16) lines.push(pairs.slice(i, i + 16).join(" "));
  return lines.join("\n");
}

/** Bytes of hex digits (whitespace ignored); throws when they are not pairs of hex digits. */
export function fromHex(text: string): Uint8Array {
  const problem = checkSyntax(text, "hex");
  if (problem) throw new ConsoleError("invalid-hex", `${problem.message} (line ${problem.line}, column ${problem.column}).`);
  const digits = text.replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes the editor's text stands for in `syntax`. */
function toBytes(text: string, syntax: ValueSyntax): Uint8Array {
  return syntax === "hex" ? fromHex(text) : utf8(text);
}

/**
 * Opens the editor in a modal dialog. Resolves true once the value was saved, false when the editor was closed
 * without saving. Invalid JSON or YAML is saved only after the user ticks "save it anyway"; invalid hex never.
 */
export function openValueEditor(options: ValueEditorOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const storedText = asText(options.stored);
    let syntax = detectSyntax(storedText);
    const language = new Compartment();
    const languageFor = (s: ValueSyntax): Extension => (s === "json" ? json() : s === "yaml" ? yaml() : []);

    const status = h("span", { class: "syntax-status", "data-testid": "syntax-status", "aria-live": "polite" });
    const showStatus = (text: string) => {
      const problem = checkSyntax(text, syntax);
      status.className = `syntax-status ${problem ? "bad" : "ok"}`;
      status.textContent = problem
        ? `${problem.message} (line ${problem.line}, column ${problem.column})`
        : syntax === "text" ? "plain text" : `valid ${SYNTAX_LABELS[syntax]}`;
    };
    const lint = linter(
      (view): Diagnostic[] => {
        const text = view.state.doc.toString();
        showStatus(text);
        const problem = checkSyntax(text, syntax);
        return problem ? [{ from: problem.from, to: problem.to, severity: "error", message: problem.message }] : [];
      },
      { delay: 250 },
    );
    // The editor lives in a shadow root: there CodeMirror styles itself with constructed style sheets, which the
    // console's Content-Security-Policy (no inline styles) allows; in the document it would add <style> elements.
    const host = h("div", { class: "editor-host" });
    const shadow = host.attachShadow({ mode: "open" });
    const view = new EditorView({
      root: shadow,
      parent: shadow,
      state: EditorState.create({
        doc: syntax === "hex" ? toHex(options.stored) : syntax === "json" ? formatSyntax(storedText!, "json") : storedText ?? "",
        extensions: [
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          indentOnInput(),
          bracketMatching(),
          syntaxHighlighting(highlight),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          EditorView.lineWrapping,
          language.of(languageFor(syntax)),
          lint,
          lintGutter(),
          theme,
          EditorView.contentAttributes.of({ "aria-label": "value", "data-testid": "editor-content" }),
        ],
      }),
    });
    const text = () => view.state.doc.toString();
    const setText = (value: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });

    const error = h("div", { class: "form-error", role: "alert", "data-testid": "editor-error" });
    const showError = (err: unknown) => {
      const d = describeError(err);
      error.replaceChildren(d.text, " ", h("code", { class: "kind", title: d.detail }, d.kind));
    };

    const select = h(
      "select",
      { name: "syntax", "aria-label": "value syntax", "data-testid": "syntax" },
      (Object.keys(SYNTAX_LABELS) as ValueSyntax[]).map((s) => h("option", { value: s, selected: s === syntax }, SYNTAX_LABELS[s])),
    );
    select.onchange = () => {
      const next = select.value as ValueSyntax;
      error.textContent = "";
      try {
        // Hex and text hold different things: convert the content, so the bytes stay the same.
        if (syntax === "hex" && next !== "hex") {
          const decoded = asText(fromHex(text()));
          if (decoded === undefined) throw new ConsoleError("not-text", "These bytes are not UTF-8 text: they can only be edited as hex.");
          setText(decoded);
        } else if (syntax !== "hex" && next === "hex") {
          setText(toHex(utf8(text())));
        }
      } catch (err) {
        select.value = syntax;
        showError(err);
        return;
      }
      syntax = next;
      view.dispatch({ effects: language.reconfigure(languageFor(syntax)) });
      showStatus(text());
    };
    const format = h("button", {
      type: "button",
      onclick: () => {
        error.textContent = "";
        try {
          setText(formatSyntax(text(), syntax));
        } catch (err) {
          showError(new ConsoleError("invalid-syntax", `Cannot format: ${checkSyntax(text(), syntax)?.message ?? String(err)}`));
        }
      },
    }, "Format");

    // Step two: what changes, then save.
    const review = h("div", { class: "review", "data-testid": "review", hidden: true });
    const editing = h("div", { class: "editing" }, h("div", { class: "editor-bar" }, h("label", null, "Syntax ", select), format, status), host);
    const back = h("button", { type: "button", hidden: true }, "Back to editing");
    const next = h("button", { type: "button", class: "primary" }, "Review changes");
    const save = h("button", { type: "button", class: "primary", hidden: true }, "Save");
    let pending: Uint8Array | undefined;

    // Stored JSON on one line is shown indented for editing; by default it is saved on one line again.
    const storedCompact = syntax === "json" && !storedText!.trim().includes("\n");
    const compact = h("input", { type: "checkbox", name: "compact", checked: storedCompact }) as HTMLInputElement;
    const confirm = h("input", { type: "checkbox", name: "save-invalid" }) as HTMLInputElement;

    const renderReview = () => {
      error.textContent = "";
      let bytes: Uint8Array;
      const problem = checkSyntax(text(), syntax);
      try {
        bytes = syntax === "json" && !problem && compact.checked ? utf8(JSON.stringify(JSON.parse(text()))) : toBytes(text(), syntax);
      } catch (err) {
        showError(err);
        return false;
      }
      const parts = diffValues(options.stored, bytes);
      const unchanged = bytesEqual(bytes, options.stored);
      replaceChildren(
        review,
        h("h4", null, "Changes against the stored value"),
        unchanged
          ? h("p", { class: "muted", "data-testid": "no-change" }, "No change: the value is the same as the stored one.")
          : parts.every((p) => p.kind === "same")
            ? h("p", { class: "muted", "data-testid": "layout-only" }, "Only the layout changes (spaces and line breaks); the data is the same.")
            : h("pre", { class: "value diff", "data-testid": "edit-diff" }, parts.map((p) => h(p.kind === "same" ? "span" : p.kind === "added" ? "ins" : "del", null, p.text))),
        syntax === "json" && !problem ? h("label", { class: "inline" }, compact, " Save on one line (compact JSON)") : null,
        problem
          ? h("div", { class: "warning", role: "alert" },
              h("p", null, `${problem.message} (line ${problem.line}, column ${problem.column}).`),
              h("label", { class: "inline" }, confirm, ` Save it anyway, as text that is not valid ${SYNTAX_LABELS[syntax]}`))
          : null,
      );
      pending = bytes;
      save.disabled = unchanged || (problem !== undefined && !confirm.checked);
      return true;
    };
    compact.onchange = () => void renderReview();
    confirm.onchange = () => void renderReview();
    /** Shows step two (the review, with Back and Save) or step one (the editor, with Review changes). */
    const step = (reviewing: boolean) => {
      editing.hidden = next.hidden = reviewing;
      review.hidden = back.hidden = save.hidden = !reviewing;
      if (reviewing) save.focus();
      else view.focus();
    };
    const showReview = () => {
      confirm.checked = false;
      if (renderReview()) step(true);
    };
    const showEditing = () => step(false);
    next.onclick = showReview;
    back.onclick = showEditing;

    const dialog = h("dialog", { class: "form editor", "aria-label": options.title });
    const finish = (saved: boolean) => {
      view.destroy();
      dialog.close();
      dialog.remove();
      resolve(saved);
    };
    save.onclick = async () => {
      if (!pending) return;
      save.disabled = true;
      error.textContent = "";
      try {
        await options.save(pending);
        finish(true);
      } catch (err) {
        showError(err);
        save.disabled = false;
      }
    };
    replaceChildren(
      dialog,
      h("h3", null, options.title),
      options.intro,
      editing,
      review,
      error,
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => finish(false) }, "Cancel"), back, next, save),
    );
    dialog.addEventListener("cancel", (e) => {
      // Escape inside the editor leaves the editor's focus first (CodeMirror's convention), not the dialog.
      if (view.hasFocus) {
        e.preventDefault();
        select.focus();
      } else {
        finish(false);
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    showStatus(text());
    view.focus();
  });
}
