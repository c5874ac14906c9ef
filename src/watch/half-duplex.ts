import { Code } from "@connectrpc/connect";
import type { WatchResponse as WatchResponseMessage, WatchCreateRequest } from "../../gen/etcdserverpb/rpc_pb.js";
import { EtcdError } from "../errors.js";
import { createBackoff, sleep } from "../util/backoff.js";
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
  const backoff = createBackoff();
  let call: AbortController | undefined;
  /** The current call was ended to pause for a slow consumer, not by a failure. */
  let pausedCall = false;
  let wake: (() => void) | undefined;

  const stopCall = () => call?.abort();

  async function run(): Promise<void> {
    while (!reg.closed) {
      if (!reg.wantActive) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const endpoint = deps.current();
      const controller = new AbortController();
      call = controller;
      let failure: EtcdError;
      let refused = false;
      try {
        for await (const r of deps.open(reg.createRequest(), controller.signal)) {
          if (refusedForToken(r) && deps.canReauthenticate && !reg.authRetried) {
            reg.authRetried = true; // the token went stale: once more with a new one
            refused = true;
            break;
          }
          backoff.reset();
          if (r.created && !r.canceled) {
            deps.succeeded(endpoint);
            reg.sink.setState({ state: "watching", endpoint });
          }
          if (!reg.handle(r)) return;
        }
        failure = new EtcdError("unavailable", Code.Unavailable, "the watch call ended without a status");
      } catch (err) {
        failure = EtcdError.from(err);
      } finally {
        call = undefined;
        controller.abort(); // Connect's iterators ignore break: end the call
        reg.unbind();
      }
      if (reg.closed) return;
      if (deps.canReauthenticate) deps.forgetToken(endpoint);
      if (refused) continue;
      if (pausedCall) {
        pausedCall = false; // paused for a slow consumer: wait for resume() at the top
        continue;
      }
      if (endsWatch(failure, deps.requireLeader, deps.canReauthenticate)) {
        reg.sink.fail(failure);
        return;
      }
      reg.sink.setState({ state: "reconnecting", endpoint, error: failure });
      deps.failed(endpoint, failure);
      await sleep(backoff.next());
    }
  }

  void run();
  return {
    pause() {
      reg.wantActive = false;
      if (call) pausedCall = true;
      stopCall();
    },
    resume() {
      reg.wantActive = true;
      wake?.();
    },
    cancel() {
      reg.wantActive = false;
      stopCall();
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
