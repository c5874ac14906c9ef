import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, text } from "../src/index.js";
import { etcdAtLeast, useEtcd } from "./harness/etcd.js";

const etcd = useEtcd();
let admin: Client;
beforeAll(async () => {
  admin = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => admin?.close());

describe("auth administration", () => {
  it("checks names and permission types before sending", async () => {
    await expect(admin.auth.userAdd("", "pw")).rejects.toMatchObject({ kind: "user-empty" });
    await expect(admin.auth.roleAdd("")).rejects.toMatchObject({ kind: "role-empty" });
    await expect(admin.auth.roleGrantPermission("r", { key: "k", type: "admin" as "read" })).rejects.toBeInstanceOf(TypeError);
    await expect(admin.auth.userAdd("x", 5 as unknown as string)).rejects.toBeInstanceOf(TypeError);
    await expect(admin.auth.enable()).rejects.toMatchObject({ kind: "root-user-not-exist" });
  });
  it("reports auth status with the auth store's revision on etcd 3.5+, and needs 3.5 on 3.4", async () => {
    if (!etcdAtLeast("3.5")) {
      await expect(admin.auth.status()).rejects.toMatchObject({ kind: "unimplemented", rawMessage: "auth status needs etcd 3.5 or later; this server does not have it" });
      return;
    }
    const before = await admin.auth.status();
    expect(before.enabled).toBe(false);
    await admin.auth.roleAdd("status-probe");
    const after = await admin.auth.status();
    expect(after).toEqual({ enabled: false, authRevision: before.authRevision + 1n });
    await admin.auth.roleDelete("status-probe");
    expect((await admin.auth.status()).authRevision).toBe(before.authRevision + 2n);
  });
  it("manages users, roles and permissions, enables auth, and enforces it", async () => {
    await admin.auth.userAdd("root", "rootpw");
    await admin.auth.roleAdd("root");
    await admin.auth.userGrantRole("root", "root");
    await admin.auth.roleAdd("reader");
    await admin.auth.roleGrantPermission("reader", { key: "app/", prefix: true, type: "read" });
    await admin.auth.roleGrantPermission("reader", { key: "one", type: "readwrite" });
    await admin.auth.roleGrantPermission("reader", { key: "x", end: "z", type: "write" });
    await admin.auth.userAdd("bob", "bobpw");
    await admin.auth.userGrantRole("bob", "reader");
    await admin.auth.userAdd("certuser", { noPassword: true });

    expect((await admin.auth.userList()).sort()).toEqual(["bob", "certuser", "root"]);
    expect((await admin.auth.roleList()).sort()).toEqual(["reader", "root"]);
    expect((await admin.auth.userGet("bob")).roles).toEqual(["reader"]);
    const perms = (await admin.auth.roleGet("reader")).permissions.map((p) => ({ type: p.type, key: text(p.key), end: text(p.end), prefix: p.prefix }));
    expect(perms).toEqual(
      expect.arrayContaining([
        { type: "read", key: "app/", end: "app0", prefix: true },
        { type: "readwrite", key: "one", end: "", prefix: false },
        { type: "write", key: "x", end: "z", prefix: false },
      ]),
    );
    expect(await etcd.etcdctl(["role", "get", "reader"])).toMatch(/\[app\/, app0\) \(prefix app\/\)/);

    await admin.put("app/x", "inside");
    await admin.put("secret", "outside");
    await admin.auth.enable();
    const root = await connect({ endpoints: etcd.endpoints, username: "root", password: "rootpw" });
    const bob = await connect({ endpoints: etcd.endpoints, username: "bob", password: "bobpw" });
    try {
      if (etcdAtLeast("3.5")) expect(await root.auth.status()).toMatchObject({ enabled: true });
      expect(text((await bob.get("app/x")).kvs[0]!.value)).toBe("inside");
      await expect(bob.get("secret")).rejects.toMatchObject({ kind: "permission-denied" });
      await expect(bob.put("app/x", "write")).rejects.toMatchObject({ kind: "permission-denied" });
      await bob.put("one", "bob may write here");
      const { token } = await root.auth.authenticate("bob", "bobpw");
      expect(token.length).toBeGreaterThan(0);
      await expect(root.auth.authenticate("bob", "wrong")).rejects.toMatchObject({ kind: "auth-failed" });

      await root.auth.roleRevokePermission("reader", { key: "app/", prefix: true });
      await expect(bob.get("app/x")).rejects.toMatchObject({ kind: "permission-denied" });
      await root.auth.userRevokeRole("bob", "reader");
      expect((await root.auth.userGet("bob")).roles).toEqual([]);
      await root.auth.userChangePassword("bob", "newpw");
      await expect(root.auth.authenticate("bob", "bobpw")).rejects.toMatchObject({ kind: "auth-failed" });
      expect((await root.auth.authenticate("bob", "newpw")).token.length).toBeGreaterThan(0);
      await root.auth.userDelete("bob");
      await root.auth.userDelete("certuser");
      await root.auth.roleDelete("reader");
      expect((await root.auth.userList()).sort()).toEqual(["root"]);
      await expect(root.auth.userGet("bob")).rejects.toMatchObject({ kind: "user-not-found" });
      await expect(root.auth.roleGet("reader")).rejects.toMatchObject({ kind: "role-not-found" });
      await expect(root.auth.roleAdd("root")).rejects.toMatchObject({ kind: "role-already-exists" });

      await root.auth.disable();
      if (etcdAtLeast("3.5")) expect(await admin.auth.status()).toMatchObject({ enabled: false });
      expect(text((await admin.get("secret")).kvs[0]!.value)).toBe("outside");
    } finally {
      root.close();
      bob.close();
    }
  });

});
