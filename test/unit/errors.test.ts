import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EtcdError } from "../../src/index.js";

describe("EtcdError.from", () => {
  it("maps etcd's message strings to kinds, whatever the code says", () => {
    const e = EtcdError.from(new ConnectError("etcdserver: mvcc: required revision has been compacted", Code.OutOfRange));
    expect([e.kind, e.code, e.rawMessage]).toEqual(["compacted", Code.OutOfRange, "etcdserver: mvcc: required revision has been compacted"]);
    expect(EtcdError.from(new ConnectError("etcdserver: no leader", Code.Unavailable)).kind).toBe("no-leader");
    expect(EtcdError.from(new ConnectError("etcdserver: permission denied", Code.PermissionDenied)).kind).toBe("permission-denied");
  });

  it("maps a server-side deadline (Unknown: context deadline exceeded) to deadline-exceeded", () => {
    const e = EtcdError.from(new ConnectError("context deadline exceeded", Code.Unknown));
    expect([e.kind, e.code]).toEqual(["deadline-exceeded", Code.DeadlineExceeded]);
  });

  it("falls back to the gRPC code for unknown messages", () => {
    expect(EtcdError.from(new ConnectError("connect ECONNREFUSED", Code.Unavailable)).kind).toBe("unavailable");
    expect(EtcdError.from(new ConnectError("boom", Code.DataLoss)).kind).toBe("unknown");
  });

  it("turns abort reasons into canceled or deadline-exceeded, keeping the reason as cause", () => {
    const reason = new Error("user went away");
    const ac = new AbortController();
    ac.abort(reason);
    const e = EtcdError.aborted(ac.signal);
    expect([e.kind, e.cause]).toEqual(["canceled", reason]);
    const t = EtcdError.from(new DOMException("timed out", "TimeoutError"));
    expect(t.kind).toBe("deadline-exceeded");
  });

  it("reads etcd's messages inside watch cancel reasons, with or without Go's status wrapping", () => {
    expect(EtcdError.fromMessage("rpc error: code = PermissionDenied desc = etcdserver: permission denied")?.kind).toBe(
      "permission-denied",
    );
    expect(EtcdError.fromMessage("mvcc: watcher range is empty")?.kind).toBe("invalid-range");
    expect(EtcdError.fromMessage("something else")).toBeUndefined();
  });

  it("returns EtcdErrors as they are and wraps anything else as unknown", () => {
    const e = new EtcdError("closed", Code.Canceled, "closed");
    expect(EtcdError.from(e)).toBe(e);
    expect(EtcdError.from("weird")).toMatchObject({ kind: "unknown", code: Code.Unknown });
  });
});
