#!/usr/bin/env node
// etcd-connect-proxy: serves the gRPC-Web proxy from the command line.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createProxy, type ProxyLogLevel, type ProxyOptions } from "./index.js";

const USAGE = `Usage: etcd-connect-proxy --endpoints URL[,URL...] [options]

Lets browsers and workers (gRPC-Web, application/grpc-web+proto) reach etcd (HTTP/2 gRPC).

Options:
  --endpoints URL[,URL...]  etcd client URLs, http:// or https:// (required; repeatable)
  --listen HOST:PORT        address to serve on (default 127.0.0.1:8080; port 0 picks a free port)
  --allow-origin ORIGIN     allow this exact origin to call cross-origin (repeatable; "*" allows all)
  --tls-cert FILE           PEM certificate: serve HTTPS with HTTP/2 and HTTP/1.1 (needs --tls-key)
  --tls-key FILE            PEM private key of --tls-cert
  --upstream-ca FILE        PEM CA certificate(s) for https:// endpoints
  --upstream-cert FILE      PEM client certificate for etcd (mTLS; needs --upstream-key)
  --upstream-key FILE       PEM private key of --upstream-cert
  --upstream-server-name N  name to verify etcd's certificate against (default: the endpoint host)
  --read-only               allow only Range, RangeStream, Watch, LeaseTimeToLive, LeaseLeases, MemberList,
                            Status, AuthStatus, Authenticate, UserList, UserGet, RoleList, RoleGet, and
                            Txns made only of range operations
  --max-request-bytes N     largest request body in bytes (default 4194304)
  --max-buffered-bytes N    request bytes held for all requests together (default 67108864)
  --max-connections N       client connections open at once (default 4096)
  --max-connections-per-address N
                            client connections open at once from one IP address (default 256)
  --max-concurrent-streams N
                            streams per HTTP/2 client connection (default 100)
  --request-timeout-ms N    time for a request to arrive: TLS handshake, headers, first whole message
                            (default 10000)
  --idle-timeout-ms N       how long a connection with no request in flight stays open (default 60000)
  --log-level LEVEL         debug, info, warn, error or silent (default info; debug logs every request)
  -v, --version             print the version and exit
  -h, --help                print this help and exit
`;

/** A command-line mistake: reported with the usage, exit status 2. */
class UsageError extends Error {}

function parse(argv: string[]): { options: ProxyOptions; host: string; port: number } | "help" | "version" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        endpoints: { type: "string", multiple: true },
        listen: { type: "string" },
        "allow-origin": { type: "string", multiple: true },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "upstream-ca": { type: "string" },
        "upstream-cert": { type: "string" },
        "upstream-key": { type: "string" },
        "upstream-server-name": { type: "string" },
        "read-only": { type: "boolean" },
        "max-request-bytes": { type: "string" },
        "max-buffered-bytes": { type: "string" },
        "max-connections": { type: "string" },
        "max-connections-per-address": { type: "string" },
        "max-concurrent-streams": { type: "string" },
        "request-timeout-ms": { type: "string" },
        "idle-timeout-ms": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  if (values.version) return "version";
  const endpoints = (values.endpoints ?? []).flatMap((e) => e.split(",")).map((e) => e.trim()).filter((e) => e !== "");
  if (endpoints.length === 0) throw new UsageError("--endpoints is required");
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]/.test(e)) throw new UsageError(`invalid endpoint ${JSON.stringify(e)}: use http://host:port or https://host:port`);
  }
  const { host, port } = parseListen(values.listen ?? "127.0.0.1:8080");
  const options: ProxyOptions = { endpoints, readOnly: values["read-only"] === true };
  if (values["allow-origin"]) options.allowOrigins = values["allow-origin"];
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (cert !== undefined && key !== undefined) options.tls = { cert: readPem(cert, "--tls-cert"), key: readPem(key, "--tls-key") };
  const ca = values["upstream-ca"];
  const ucert = values["upstream-cert"];
  const ukey = values["upstream-key"];
  const serverName = values["upstream-server-name"];
  if ((ucert === undefined) !== (ukey === undefined)) throw new UsageError("--upstream-cert and --upstream-key go together");
  if (ca !== undefined || ucert !== undefined || serverName !== undefined) {
    options.upstreamTls = {};
    if (ca !== undefined) options.upstreamTls.ca = readPem(ca, "--upstream-ca");
    if (ucert !== undefined && ukey !== undefined) {
      options.upstreamTls.cert = readPem(ucert, "--upstream-cert");
      options.upstreamTls.key = readPem(ukey, "--upstream-key");
    }
    if (serverName !== undefined) options.upstreamTls.serverName = serverName;
  }
  const max = values["max-request-bytes"];
  if (max !== undefined) {
    if (!/^\d+$/.test(max) || Number(max) < 5 || !Number.isSafeInteger(Number(max))) {
      throw new UsageError(`--max-request-bytes must be an integer >= 5, got ${JSON.stringify(max)}`);
    }
    options.maxRequestBytes = Number(max);
  }
  const limits = [
    ["max-buffered-bytes", "maxBufferedBytes"],
    ["max-connections", "maxConnections"],
    ["max-connections-per-address", "maxConnectionsPerAddress"],
    ["max-concurrent-streams", "maxConcurrentStreams"],
    ["request-timeout-ms", "requestTimeoutMs"],
    ["idle-timeout-ms", "idleTimeoutMs"],
  ] as const;
  for (const [flag, option] of limits) {
    const value = values[flag];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
      throw new UsageError(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    options[option] = Number(value);
  }
  const level = values["log-level"];
  if (level !== undefined) {
    if (!["debug", "info", "warn", "error", "silent"].includes(level)) {
      throw new UsageError(`--log-level must be debug, info, warn, error or silent, got ${JSON.stringify(level)}`);
    }
    options.logLevel = level as ProxyLogLevel;
  }
  return { options, host, port };
}

/** The version in etcd-connect's package.json, found upward from this file (src/proxy/ or dist/src/proxy/). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "etcd-connect" && pkg.version) return pkg.version;
    } catch {
      // not here: one level up
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

/** `host:port`, `[v6]:port` or a bare port. */
function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`invalid --listen ${JSON.stringify(value)}: use HOST:PORT, e.g. 127.0.0.1:8080`);
  }
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`etcd-connect-proxy: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === "help") {
    process.stdout.write(USAGE);
    return;
  }
  if (parsed === "version") {
    process.stdout.write(`etcd-connect-proxy ${packageVersion()}\n`);
    return;
  }
  let proxy;
  try {
    proxy = createProxy(parsed.options);
  } catch (err) {
    process.stderr.write(`etcd-connect-proxy: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second signal: give up waiting
    stopping = true;
    process.stderr.write(`etcd-connect-proxy: ${signal}, stopping\n`);
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    await proxy.listen(parsed.port, parsed.host);
  } catch (err) {
    process.stderr.write(`etcd-connect-proxy: cannot listen on ${parsed.host}:${parsed.port}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`etcd-connect-proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
