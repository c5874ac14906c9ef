/** Options of {@link AsyncQueue}. */
export interface AsyncQueueOptions<T> {
  /** How much one item counts toward `highWater`. Default: 1 per item. */
  weight?: (item: T) => number;
  /**
   * Buffered weight at which `push` starts returning true and `onFull` runs: the producer should pause.
   * Default: unbounded (never full).
   */
  highWater?: number;
  /** Runs once when the buffer reaches `highWater` (pause the producer). */
  onFull?: () => void;
  /** Runs once when a full buffer drains to half of `highWater` (resume the producer). */
  onDrain?: () => void;
  /** Runs when the consumer leaves early (`break`, `return()`, `throw()`) while the queue was still open. */
  onReturn?: () => void;
  /** Runs once when the consumer has nothing more to get: the queue ended and drained, or its error was thrown. */
  onFinished?: () => void;
  /** Keep at most this many items, dropping the oldest (a consumer that only wants the latest). Default: all. */
  keepLatest?: number;
}

type Waiter<T> = { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };

/**
 * The one async queue of the client (after nats.js's `QueuedIterator`): a producer pushes, one consumer iterates
 * with `for await`. It serves watch events, response messages of the HTTP/2 transport, lease renewals and the
 * request side of bidi calls.
 *
 * - Bounded by backpressure: past `highWater` the producer is told to pause, and to resume at half.
 * - `end(error?)` ends after what is buffered (the error is thrown once, after the last item); `fail(error)` ends
 *   now, dropping what is buffered.
 * - Leaving the loop (`break`) calls `onReturn`, so the consumer really cancels whatever feeds the queue.
 */
export interface AsyncQueue<T> extends AsyncIterableIterator<T> {
  /** True once the queue has ended (by `end`, `fail`, `close` or the consumer leaving). */
  readonly done: boolean;
  /** Items buffered and not yet read. */
  readonly length: number;
  /** Adds an item; ignored once ended. Returns true while the buffer is at or over `highWater` (pause). */
  push(item: T): boolean;
  /** Ends the queue after the buffered items; `error`, when given, is thrown to the consumer after them. */
  end(error?: unknown): void;
  /** Ends the queue now with `error`, dropping what is buffered. */
  fail(error: unknown): void;
  /** Ends the queue now without an error, dropping what is buffered (the consumer closed it). */
  close(): void;
}

/**
 * Creates an {@link AsyncQueue}. (A closure, like the client's other per-call and per-watch objects: its state
 * minifies to short names in the browser bundle; classes are kept for the HTTP/2 client's per-frame objects.)
 */
export function createAsyncQueue<T>(options: AsyncQueueOptions<T> = {}): AsyncQueue<T> {
  const { weight, highWater, keepLatest, onFull, onDrain, onReturn, onFinished } = options;
  let items: T[] = [];
  let head = 0;
  let buffered = 0;
  let full = false;
  let done = false;
  let error: unknown;
  let waiter: Waiter<T> | undefined;
  let finished = false;

  const finish = (): void => {
    if (!finished) {
      finished = true;
      onFinished?.();
    }
  };
  const clear = (): void => {
    items = [];
    head = buffered = 0;
    full = false;
  };
  const take = (): T => {
    const value = items[head]!;
    items[head++] = undefined as T; // let it be collected
    if (head === items.length) {
      items.length = head = 0;
      if (done && error === undefined) finish();
    } else if (head >= 1024 && head * 2 >= items.length) {
      items.splice(0, head);
      head = 0;
    }
    if (highWater !== undefined) {
      buffered -= weight === undefined ? 1 : weight(value);
      if (full && buffered <= highWater / 2) {
        full = false;
        if (!done) onDrain?.();
      }
    }
    return value;
  };
  const leave = (): void => {
    const open = !done;
    queue.close();
    if (open) onReturn?.();
  };

  const queue: AsyncQueue<T> = {
    get done() {
      return done;
    },
    get length() {
      return items.length - head;
    },
    push(item) {
      if (done) return false;
      const w = waiter;
      if (w !== undefined) {
        waiter = undefined;
        w.resolve({ done: false, value: item });
        return false;
      }
      if (keepLatest !== undefined && items.length - head >= keepLatest) take();
      items.push(item);
      if (highWater === undefined) return false;
      buffered += weight === undefined ? 1 : weight(item);
      if (!full && buffered >= highWater) {
        full = true;
        onFull?.();
      }
      return full;
    },
    end(err) {
      if (done) return;
      done = true;
      error = err;
      const w = waiter;
      if (w === undefined) {
        if (head === items.length && err === undefined) finish();
        return;
      }
      waiter = error = undefined;
      finish();
      if (err === undefined) w.resolve({ done: true, value: undefined });
      else w.reject(err);
    },
    fail(err) {
      clear();
      queue.end(err);
    },
    close() {
      clear();
      queue.end();
    },
    next() {
      if (head < items.length) return Promise.resolve({ done: false, value: take() });
      if (error !== undefined) {
        const err = error;
        error = undefined;
        finish();
        return Promise.reject(err);
      }
      if (done) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
    return() {
      leave();
      return Promise.resolve({ done: true, value: undefined });
    },
    throw(err) {
      leave();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
