import { describe, expect, it } from "vitest";
import { prefixEnd, text, toBytes } from "../../src/util/bytes.js";
import { toInt64 } from "../../src/util/int64.js";

describe("bytes", () => {
  it("encodes strings as UTF-8 and passes Uint8Array through", () => {
    expect(toBytes("ké")).toEqual(new Uint8Array([0x6b, 0xc3, 0xa9]));
    const raw = new Uint8Array([1, 2, 3]);
    expect(toBytes(raw)).toBe(raw);
    expect(text(new Uint8Array([0x6b, 0xc3, 0xa9]))).toBe("ké");
  });

  it("rejects other key types with a TypeError", () => {
    expect(() => toBytes(42 as unknown as string, "key")).toThrow(TypeError);
    expect(() => toBytes(null as unknown as string, "key")).toThrow(/key must be a string or Uint8Array, got null/);
  });

  it("computes prefix range ends like Go's GetPrefixRangeEnd", () => {
    expect(prefixEnd("abc")).toEqual(toBytes("abd"));
    expect(prefixEnd(new Uint8Array([0x61, 0xff]))).toEqual(new Uint8Array([0x62]));
    expect(prefixEnd(new Uint8Array([0x01, 0xfe, 0xff, 0xff]))).toEqual(new Uint8Array([0x01, 0xff]));
    // No key sorts after every 0xff... key: fall back to "from key".
    expect(prefixEnd(new Uint8Array([0xff, 0xff]))).toEqual(new Uint8Array([0]));
    expect(prefixEnd("")).toEqual(new Uint8Array([0]));
  });

  it("does not modify the prefix it is given", () => {
    const p = new Uint8Array([5, 6]);
    prefixEnd(p);
    expect(p).toEqual(new Uint8Array([5, 6]));
  });
});

describe("int64", () => {
  it("accepts bigints and safe integers", () => {
    expect(toInt64(5, "x")).toBe(5n);
    expect(toInt64(2n ** 62n, "x")).toBe(2n ** 62n);
  });
  it("rejects non-integers with TypeError and out-of-range values with RangeError", () => {
    expect(() => toInt64(1.5, "revision")).toThrow(TypeError);
    expect(() => toInt64(Number.MAX_SAFE_INTEGER + 1, "revision")).toThrow(TypeError);
    expect(() => toInt64("5" as unknown as number, "revision")).toThrow(TypeError);
    expect(() => toInt64(-1, "revision", 0n)).toThrow(RangeError);
    expect(() => toInt64(2n ** 63n, "revision")).toThrow(RangeError);
  });
});
