import { Permission_Type, type Permission as PermissionMessage } from "../../gen/authpb/auth_pb.js";
import { type Bytes, prefixEnd } from "../util/bytes.js";
import type { ClientContext } from "../context.js";
import { invalid, needsVersion } from "../errors.js";
import { type ResponseHeader, header } from "../header.js";
import type { CallOptions } from "../options.js";
import { type RangeOptions, resolveRange } from "../op/range.js";

/** What a permission allows. */
export type PermissionType = "read" | "write" | "readwrite";

/** A key range a role may read and/or write. */
export interface Permission {
  /** Whether the role may read, write or both in the range. */
  type: PermissionType;
  /** The single key, or the start of the range (inclusive). */
  key: Uint8Array;
  /** Range end (exclusive); empty for a single key, `\0` for "from key on". */
  end: Uint8Array;
  /** Whether the range is exactly the keys starting with `key`. */
  prefix: boolean;
}

/** A permission to grant: one key, or a range (`end`, `prefix` or `fromKey`). */
export type PermissionGrant = RangeOptions & {
  /** The single key, or the start of the range (`prefix`: the prefix itself). */
  key: Bytes;
  /** Whether the role may read, write or both in the range. */
  type: PermissionType;
};

/** A permission to revoke: the same key and range it was granted with. */
export type PermissionRevoke = RangeOptions & {
  /** The key the permission was granted for (with its `end`, `prefix` or `fromKey`). */
  key: Bytes;
};

/** What most auth calls answer: only the header. */
export interface AuthResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
}

/** Result of `auth.status()`. */
export interface AuthStatusResponse {
  /** Whether auth is on (`auth.enable()` was called and not undone). */
  enabled: boolean;
  /** Revision of the auth store: it grows with every change to users, roles, permissions and auth state. */
  authRevision: bigint;
}

/** Options of `auth.userAdd()`. */
export interface UserAddOptions {
  /** A user without a password, who authenticates with a client certificate. */
  noPassword: true;
}

/**
 * Auth administration (Go's `clientv3.Auth`). Each call resolves with the header of the member that answered; etcd's
 * refusals reject with their own kinds (`user-not-found`, `role-already-exists`, `permission-denied`, ...).
 */
export interface Auth {
  /** Turns auth on (a `root` user with the `root` role must exist). */
  enable(options?: CallOptions): Promise<AuthResponse>;
  /** Turns auth off: every request is then allowed without a token (needs the `root` role while auth is on). */
  disable(options?: CallOptions): Promise<AuthResponse>;
  /**
   * Whether auth is on, and the auth store's revision (etcd 3.5+; on 3.4 it rejects with `unimplemented`, as Go's
   * client does: a 3.4 server has no AuthStatus).
   */
  status(options?: CallOptions): Promise<AuthStatusResponse>;
  /** Gets a token (the client does this itself when given `username`/`password`). */
  authenticate(name: string, password: string, options?: CallOptions): Promise<{
    /** Header of the member that answered (with simple tokens, the only member that knows this one). */
    header: ResponseHeader;
    /** The token, sent as `token` metadata on later calls. */
    token: string;
  }>;
  /**
   * Adds a user, with no roles, and a password or `{ noPassword: true }` (a user who authenticates only with a
   * client certificate). Rejects with `user-already-exists` if the name is taken.
   */
  userAdd(name: string, password: string | UserAddOptions, options?: CallOptions): Promise<AuthResponse>;
  /** A user's roles. */
  userGet(name: string, options?: CallOptions): Promise<{
    /** Header of the member that answered. */
    header: ResponseHeader;
    /** Names of the roles granted to the user. */
    roles: string[];
  }>;
  /** Names of every user. */
  userList(options?: CallOptions): Promise<string[]>;
  /** Deletes a user (`user-not-found` if there is none). */
  userDelete(name: string, options?: CallOptions): Promise<AuthResponse>;
  /** Sets a user's password. */
  userChangePassword(name: string, password: string, options?: CallOptions): Promise<AuthResponse>;
  /** Grants a role to a user. */
  userGrantRole(user: string, role: string, options?: CallOptions): Promise<AuthResponse>;
  /** Takes a role from a user (`role-not-granted` if the user does not have it). */
  userRevokeRole(user: string, role: string, options?: CallOptions): Promise<AuthResponse>;
  /** Adds a role without permissions (`role-already-exists` if the name is taken). */
  roleAdd(name: string, options?: CallOptions): Promise<AuthResponse>;
  /** A role's permissions. */
  roleGet(name: string, options?: CallOptions): Promise<{
    /** Header of the member that answered. */
    header: ResponseHeader;
    /** The key ranges the role may read and/or write. */
    permissions: Permission[];
  }>;
  /** Names of every role. */
  roleList(options?: CallOptions): Promise<string[]>;
  /** Deletes a role; users that had it lose it. */
  roleDelete(name: string, options?: CallOptions): Promise<AuthResponse>;
  /** Lets a role read and/or write one key or a range (`end`, `prefix` or `fromKey`). */
  roleGrantPermission(role: string, permission: PermissionGrant, options?: CallOptions): Promise<AuthResponse>;
  /**
   * Removes the permission granted with exactly this key and range (`permission-not-granted` if the role has no such
   * permission).
   */
  roleRevokePermission(role: string, permission: PermissionRevoke, options?: CallOptions): Promise<AuthResponse>;
}

