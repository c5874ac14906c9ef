// Export and import of keys: a prefix (or everything) read at one revision, written as this console's JSON (values
// as UTF-8 text or base64, marked per key), as `etcdctl get --prefix` prints it (text), or as `etcdctl get --prefix
// -w json` prints it. Imports read either JSON; they are compared with etcd first (a dry run) and applied in txns of
// at most 128 puts.
import { op, prefixEnd, type Client, type KeyValue, type ResponseHeader } from "etcd-connect";
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

/** Export formats: this console's JSON, `etcdctl get --prefix`'s text, and `etcdctl get --prefix -w json`. */
export type ExportFormat = "json" | "etcdctl" | "etcdctl-json";

/** Every key under a prefix at one revision, with the header of the first read. */
export interface KeysAtRevision {
  header: ResponseHeader;
  kvs: KeyValue[];
}

/** Reads every key under `prefix` (everything when empty), page by page at one revision. */
export async function readKeys(client: Client, prefix: Uint8Array, signal?: AbortSignal): Promise<KeysAtRevision> {
  const end = prefix.length > 0 ? prefixEnd(prefix) : new Uint8Array([0]);
  let from = prefix.length > 0 ? prefix : new Uint8Array([0]);
  let header: ResponseHeader | undefined;
  const kvs: KeyValue[] = [];
  for (;;) {
    const r = await client.get(from, { end, limit: PAGE, revision: header?.revision, signal });
    header ??= r.header;
    kvs.push(...r.kvs);
    const last = r.kvs.at(-1);
    if (!r.more || last === undefined) break;
    from = concat(last.key, new Uint8Array([0]));
  }
  return { header: header!, kvs };
}

/** This console's export file of keys read by {@link readKeys}. */
export function toExportFile({ header, kvs }: KeysAtRevision, prefix: Uint8Array): ExportFile {
  const keys = kvs.map((kv): ExportedKey => {
    const k = asText(kv.key);
    const v = asText(kv.value);
    return {
      key: k ?? toBase64(kv.key),
      value: v ?? toBase64(kv.value),
      ...(k === undefined ? { keyEncoding: "base64" as const } : {}),
      ...(v === undefined ? { valueEncoding: "base64" as const } : {}),
    };
  });
  return { format: "etcd-connect-export", version: 1, revision: String(header.revision), prefix: displayKey(prefix), keys };
}

/**
 * What `etcdctl get --prefix` prints (its default "simple" output): each key, then its value, each followed by a
 * newline, as raw bytes. Made for reading and diffing; a value holding a newline cannot be told apart on import.
 */
export function toEtcdctlText({ kvs }: KeysAtRevision): Uint8Array {
  const newline = new Uint8Array([0x0a]);
  return concatAll(kvs.flatMap((kv) => [kv.key, newline, kv.value, newline]));
}

/**
 * What `etcdctl get --prefix -w json` prints: the header and the keys with base64 keys and values, numbers as JSON
 * numbers (int64 digits written as they are), fields that are zero left out, as etcdctl's JSON does.
 */
export function toEtcdctlJson({ header, kvs }: KeysAtRevision): string {
  const fields = (pairs: Array<[string, string | bigint]>) =>
    `{${pairs.filter(([, v]) => v !== 0n && v !== "").map(([k, v]) => `"${k}":${typeof v === "bigint" ? v.toString() : JSON.stringify(v)}`).join(",")}}`;
  const head = fields([["cluster_id", header.clusterId], ["member_id", header.memberId], ["revision", header.revision], ["raft_term", header.raftTerm]]);
  const items = kvs.map((kv) =>
    fields([
      ["key", toBase64(kv.key)],
      ["create_revision", kv.createRevision],
      ["mod_revision", kv.modRevision],
      ["version", kv.version],
      ["value", toBase64(kv.value)],
      ["lease", kv.lease],
    ]),
  );
  return `{"header":${head},"kvs":[${items.join(",")}],"count":${kvs.length}}\n`;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One key of an import, with what applying it would do. */
export interface ImportItem {
  key: Uint8Array;
  value: Uint8Array;
  action: "create" | "change" | "same";
}

/**
 * Reads an export file: this console's JSON, or `etcdctl get -w json` output (base64 keys and values). Throws a
 * TypeError that says what is wrong with it.
 */
export function parseExport(text: string): { key: Uint8Array; value: Uint8Array }[] {
  let file: Partial<ExportFile> & { kvs?: unknown; header?: unknown };
  try {
    file = JSON.parse(text) as typeof file;
  } catch {
    throw new TypeError("the file is not JSON");
  }
  if (file && typeof file.header === "object" && (file.kvs === undefined || Array.isArray(file.kvs)) && file.format === undefined) {
    return parseEtcdctlJson((file.kvs ?? []) as unknown[]);
  }
  if (file?.format !== "etcd-connect-export" || file.version !== 1 || !Array.isArray(file.keys)) {
    throw new TypeError("the file is neither an etcd-connect export (format etcd-connect-export, version 1) nor etcdctl's JSON (etcdctl get -w json)");
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

/** The keys of `etcdctl get -w json` output: `key` and `value` in base64 (an empty value is left out). */
function parseEtcdctlJson(kvs: unknown[]): { key: Uint8Array; value: Uint8Array }[] {
  return kvs.map((kv, i) => {
    const { key, value = "" } = (kv ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== "string" || key === "" || typeof value !== "string") throw new TypeError(`key ${i + 1} of the file has no key or value`);
    try {
      return { key: fromBase64(key), value: fromBase64(value) };
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
