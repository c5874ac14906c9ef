import { Code } from "@connectrpc/connect";
import { EtcdError } from "../errors.js";
import { createBackoff, sleep } from "./backoff.js";

/** The endpoint bookkeeping a long-lived call reports to (the client's endpoint transport). */
export interface StreamEndpoints {
  /** The endpoint the next attempt goes to. */
  current(): string;
  /** A call on `endpoint` broke: skip it for a while. */
  failed(endpoint: string, error: unknown): void;
  /** A call on `endpoint` works. */
  succeeded(endpoint: string): void;
}

/** How one attempt ended, for {@link ResumableStream.ended}. */
export interface StreamEnd {
  endpoint: string;
  /** Why the call ended: its error, or "ended without a status"; undefined when `message` ended it. */
  failure: EtcdError | undefined;
  /** The owner aborted the call (the controller given to `open`) before it ended. */
  canceled: boolean;
}

/** What runs on a {@link runResumableStream} loop: the watch stream, a half-duplex watch, lease keepalives. */
export interface ResumableStream<T> {
  endpoints: StreamEndpoints;
  /** Whether to open (again); may wait (a paused watch waits for its consumer). Checked before each attempt. */
  wanted(): boolean | Promise<boolean>;
  /** Opens one call; aborting `call` (which the owner may keep, to end the call early) ends it. */
  open(call: AbortController, attempt: number): AsyncIterable<T>;
  /** The first response of an attempt arrived (the endpoint has been marked working). */
  started?(endpoint: string, attempt: number): void;
  /** One response; false ends this call (then `ended` gets no failure). */
  message(response: T): boolean | void;
  /** The call is over (its signal is aborted), before `ended` decides: release per-call state. */
  closed?(): void;
  /**
   * What to do after a call ended: `"stop"` the loop, `"reopen"` at once, or `"backoff"`: the endpoint is
   * marked failing and the next attempt waits a backoff.
   */
  ended(end: StreamEnd): "stop" | "reopen" | "backoff";
}

/**
 * The one reconnecting-stream loop (Go's `watchGrpcStream.run` and the keepalive loop): opens the call, hands each
 * response on, and when the call ends asks its owner whether to stop, reopen at once, or back off (50 ms doubling
 * to 2 s, jittered; reset by the first response of an attempt) and reopen on the endpoint the balancer picks then.
 */
export async function runResumableStream<T>(s: ResumableStream<T>): Promise<void> {
  const backoff = createBackoff();
  for (let attempt = 0; await s.wanted(); attempt++) {
    const endpoint = s.endpoints.current();
    const controller = new AbortController();
    let failure: EtcdError | undefined;
    let first = true;
    try {
      let endedByMessage = false;
      for await (const r of s.open(controller, attempt)) {
        if (first) {
          first = false;
          backoff.reset();
          s.endpoints.succeeded(endpoint);
          s.started?.(endpoint, attempt);
        }
        if (s.message(r) === false) {
          endedByMessage = true;
          break;
        }
      }
      if (!endedByMessage) failure = new EtcdError("unavailable", Code.Unavailable, "the stream ended without a status");
    } catch (err) {
      failure = EtcdError.from(err);
    }
    const canceled = controller.signal.aborted;
    controller.abort(); // Connect's iterators ignore break: end the call
    s.closed?.();
    const next = s.ended({ endpoint, failure, canceled });
    if (next === "stop") break;
    if (next === "reopen") continue;
    s.endpoints.failed(endpoint, failure);
    await sleep(backoff.next());
  }
}
