import { Code } from "@connectrpc/connect";
import type { WatchResponse as WatchResponseMessage, WatchCreateRequest } from "../../gen/etcdserverpb/rpc_pb.js";
import { EtcdError } from "../errors.js";
import { runResumableStream } from "../util/resumable-stream.js";
import { type Registration, type WatchStreamDeps, refusedForToken } from "./registration.js";
import { endsWatch } from "./stream-errors.js";
import type { WatchControl } from "./watcher.js";

/** What a half-duplex watch needs from the client. @internal */
export interface HalfDuplexDeps extends WatchStreamDeps {
  /** Runs one server-streaming Watch call that sends just this create request. */
  open(create: WatchCreateRequest, signal: AbortSignal): AsyncIterable<WatchResponseMessage>;
}

/**
 * A watch over a transport that cannot stream requests (gRPC-Web): one call
 * per watch that sends its create request and keeps reading, since etcd keeps
 * the stream open after the client's half-close. Cancel and pause end the
 * call; resume and reconnect start a new one from the next revision.
 * @internal
 */
export function startHalfDuplexWatch(reg: Registration, deps: HalfDuplexDeps): WatchControl {
  let call: AbortController | undefined;
  /** The current call was ended to pause for a slow consumer, not by a failure. */
  let pausedCall = false;
  /** The current call was refused for a stale token: once more with a new one. */
  let refused = false;
  /** The watch ended (its registration said so). */
  let finished = false;
  let wake: (() => void) | undefined;
  /** The endpoint of the current call. */
  let endpointNow = "";

  void runResumableStream<WatchResponseMessage>({
    endpoints: deps,
    async wanted() {
      while (!reg.closed && !reg.wantActive) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      return !reg.closed && !finished;
    },
    open(controller) {
      call = controller;
      refused = false;
      return deps.open(reg.createRequest(), controller.signal);
    },
    started(endpoint) {
      endpointNow = endpoint;
    },
    message(r) {
      if (refusedForToken(r) && deps.canReauthenticate && !reg.authRetried) {
        reg.authRetried = true;
        refused = true;
        return false;
      }
      if (r.created && !r.canceled) reg.sink.setState({ state: "watching", endpoint: endpointNow });
      if (!reg.handle(r)) {
        finished = true;
        return false;
      }
    },
    closed() {
      call = undefined;
      reg.unbind();
    },
    ended({ endpoint, failure }) {
      if (finished || reg.closed) return "stop";
      if (deps.canReauthenticate) deps.forgetToken(endpoint);
      if (refused) return "reopen";
      if (pausedCall) {
        pausedCall = false; // paused for a slow consumer: wanted() waits for resume()
        return "reopen";
      }
      const error = failure!;
      if (endsWatch(error, deps.requireLeader, deps.canReauthenticate)) {
        reg.sink.fail(error);
        return "stop";
      }
      reg.sink.setState({ state: "reconnecting", endpoint, error });
      return "backoff";
    },
  });

  return {
    pause() {
      reg.wantActive = false;
      if (call) pausedCall = true;
      call?.abort();
    },
    resume() {
      reg.wantActive = true;
      wake?.();
    },
    cancel() {
      reg.wantActive = false;
      call?.abort();
      wake?.();
    },
    requestProgress() {
      return Promise.reject(
        new EtcdError(
          "unimplemented",
          Code.Unimplemented,
          "requestProgress needs a full-duplex transport: over gRPC-Web each watch is its own one-way call",
        ),
      );
    },
  };
}
