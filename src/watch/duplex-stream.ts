import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { WatchRequestSchema, WatchResponse as WatchResponseMessage } from "../../gen/etcdserverpb/rpc_pb.js";
import { EtcdError } from "../errors.js";
import type { Log } from "../log.js";
import { type AsyncQueue, createAsyncQueue } from "../util/async-queue.js";
import { runResumableStream } from "../util/resumable-stream.js";
import { type Registration, type WatchStreamDeps, refusedForToken } from "./registration.js";
import { endsWatch } from "./stream-errors.js";
import type { WatchControl } from "./watcher.js";

type WatchRequest = MessageInitShape<typeof WatchRequestSchema>;

/** What a full-duplex watch stream needs from the client. @internal */
export interface DuplexStreamDeps extends WatchStreamDeps {
  /** Opens the bidi Watch call. */
  open(requests: AsyncIterable<WatchRequest>, signal: AbortSignal): AsyncIterable<WatchResponseMessage>;
  log: Log;
  /** The stream has no watchers left and stopped. */
  onIdle(): void;
}

/**
 * One bidi Watch stream shared by many watchers (Go's `watchGrpcStream`).
 * Creates go out one at a time, so each `created` answer binds the oldest
 * pending create; events are routed by watch id. When the stream breaks for
 * any reason but the user's, it reconnects with backoff and re-creates every
 * watch from its next revision.
 * @internal
 */
export interface DuplexWatchStream {
  add(reg: Registration): WatchControl;
}

/**
 * Creates a {@link DuplexWatchStream}; the call opens with the first watch. (One closure of about 200 lines: the
 * bookkeeping of every watch on the stream — pending creates, ids, cancels — is shared state that its small inner
 * functions read together, as in Go's `watchGrpcStream`.) @internal
 */
