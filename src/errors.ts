import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A stable, kebab-case name for every error etcd can return, plus the
 * client-side conditions (`canceled`, `deadline-exceeded`, `unavailable`, ...).
 * Kinds are part of the API contract: match on `kind`, not on messages.
 */
export type EtcdErrorKind =
  // Request validation (client or server side)
  | "empty-key"
  | "key-not-found"
  | "value-provided"
  | "lease-provided"
  | "ttl-zero"
  | "too-many-ops"
  | "duplicate-key"
  | "invalid-sort-option"
  | "invalid-range"
  | "request-too-large"
  | "response-too-large"
  | "too-many-requests"
  // MVCC
  | "compacted"
  | "future-revision"
  | "no-space"
  // Leases
  | "lease-not-found"
  | "lease-exists"
  | "lease-ttl-too-large"
  | "lease-expired"
  // Concurrency recipes
  | "locked"
  // Membership
  | "member-exists"
  | "peer-url-exists"
  | "member-not-enough-started"
  | "member-bad-urls"
  | "member-not-found"
  | "member-not-learner"
  | "learner-not-ready"
  | "too-many-learners"
  | "cluster-id-mismatch"
  // Auth
  | "root-user-not-exist"
  | "root-role-not-exist"
  | "user-already-exists"
  | "user-empty"
  | "user-not-found"
  | "role-already-exists"
  | "role-not-found"
  | "role-empty"
  | "auth-failed"
  | "permission-not-given"
  | "permission-denied"
  | "role-not-granted"
  | "permission-not-granted"
  | "auth-not-enabled"
  | "invalid-auth-token"
  | "invalid-auth-management"
  | "auth-old-revision"
  // Cluster state
  | "no-leader"
  | "not-leader"
  | "leader-changed"
  | "not-capable"
  | "server-stopped"
  | "timeout"
  | "timeout-due-to-leader-fail"
  | "timeout-due-to-connection-lost"
  | "timeout-wait-applied-index"
  | "unhealthy-cluster"
  | "corrupt-cluster"
  | "not-supported-for-learner"
  | "bad-leader-transferee"
  // Downgrade
  | "cluster-version-unavailable"
  | "wrong-downgrade-version-format"
  | "invalid-downgrade-target-version"
  | "downgrade-in-process"
  | "no-inflight-downgrade"
  // Client side and generic gRPC conditions
  | "canceled"
  | "deadline-exceeded"
  | "unavailable"
  | "closed"
  | "unauthenticated"
  | "unimplemented"
  | "internal"
  | "unknown";

type Entry = readonly [EtcdErrorKind, Code];

