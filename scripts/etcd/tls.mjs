// Throwaway TLS material for a cluster (a CA, a server and a client certificate, made with openssl), and
// its registration under the members' client URLs.
// Part of the etcd launcher (../etcd-cluster.mjs says how it fits together); only `node:` imports.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { knownTls } from "./tools.mjs";

/** @typedef {import("../etcd-cluster.mjs").ClusterTls} ClusterTls */
/** @typedef {import("./member.mjs").Member} Member */

const DEFAULT_OPENSSL_BIN = "openssl";

// TLS material

/** Subdirectory of the data dir root holding the generated certificates. */
export const TLS_DIR = "tls";

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/**
 * Runs openssl in `cwd`; rejects with its stderr on failure.
 * @param {string[]} args
 * @param {string} cwd
 * @returns {Promise<void>}
 */
function openssl(args, cwd) {
  const bin = process.env["OPENSSL_BIN"] || DEFAULT_OPENSSL_BIN;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    /** @type {Buffer[]} */
    const err = [];
    child.stderr.on("data", (c) => err.push(c));
    child.on("error", (e) => reject(new Error(`${bin} ${args[0]}: ${e.message} (set OPENSSL_BIN)`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else {
        const stderr = Buffer.concat(err).toString("utf8").trim();
        reject(new Error(`${bin} ${args.join(" ")}: ${code !== null ? `exit code ${code}` : `signal ${signal}`}: ${stderr}`));
      }
    });
  });
}

/**
 * Generates a CA, a server certificate (for 127.0.0.1 and localhost) and a client certificate, EC P-256, valid
 * for one day, in `dir` (created). Five openssl calls, about 50 ms in all.
 * @param {string} dir
 * @param {boolean} clientCertAuth
 * @returns {Promise<{ client: ClusterTls, serverCertFile: string, serverKeyFile: string }>}
 */
export async function generateTls(dir, clientCertAuth) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, "openssl.cnf"), OPENSSL_CONFIG);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const serial = () => `0x${randomBytes(8).toString("hex")}`;
  await openssl(
    ["req", "-x509", "-new", ...newKey, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
      "-subj", "/CN=etcd-connect test CA", "-set_serial", serial(),
      "-config", "openssl.cnf", "-extensions", "ca_ext"],
    dir,
  );
  /** @param {string} name @param {string} cn @param {string} ext */
  const issue = async (name, cn, ext) => {
    await openssl(
      ["req", "-new", ...newKey, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`,
        "-config", "openssl.cnf"],
      dir,
    );
    await openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-set_serial", serial(),
        "-days", "1", "-out", `${name}.pem`, "-extfile", "openssl.cnf", "-extensions", ext],
      dir,
    );
  };
  await Promise.all([
    issue("server", "localhost", "server_ext"),
    issue("client", "etcd-connect-test-client", "client_ext"),
  ]);
  const file = (/** @type {string} */ name) => path.join(dir, name);
  const read = (/** @type {string} */ name) => fs.readFileSync(file(name), "utf8");
  return {
    client: {
      caFile: file("ca.pem"),
      certFile: file("client.pem"),
      keyFile: file("client-key.pem"),
      ca: read("ca.pem"),
      cert: read("client.pem"),
      key: read("client-key.pem"),
      clientCertAuth,
    },
    serverCertFile: file("server.pem"),
    serverKeyFile: file("server-key.pem"),
  };
}

/**
 * Registers the TLS of `members`' client URLs, so that isHealthy, fetchMetrics and etcdctl find it from the URL
 * alone (forgetTls undoes it).
 * @param {Member[]} members
 */
export function rememberTls(members) {
  for (const m of members) if (m.tls) knownTls.set(new URL(m.clientUrl).origin, m.tls);
}

/** @param {Member[]} members */
export function forgetTls(members) {
  for (const m of members) {
    if (!m.tls) continue;
    const origin = new URL(m.clientUrl).origin;
    if (knownTls.get(origin) === m.tls) knownTls.delete(origin);
  }
}
