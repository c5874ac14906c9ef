/** PEM text given as a string or as bytes, as a string (what node:tls and node:http2 take). */
export function pem(value: string | Uint8Array): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

/** The `ca`, `cert` and `key` of TLS options as PEM strings, leaving out those not given. */
export function pemCredentials(tls: { ca?: string | Uint8Array; cert?: string | Uint8Array; key?: string | Uint8Array }): {
  ca?: string;
  cert?: string;
  key?: string;
} {
  return {
    ...(tls.ca === undefined ? {} : { ca: pem(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: pem(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: pem(tls.key) }),
  };
}
