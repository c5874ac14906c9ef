// Auth error kinds from a real auth-enabled etcd. The auth API itself and
// automatic tokens come with later work; here a token is attached with an
// interceptor and obtained with the generated Auth client.
import { type Interceptor, createClient as createServiceClient } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { Auth } from "../gen/etcdserverpb/rpc_pb.js";
import { EtcdError, createClient, createNodeTransport } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
const root = ["--user", "root:rootpw"];

beforeAll(async () => {
  await etcd.etcdctl(["user", "add", "root", "--new-user-password", "rootpw"]);
  await etcd.etcdctl(["role", "add", "reader"]);
  await etcd.etcdctl(["role", "grant-permission", "reader", "read", "app/", "--prefix=true"]);
  await etcd.etcdctl(["user", "add", "alice", "--new-user-password", "alicepw"]);
  await etcd.etcdctl(["user", "grant-role", "alice", "reader"]);
  await etcd.etcdctl(["auth", "enable"]);
  await etcd.etcdctl([...root, "put", "app/x", "inside"]);
});

function authService() {
  const transport = createNodeTransport(etcd.endpoint, { readMaxBytes: 1 << 30, writeMaxBytes: 1 << 30, interceptors: [], keepAliveTimeMs: 0, keepAliveTimeoutMs: 1000 });
  return { auth: createServiceClient(Auth, transport), close: () => transport.close?.() };
}

function withToken(token: string) {
  const attach: Interceptor = (next) => (req) => {
    req.header.set("token", token);
    return next(req);
  };
  return createClient({ endpoints: [etcd.endpoint], interceptors: [attach] });
}

describe("auth errors", () => {
  it("maps a wrong password to auth-failed", async () => {
    const { auth, close } = authService();
    try {
      const err = await auth.authenticate({ name: "alice", password: "nope" }).catch((e) => EtcdError.from(e));
      expect(err).toMatchObject({ kind: "auth-failed" });
    } finally {
      close();
    }
  });

  it("maps requests without a token to user-empty and bad tokens to invalid-auth-token", async () => {
    const anonymous = createClient({ endpoints: [etcd.endpoint] });
    const bogus = withToken("not-a-token");
    try {
      await expect(anonymous.get("app/x")).rejects.toMatchObject({ kind: "user-empty" });
      await expect(bogus.get("app/x")).rejects.toMatchObject({ kind: "invalid-auth-token" });
    } finally {
      anonymous.close();
      bogus.close();
    }
  });

  it("maps reads outside the role's prefix and writes to permission-denied", async () => {
    const { auth, close } = authService();
    const { token } = await auth.authenticate({ name: "alice", password: "alicepw" });
    close();
    const alice = withToken(token);
    try {
      const inside = await alice.get("app/x");
      expect(new TextDecoder().decode(inside.kvs[0]!.value)).toBe("inside");
      await expect(alice.get("other/x")).rejects.toMatchObject({ kind: "permission-denied" });
      await expect(alice.put("app/x", "write")).rejects.toMatchObject({ kind: "permission-denied" });
      // A watch outside the role's range ends with permission-denied; inside it works.
      const outside = alice.watch("other/", { prefix: true });
      await expect(outside[Symbol.asyncIterator]().next()).rejects.toMatchObject({ kind: "permission-denied" });
      const allowed = alice.watch("app/", { prefix: true, createdNotify: true });
      expect((await allowed[Symbol.asyncIterator]().next()).value.created).toBe(true);
      allowed.close();
      expect(await etcd.etcdctl([...root, "get", "app/x", "--print-value-only"])).toBe("inside\n");
    } finally {
      alice.close();
    }
  });
});
