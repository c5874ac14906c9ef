import type { Interceptor } from "@connectrpc/connect";
import { Counter, Histogram, type Registry } from "prom-client";
import { createObservingInterceptor } from "./observe.js";

/** Options of {@link createPrometheusInterceptor}. */
export interface PrometheusOptions {
  /** The registry to register the metrics in. Default: prom-client's global registry. */
  registry?: Registry;
  /** Buckets of `grpc_client_handling_seconds`. Default: Prometheus's default buckets (as go-grpc-prometheus). */
  buckets?: number[];
}

/**
 * A Connect interceptor that records every RPC into prom-client metrics with
 * go-grpc-prometheus's client names and labels, so dashboards made for Go
 * clients work unchanged: `grpc_client_started_total`,
 * `grpc_client_handled_total` (with `grpc_code`), `grpc_client_msg_sent_total`,
 * `grpc_client_msg_received_total` and the histogram
 * `grpc_client_handling_seconds`. Needs the `prom-client` package (an optional
 * peer dependency); import it from `etcd-connect/metrics`.
 */
export function createPrometheusInterceptor(options: PrometheusOptions = {}): Interceptor {
  const registers = options.registry ? [options.registry] : undefined;
  const labels = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const started = new Counter({ name: "grpc_client_started_total", help: "Total number of RPCs started on the client.", labelNames: labels, ...(registers ? { registers } : {}) });
  const handled = new Counter({
    name: "grpc_client_handled_total",
    help: "Total number of RPCs completed by the client, regardless of success or failure.",
    labelNames: [...labels, "grpc_code"],
    ...(registers ? { registers } : {}),
  });
  const sent = new Counter({ name: "grpc_client_msg_sent_total", help: "Total number of gRPC stream messages sent by the client.", labelNames: labels, ...(registers ? { registers } : {}) });
  const received = new Counter({ name: "grpc_client_msg_received_total", help: "Total number of RPC stream messages received by the client.", labelNames: labels, ...(registers ? { registers } : {}) });
  const seconds = new Histogram({
    name: "grpc_client_handling_seconds",
    help: "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
    labelNames: labels,
    ...(options.buckets ? { buckets: options.buckets } : {}),
    ...(registers ? { registers } : {}),
  });
  const l = (rpc: { type: string; service: string; method: string }) => ({ grpc_type: rpc.type, grpc_service: rpc.service, grpc_method: rpc.method });
  return createObservingInterceptor({
    onStart: (rpc) => started.inc(l(rpc)),
    onMessageSent: (rpc) => sent.inc(l(rpc)),
    onMessageReceived: (rpc) => received.inc(l(rpc)),
    onFinish: (rpc, code, s) => {
      handled.inc({ ...l(rpc), grpc_code: code });
      seconds.observe(l(rpc), s);
    },
  });
}

export { createObservingInterceptor, type RpcInfo, type RpcObserver } from "./observe.js";
