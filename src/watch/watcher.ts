import { Code } from "@connectrpc/connect";
import { EtcdError } from "../errors.js";
import { type AsyncQueue, createAsyncQueue } from "../util/async-queue.js";
import type { WatchResponse, WatchState, WatchStateChange, Watcher } from "./types.js";

/** What a watcher asks of the stream that feeds it. @internal */
export interface WatchControl {
  /** The consumer is behind: stop delivery on the server for now. */
  pause(): void;
  /** The consumer caught up: re-create the watch from its next revision. */
  resume(): void;
  /** The watcher was closed by the user. */
  cancel(): void;
  requestProgress(): Promise<void>;
}

/** The stream's side of a watcher. @internal */
export interface WatchSink {
  readonly closed: boolean;
  deliver(response: WatchResponse): void;
  /** Ends the watcher with a terminal error, after what is buffered. */
  fail(error: EtcdError): void;
  setState(change: WatchStateChange): void;
}

/**
 * A single-consumer watcher with a bounded buffer. The buffer counts events;
 * crossing `bufferSize` pauses the watch, draining to half resumes it.
 * @internal
 */
export function createWatcher(
  bufferSize: number,
  signal: AbortSignal | undefined,
  onStateChange: ((change: WatchStateChange) => void) | undefined,
): { watcher: Watcher; sink: WatchSink; bind(control: WatchControl): void } {
  let control: WatchControl | undefined;
  let iterated = false;
  let state: WatchState = "connecting";

  const setState = (change: WatchStateChange) => {
    if (state === "closed" || (change.state === state && change.error === undefined)) return;
    state = change.state;
    onStateChange?.(change);
  };

  const queue: AsyncQueue<WatchResponse> = createAsyncQueue<WatchResponse>({
    weight: (r) => (r.events.length === 0 ? 1 : r.events.length),
    highWater: bufferSize,
    onFull: () => control?.pause(),
    onDrain: () => control?.resume(),
    onReturn: () => control?.cancel(),
    onFinished: () => {
      signal?.removeEventListener("abort", close);
      setState({ state: "closed" });
    },
  });

  function close(): void {
    if (queue.done) return;
    queue.close();
    control?.cancel();
  }

  const sink: WatchSink = {
    get closed() {
      return queue.done;
    },
    deliver(response) {
      queue.push(response);
    },
    fail(error) {
      if (queue.done) return;
      queue.end(error);
      control?.cancel();
    },
    setState,
  };

  const watcher: Watcher = {
    get state() {
      return state;
    },
    [Symbol.asyncIterator]() {
      if (iterated) throw new TypeError("a watcher has one consumer: it can be iterated only once");
      iterated = true;
      return queue;
    },
    requestProgress() {
      if (queue.done) return Promise.reject(new EtcdError("closed", Code.Canceled, "the watcher is closed"));
      return control!.requestProgress();
    },
    close,
    [Symbol.asyncDispose]: async () => close(),
  };

  if (signal?.aborted) close();
  else signal?.addEventListener("abort", close, { once: true });

  return {
    watcher,
    sink,
    bind(c) {
      control = c;
      if (queue.done) c.cancel();
    },
  };
}
