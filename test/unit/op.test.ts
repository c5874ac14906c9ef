import { describe, expect, it } from "vitest";
import { Compare_CompareResult, Compare_CompareTarget, RangeRequest_SortOrder, RangeRequest_SortTarget } from "../../gen/etcdserverpb/rpc_pb.js";
import { EtcdError, compare, op, toBytes } from "../../src/index.js";

const bytes = (s: string) => toBytes(s);

describe("op builders", () => {
  it("resolve prefix, fromKey and end like Go's op options", () => {
    expect(op.get("a/", { prefix: true }).request.rangeEnd).toEqual(bytes("a0"));
    const all = op.get("", { prefix: true }).request;
    expect([all.key, all.rangeEnd]).toEqual([new Uint8Array([0]), new Uint8Array([0])]);
    const from = op.get("m", { fromKey: true }).request;
    expect([from.key, from.rangeEnd]).toEqual([bytes("m"), new Uint8Array([0])]);
    expect(op.get("a", { end: "c" }).request.rangeEnd).toEqual(bytes("c"));
    expect(op.delete("", { fromKey: true }).request.key).toEqual(new Uint8Array([0]));
  });

  it("reject an empty key without prefix/fromKey with an empty-key EtcdError", () => {
    for (const build of [() => op.get(""), () => op.put("", "v"), () => op.delete(""), () => op.get("", { end: "z" })]) {
      const err = catchError(build);
      expect(err).toBeInstanceOf(EtcdError);
      expect(err).toMatchObject({ kind: "empty-key" });
    }
  });

  it("reject conflicting range options and bad numbers", () => {
    expect(() => op.get("a", { prefix: true, end: "b" })).toThrow(TypeError);
    expect(() => op.get("a", { limit: -1 })).toThrow(RangeError);
    expect(() => op.get("a", { revision: 1.5 })).toThrow(TypeError);
    expect(() => op.get("a", { revision: -3n })).toThrow(RangeError);
    expect(() => op.get("a", { minModRevision: Number.NaN })).toThrow(TypeError);
    expect(() => op.put("a", "v", { lease: -1 })).toThrow(RangeError);
    expect(() => op.get("a", { sort: { target: "size" as "key" } })).toThrow(TypeError);
  });

  it("reject a value with ignoreValue and a lease with ignoreLease", () => {
    expect(catchError(() => op.put("a", "v", { ignoreValue: true }))).toMatchObject({ kind: "value-provided" });
    expect(catchError(() => op.put("a", "", { ignoreLease: true, lease: 5 }))).toMatchObject({ kind: "lease-provided" });
  });

  it("map sort options, dropping ascend-by-key like Go's WithSort", () => {
    const byMod = op.get("a", { prefix: true, sort: { target: "mod", order: "descend" } }).request;
    expect([byMod.sortTarget, byMod.sortOrder]).toEqual([RangeRequest_SortTarget.MOD, RangeRequest_SortOrder.DESCEND]);
    const byKey = op.get("a", { prefix: true, sort: { target: "key", order: "ascend" } }).request;
    expect(byKey.sortOrder).toBe(RangeRequest_SortOrder.NONE);
  });

  it("nest txns and reject foreign objects in branches", () => {
    const inner = op.txn({ success: [op.get("x")] });
    const outer = op.txn({ compare: [compare.version("x", ">", 0)], success: [inner], failure: [op.put("x", "1")] });
    expect(outer.request.success[0]!.request.case).toBe("requestTxn");
    expect(outer.request.failure[0]!.request.case).toBe("requestPut");
    expect(() => op.txn({ success: [{ kind: "get" } as never] })).toThrow(TypeError);
    expect(() => op.txn({ compare: [{ key: "a" } as never] })).toThrow(TypeError);
  });

  it("has no property named then on ops (a thenable breaks await)", () => {
    const o = op.get("a");
    expect("then" in o).toBe(false);
    expect("then" in op).toBe(false);
  });
});

describe("compare builders", () => {
  it("build each target with operators and ranges", () => {
    const c = compare.value("k", "!=", "v", { prefix: true });
    expect(c.target).toBe(Compare_CompareTarget.VALUE);
    expect(c.result).toBe(Compare_CompareResult.NOT_EQUAL);
    expect(c.rangeEnd).toEqual(bytes("l"));
    expect(compare.version("k", "=", 0).targetUnion).toEqual({ case: "version", value: 0n });
    expect(compare.createRevision("k", "<", 7n).target).toBe(Compare_CompareTarget.CREATE);
    expect(compare.modRevision("k", ">", 7).result).toBe(Compare_CompareResult.GREATER);
    expect(compare.lease("k", "=", 0).targetUnion.case).toBe("lease");
  });

  it("reject unknown operators and empty keys", () => {
    expect(() => compare.value("k", "==" as "=", "v")).toThrow(TypeError);
    expect(catchError(() => compare.version("", "=", 1))).toMatchObject({ kind: "empty-key" });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}
