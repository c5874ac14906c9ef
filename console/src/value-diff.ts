// A line diff of two values for the history view: JSON values are pretty-printed first, so a one-line JSON
// document diffs by field; binary values diff as hex dumps. The diff itself is jsdiff's (`diff` on npm).
import { diffLines } from "diff";
import { asJson, asText, hexDump } from "./format.js";

/** One run of the diff: lines only in `from` (removed), only in `to` (added), or in both. */
export interface DiffPart {
  kind: "same" | "added" | "removed";
  text: string;
}

/** The text a value is diffed as, and how it was read. */
function comparable(value: Uint8Array): string {
  const text = asText(value);
  if (text === undefined) return hexDump(value);
  return asJson(text) ?? text;
}

/** Lines of `from` and `to`, as runs that are the same, removed or added. */
export function diffValues(from: Uint8Array, to: Uint8Array): DiffPart[] {
  return diffLines(comparable(from), comparable(to)).map((c) => ({ kind: c.added ? "added" : c.removed ? "removed" : "same", text: c.value }));
}
