import { type Bytes, prefixEnd, toBytes, zeroKey } from "../util/bytes.js";
import { invalid } from "../errors.js";

/** How a key argument extends to a range of keys. Set at most one of the three. */
export interface RangeOptions {
  /** Every key that starts with the key (an empty key: every key). */
  prefix?: boolean;
  /** Every key from the key up to, not including, `end`. */
  end?: Bytes;
  /** Every key greater than or equal to the key (an empty key: every key). */
  fromKey?: boolean;
}

/**
 * Resolves a key and its range options to etcd's `key`/`range_end` pair,
 * like Go's `WithPrefix`, `WithFromKey` and `WithRange`.
 * @throws EtcdError `empty-key` for an empty key without `prefix`/`fromKey`;
 *   TypeError when more than one range option is set.
 */
export function resolveRange(key: Bytes, options: RangeOptions | undefined): [Uint8Array, Uint8Array] {
  const k = toBytes(key, "key");
  const prefix = options?.prefix === true;
  const fromKey = options?.fromKey === true;
  const end = options?.end;
  if (Number(prefix) + Number(fromKey) + Number(end !== undefined) > 1) {
    throw new TypeError("set at most one of prefix, end and fromKey");
  }
  if (prefix) return k.length === 0 ? [zeroKey(), zeroKey()] : [k, prefixEnd(k)];
  if (fromKey) return [k.length === 0 ? zeroKey() : k, zeroKey()];
  if (k.length === 0) throw invalid("empty-key", "key is empty (use prefix or fromKey with an empty key for all keys)");
  return [k, end === undefined ? EMPTY : toBytes(end, "end")];
}

/** Shared empty byte array; protobuf-es never writes into field values. */
export const EMPTY = new Uint8Array(0);
