import type { EtcdError } from "../errors.js";
import type { LeaseKeepAlive, LeaseKeepAliveResponse } from "./types.js";

/** Renewals kept for a consumer that iterates slower than they come (Go keeps 16 too). */
const QUEUE_LIMIT = 16;

/** The scheduler's side of a keeper. @internal */
export interface KeeperSink {
  renewed(response: LeaseKeepAliveResponse): void;
  /** Ends the keeper: `error` when the lease was lost, undefined when stopped. */
  end(error?: EtcdError): void;
}

type Waiter = { resolve: (r: IteratorResult<LeaseKeepAliveResponse>) => void; reject: (e: unknown) => void };

/** Creates the public keeper handle; `onClose` runs once when the user stops it. @internal */
export function createKeeper(
  id: bigint,
  signal: AbortSignal | undefined,
  onClose: () => void,
): { keeper: LeaseKeepAlive; sink: KeeperSink } {
  const queue: LeaseKeepAliveResponse[] = [];
  let ended = false;
  let failure: EtcdError | undefined;
  let waiter: Waiter | undefined;
  let iterated = false;
  let resolveDone!: (e: EtcdError | undefined) => void;
  const done = new Promise<EtcdError | undefined>((resolve) => (resolveDone = resolve));

  const sink: KeeperSink = {
    renewed(response) {
      if (ended) return;
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.resolve({ done: false, value: response });
        return;
      }
      if (queue.length === QUEUE_LIMIT) queue.shift();
      queue.push(response);
    },
    end(error) {
      if (ended) return;
      ended = true;
      failure = error;
      signal?.removeEventListener("abort", close);
      resolveDone(error);
      const w = waiter;
      waiter = undefined;
      if (!w) return;
      if (error) {
        failure = undefined;
        w.reject(error);
      } else w.resolve({ done: true, value: undefined });
    },
  };

  function close(): void {
    if (ended) return;
    sink.end(undefined);
    queue.length = 0;
    onClose();
  }

  const iterator: AsyncIterator<LeaseKeepAliveResponse> = {
    async next() {
      if (queue.length > 0) return { done: false, value: queue.shift()! };
      if (failure) {
        const err = failure;
        failure = undefined;
        throw err;
      }
      if (ended) return { done: true, value: undefined };
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
    async return() {
      close();
      return { done: true, value: undefined };
    },
  };

  const keeper: LeaseKeepAlive = {
    id,
    done,
    [Symbol.asyncIterator]() {
      if (iterated) throw new TypeError("a lease keeper has one consumer: it can be iterated only once");
      iterated = true;
      return iterator;
    },
    close,
    [Symbol.asyncDispose]: async () => close(),
  };
  if (signal?.aborted) close();
  else signal?.addEventListener("abort", close, { once: true });
  return { keeper, sink };
}
