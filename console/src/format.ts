// How keys, values, sizes, IDs and durations are shown.

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** What a value looks like, which picks its default viewer. */
export type ValueKind = "json" | "text" | "binary";

/** The bytes as text, or undefined when they are not UTF-8 or hold control characters other than whitespace. */
export function asText(bytes: Uint8Array): string | undefined {
  let s: string;
  try {
    s = strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(s) ? undefined : s;
}

/** JSON values pretty-printed, or undefined when the text is not a JSON object or array. */
export function asJson(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return undefined;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return undefined;
  }
}

/** The viewer a value opens in. */
export function valueKind(bytes: Uint8Array): ValueKind {
  const text = asText(bytes);
  if (text === undefined) return "binary";
  return asJson(text) === undefined ? "text" : "json";
}

/** A classic hex dump (offset, 16 bytes in hex, printable ASCII) of at most `max` bytes. */
export function hexDump(bytes: Uint8Array, max = 64 * 1024): string {
  const n = Math.min(bytes.length, max);
  const lines: string[] = [];
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      const b = row[i];
      hex += b === undefined ? "   " : b.toString(16).padStart(2, "0") + " ";
      if (i === 7) hex += " ";
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
    }
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex} |${ascii}|`);
  }
  if (bytes.length > n) lines.push(`... ${bytes.length - n} more bytes`);
  return lines.join("\n");
}

/** A key for display: its text when printable, else text with `\xNN` escapes. */
export function displayKey(bytes: Uint8Array): string {
  const text = asText(bytes);
  if (text !== undefined) return text;
  let out = "";
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return out;
}

/** A short one-line preview of a value. */
export function preview(bytes: Uint8Array, max = 80): string {
  const text = asText(bytes);
  const s = text === undefined ? `<${formatSize(bytes.length)} binary>` : text.replace(/\s+/g, " ");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A byte count as B, KiB, MiB or GiB. */
export function formatSize(n: number | bigint): string {
  let v = Number(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** etcd IDs (members, leases) the way etcdctl prints them: lowercase hex. */
export function hexId(id: bigint): string {
  return id.toString(16);
}

/** Parses a lease or member ID typed as hex, as shown (an optional `0x` is allowed); undefined if it is not one. */
export function parseHexId(s: string): bigint | undefined {
  const t = s.trim().toLowerCase().replace(/^0x/, "");
  if (!/^[0-9a-f]{1,16}$/.test(t)) return undefined;
  return BigInt(`0x${t}`);
}

/** Seconds as `1h 02m 03s`, `2m 05s` or `7s`. */
export function formatTtl(seconds: number): string {
  if (seconds < 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${String(s).padStart(2, "0")}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Encodes key bytes for a URL fragment: UTF-8 text percent-encoded, any byte sequence round-trips. */
export function encodeKeyParam(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~/]/.test(c) ? c : `%${b.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return out;
}

/** The inverse of {@link encodeKeyParam}. */
export function decodeKeyParam(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "%" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of encoder.encode(c)) out.push(b);
    }
  }
  return new Uint8Array(out);
}

/** Whether two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-wise order, as etcd sorts keys: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Whether `key` starts with `prefix`. */
export function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/** `a` followed by `b`. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
