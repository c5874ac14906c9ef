import type { EtcdError } from "../errors.js";
import type { Int64 } from "../util/int64.js";
import type { ResponseHeader } from "../header.js";
import type { KeyValue } from "../kv/responses.js";
import type { RangeOptions } from "../op/range.js";

/** Options of `client.watch()`. */
export interface WatchOptions extends RangeOptions {
  /** Watch from this revision (inclusive). Default: from now (the next revision). */
  startRevision?: Int64;
  /** Include each key's previous value in events. Default: false. */
  prevKv?: boolean;
  /** Ask etcd for periodic progress responses (every 10 minutes by default on the server). Default: false. */
  progressNotify?: boolean;
  /** Deliver a response with `created: true` once the watch is established. Default: false. */
  createdNotify?: boolean;
  /** Leave out put or delete events. Default: none left out. */
  filters?: {
    /** Leave out put events (Go's `WithFilterPut`). */
    noPut?: boolean;
    /** Leave out delete events (Go's `WithFilterDelete`). */
    noDelete?: boolean;
  };
  /** Let etcd split large responses; the client merges the fragments before delivery. Default: false. */
  fragment?: boolean;
  /**
   * Only watch through a member that has a leader: a member cut off from the
   * quorum ends the watch with `no-leader`. Default: false.
   */
  requireLeader?: boolean;
  /** Aborting it closes the watcher (iteration ends quietly). */
  signal?: AbortSignal;
  /**
   * Events buffered for a slow consumer before the watch is paused on the
   * server. A paused watch is re-created from the revision after the last
   * buffered event once the consumer has drained half the buffer, so nothing
   * is lost and other watchers on the same stream are not held up.
   * Default: 10000.
   */
  bufferSize?: number;
  /** Called on every state change (for connection indicators). */
  onStateChange?: (change: WatchStateChange) => void;
}

/** A change to one key. */
export interface WatchEvent {
  /** Whether the key was written or deleted (an expired lease's keys come as deletes). */
  type: "put" | "delete";
  /** The key after the change (for a delete: the key with `modRevision` of the delete and no value). */
  kv: KeyValue;
  /** The key before the change, with `prevKv` when it existed. */
  prevKv?: KeyValue;
}

/** One delivery of a watcher: zero or more events, all from consecutive revisions. */
export interface WatchResponse {
  /**
   * Header of the member that answered; `header.revision` is the store's revision when etcd sent the response, which
   * may be past the last event (resume from the last event's `modRevision + 1`, not from this).
   */
  header: ResponseHeader;
  /** The events, in revision order (empty for created and progress responses). */
  events: WatchEvent[];
  /** Set when etcd reports compaction (the watcher then ends with a `compacted` error). */
  compactRevision: bigint;
  /**
   * An event-less response that tells the watch has seen every revision up to
   * `header.revision` (progressNotify, or after `requestProgress()`).
   */
  progressNotify: boolean;
  /** The watch was established (only delivered with `createdNotify`). */
  created: boolean;
}

/** Where a watcher's connection stands. */
export type WatchState = "connecting" | "watching" | "reconnecting" | "closed";

/** A watcher's state change, for connection indicators. */
export interface WatchStateChange {
  /** The state the watcher is now in. */
  state: WatchState;
  /** The endpoint the watch runs on, when known. */
  endpoint?: string;
  /** Why the watch is reconnecting or closed, when not by the user. */
  error?: EtcdError;
}

/**
 * A watch: an async iterable of responses with one consumer. It stops (and
 * cancels the watch on etcd) on `break`, `close()`, `[Symbol.asyncDispose]`
 * or its `signal`. Terminal conditions (`compacted`, `permission-denied`,
 * `no-leader` with `requireLeader`, ...) end the iteration by throwing an
 * `EtcdError`; a cancel by the user ends it quietly.
 */
export interface Watcher extends AsyncIterable<WatchResponse> {
  /** The watcher's current state. */
  readonly state: WatchState;
  /**
   * Asks etcd for a progress response on this watcher's stream (Go's
   * `RequestProgress`). Full-duplex transports only: over gRPC-Web it rejects
   * with `unimplemented`.
   */
  requestProgress(): Promise<void>;
  /** Stops the watch. Buffered responses are dropped; iteration ends quietly. */
  close(): void;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
