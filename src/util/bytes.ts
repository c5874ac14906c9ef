/**
 * Keys and values: `string | Uint8Array` in (strings are UTF-8), `Uint8Array` out.
 */

/** A key or value as accepted by every call: a UTF-8 string or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The one-byte key `\0`: as a range end it means "to the end of the keyspace". */
const ZERO = 0;

/**
 * Converts a key or value to bytes. Strings are encoded as UTF-8; a
 * `Uint8Array` is returned as is (not copied).
 */
export function toBytes(value: Bytes, what = "value"): Uint8Array {
  if (typeof value === "string") {
    // A lone surrogate has no UTF-8 form: TextEncoder would write U+FFFD, and "\ud800" and "\udc00" would be one key.
    // String.prototype.isWellFormed (ES2024): in every engine this client supports (Node 20, Chrome 111,
    // Firefox 119, Safari 16.4, Deno, Bun, workerd); typed by hand while the lib is ES2022.
    if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) throw new TypeError(`${what} is not well-formed UTF-16 (it holds a lone surrogate), so it has no UTF-8 form`);
    return encoder.encode(value);
  }
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`${what} must be a string or Uint8Array, got ${describe(value)}`);
}

/** Decodes UTF-8 bytes (a key or value from a response) to a string. */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * The range end that covers every key starting with `prefix`, computed like
 * Go's `clientv3.GetPrefixRangeEnd`: the last byte below 0xff is incremented
 * and the rest dropped. A prefix of only 0xff bytes (or an empty one) has no
 * such end, so the result is `\0`: "every key from the start key on".
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const key = toBytes(prefix, "prefix");
  for (let i = key.length - 1; i >= 0; i--) {
    if (key[i]! < 0xff) {
      const end = key.slice(0, i + 1);
      end[i]! += 1;
      return end;
    }
  }
  return new Uint8Array([ZERO]);
}

/** A new `\0` key; fresh each time so callers may not alias each other's arrays. */
export function zeroKey(): Uint8Array {
  return new Uint8Array([ZERO]);
}

/** Short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