export function createDuplexWatchStream(deps: DuplexStreamDeps): DuplexWatchStream {
  /** Every registration the stream still tracks, in creation order (closed ones until their cancel is confirmed). */
  const regs = new Set<Registration>();
  /** Registrations not closed by the user or ended; the stream runs while there are any. */
  const live = new Set<Registration>();
  const byId = new Map<bigint, Registration>();
  const canceledIds = new Set<bigint>();
  /** Registrations waiting for their create request, oldest first. */
  const pending = new Set<Registration>();
  let creating: Registration | undefined;
  let requests: AsyncQueue<WatchRequest> | undefined;
  let abort: AbortController | undefined;
  let running = false;
  /** The current call was ended on purpose, to reopen at once (with a new token). */
  let reopening = false;

  function sendNextCreate(): void {
    if (creating || !requests) return;
    for (const reg of pending) {
      pending.delete(reg);
      if (!reg.wantActive || reg.closed || reg.id !== undefined) continue;
      creating = reg;
      requests.push({ requestUnion: { case: "createRequest", value: reg.createRequest() } });
      return;
    }
  }

  function sendCancel(id: bigint): void {
    canceledIds.add(id);
    requests?.push({ requestUnion: { case: "cancelRequest", value: { watchId: id } } });
  }

  function cancelReg(reg: Registration): void {
    if (reg.id === undefined || reg.canceling) return;
    reg.canceling = true;
    sendCancel(reg.id);
  }

  function remove(reg: Registration): void {
    regs.delete(reg);
    live.delete(reg);
    if (reg.id !== undefined) byId.delete(reg.id);
    pending.delete(reg);
    if (live.size === 0) stop();
  }

  function stop(): void {
    for (const r of regs) r.unbind();
    regs.clear();
    live.clear();
    byId.clear();
    pending.clear();
    creating = undefined;
    abort?.abort();
  }

  function handle(r: WatchResponseMessage): void {
    const id = r.watchId;
    if (r.created) {
      const reg = creating;
      creating = undefined;
      if (reg === undefined) {
        if (id !== -1n && !r.canceled) sendCancel(id);
      } else if (refusedForToken(r) && deps.canReauthenticate && !reg.authRetried) {
        // The stream's token went stale (member restarted, token expired):
        // reopen with a new one and re-create every watch, this one once.
        reg.authRetried = true;
        pending.add(reg);
        reopening = true;
        abort?.abort();
        return;
      } else if (r.canceled || id === -1n) {
        reg.handle(r); // a refused create: terminal for that watch
        remove(reg);
      } else {
        reg.id = id;
        byId.set(id, reg);
        if (reg.closed || !reg.wantActive) cancelReg(reg);
        else {
          reg.handle(r);
          reg.sink.setState({ state: "watching", endpoint: deps.current() });
        }
      }
      sendNextCreate();
      return;
    }
    if (id === -1n) {
      for (const reg of byId.values()) if (!reg.canceling && !reg.closed) reg.progress(r);
      return;
    }
    const reg = byId.get(id);
    if (r.canceled) canceledIds.delete(id);
    if (reg === undefined) {
      // Events for a watch this client no longer has: cancel it, once.
      if (!r.canceled && !canceledIds.has(id)) sendCancel(id);
      return;
    }
    if (r.canceled) {
      byId.delete(id);
      const requested = reg.canceling;
      reg.unbind();
      if (!requested) {
        reg.handle(r); // canceled by etcd (compaction, permissions, ...): terminal
        remove(reg);
      } else if (reg.closed) remove(reg);
      else if (reg.wantActive) {
        pending.add(reg);
        sendNextCreate();
      }
      return;
    }
    if (reg.closed) return;
    reg.handle(r);
  }

  function run(): Promise<void> {
    running = true;
    return runResumableStream<WatchResponseMessage>({
      endpoints: deps,
      wanted: () => live.size > 0,
      open(call) {
        const queue = createAsyncQueue<WatchRequest>();
        abort = call;
        requests = queue;
        byId.clear();
        canceledIds.clear();
        creating = undefined;
        pending.clear();
        for (const reg of regs) {
          reg.unbind();
          if (reg.closed) regs.delete(reg); // its watch went with the old stream
          else if (reg.wantActive) pending.add(reg);
        }
        sendNextCreate();
        return deps.open(queue, call.signal);
      },
      started(endpoint, attempt) {
        if (attempt > 0) deps.log.info("watch stream resumed", { endpoint, watchers: live.size });
      },
      message: handle,
      closed() {
        requests?.end();
        requests = undefined;
      },
      ended({ endpoint, failure }) {
        if (live.size === 0) return "stop";
        if (deps.canReauthenticate) deps.forgetToken(endpoint); // reopen with a fresh token
        if (reopening) {
          reopening = false;
          return "reopen";
        }
        const error = failure!; // handle() never ends the call itself
        if (endsWatch(error, deps.requireLeader, deps.canReauthenticate)) {
          for (const reg of [...regs]) reg.sink.fail(error);
          stop();
          return "stop";
        }
        for (const reg of regs) reg.sink.setState({ state: "reconnecting", endpoint, error });
        deps.log.warn("watch stream broke; reconnecting", { endpoint, error: error.message, watchers: live.size });
        return "backoff";
      },
    }).finally(() => {
      running = false;
      requests = undefined;
      abort = undefined;
      deps.onIdle();
    });
  }

  return {
    add(reg) {
      regs.add(reg);
      live.add(reg);
      if (!running) void run();
      else {
        pending.add(reg);
        sendNextCreate();
      }
      return {
        pause() {
          reg.wantActive = false;
          pending.delete(reg);
          cancelReg(reg);
        },
        resume() {
          reg.wantActive = true;
          if (reg.id === undefined && creating !== reg && !pending.has(reg)) {
            pending.add(reg);
            sendNextCreate();
          }
        },
        cancel() {
          // The one way out for a watch: closed by the user, or ended by a terminal error.
          reg.wantActive = false;
          live.delete(reg);
          if (live.size === 0) {
            stop();
            return;
          }
          if (reg.id !== undefined) cancelReg(reg);
          else if (creating !== reg) remove(reg);
        },
        async requestProgress() {
          if (!requests) throw new EtcdError("unavailable", Code.Unavailable, "the watch stream is reconnecting");
          requests.push({ requestUnion: { case: "progressRequest", value: {} } });
        },
      };
    },
  };
}