/** etcd's error messages (server `rpctypes`), by exact message text. */
// Stored without etcd's "etcdserver: " prefix (see lookup()); the other entries are Go's own messages.
const byMessage = new Map<string, Entry>([
  ["key is not provided", ["empty-key", Code.InvalidArgument]],
  ["key not found", ["key-not-found", Code.InvalidArgument]],
  ["value is provided", ["value-provided", Code.InvalidArgument]],
  ["lease is provided", ["lease-provided", Code.InvalidArgument]],
  ["ttl is 0", ["ttl-zero", Code.InvalidArgument]],
  ["too many operations in txn request", ["too-many-ops", Code.InvalidArgument]],
  ["duplicate key given in txn request", ["duplicate-key", Code.InvalidArgument]],
  ["invalid sort option", ["invalid-sort-option", Code.InvalidArgument]],
  ["mvcc: required revision has been compacted", ["compacted", Code.OutOfRange]],
  ["mvcc: required revision is a future revision", ["future-revision", Code.OutOfRange]],
  ["mvcc: database space exceeded", ["no-space", Code.ResourceExhausted]],
  ["requested lease not found", ["lease-not-found", Code.NotFound]],
  ["lease already exists", ["lease-exists", Code.FailedPrecondition]],
  ["too large lease TTL", ["lease-ttl-too-large", Code.OutOfRange]],
  ["member ID already exist", ["member-exists", Code.FailedPrecondition]],
  ["Peer URLs already exists", ["peer-url-exists", Code.FailedPrecondition]],
  [
    "re-configuration failed due to not enough started members",
    ["member-not-enough-started", Code.FailedPrecondition],
  ],
  ["given member URLs are invalid", ["member-bad-urls", Code.InvalidArgument]],
  ["member not found", ["member-not-found", Code.NotFound]],
  ["can only promote a learner member", ["member-not-learner", Code.FailedPrecondition]],
  [
    "can only promote a learner member which is in sync with leader",
    ["learner-not-ready", Code.FailedPrecondition],
  ],
  ["too many learner members in cluster", ["too-many-learners", Code.FailedPrecondition]],
  ["cluster ID mismatch", ["cluster-id-mismatch", Code.FailedPrecondition]],
  ["request is too large", ["request-too-large", Code.InvalidArgument]],
  ["too many requests", ["too-many-requests", Code.ResourceExhausted]],
  ["root user does not exist", ["root-user-not-exist", Code.FailedPrecondition]],
  ["root user does not have root role", ["root-role-not-exist", Code.FailedPrecondition]],
  ["user name already exists", ["user-already-exists", Code.FailedPrecondition]],
  ["user name is empty", ["user-empty", Code.InvalidArgument]],
  ["user name not found", ["user-not-found", Code.FailedPrecondition]],
  ["role name already exists", ["role-already-exists", Code.FailedPrecondition]],
  ["role name not found", ["role-not-found", Code.FailedPrecondition]],
  ["role name is empty", ["role-empty", Code.InvalidArgument]],
  [
    "authentication failed, invalid user ID or password",
    ["auth-failed", Code.InvalidArgument],
  ],
  ["permission not given", ["permission-not-given", Code.InvalidArgument]],
  ["permission denied", ["permission-denied", Code.PermissionDenied]],
  ["role is not granted to the user", ["role-not-granted", Code.FailedPrecondition]],
  [
    "permission is not granted to the role",
    ["permission-not-granted", Code.FailedPrecondition],
  ],
  ["authentication is not enabled", ["auth-not-enabled", Code.FailedPrecondition]],
  ["invalid auth token", ["invalid-auth-token", Code.Unauthenticated]],
  ["invalid auth management", ["invalid-auth-management", Code.InvalidArgument]],
  ["revision of auth store is old", ["auth-old-revision", Code.InvalidArgument]],
  ["no leader", ["no-leader", Code.Unavailable]],
  ["not leader", ["not-leader", Code.FailedPrecondition]],
  ["leader changed", ["leader-changed", Code.Unavailable]],
  ["not capable", ["not-capable", Code.Unavailable]],
  ["server stopped", ["server-stopped", Code.Unavailable]],
  ["request timed out", ["timeout", Code.Unavailable]],
  [
    "request timed out, possibly due to previous leader failure",
    ["timeout-due-to-leader-fail", Code.Unavailable],
  ],
  [
    "request timed out, possibly due to connection lost",
    ["timeout-due-to-connection-lost", Code.Unavailable],
  ],
  [
    "request timed out, waiting for the applied index took too long",
    ["timeout-wait-applied-index", Code.Unavailable],
  ],
  ["unhealthy cluster", ["unhealthy-cluster", Code.Unavailable]],
  ["corrupt cluster", ["corrupt-cluster", Code.DataLoss]],
  ["rpc not supported for learner", ["not-supported-for-learner", Code.Unavailable]],
  ["bad leader transferee", ["bad-leader-transferee", Code.FailedPrecondition]],
  [
    "cluster version not found during downgrade",
    ["cluster-version-unavailable", Code.Unavailable],
  ],
  [
    "wrong downgrade target version format",
    ["wrong-downgrade-version-format", Code.InvalidArgument],
  ],
  [
    "invalid downgrade target version",
    ["invalid-downgrade-target-version", Code.InvalidArgument],
  ],
  ["cluster has a downgrade job in progress", ["downgrade-in-process", Code.FailedPrecondition]],
  ["no inflight downgrade job", ["no-inflight-downgrade", Code.FailedPrecondition]],
  ["request canceled", ["canceled", Code.Canceled]],
  ["mvcc: watcher range is empty", ["invalid-range", Code.InvalidArgument]],
  // A server-side deadline (from grpc-timeout) comes back as Unknown with Go's context message.
  ["context deadline exceeded", ["deadline-exceeded", Code.DeadlineExceeded]],
  ["context canceled", ["canceled", Code.Canceled]],
]);

/** etcd's entry for a message, with or without its "etcdserver: " prefix. */
function lookup(message: string): Entry | undefined {
  return byMessage.get(message.startsWith("etcdserver: ") ? message.slice(12) : message);
}

/** Kinds for gRPC codes when the message is not one of etcd's own. */
const byCode: Partial<Record<Code, EtcdErrorKind>> = {
  [Code.Canceled]: "canceled",
  [Code.DeadlineExceeded]: "deadline-exceeded",
  [Code.Unavailable]: "unavailable",
  [Code.PermissionDenied]: "permission-denied",
  [Code.Unauthenticated]: "unauthenticated",
  [Code.Unimplemented]: "unimplemented",
  [Code.Internal]: "internal",
};

/** Options of the {@link EtcdError} constructor. */
export interface EtcdErrorOptions {
  /** The underlying error or abort reason. */
  cause?: unknown;
  /** For `compacted`: the revision the store was compacted at, when known. */
  compactRevision?: bigint;
  /** Response headers and trailers that came with the error, when any. */
  metadata?: Headers;
}

/**
 * The one error class of etcd-connect. `kind` is a stable name for the
 * condition (`"compacted"`, `"no-leader"`, `"canceled"`, ...); `code` is the
 * gRPC status code as Connect's `Code`.
 */
