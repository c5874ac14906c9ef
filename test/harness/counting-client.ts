// A client on the test cluster whose RPCs are counted, for tests that prove nothing was sent.
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll } from "vitest";
import { type Client, connect } from "../../src/index.js";
import type { useEtcd } from "./etcd.js";

/** The counting client of {@link useCountingClient}. */
export interface CountingClient {
  /** The client (connected in beforeAll, closed in afterAll). */
  readonly client: Client;
  /** The interceptor that counts, for other clients of the same test. */
  readonly counter: Interceptor;
  /** RPCs sent so far by every client using `counter`. */
  readonly sent: number;
}

/** Connects a client to `etcd` in beforeAll, counting every RPC it (or any client given `counter`) sends. */
export function useCountingClient(etcd: ReturnType<typeof useEtcd>): CountingClient {
  let client: Client | undefined;
  let sent = 0;
  const counter: Interceptor = (next) => (req) => {
    sent++;
    return next(req);
  };
  beforeAll(async () => {
    client = await connect({ endpoints: etcd.endpoints, interceptors: [counter] });
  });
  afterAll(() => client?.close());
  return {
    get client() {
      if (!client) throw new Error("useCountingClient: use the client inside tests");
      return client;
    },
    counter,
    get sent() {
      return sent;
    },
  };
}
