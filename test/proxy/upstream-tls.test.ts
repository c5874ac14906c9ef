// The proxy in front of an etcd that serves clients over TLS with --client-cert-auth (mutual TLS upstream):
// `upstreamTls` with the cluster's CA and client certificate, and what a missing certificate or a wrong
// server name looks like to a browser.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KV } from "../../gen/etcdserverpb/rpc_pb.js";
import type { ProxyUpstreamTls } from "../../src/proxy/index.js";
import { useEtcd } from "../harness/etcd.js";
import { connectError, memoryLogger, useProxies, utf8, watchVia, webClient, webTransport } from "./helpers.js";

const etcd = useEtcd({ tls: { clientCertAuth: true } });
const startProxy = useProxies();
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** The cluster's CA and client certificate, as the proxy takes them. */
function mtls(): ProxyUpstreamTls {
  const tls = etcd.tls!;
  return { ca: tls.ca, cert: tls.cert, key: tls.key };
}

/** A proxy with a logger that keeps its lines; each request to it is one attempt (the endpoint then backs off). */
async function proxyWith(upstreamTls: ProxyUpstreamTls) {
  const logger = memoryLogger();
  const { url } = await startProxy({ endpoints: [etcd.endpoint], upstreamTls, logger, logLevel: "debug" });
  return { url, logger, kv: webClient(KV, url) };
}

describe("upstream mutual TLS", () => {
  it("the etcd under test requires a client certificate on https", () => {
    expect(etcd.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(etcd.member(0).args).toContain("--client-cert-auth");
  });

  it("puts and reads a key with the CA and a client certificate", async () => {
    const { kv } = await proxyWith(mtls());
    const put = await kv.put({ key: utf8("mtls/a"), value: utf8("1") });
    const got = await kv.range({ key: utf8("mtls/a") });
    expect(got.kvs).toHaveLength(1);
    expect(text(got.kvs[0]?.value)).toBe("1");
    expect(got.kvs[0]?.modRevision).toBe(put.header?.revision);
    expect(await etcd.etcdctl(["get", "mtls/a", "--print-value-only"])).toBe("1\n");
  });

  it("streams watch events", async () => {
    const { url, kv } = await proxyWith(mtls());
    const ac = new AbortController();
    const stream = watchVia(webTransport(url), { key: utf8("mtls/w") }, ac.signal);
    try {
      expect((await stream.next()).value?.created).toBe(true);
      const put = await kv.put({ key: utf8("mtls/w"), value: utf8("x") });
      const { value } = await stream.next();
      expect(value?.events).toHaveLength(1);
      expect(text(value?.events[0]?.kv?.key)).toBe("mtls/w");
      expect(text(value?.events[0]?.kv?.value)).toBe("x");
      expect(value?.events[0]?.kv?.modRevision).toBe(put.header?.revision);
    } finally {
      ac.abort();
      await stream.next().catch(() => undefined);
    }
    await expect.poll(() => etcd.metric("etcd_debugging_mvcc_watcher_total"), { timeout: 10000 }).toBe(0);
  });

  it("checks etcd's certificate against serverName when given", async () => {
    const { kv } = await proxyWith({ ...mtls(), serverName: "localhost" });
    await kv.put({ key: utf8("mtls/sni"), value: utf8("ok") });
    expect(text((await kv.range({ key: utf8("mtls/sni") })).kvs[0]?.value)).toBe("ok");
  });
});

describe("upstream TLS failures", () => {
  // With TLS 1.3 the proxy's handshake completes before etcd has checked the (missing) client certificate; etcd
  // then sends an alert and closes (bad_certificate from etcd 3.4's Go, certificate_required from current Go). Node destroys the HTTP/2 session and fails its streams with
  // ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE (Bun's BoringSSL: ERR_SSL_TLSV1_ALERT_CERTIFICATE_REQUIRED), without an
  // "error" or "close" event on the session, so the proxy
  // neither logs it nor backs off the endpoint. One proxy per call keeps the calls independent anyway.
  it("answers Unavailable when etcd requires a client certificate and the proxy has none", async () => {
    const ca = { ca: etcd.tls!.ca };

    // A write is not retried: the browser gets the TLS error.
    const put = await proxyWith(ca);
    const putErr = await connectError(put.kv.put({ key: utf8("mtls/nocert"), value: utf8("x") }));
    expect(putErr.code).toBe(Code.Unavailable);
    expect(putErr.rawMessage).toMatch(/etcd stream failed: .*(bad[ _]certificate|certificate[ _]required)/i);

    // A read that got no answer is retried on another endpoint; with none left the message is generic.
    const range = await proxyWith(ca);
    const rangeErr = await connectError(range.kv.range({ key: utf8("mtls/a") }));
    expect(rangeErr.code).toBe(Code.Unavailable);
    expect(rangeErr.rawMessage).not.toBe("");

    // Nothing reached etcd's data.
    expect(await etcd.etcdctl(["get", "mtls/nocert", "--print-value-only"])).toBe("");
    await expect
      .poll(() => etcd.member(0).logTail(100000), { timeout: 10000 })
      .toMatch(/rejected connection.*didn't provide a certificate/);
  });

  it("answers Unavailable when etcd's certificate does not match serverName", async () => {
    const { kv, logger } = await proxyWith({ ...mtls(), serverName: "wrong.example" });
    const rangeErr = await connectError(kv.range({ key: utf8("mtls/a") }));
    expect(rangeErr.code).toBe(Code.Unavailable);
    // The reason is in the proxy's log, not in the gRPC message ("no etcd endpoint is reachable").
    expect(logger.lines.some((l) => /^warn upstream .*ERR_TLS_CERT_ALTNAME_INVALID.*wrong\.example/.test(l))).toBe(true);

    const { kv: kv2 } = await proxyWith({ ...mtls(), serverName: "wrong.example" });
    const putErr = await connectError(kv2.put({ key: utf8("mtls/wrong"), value: utf8("x") }));
    expect(putErr.code).toBe(Code.Unavailable);
    expect(await etcd.etcdctl(["get", "mtls/wrong", "--print-value-only"])).toBe("");
  });

  it("answers Unavailable without the CA (etcd's certificate is not trusted)", async () => {
    const { cert, key } = mtls();
    const { kv, logger } = await proxyWith({ cert, key });
    expect((await connectError(kv.range({ key: utf8("mtls/a") }))).code).toBe(Code.Unavailable);
    expect(logger.lines.some((l) => /^warn upstream .*(self.signed|unable to verify|certificate)/i.test(l))).toBe(true);
  });
});