export class EtcdError extends Error {
  /** Always `"EtcdError"`, so logs and `err.name` checks tell it from other errors. */
  override name = "EtcdError";
  /** The gRPC status code. */
  readonly code: Code;
  /** A stable kebab-case name for the condition. */
  readonly kind: EtcdErrorKind;
  /** The message as the server (or the client-side check) gave it, without decoration. */
  readonly rawMessage: string;
  /** For `compacted`: the revision the store was compacted at, when known. */
  readonly compactRevision?: bigint;
  /** Response headers and trailers that came with the error. */
  readonly metadata: Headers;

  constructor(kind: EtcdErrorKind, code: Code, message: string, options: EtcdErrorOptions = {}) {
    super(`[${kind}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = code;
    this.rawMessage = message;
    this.metadata = options.metadata ?? new Headers();
    if (options.compactRevision !== undefined) this.compactRevision = options.compactRevision;
  }

  /**
   * Normalises anything thrown by a call into an `EtcdError`: Connect errors
   * are mapped by etcd's message text first, then by code; abort reasons
   * become `canceled` (or `deadline-exceeded` for a `TimeoutError`).
   */
  static from(reason: unknown): EtcdError {
    if (reason instanceof EtcdError) return reason;
    if (reason instanceof ConnectError) return fromConnectError(reason);
    if (isAbortReason(reason)) return fromAbortReason(reason);
    const message = reason instanceof Error ? reason.message : String(reason);
    return new EtcdError("unknown", Code.Unknown, message, { cause: reason });
  }

  /**
   * The error for one of etcd's error messages (as in a watch's
   * `cancel_reason`), with or without the `etcdserver: ` prefix; undefined
   * when the message is not one of etcd's.
   */
  static fromMessage(message: string): EtcdError | undefined {
    // etcd 3.4 puts Go's formatted status in cancel reasons: "rpc error: code = X desc = <message>".
    const desc = /^rpc error: code = \w+ desc = ([^]*)$/.exec(message)?.[1] ?? message;
    const known = lookup(desc);
    return known && new EtcdError(known[0], known[1], desc);
  }

  /** An error for a caller's aborted signal, carrying its reason as `cause`. */
  static aborted(signal: AbortSignal): EtcdError {
    return fromAbortReason(signal.reason);
  }
}

function fromConnectError(err: ConnectError): EtcdError {
  const known = lookup(err.rawMessage);
  const options = { cause: err, metadata: err.metadata };
  if (known) return new EtcdError(known[0], known[1], err.rawMessage, options);
  if (err.code === Code.ResourceExhausted) {
    // Size limits: Connect's own writeMaxBytes/readMaxBytes checks, or grpc-go's.
    if (/writeMaxBytes|larger than max \(\d+ vs\. \d+\)$/.test(err.rawMessage) && /received message/.test(err.rawMessage)) {
      return new EtcdError("request-too-large", err.code, err.rawMessage, options);
    }
    if (/writeMaxBytes/.test(err.rawMessage)) {
      return new EtcdError("request-too-large", err.code, err.rawMessage, options);
    }
    if (/readMaxBytes/.test(err.rawMessage)) {
      return new EtcdError("response-too-large", err.code, err.rawMessage, options);
    }
  }
  if (isAbortReason(err.cause)) return fromAbortReason(err.cause);
  return new EtcdError(byCode[err.code] ?? "unknown", err.code, err.rawMessage, options);
}

function isAbortReason(reason: unknown): boolean {
  return (
    typeof reason === "object" &&
    reason !== null &&
    "name" in reason &&
    (reason.name === "AbortError" || reason.name === "TimeoutError")
  );
}

function fromAbortReason(reason: unknown): EtcdError {
  const timeout = typeof reason === "object" && reason !== null && "name" in reason && reason.name === "TimeoutError";
  const message = reason instanceof Error ? reason.message : reason === undefined ? "the operation was aborted" : String(reason);
  return timeout
    ? new EtcdError("deadline-exceeded", Code.DeadlineExceeded, message, { cause: reason })
    : new EtcdError("canceled", Code.Canceled, message, { cause: reason });
}

/** A client-side validation error with the kind and code etcd would give it. */
export function invalid(kind: EtcdErrorKind, message: string): EtcdError {
  return new EtcdError(kind, kind === "request-too-large" ? Code.ResourceExhausted : Code.InvalidArgument, message);
}

/**
 * The error of a call the server may not know: `reason` as an EtcdError, and when the server answered that it has
 * no such method (gRPC's `unknown method ...`/`unknown service ...`), one that says which etcd release `what`
 * needs (e.g. `needsVersion(err, "auth status", "3.5")`).
 */
export function needsVersion(reason: unknown, what: string, version: string): EtcdError {
  const e = EtcdError.from(reason);
  if (e.code !== Code.Unimplemented || !/unknown (method|service)/.test(e.rawMessage)) return e;
  return new EtcdError("unimplemented", Code.Unimplemented, `${what} needs etcd ${version} or later; this server does not have it`, { cause: e });
}
