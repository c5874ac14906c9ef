import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createPrometheusInterceptor } from "../src/metrics/prometheus.js";
import { EtcdError, type LogFields, connect } from "../src/index.js";
import { type RpcInfo, createObservingInterceptor } from "../src/metrics/observe.js";
import { useEtcd } from "./harness/etcd.js";
import { consume } from "./harness/watch.js";

describe("metrics", () => {
  const etcd = useEtcd();

  it("records go-grpc-prometheus client metrics for unary calls and streams", async () => {
    const registry = new Registry();
    const c = await connect({ endpoints: etcd.endpoints, interceptors: [createPrometheusInterceptor({ registry })] });
    try {
      for (let i = 0; i < 5; i++) await c.put(`obs/${i}`, "v");
      await c.get("obs/", { prefix: true });
      const { header } = await c.get("obs/0");
      await c.get("obs/0", { revision: header.revision + 100n }).catch(() => {});
      const w = consume(c.watch("obs/", { prefix: true, createdNotify: true }));
      await expect.poll(() => w.responses.length).toBe(1);
      await c.put("obs/w", "1");
      await w.waitForEvents(1);
    } finally {
      c.close();
    }
    let series: { name: string; labels: Partial<Record<string, string | number>>; value: number }[] = [];
    const refresh = async () => {
      // Histogram series are named like grpc_client_handling_seconds_count inside their metric.
      series = (await registry.getMetricsAsJSON()).flatMap((m) =>
        m.values.map((v) => ({ ...v, name: (v as { metricName?: string }).metricName ?? m.name })),
      );
    };
    await refresh();
    const value = (name: string, labels: Record<string, string>) =>
      series
        .filter((v) => v.name === name && Object.entries(labels).every(([k, x]) => v.labels[k] === x))
        .reduce((n, v) => n + v.value, 0);
    const put = { grpc_type: "unary", grpc_service: "etcdserverpb.KV", grpc_method: "Put" };
    expect(value("grpc_client_started_total", put)).toBe(6);
    expect(value("grpc_client_handled_total", { ...put, grpc_code: "OK" })).toBe(6);
    expect(value("grpc_client_handled_total", { grpc_method: "Range", grpc_code: "OutOfRange" })).toBe(1);
    expect(value("grpc_client_handling_seconds_count", put)).toBe(6);
    const watch = { grpc_type: "bidi_stream", grpc_service: "etcdserverpb.Watch", grpc_method: "Watch" };
    expect(value("grpc_client_started_total", watch)).toBe(1);
    expect(value("grpc_client_msg_sent_total", watch)).toBeGreaterThanOrEqual(1);
    expect(value("grpc_client_msg_received_total", watch)).toBeGreaterThanOrEqual(2); // created + the event
    // The client was closed: the watch stream finished (canceled by the user).
    await expect
      .poll(async () => {
        await refresh();
        return value("grpc_client_handled_total", { ...watch, grpc_code: "Canceled" });
      })
      .toBe(1);
    expect(await registry.metrics()).toMatch(/grpc_client_handling_seconds_bucket\{le="0.005",grpc_type="unary"/);
  });

  it("reports every RPC to a plain observer (e.g. for OpenTelemetry)", async () => {
    const seen: string[] = [];
    const observer = {
      onStart: (rpc: RpcInfo) => seen.push(`start ${rpc.method}`),
      onFinish: (rpc: RpcInfo, code: string, seconds: number) => seen.push(`finish ${rpc.method} ${code} ${seconds >= 0}`),
    };
    const c = await connect({ endpoints: etcd.endpoints, interceptors: [createObservingInterceptor(observer)] });
    await c.put("obs/x", "1");
    await c.delete("").catch(() => {}); // refused before sending: no RPC
    c.close();
    expect(seen.filter((s) => !s.includes("Status"))).toEqual(["start Put", "finish Put OK true"]);
  });
});

describe("logging", () => {
  const etcd = useEtcd({ size: 3 });

  it("tells the logger about failovers, reconnects and lost leases, without values", async () => {
    const lines: string[] = [];
    const fieldsSeen: LogFields[] = [];
    const record = (level: string) => (message: string, fields?: LogFields) => {
      lines.push(`${level} ${message}`);
      if (fields) fieldsSeen.push(fields);
    };
    const logger = { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") };
    const endpoints: string[] = [];
    const c = await connect({ endpoints: etcd.endpoints, logger });
    try {
      const w = consume(c.watch("log/", { prefix: true, onStateChange: (s) => s.state === "watching" && s.endpoint && endpoints.push(s.endpoint) }));
      await expect.poll(() => endpoints.length).toBe(1);
      const victim = etcd.members.find((m) => m.clientUrl === endpoints[0])!;
      await victim.kill();
      // The victim may have been the leader: until a new one is elected, etcd fails writes with
      // `timeout-due-to-leader-fail` or (a proposal lost in the change) `timeout`, which the client rightly does not
      // retry on its own: the write's outcome is unknown. The put is idempotent here.
      for (let attempt = 1; ; attempt++) {
        try {
          await c.put("log/after", "secret-value", { timeoutMs: 10000 });
          break;
        } catch (err) {
          if (attempt === 10 || !(err instanceof EtcdError) || !["timeout-due-to-leader-fail", "timeout", "unavailable", "leader-changed", "no-leader"].includes(err.kind)) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await w.waitForEvents(1);
      expect(lines).toContain("warn etcd-connect: watch stream broke; reconnecting");
      expect(lines).toContain("info etcd-connect: watch stream resumed");
      expect(lines).toContain("warn etcd-connect: endpoint failing");
      const lost = c.lease.keepAlive(0x7777n);
      await lost.done;
      expect(lines).toContain("warn etcd-connect: lease lost");
      expect(JSON.stringify(fieldsSeen, (_, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain("secret-value");
      await victim.start();
      await etcd.cluster.waitHealthy();
    } finally {
      c.close();
    }
  });
});
