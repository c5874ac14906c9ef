import { type Interceptor, type StreamResponse, type Transport, createClient } from "@connectrpc/connect";
import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import { EtcdError, type EtcdErrorKind } from "../errors.js";
import type { Log } from "../log.js";

/** etcd's answers that a new token fixes (Go's clientv3 refreshes on the same). */
const refreshKinds = new Set<EtcdErrorKind>(["invalid-auth-token", "auth-old-revision", "user-empty"]);

/** Whether an error is one a fresh token fixes. */
export function needsNewToken(err: unknown): boolean {
  return refreshKinds.has(EtcdError.from(err).kind);
}

/**
 * Auth tokens for a user, one per endpoint (etcd's simple tokens are only
 * known to the member that issued them), fetched on first use.
 * @internal
 */
export interface TokenStore {
  /** The interceptor for one endpoint's transport: adds `token`, refreshes and retries unary calls once. */
  interceptor(endpoint: string, transport: () => Transport): Interceptor;
  /** Forgets the endpoint's token: the next call gets a new one (before a stream reopens). */
  forget(endpoint: string): void;
}

interface Entry {
  promise: Promise<string | undefined>;
  settled: boolean;
  /** The token; undefined when auth is not enabled on that member (send none). */
  value?: string | undefined;
}

/** Creates a {@link TokenStore} for `username`/`password`. @internal */
export function createTokenStore(username: string, password: string, log?: Log): TokenStore {
  const tokens = new Map<string, Entry>();

  function token(endpoint: string, transport: () => Transport, signal: AbortSignal | undefined): Promise<string | undefined> {
    const existing = tokens.get(endpoint);
    if (existing) return existing.promise;
    const entry: Entry = { settled: false, promise: Promise.resolve(undefined) };
    log?.info("authenticating", { endpoint, user: username });
    entry.promise = createClient(Auth, transport())
      .authenticate({ name: username, password }, { signal })
      .then(
        (r) => r.token,
        (err: unknown) => {
          if (EtcdError.from(err).kind === "auth-not-enabled") return undefined;
          tokens.delete(endpoint); // not cached: the next call tries again
          throw err;
        },
      )
      .then((value) => {
        entry.settled = true;
        entry.value = value;
        return value;
      });
    tokens.set(endpoint, entry);
    return entry.promise;
  }

  /** Drops the token a refused call used (unless a newer one is already there or on its way). */
  function invalidate(endpoint: string, used: string | undefined): void {
    const entry = tokens.get(endpoint);
    if (entry?.settled && entry.value === used) tokens.delete(endpoint);
  }

  return {
    forget(endpoint) {
      if (tokens.get(endpoint)?.settled) tokens.delete(endpoint);
    },
    interceptor(endpoint, transport) {
      return (next) => async (req) => {
        if (req.service.typeName === "etcdserverpb.Auth" && req.method.name === "Authenticate") return next(req);
        const used = await token(endpoint, transport, req.signal);
        if (used !== undefined) req.header.set("token", used);
        if (!req.stream) {
          try {
            return await next(req);
          } catch (err) {
            if (!needsNewToken(err)) throw err;
            invalidate(endpoint, used);
            const fresh = await token(endpoint, transport, req.signal);
            if (fresh === undefined) req.header.delete("token");
            else req.header.set("token", fresh);
            return await next(req);
          }
        }
        // A stream cannot be replayed here: drop a refused token, so that the
        // stream's owner (watch, keepalive) reopens it with a fresh one.
        try {
          const res = (await next(req)) as StreamResponse;
          return { ...res, message: watchForRefusal(res.message, () => invalidate(endpoint, used)) };
        } catch (err) {
          if (needsNewToken(err)) invalidate(endpoint, used);
          throw err;
        }
      };
    },
  };
}

async function* watchForRefusal<T>(messages: AsyncIterable<T>, onRefusal: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    if (needsNewToken(err)) onRefusal();
    throw err;
  }
}
