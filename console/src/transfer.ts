// Export and import of keys as JSON: a prefix (or everything) read at one revision, values as UTF-8 text or base64
// (marked per key); an import is compared with etcd first (a dry run) and applied in txns of at most 128 puts.
import { op, prefixEnd, type Client } from "etcd-connect";
import { asText, bytesEqual, concat, displayKey } from "./format.js";

/** The file format, version 1. */
export interface ExportFile {
  format: "etcd-connect-export";
  version: 1;
  /** The revision every key was read at. */
  revision: string;
  /** The exported prefix ("" for everything), as text. */
  prefix: string;
  keys: ExportedKey[];
}

/** One key: key and value as UTF-8 text, or base64 where they are not text. */
export interface ExportedKey {
  key: string;
  value: string;
  keyEncoding?: "base64";
  valueEncoding?: "base64";
}

/** Puts per txn when importing (below etcd's default limit of 128 ops per txn). */
export const IMPORT_TXN_OPS = 128;
const PAGE = 500;

const toBase64 = (b: Uint8Array) => btoa(Array.from(b, (c) => String.fromCharCode(c)).join(""));
const fromBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const encoder = new TextEncoder();

/** Reads every key under `prefix` (everything when empty), page by page at one revision. */
export async function exportKeys(client: Client, prefix: Uint8Array, signal?: AbortSignal): Promise<ExportFile> {
  const end = prefix.length > 0 ? prefixEnd(prefix) : new Uint8Array([0]);
  let from = prefix.length > 0 ? prefix : new Uint8Array([0]);
  let revision: bigint | undefined;
  const keys: ExportedKey[] = [];
  for (;;) {
    const r = await client.get(from, { end, limit: PAGE, revision, signal });
    revision ??= r.header.revision;
    for (const kv of r.kvs) {
      const k = asText(kv.key);
      const v = asText(kv.value);
      keys.push({
        key: k ?? toBase64(kv.key),
        value: v ?? toBase64(kv.value),
        ...(k === undefined ? { keyEncoding: "base64" as const } : {}),
        ...(v === undefined ? { valueEncoding: "base64" as const } : {}),
      });
    }
    const last = r.kvs.at(-1);
    if (!r.more || last === undefined) break;
    from = concat(last.key, new Uint8Array([0]));
  }
  return { format: "etcd-connect-export", version: 1, revision: String(revision ?? 0n), prefix: displayKey(prefix), keys };
}

/** One key of an import, with what applying it would do. */
export interface ImportItem {
  key: Uint8Array;
  value: Uint8Array;
  action: "create" | "change" | "same";
}

/** Reads an export file; throws a TypeError that says what is wrong with it. */
export function parseExport(text: string): { key: Uint8Array; value: Uint8Array }[] {
  let file: Partial<ExportFile>;
  try {
    file = JSON.parse(text) as Partial<ExportFile>;
  } catch {
    throw new TypeError("the file is not JSON");
  }
  if (file?.format !== "etcd-connect-export" || file.version !== 1 || !Array.isArray(file.keys)) {
    throw new TypeError("the file is not an etcd-connect export (format etcd-connect-export, version 1)");
  }
  return file.keys.map((k, i) => {
    if (typeof k?.key !== "string" || typeof k.value !== "string" || k.key === "") throw new TypeError(`key ${i + 1} of the file has no key or value`);
    try {
      return {
        key: k.keyEncoding === "base64" ? fromBase64(k.key) : encoder.encode(k.key),
        value: k.valueEncoding === "base64" ? fromBase64(k.value) : encoder.encode(k.value),
      };
    } catch {
      throw new TypeError(`key ${i + 1} of the file is not valid base64`);
    }
  });
}

/** The dry run: each key with whether importing it creates, changes or leaves it. */
export async function planImport(client: Client, entries: { key: Uint8Array; value: Uint8Array }[]): Promise<ImportItem[]> {
  const plan: ImportItem[] = [];
  for (let i = 0; i < entries.length; i += IMPORT_TXN_OPS) {
    const batch = entries.slice(i, i + IMPORT_TXN_OPS);
    // One txn of gets per batch: the current values at one revision.
    const r = await client.txn({ success: batch.map((e) => op.get(e.key)) });
    batch.forEach((e, j) => {
      const res = r.responses[j];
      const now = res?.type === "get" ? res.response.kvs[0] : undefined;
      plan.push({ ...e, action: now === undefined ? "create" : bytesEqual(now.value, e.value) ? "same" : "change" });
    });
  }
  return plan;
}

/** Applies a plan: the creates and changes, in txns of at most {@link IMPORT_TXN_OPS} puts. Returns keys written. */
export async function applyImport(client: Client, plan: readonly ImportItem[]): Promise<number> {
  const writes = plan.filter((p) => p.action !== "same");
  for (let i = 0; i < writes.length; i += IMPORT_TXN_OPS) {
    await client.txn({ success: writes.slice(i, i + IMPORT_TXN_OPS).map((w) => op.put(w.key, w.value)) });
  }
  return writes.length;
}
