// Launcher for throwaway, real etcd servers (one member or a 3-member cluster)
// used by the test harness and by `npm start`.
//
// Dependency-free on purpose: only `node:` imports, so it works before
// node_modules exists. Types are given in JSDoc for allowJs/checkJs consumers.
//
// With `tls` (startCluster({ tls: { clientCertAuth: true } })), members serve
// clients on https:// with a throwaway CA and certificates made by `openssl`;
// cluster.tls holds the client credentials, which the launcher's own health
// checks, fetchMetrics and etcdctl use for that cluster's URLs.
//
// Membership changes, the way an operator makes them: cluster.prepareMember()
// returns a registered but unstarted Member (ports, data dir, peerUrl and
// clientUrl fixed); the caller runs `etcdctl member add NAME
// --peer-urls=PEER_URL [--learner]`, then member.join(initialCluster) starts
// etcd with `--initial-cluster-state existing`. After `etcdctl member remove`
// etcd exits by itself (member.running turns false); cluster.forget(member)
// drops it from members/endpoints. stop() and the cleanup layers below cover
// every member ever prepared.
//
// Cleanup is layered:
//   1. Cluster#stop() / Member#stop() (graceful, awaited);
//   2. a process "exit" handler that SIGKILLs every member still running and
//      removes data dirs synchronously;
//   3. optional SIGINT/SIGTERM handlers (installSignalHandlers: true);
//   4. a tiny watchdog child process (one per host process, on by default)
//      that SIGKILLs the members and removes the data dirs when the host dies
//      without running its exit handlers (e.g. a vitest fork worker that is
//      terminated with SIGTERM or SIGKILL).

//
// The launcher lives in scripts/etcd/, a module per job: cluster.mjs (startCluster, Cluster), member.mjs (one
// etcd process), tls.mjs (throwaway certificates), cleanup.mjs (exit handler, signals, watchdog) and tools.mjs
// (ports, health, /metrics, etcdctl/etcdutl). This file is its public face and holds the shared JSDoc types.

export { Cluster, startCluster } from "./etcd/cluster.mjs";
export { Member } from "./etcd/member.mjs";
export { etcdctl, etcdutl, fetchMetrics, isHealthy, metricValue, pickFreePorts, tailFile } from "./etcd/tools.mjs";

/**
 * @typedef {object} StartClusterOptions
 * @property {1 | 3 | undefined} [size] Number of members (default 1).
 * @property {string | undefined} [etcdBin] etcd binary (default: `$ETCD_BIN`, else the binary of `$ETCD_VERSION`, else
 *   of 3.6; see etcd-versions.mjs). Flags in extraArgs/memberArgs are written under their current names and renamed
 *   for older versions there.
 * @property {string[] | undefined} [extraArgs] Appended to every member's arguments.
 * @property {((index: number) => string[]) | undefined} [memberArgs] Per-member extra arguments (after extraArgs).
 * @property {string | undefined} [dataDirRoot] Directory for data dirs and logs (default: fresh mkdtemp under os.tmpdir()).
 *   If given, it is created if missing; stop() removes what the launcher put in it, and the directory
 *   itself only if the launcher created it or it is left empty.
 * @property {number | undefined} [startTimeoutMs] Time for the cluster to become healthy, per attempt (default 20000).
 * @property {string | undefined} [logPrefix] If set, the launcher reports progress (start, retry, stop) on stderr
 *   with this prefix; etcd's own output always goes to the member's log file. Default: silent.
 * @property {boolean | undefined} [installSignalHandlers] Install SIGINT/SIGTERM handlers that stop every cluster
 *   and exit (once per process). For `npm start`; tests should not use it.
 * @property {boolean | undefined} [watchdog] Start the watchdog child process that cleans up if this process dies
 *   abruptly (default true, or false when `$ETCD_NO_WATCHDOG=1`).
 * @property {ClusterTlsOptions | undefined} [tls] Serve clients over HTTPS (peers stay plain HTTP): a throwaway CA,
 *   server and client certificate are generated with `openssl` (`$OPENSSL_BIN` or `openssl` on PATH) in the data
 *   dir root, once per cluster. Default: plain HTTP.
 */

/**
 * @typedef {object} ClusterTlsOptions
 * @property {boolean | undefined} [clientCertAuth] Pass `--client-cert-auth` and `--trusted-ca-file`: etcd then
 *   refuses clients (including `/health` and `/metrics` requests) without a certificate signed by the cluster's
 *   CA. Default false: no client certificate needed (etcd 3.4 would require one with `--trusted-ca-file` alone,
 *   so that flag is left out too).
 */

/**
 * Client-side TLS material of a cluster started with `tls` (also the launcher's own credentials for health checks,
 * /metrics and etcdctl). The server certificate (CN localhost, subjectAltName IP:127.0.0.1 and DNS:localhost,
 * serverAuth + clientAuth) is not included.
 * @typedef {object} ClusterTls
 * @property {string} caFile Path of the CA certificate (PEM) that signed the server and client certificates (and
 *   the members' `--trusted-ca-file` with clientCertAuth).
 * @property {string} certFile Path of the client certificate (PEM, CN etcd-connect-test-client, clientAuth).
 * @property {string} keyFile Path of the client certificate's private key (PEM, EC P-256).
 * @property {string} ca The CA certificate (PEM text).
 * @property {string} cert The client certificate (PEM text).
 * @property {string} key The client key (PEM text).
 * @property {boolean} clientCertAuth Whether the members require a client certificate.
 */

/**
 * TLS settings for the launcher's HTTPS requests (isHealthy, fetchMetrics). A ClusterTls fits.
 * @typedef {object} HttpsClientOptions
 * @property {string | Buffer | undefined} [ca]
 * @property {string | Buffer | undefined} [cert]
 * @property {string | Buffer | undefined} [key]
 */

/**
 * etcdctl's TLS flags (`--cacert`, `--cert`, `--key`), each only when given. A ClusterTls fits.
 * @typedef {object} EtcdctlTlsOptions
 * @property {string | undefined} [caFile]
 * @property {string | undefined} [certFile]
 * @property {string | undefined} [keyFile]
 */

/**
 * @typedef {object} EtcdctlOptions
 * @property {string | Buffer | undefined} [input] Written to etcdctl's stdin.
 * @property {NodeJS.ProcessEnv | undefined} [env] Extra environment variables.
 * @property {number | undefined} [timeoutMs] Kill etcdctl (SIGKILL) and reject after this long (default 15000).
 * @property {EtcdctlTlsOptions | undefined} [tls] Adds `--cacert`/`--cert`/`--key`. Default: for `https://`
 *   endpoints of a running cluster started by this launcher, that cluster's files; otherwise none.
 */

/**
 * What a cluster needs to make more members like its own (Cluster#prepareMember()).
 * @typedef {object} MemberSpec
 * @property {string} etcdBin
 * @property {string} version The binary's major.minor version, e.g. "3.6".
 * @property {"http" | "https"} scheme Client URL scheme.
 * @property {string} token `--initial-cluster-token`.
 * @property {string[]} commonArgs Arguments after the per-member URLs and cluster flags (tuning, logging, TLS,
 *   extraArgs), the same for every member.
 * @property {((index: number) => string[]) | undefined} memberArgs StartClusterOptions.memberArgs.
 */

/**
 * Options of Cluster#prepareMember().
 * @typedef {object} PrepareMemberOptions
 * @property {string | undefined} [name] Member name (letters, digits, `.`, `_`, `-`); default `m{n}`, the next
 *   index not taken by a name of this cluster.
 */
