import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Lease,
  type LeaseKeepAliveRequestSchema,
  type LeaseKeepAliveResponse as LeaseKeepAliveResponseMessage,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { callHalfDuplex } from "../transport/half-duplex.js";
import type { EndpointTransport } from "../transport/endpoints.js";
import { type AsyncQueue, createAsyncQueue } from "../util/async-queue.js";
import { runResumableStream } from "../util/resumable-stream.js";
import type { Log } from "../log.js";
import type { RenewalEvents, RenewalSender } from "./scheduler.js";

type KeepAliveRequest = MessageInitShape<typeof LeaseKeepAliveRequestSchema>;

/** A renewal answer slower than this is given up on (the scheduler asks again). */
const HALF_DUPLEX_CALL_TIMEOUT_MS = 5000;

/**
 * All renewals of a client on one bidi `LeaseKeepAlive` stream, opened with
 * the first renewal and closed when no lease is left. A broken stream is
 * reopened with backoff on the next endpoint; renewals continue there.
 * @internal
 */
export function createStreamSender(
  events: RenewalEvents,
  open: (requests: AsyncIterable<KeepAliveRequest>, signal: AbortSignal) => AsyncIterable<LeaseKeepAliveResponseMessage>,
  transport: EndpointTransport,
  log?: Log,
): RenewalSender {
  let requests: AsyncQueue<KeepAliveRequest> | undefined;
  let abort: AbortController | undefined;
  let running = false;
  let wanted = false;

  function run(): void {
    running = true;
    void runResumableStream<LeaseKeepAliveResponseMessage>({
      endpoints: { current: () => transport.current, failed: transport.failed, succeeded: transport.succeeded },
      wanted: () => wanted,
      open(call) {
        abort = call;
        requests = createAsyncQueue<KeepAliveRequest>();
        return open(requests, call.signal);
      },
      message: events.renewed,
      closed() {
        requests?.end();
        requests = undefined;
      },
      ended({ endpoint, failure, canceled }) {
        if (!wanted) return "stop";
        events.broken();
        // Aborted by idle() and wanted again right away: not the endpoint's fault.
        if (canceled) return "reopen";
        log?.warn("lease keepalive stream broke; reconnecting", { endpoint, error: failure?.message });
        return "backoff";
      },
    }).finally(() => (running = false));
  }

  return {
    send(id) {
      wanted = true;
      if (!running) run();
      // While reconnecting there is no stream: the scheduler asks again shortly.
      requests?.push({ ID: id });
    },
    idle() {
      wanted = false;
      abort?.abort();
    },
  };
}

/**
 * Renewals over a half-duplex transport (gRPC-Web): one short call per
 * renewal, which etcd answers once and closes.
 * @internal
 */
export function createCallSender(events: RenewalEvents, transport: EndpointTransport, headers: HeadersInit): RenewalSender {
  const calls = new Set<AbortController>();
  return {
    send(id) {
      const controller = new AbortController();
      calls.add(controller);
      const endpoint = transport.current;
      void (async () => {
        try {
          for await (const r of callHalfDuplex(transport, Lease.method.leaseKeepAlive, { ID: id }, controller.signal, headers, HALF_DUPLEX_CALL_TIMEOUT_MS)) {
            transport.succeeded(endpoint);
            events.renewed(r);
            break;
          }
        } catch (err) {
          if (!controller.signal.aborted) transport.failed(endpoint, err);
        } finally {
          controller.abort(); // Connect's iterators ignore break: end the call explicitly
          calls.delete(controller);
        }
      })();
    },
    idle() {
      for (const c of calls) c.abort();
      calls.clear();
    },
  };
}
