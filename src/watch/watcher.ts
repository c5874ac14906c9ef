import { Code } from "@connectrpc/connect";
import { EtcdError } from "../errors.js";
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

type Waiter = { resolve: (r: IteratorResult<WatchResponse>) => void; reject: (e: unknown) => void };

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
  const queue: WatchResponse[] = [];
  let head = 0;
  let buffered = 0;
  let paused = false;
  let closed = false;
  let failure: EtcdError | undefined;
  let waiter: Waiter | undefined;
  let iterated = false;
  let state: WatchState = "connecting";

  const weight = (r: WatchResponse) => (r.events.length === 0 ? 1 : r.events.length);

  const setState = (change: WatchStateChange) => {
    if (state === "closed" || (change.state === state && change.error === undefined)) return;
    state = change.state;
    onStateChange?.(change);
  };

  const finish = () => {
    queue.length = 0;
    head = 0;
    buffered = 0;
    signal?.removeEventListener("abort", close);
    setState({ state: "closed" });
  };

  function close(): void {
    if (closed) return;
    closed = true;
    finish();
    control?.cancel();
    const w = waiter;
    waiter = undefined;
    w?.resolve({ done: true, value: undefined });
  }

  const next = async (): Promise<IteratorResult<WatchResponse>> => {
    if (head < queue.length) {
      const value = queue[head]!;
      queue[head++] = undefined as unknown as WatchResponse; // let it be collected
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      }
      buffered -= weight(value);
      if (paused && buffered <= bufferSize / 2 && !closed) {
        paused = false;
        control?.resume();
      }
      return { done: false, value };
    }
    if (failure) {
      const err = failure;
      failure = undefined;
      closed = true;
      finish();
      throw err;
    }
    if (closed) return { done: true, value: undefined };
    return new Promise((resolve, reject) => (waiter = { resolve, reject }));
  };

  const iterator: AsyncIterator<WatchResponse> = {
    next,
    async return() {
      close();
      return { done: true, value: undefined };
    },
  };

  const sink: WatchSink = {
    get closed() {
      return closed || failure !== undefined;
    },
    deliver(response) {
      if (closed || failure) return;
      const w = waiter;
      if (w) {
        waiter = undefined;
        w.resolve({ done: false, value: response });
        return;
      }
      queue.push(response);
      buffered += weight(response);
      if (!paused && buffered >= bufferSize) {
        paused = true;
        control?.pause();
      }
    },
    fail(error) {
      if (closed || failure) return;
      failure = error;
      control?.cancel();
      const w = waiter;
      if (w) {
        waiter = undefined;
        failure = undefined;
        closed = true;
        finish();
        w.reject(error);
      }
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
      return iterator;
    },
    requestProgress() {
      if (closed) return Promise.reject(new EtcdError("closed", Code.Canceled, "the watcher is closed"));
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
      if (closed) c.cancel();
    },
  };
}
