import type { EtcdError } from "../errors.js";
import { type AsyncQueue, createAsyncQueue } from "../util/async-queue.js";
import type { LeaseKeepAlive, LeaseKeepAliveResponse } from "./types.js";

/** Renewals kept for a consumer that iterates slower than they come (Go keeps 16 too). */
const QUEUE_LIMIT = 16;

/** The scheduler's side of a keeper. @internal */
export interface KeeperSink {
  renewed(response: LeaseKeepAliveResponse): void;
  /** Ends the keeper: `error` when the lease was lost, undefined when stopped. */
  end(error?: EtcdError): void;
}

/** Creates the public keeper handle; `onClose` runs once when the user stops it. @internal */
export function createKeeper(
  id: bigint,
  signal: AbortSignal | undefined,
  onClose: () => void,
): { keeper: LeaseKeepAlive; sink: KeeperSink } {
  let iterated = false;
  let resolveDone!: (e: EtcdError | undefined) => void;
  const done = new Promise<EtcdError | undefined>((resolve) => (resolveDone = resolve));
  const settle = (error: EtcdError | undefined) => {
    signal?.removeEventListener("abort", close);
    resolveDone(error);
  };
  // Leaving the loop stops the keeper (the queue has already closed itself).
  const queue = createAsyncQueue<LeaseKeepAliveResponse>({ keepLatest: QUEUE_LIMIT, onReturn: () => (settle(undefined), onClose()) });

  const sink: KeeperSink = {
    renewed(response) {
      queue.push(response);
    },
    end(error) {
      if (queue.done) return;
      queue.end(error);
      settle(error);
    },
  };

  function close(): void {
    if (queue.done) return;
    queue.close();
    settle(undefined);
    onClose();
  }

  const keeper: LeaseKeepAlive = {
    id,
    done,
    [Symbol.asyncIterator]() {
      if (iterated) throw new TypeError("a lease keeper has one consumer: it can be iterated only once");
      iterated = true;
      return queue;
    },
    close,
    [Symbol.asyncDispose]: async () => close(),
  };
  if (signal?.aborted) close();
  else signal?.addEventListener("abort", close, { once: true });
  return { keeper, sink };
}
