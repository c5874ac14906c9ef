import type { Transport } from "@connectrpc/connect";

/** A transport that may hold connections to release on `close()`. */
export type ClosableTransport = Transport & {
  /** Releases the transport's connections; in-flight calls fail. */
  close?(): void;
};
