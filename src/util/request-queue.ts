/**
 * The request side of a bidi stream: messages pushed while the stream runs are
 * handed to Connect in order. Its iterator implements `throw()` and `return()`
 * (connect-node's bidi calls require both).
 */
export interface RequestQueue<T> extends AsyncIterable<T> {
  /** Queues a message; ignored after `end()`. */
  push(message: T): void;
  /** Ends the request stream (half-close). */
  end(): void;
}

/** Creates a {@link RequestQueue}. */
export function createRequestQueue<T>(): RequestQueue<T> {
  const items: T[] = [];
  let head = 0;
  let ended = false;
  let wake: (() => void) | undefined;

  const done = (): IteratorResult<T> => {
    ended = true;
    items.length = 0;
    return { done: true, value: undefined };
  };

  const iterator: AsyncIterator<T> = {
    async next() {
      for (;;) {
        if (head < items.length) {
          const value = items[head++]!;
          if (head > 1024 && head * 2 > items.length) {
            items.splice(0, head);
            head = 0;
          }
          return { done: false, value };
        }
        if (ended) return done();
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return() {
      return done();
    },
    async throw(err?: unknown) {
      done();
      throw err;
    },
  };

  return {
    push(message) {
      if (ended) return;
      items.push(message);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    [Symbol.asyncIterator]: () => iterator,
  };
}
