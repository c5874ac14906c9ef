import { type Transport, createContextKey } from "@connectrpc/connect";

/**
 * A Connect transport as etcd-connect uses it: optionally closable, and
 * marked `halfDuplex` when it cannot send on a call that is already
 * streaming responses (gRPC-Web over fetch). Bidi RPCs then run as one
 * server-streaming call per watch or renewal.
 */
export type EtcdTransport = Transport & {
  /** Releases the transport's connections; in-flight calls fail. */
  close?(): void;
  /** True when the transport cannot stream requests (gRPC-Web). Default: false. */
  halfDuplex?: boolean;
};

/**
 * Per-call opt-in to retry a non-repeatable call on `Unavailable` (`{ retry: true }`): set by the call layer, read
 * by the endpoint transport's retry loop.
 */
export const retryWritesKey = createContextKey<boolean>(false, { description: "etcd-connect retry writes" });