const permTypes: Record<PermissionType, Permission_Type> = {
  read: Permission_Type.READ,
  write: Permission_Type.WRITE,
  readwrite: Permission_Type.READWRITE,
};
const permNames: Record<number, PermissionType> = {
  [Permission_Type.READ]: "read",
  [Permission_Type.WRITE]: "write",
  [Permission_Type.READWRITE]: "readwrite",
};

function user(name: string): string {
  if (typeof name !== "string" || name === "") throw invalid("user-empty", "user name is empty");
  return name;
}
function role(name: string): string {
  if (typeof name !== "string" || name === "") throw invalid("role-empty", "role name is empty");
  return name;
}

function permission(p: PermissionMessage): Permission {
  const end = p.rangeEnd;
  const isPrefix = end.length > 0 && !(end.length === 1 && end[0] === 0) && equal(prefixEnd(p.key), end);
  return { type: permNames[p.permType] ?? "read", key: p.key, end, prefix: isPrefix };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Builds the Auth facade. @internal */
export function createAuth(ctx: ClientContext): Auth {
  const svc = ctx.services.auth;
  const done = (r: { header?: ResponseHeader }) => ({ header: header(r.header) });
  return {
    async enable(options) {
      return done(await ctx.call(options, (c) => svc.authEnable({}, c)));
    },
    async disable(options) {
      return done(await ctx.call(options, (c) => svc.authDisable({}, c)));
    },
    async status(options) {
      try {
        const r = await ctx.call(options, (c) => svc.authStatus({}, c));
        return { enabled: r.enabled, authRevision: r.authRevision };
      } catch (err) {
        throw needsVersion(err, "auth status", "3.5");
      }
    },
    async authenticate(name, password, options) {
      const r = await ctx.call(options, (c) => svc.authenticate({ name: user(name), password }, c));
      return { header: header(r.header), token: r.token };
    },
    async userAdd(name, password, options) {
      const request =
        typeof password === "string"
          ? { name: user(name), password }
          : password?.noPassword === true
            ? { name: user(name), options: { noPassword: true } }
            : undefined;
      if (request === undefined) throw new TypeError("userAdd takes a password or { noPassword: true }");
      return done(await ctx.call(options, (c) => svc.userAdd(request, c)));
    },
    async userGet(name, options) {
      const r = await ctx.call(options, (c) => svc.userGet({ name: user(name) }, c));
      return { header: header(r.header), roles: r.roles };
    },
    async userList(options) {
      return (await ctx.call(options, (c) => svc.userList({}, c))).users;
    },
    async userDelete(name, options) {
      return done(await ctx.call(options, (c) => svc.userDelete({ name: user(name) }, c)));
    },
    async userChangePassword(name, password, options) {
      return done(await ctx.call(options, (c) => svc.userChangePassword({ name: user(name), password }, c)));
    },
    async userGrantRole(u, r, options) {
      return done(await ctx.call(options, (c) => svc.userGrantRole({ user: user(u), role: role(r) }, c)));
    },
    async userRevokeRole(u, r, options) {
      return done(await ctx.call(options, (c) => svc.userRevokeRole({ name: user(u), role: role(r) }, c)));
    },
    async roleAdd(name, options) {
      return done(await ctx.call(options, (c) => svc.roleAdd({ name: role(name) }, c)));
    },
    async roleGet(name, options) {
      const r = await ctx.call(options, (c) => svc.roleGet({ role: role(name) }, c));
      return { header: header(r.header), permissions: r.perm.map(permission) };
    },
    async roleList(options) {
      return (await ctx.call(options, (c) => svc.roleList({}, c))).roles;
    },
    async roleDelete(name, options) {
      return done(await ctx.call(options, (c) => svc.roleDelete({ role: role(name) }, c)));
    },
    async roleGrantPermission(name, grant, options) {
      const permType = permTypes[grant?.type];
      if (permType === undefined) throw new TypeError(`permission type must be read, write or readwrite, got ${String(grant?.type)}`);
      const [key, rangeEnd] = resolveRange(grant.key, grant);
      const request = { name: role(name), perm: { permType, key, rangeEnd } };
      return done(await ctx.call(options, (c) => svc.roleGrantPermission(request, c)));
    },
    async roleRevokePermission(name, revoke, options) {
      const [key, rangeEnd] = resolveRange(revoke.key, revoke);
      const request = { role: role(name), key, rangeEnd };
      return done(await ctx.call(options, (c) => svc.roleRevokePermission(request, c)));
    },
  };
}
