import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../gen/etcdserverpb/rpc_pb.js";
import { isRepeatable, isUnavailable, neverSent, shouldRetry } from "../../src/transport/retry-policy.js";

const refused = new ConnectError("connect ECONNREFUSED 127.0.0.1:2379", Code.Unavailable, undefined, undefined, Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
const reset = new ConnectError("read ECONNRESET", Code.Aborted, undefined, undefined, Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
const streamCanceled = new ConnectError("stream closed with RST_STREAM CANCEL", Code.Canceled);
const etcd = (message: string, code: Code) => new ConnectError(message, code);
const noLeader = etcd("etcdserver: no leader", Code.Unavailable);
const leaderChanged = etcd("etcdserver: leader changed", Code.Unavailable);
const timeout = etcd("etcdserver: request timed out", Code.Unavailable);
const stopped = etcd("etcdserver: server stopped", Code.Unavailable);
const compacted = etcd("etcdserver: mvcc: required revision has been compacted", Code.OutOfRange);
const denied = etcd("etcdserver: permission denied", Code.PermissionDenied);
const deadline = new ConnectError("the operation timed out", Code.DeadlineExceeded);

const repeatable = [
  "etcdserverpb.KV/Range",
  "etcdserverpb.KV/RangeStream",
  "etcdserverpb.Watch/Watch",
  "etcdserverpb.Lease/LeaseKeepAlive",
  "etcdserverpb.Lease/LeaseGrant",
  "etcdserverpb.Lease/LeaseRevoke",
  "etcdserverpb.Lease/LeaseTimeToLive",
  "etcdserverpb.Lease/LeaseLeases",
  "etcdserverpb.Cluster/MemberList",
  "etcdserverpb.Maintenance/Alarm",
  "etcdserverpb.Maintenance/Status",
  "etcdserverpb.Maintenance/Hash",
  "etcdserverpb.Maintenance/HashKV",
  "etcdserverpb.Maintenance/Snapshot",
  "etcdserverpb.Maintenance/MoveLeader",
  "etcdserverpb.Auth/AuthStatus",
  "etcdserverpb.Auth/Authenticate",
  "etcdserverpb.Auth/UserGet",
  "etcdserverpb.Auth/UserList",
  "etcdserverpb.Auth/RoleGet",
  "etcdserverpb.Auth/RoleList",
];
const nonRepeatable = [
  "etcdserverpb.KV/Put",
  "etcdserverpb.KV/DeleteRange",
  "etcdserverpb.KV/Txn",
  "etcdserverpb.KV/Compact",
  "etcdserverpb.Cluster/MemberAdd",
  "etcdserverpb.Cluster/MemberRemove",
  "etcdserverpb.Cluster/MemberUpdate",
  "etcdserverpb.Cluster/MemberPromote",
  "etcdserverpb.Maintenance/Defragment",
  "etcdserverpb.Maintenance/Downgrade",
  "etcdserverpb.Auth/AuthEnable",
  "etcdserverpb.Auth/AuthDisable",
  "etcdserverpb.Auth/UserAdd",
  "etcdserverpb.Auth/UserDelete",
  "etcdserverpb.Auth/UserChangePassword",
  "etcdserverpb.Auth/UserGrantRole",
  "etcdserverpb.Auth/UserRevokeRole",
  "etcdserverpb.Auth/RoleAdd",
  "etcdserverpb.Auth/RoleDelete",
  "etcdserverpb.Auth/RoleGrantPermission",
  "etcdserverpb.Auth/RoleRevokePermission",
];
const ask = (method: string, error: unknown, extra: { retryWrites?: boolean; callerAborted?: boolean } = {}) =>
  shouldRetry({ method, error, retryWrites: extra.retryWrites ?? false, callerAborted: extra.callerAborted ?? false });

describe("retry policy (Go's retry.go)", () => {
  it("classifies every RPC as repeatable or not", () => {
    for (const m of repeatable) expect(isRepeatable(m), m).toBe(true);
    for (const m of nonRepeatable) expect(isRepeatable(m), m).toBe(false);
    // The lists above cover every generated method, so a new RPC shows up here too.
    const generated = [KV, Watch, Lease, Cluster, Maintenance, Auth].flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    expect([...repeatable, ...nonRepeatable].sort()).toEqual(generated.sort());
  });

  it("retries repeatable RPCs on every kind of unavailability", () => {
    for (const m of repeatable) {
      for (const err of [refused, reset, streamCanceled, noLeader, leaderChanged, timeout, stopped]) {
        expect(ask(m, err), `${m} ${err.rawMessage}`).toBe(true);
      }
    }
  });

  it("retries writes only when the request never reached a server", () => {
    for (const m of nonRepeatable) {
      expect(ask(m, refused), m).toBe(true);
      for (const err of [reset, streamCanceled, noLeader, leaderChanged, timeout, stopped, deadline]) {
        expect(ask(m, err), `${m} ${err.rawMessage}`).toBe(false);
      }
    }
  });

  it("retries an opted-in write like a repeatable RPC", () => {
    expect(ask("etcdserverpb.KV/Put", timeout, { retryWrites: true })).toBe(true);
    expect(ask("etcdserverpb.KV/Txn", reset, { retryWrites: true })).toBe(true);
    expect(ask("etcdserverpb.KV/Put", compacted, { retryWrites: true })).toBe(false);
  });

  it("never retries errors that a retry would get again, or deadlines", () => {
    for (const m of [...repeatable, ...nonRepeatable]) {
      for (const err of [compacted, denied, deadline, new Error("boom")]) expect(ask(m, err), `${m}`).toBe(false);
    }
  });

  it("never retries after the caller aborted, whatever the error", () => {
    for (const err of [refused, reset, noLeader]) {
      expect(ask("etcdserverpb.KV/Range", err, { callerAborted: true })).toBe(false);
      expect(ask("etcdserverpb.KV/Put", err, { callerAborted: true, retryWrites: true })).toBe(false);
    }
  });

  it("tells connection refusal from connection loss", () => {
    expect(neverSent(refused)).toBe(true);
    // The text alone is no proof (it may come from anywhere, e.g. a proxy's status message): only a typed cause.
    expect(neverSent(new ConnectError("[unavailable] connect ECONNREFUSED 127.0.0.1:1", Code.Unavailable))).toBe(false);
    expect(neverSent(reset)).toBe(false);
    expect(neverSent(noLeader)).toBe(false);
    // A stream the server refused unprocessed (GOAWAY, REFUSED_STREAM), as the HTTP/2 transport (grpc-h2/) reports it.
    const goaway = Object.assign(new Error("the server sent GOAWAY NGHTTP2_NO_ERROR"), { code: "ERR_HTTP2_REFUSED_STREAM" });
    const refusedStream = new ConnectError(goaway.message, Code.Unavailable, undefined, undefined, goaway);
    expect(neverSent(refusedStream)).toBe(true);
    expect(ask("etcdserverpb.KV/Put", refusedStream)).toBe(true); // a write too: etcd never saw it
    expect(isUnavailable(streamCanceled, false)).toBe(true);
    expect(isUnavailable(streamCanceled, true)).toBe(false); // the caller's own cancel
  });
});
