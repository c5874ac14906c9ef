// What an edited value is written in (JSON, YAML, plain text or hex), whether it is valid, and its formatted form.
// Part of the editor chunk: `yaml` (the npm package) is loaded only when the editor opens.
import { parser as jsonParser } from "@lezer/json";
import { parseDocument } from "yaml";

/** The syntaxes the editor knows. Hex is for binary values: pairs of hex digits, whitespace ignored. */
export type ValueSyntax = "json" | "yaml" | "text" | "hex";

/** Where a value is invalid: a message, and a 1-based line and column with offsets for the editor to mark. */
export interface SyntaxProblem {
  message: string;
  line: number;
  column: number;
  from: number;
  to: number;
}

/** Line and column (1-based) of an offset in `text`. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function problem(text: string, message: string, from: number, to = from): SyntaxProblem {
  const at = Math.max(0, Math.min(from, text.length));
  return { message, ...position(text, at), from: at, to: Math.max(at, Math.min(to, text.length)) };
}

/**
 * Where JSON goes wrong, from the Lezer JSON grammar the editor highlights with: engines word JSON.parse errors
 * differently and JavaScriptCore (Safari, Bun) gives no position at all. The text's end when the grammar finds none.
 */
function jsonErrorOffset(text: string): number {
  let at = -1;
  jsonParser.parse(text).iterate({
    enter: (node) => {
      if (at >= 0) return false;
      if (node.type.isError) at = node.from;
      return undefined;
    },
  });
  return at >= 0 ? at : text.length;
}

/** The first problem with `text` as `syntax`, or undefined when it is valid (text is always valid). */
export function checkSyntax(text: string, syntax: ValueSyntax): SyntaxProblem | undefined {
  if (syntax === "json") {
    try {
      JSON.parse(text);
      return undefined;
    } catch (err) {
      const offset = jsonErrorOffset(text);
      // The position is given as line and column by the caller: drop the engine's own wording of it.
      const reason = (err as Error).message.replace(/\s*(?:\(|in JSON |)at (?:position|line) \d+.*$/s, "").replace(/^(?:JSON\.parse: |JSON Parse error: )/, "");
      return problem(text, `Not valid JSON: ${reason}`, offset, offset + 1);
    }
  }
  if (syntax === "yaml") {
    const doc = parseDocument(text, { prettyErrors: false });
    const err = doc.errors[0];
    if (!err) return undefined;
    return problem(text, `Not valid YAML: ${err.message.split("\n")[0]}`, err.pos[0], err.pos[1]);
  }
  if (syntax === "hex") {
    const bad = /[^0-9a-fA-F\s]/.exec(text);
    if (bad) return problem(text, `Not hex: "${bad[0]}" is not a hex digit`, bad.index, bad.index + 1);
    if (text.replace(/\s+/g, "").length % 2 !== 0) return problem(text, "Not hex: an odd number of digits (write pairs)", text.length);
  }
  return undefined;
}

/** `text` formatted in its syntax (JSON indented by 2, YAML in the yaml package's layout); unchanged for text and hex. Throws on invalid input. */
export function formatSyntax(text: string, syntax: ValueSyntax): string {
  if (syntax === "json") return JSON.stringify(JSON.parse(text), null, 2);
  if (syntax === "yaml") {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toString();
  }
  return text;
}

/**
 * The syntax a stored value is read as: JSON when it parses as a JSON object or array, YAML when it is a mapping or a
 * sequence in YAML's block style (so a one-line "a: b" or plain prose is text), text when it is UTF-8, else hex.
 */
export function detectSyntax(text: string | undefined): ValueSyntax {
  if (text === undefined) return "hex";
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      JSON.parse(t);
      return "json";
    } catch {
      // Not JSON: maybe YAML's flow style, or text.
    }
  }
  if (!t.includes("\n") && !t.startsWith("---")) return "text";
  const doc = parseDocument(t);
  if (doc.errors.length > 0) return "text";
  const contents = doc.contents as { items?: unknown[] } | null;
  return contents && Array.isArray(contents.items) && contents.items.length > 0 ? "yaml" : "text";
}
