// The auth view: status, users with their roles, roles with their permissions. Every change asks first.
import type { Permission, PermissionType } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren, type Child } from "../dom.js";
import { displayKey, utf8 } from "../format.js";
import { confirmAction, formDialog, showInfo } from "../ui.js";
import { ConsoleError } from "../errors.js";

/** A permission's key range as etcdctl shows it: a key, `prefix*`, `[key, end)` or `key..` (from key on). */
export function describeRange(p: Permission): string {
  if (p.end.length === 0) return displayKey(p.key);
  if (p.prefix) return `${displayKey(p.key)}*`;
  if (p.end.length === 1 && p.end[0] === 0) return `${displayKey(p.key)} and after`;
  return `[${displayKey(p.key)}, ${displayKey(p.end)})`;
}

/** Mounts the view; the returned function unmounts it. */
export function authView(app: App, root: HTMLElement): () => void {
  const status = h("div", { "data-testid": "auth-status" }, "loading…");
  const users = h("tbody");
  const roles = h("tbody");
  let stopped = false;

  /** Runs a change after confirmation, then reloads. */
  const change = async (title: string, question: Child, run: () => Promise<unknown>, label = "Confirm") => {
    if (!(await confirmAction(title, h("p", null, question), label))) return;
    await run();
    showInfo(`${title}: done`);
    void load();
  };
  /** A form whose submit confirms, then applies the change. */
  const form = (title: string, fields: Parameters<typeof formDialog>[1], describe: (v: Record<string, string>) => string, run: (v: Record<string, string>) => Promise<unknown>) =>
    void formDialog(title, fields, async (values) => {
      if (!(await confirmAction(title, h("p", null, describe(values)), "Apply", false))) throw new Error("Not applied.");
      await run(values);
      showInfo(`${title}: done`);
      void load();
    }, "Continue");
  const guarded = (fn: () => Promise<void>) => () => void fn().catch((err: unknown) => app.handleError(err));

  const load = async () => {
    try {
      const auth = app.client.auth;
      // etcd 3.4 has no AuthStatus: its state is then unknown, and both buttons are offered.
      const st = await auth.status().catch((err: unknown) => {
        if ((err as { kind?: string }).kind === "unimplemented") return undefined;
        throw err;
      });
      const [userNames, roleNames] = await Promise.all([auth.userList(), auth.roleList()]);
      const userRoles = await Promise.all(userNames.map((u) => auth.userGet(u).then((r) => r.roles)));
      const rolePerms = await Promise.all(roleNames.map((r) => auth.roleGet(r).then((x) => x.permissions)));
      if (stopped) return;
      replaceChildren(
        status,
        st === undefined
          ? h("span", { class: "state idle" }, "authentication state unknown (etcd 3.4 cannot report it)")
          : h("span", { class: `state ${st.enabled ? "ready" : "idle"}` }, st.enabled ? "authentication enabled" : "authentication disabled"),
        st?.authRevision ? h("span", { class: "muted" }, ` auth revision ${st.authRevision}`) : null,
        " ",
        st?.enabled !== false
          ? h("button", { class: "danger", onclick: guarded(() => change("Disable authentication", "Disable authentication? Every client gets full access.", () => auth.disable(), "Disable")) }, "Disable")
          : null,
        st?.enabled !== true
          ? h("button", { onclick: guarded(() => change("Enable authentication", "Enable authentication? Clients must then sign in; the root user must exist.", () => auth.enable(), "Enable")) }, "Enable")
          : null,
      );
      replaceChildren(
        users,
        userNames.map((u, i) =>
          h(
            "tr",
            { "data-user": u },
            h("td", null, u),
            h("td", null, userRoles[i]!.map((r) => h("span", { class: "chip" }, r, h("button", { class: "link", title: `revoke ${r}`, onclick: guarded(() => change("Revoke role", `Revoke role ${r} from ${u}?`, () => auth.userRevokeRole(u, r), "Revoke")) }, "×")))),
            h(
              "td",
              null,
              h("button", { onclick: () => form("Grant role", [{ name: "role", label: "Role", type: "select", options: roleNames }], (v) => `Grant role ${v.role} to ${u}?`, (v) => auth.userGrantRole(u, v.role ?? "")) }, "Grant role"),
              h("button", {
                onclick: () =>
                  void formDialog(`Change the password of ${u}`, [
                    { name: "password", label: "New password", type: "password", required: true },
                    { name: "again", label: "The same again", type: "password", required: true },
                  ], async (v) => {
                    if (v.password !== v.again) throw new ConsoleError("passwords-differ", "The two passwords differ.");
                    await auth.userChangePassword(u, v.password ?? "");
                    showInfo(`Changed the password of ${u}`);
                    // Our own password: sign in again with the new one, so new tokens keep coming.
                    if (app.user === u) app.setCredentials({ username: u, password: v.password ?? "" });
                  }, "Change"),
              }, "Password"),
              h("button", { class: "danger", onclick: guarded(() => change("Delete user", `Delete user ${u}?`, () => auth.userDelete(u), "Delete")) }, "Delete"),
            ),
          ),
        ),
        userNames.length === 0 ? h("tr", null, h("td", { colspan: 3, class: "muted" }, "No users.")) : null,
      );
      replaceChildren(
        roles,
        roleNames.map((r, i) =>
          h(
            "tr",
            { "data-role": r },
            h("td", null, r),
            h(
              "td",
              null,
              rolePerms[i]!.length === 0 && r !== "root" ? h("span", { class: "muted" }, "none") : null,
              r === "root" ? h("span", { class: "muted" }, "everything") : null,
              rolePerms[i]!.map((p) =>
                h("span", { class: "chip" }, h("strong", null, p.type), " ", describeRange(p), h("button", { class: "link", title: "revoke", onclick: guarded(() => change("Revoke permission", `Revoke ${p.type} on ${describeRange(p)} from role ${r}?`, () => auth.roleRevokePermission(r, p.end.length ? { key: p.key, end: p.end } : { key: p.key }), "Revoke")) }, "×")),
              ),
            ),
            h(
              "td",
              null,
              h("button", {
                onclick: () =>
                  form(
                    "Grant permission",
                    [
                      { name: "type", label: "Access", type: "select", options: ["read", "write", "readwrite"], value: "read" },
                      { name: "key", label: "Key", required: true },
                      { name: "range", label: "Applies to", type: "select", options: ["keys with this prefix", "this key only"], value: "keys with this prefix" },
                    ],
                    (v) => `Grant ${v.type} on ${v.key}${v.range === "this key only" ? "" : "*"} to role ${r}?`,
                    (v) => auth.roleGrantPermission(r, { key: utf8(v.key ?? ""), type: (v.type ?? "read") as PermissionType, prefix: v.range !== "this key only" }),
                  ),
              }, "Grant permission"),
              h("button", { class: "danger", onclick: guarded(() => change("Delete role", `Delete role ${r}?`, () => auth.roleDelete(r), "Delete")) }, "Delete"),
            ),
          ),
        ),
        roleNames.length === 0 ? h("tr", null, h("td", { colspan: 3, class: "muted" }, "No roles.")) : null,
      );
    } catch (err) {
      if (!stopped) app.handleError(err, "reading auth");
    }
  };

  replaceChildren(
    root,
    h(
      "div",
      { class: "auth-view" },
      h("div", { class: "toolbar" }, h("h2", null, "Authentication"), status),
      h("h3", null, "Users ", h("button", { onclick: () => form("Add user", [{ name: "name", label: "Name", required: true }, { name: "password", label: "Password", type: "password" }], (v) => `Add user ${v.name}?`, (v) => app.client.auth.userAdd(v.name ?? "", v.password ?? "")) }, "Add user")),
      h("table", { class: "grid", "data-testid": "users" }, h("thead", null, h("tr", null, h("th", null, "User"), h("th", null, "Roles"), h("th", null, ""))), users),
      h("h3", null, "Roles ", h("button", { onclick: () => form("Add role", [{ name: "name", label: "Name", required: true }], (v) => `Add role ${v.name}?`, (v) => app.client.auth.roleAdd(v.name ?? "")) }, "Add role")),
      h("table", { class: "grid", "data-testid": "roles" }, h("thead", null, h("tr", null, h("th", null, "Role"), h("th", null, "Permissions"), h("th", null, ""))), roles),
    ),
  );
  void load();
  return () => {
    stopped = true;
  };
}
