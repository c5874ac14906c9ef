import { Code } from "@connectrpc/connect";
import { needsNewToken } from "../auth/tokens.js";
import type { EtcdError } from "../errors.js";

/**
 * Whether a broken watch stream should end its watchers instead of
 * reconnecting (Go's `isHaltErr`, widened for Connect): connection trouble,
 * server restarts and leader changes reconnect; a refused token reconnects
 * when the client can get a new one; refusals that a new stream would get
 * again end the watch.
 */
export function endsWatch(err: EtcdError, requireLeader: boolean, canReauthenticate: boolean): boolean {
  if (err.kind === "no-leader") return requireLeader;
  if (needsNewToken(err)) return !canReauthenticate;
  switch (err.code) {
    case Code.PermissionDenied:
    case Code.Unauthenticated:
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
    case Code.Unimplemented:
      return true;
    default:
      return false;
  }
}
