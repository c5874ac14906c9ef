/**
 * int64 inputs: `bigint`, or a `number` that is a safe integer.
 * Every int64 in a response is a `bigint`.
 */

/** An int64 input: a `bigint`, or a `number` that is a safe integer. */
export type Int64 = bigint | number;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Checks an int64 option and returns it as a `bigint`.
 * @throws TypeError when it is not an integer; RangeError when it is below `min`
 *   or outside the int64 range.
 */
export function toInt64(value: Int64, name: string, min: bigint = INT64_MIN): bigint {
  let n: bigint;
  if (typeof value === "bigint") {
    n = value;
  } else if (typeof value === "number" && Number.isSafeInteger(value)) {
    n = BigInt(value);
  } else {
    throw new TypeError(`${name} must be a bigint or a safe integer number, got ${String(value)}`);
  }
  if (n < min || n > INT64_MAX) {
    throw new RangeError(
      `${name} must be ${min === 0n ? "a non-negative" : "an"} int64 (${min} to ${INT64_MAX}), got ${n}`,
    );
  }
  return n;
}

/** Like {@link toInt64} for uint64 identifiers (member and cluster IDs). */
export function toUint64(value: Int64, name: string): bigint {
  const n = typeof value === "bigint" ? value : toInt64(value, name, 0n);
  if (n < 0n || n > UINT64_MAX) throw new RangeError(`${name} must be a uint64, got ${n}`);
  return n;
}
