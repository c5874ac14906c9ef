// https:// endpoints: TLS and mTLS to etcd started with --cert-file/--key-file/--trusted-ca-file/--client-cert-auth.
import { describe, expect, it } from "vitest";
import { EtcdError, connect, createClient, text } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";
import { consume } from "./harness/watch.js";

describe("mTLS (client certificates required)", () => {
  const etcd = useEtcd({ tls: { clientCertAuth: true } });

  it("works with the CA and a client certificate: KV, watch, lease", async () => {
    const { ca, cert, key } = etcd.tls!;
    expect(etcd.endpoint).toMatch(/^https:/);
    const c = await connect({ endpoints: etcd.endpoints, tls: { ca, cert, key } });
    try {
      const seen = consume(c.watch("tls/k", { createdNotify: true }));
      await expect.poll(() => seen.responses.length).toBe(1);
      await c.put("tls/k", "secret");
      await seen.waitForEvents(1);
      expect(text((await c.get("tls/k")).kvs[0]!.value)).toBe("secret");
      const { id } = await c.lease.grant(5);
      expect((await c.lease.keepAliveOnce(id)).ttl).toBe(5);
      expect(await etcd.etcdctl(["get", "tls/k", "--print-value-only"])).toBe("secret\n");
    } finally {
      c.close();
    }
  });

  it("accepts certificates as bytes and a server name override", async () => {
    const { ca, cert, key } = etcd.tls!;
    const enc = (s: string) => new TextEncoder().encode(s);
    const c = await connect({ endpoints: etcd.endpoints, tls: { ca: enc(ca), cert: enc(cert), key: enc(key), serverName: "localhost" } });
    await c.put("tls/bytes", "ok");
    c.close();
  });

  it("fails clearly without a client certificate", async () => {
    const c = createClient({ endpoints: etcd.endpoints, tls: { ca: etcd.tls!.ca } });
    try {
      const err = (await c.get("tls/k", { timeoutMs: 5000 }).catch((e) => e)) as EtcdError;
      expect(err).toBeInstanceOf(EtcdError);
      expect(err.kind).toBe("unavailable");
      expect(err.message).toMatch(/certificate/i);
    } finally {
      c.close();
    }
  });

  it("fails clearly, and at once, when the server certificate is not trusted", async () => {
    const started = Date.now();
    const err = (await connect({ endpoints: etcd.endpoints, dialTimeoutMs: 20000 }).catch((e) => e)) as EtcdError;
    expect(err.kind).toBe("unavailable");
    expect(err.message).toMatch(/TLS with https:\/\/127\.0\.0\.1:\d+ failed: .*certificate.*\(check the tls options/);
    expect(Date.now() - started).toBeLessThan(10000); // no waiting out the dial timeout
  });

  it("fails clearly when the certificate does not match the server name", async () => {
    const { ca, cert, key } = etcd.tls!;
    const c = createClient({ endpoints: etcd.endpoints, tls: { ca, cert, key, serverName: "wrong.example" } });
    try {
      const err = (await c.get("tls/k").catch((e) => e)) as EtcdError;
      expect(err.message).toMatch(/TLS with .* failed: .*wrong\.example/);
    } finally {
      c.close();
    }
  });
});
