// Errors in plain words, with the etcd error kind next to them.
import { EtcdError } from "etcd-connect";

const PLAIN: Record<string, string> = {
  unavailable: "etcd cannot be reached through the proxy right now.",
  "deadline-exceeded": "etcd took too long to answer.",
  "permission-denied": "You are not allowed to do this (etcd refused it).",
  "auth-failed": "Wrong user name or password.",
  "user-empty": "etcd has authentication on: sign in first.",
  "invalid-auth-token": "Your session is no longer valid: sign in again.",
  compacted: "That revision is gone: etcd has compacted its history past it.",
  "future-revision": "That revision does not exist yet.",
  "lease-not-found": "That lease does not exist (it expired or was revoked).",
  "no-space": "etcd is out of space (a NOSPACE alarm is raised): compact, defragment, then disarm the alarm.",
  "no-leader": "The cluster has no leader at the moment.",
  "request-too-large": "The request is larger than etcd accepts.",
  "empty-key": "A key cannot be empty.",
  "user-already-exists": "A user with that name already exists.",
  "role-already-exists": "A role with that name already exists.",
  "user-not-found": "There is no such user.",
  "role-not-found": "There is no such role.",
  "root-user-not-exist": "Authentication needs a root user first.",
  "root-role-not-exist": "Authentication needs the root user to have the root role.",
  "auth-not-enabled": "Authentication is not enabled.",
  unauthenticated: "etcd did not accept the credentials: sign in again.",
  "key-exists": "A key with that name already exists.",
  "key-changed": "The key changed since you opened it: reload it and edit again.",
  canceled: "The request was cancelled.",
  closed: "The connection was closed.",
};

/** An error the console itself raises, with a kind like etcd's (e.g. `key-exists` when a create finds the key). */
export class ConsoleError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = "ConsoleError";
  }
}

/** A message for people: plain words, etcd's own message, and the kind for searching. */
export function describeError(err: unknown): { text: string; kind: string; detail: string } {
  if (err instanceof EtcdError) {
    return { text: PLAIN[err.kind] ?? err.message, kind: err.kind, detail: err.message };
  }
  if (err instanceof ConsoleError) return { text: PLAIN[err.kind] ?? err.message, kind: err.kind, detail: err.message };
  if (err instanceof Error) return { text: err.message, kind: err.name, detail: err.message };
  return { text: String(err), kind: "error", detail: String(err) };
}

/** The error's etcd kind, or undefined for other errors. */
export function kindOf(err: unknown): string | undefined {
  return err instanceof EtcdError ? err.kind : undefined;
}

/** Whether the error means "sign in (again)". */
export function needsLogin(err: unknown): boolean {
  const kind = kindOf(err);
  return kind === "user-empty" || kind === "invalid-auth-token";
}
