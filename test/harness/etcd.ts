// Vitest helpers for tests that need a real etcd (see scripts/etcd-cluster.mjs).
//
//   const etcd = useEtcd({ size: 3 });   // at the top level of a file or describe
//   it("...", async () => { await etcd.etcdctl(["put", "k", "v"]); etcd.endpoints; });
//   const secure = useEtcd({ tls: { clientCertAuth: true } });  // https://, secure.tls = { ca, cert, key, ...File }
//
// Growing a running cluster the way an operator does:
//   const m = await etcd.prepareMember();          // not started; m.peerUrl, m.clientUrl known
//   const out = await etcd.etcdctl(["member", "add", m.name, `--peer-urls=${m.peerUrl}`]);  // [--learner]
//   await m.join(/ETCD_INITIAL_CLUSTER="([^"]*)"/.exec(out)![1]!);  // --initial-cluster-state existing
// (`member add` answers "etcdserver: unhealthy cluster" until every voting member has been connected for 5 s,
// e.g. just after start or after a join: retry it.) After `etcdctl member remove`, etcd exits by itself
// (m.running turns false); etcd.forget(m) drops it from members/endpoints; stop() cleans up every member.
//
// useEtcd registers beforeAll (start) and afterAll (stop). afterAll runs even
// when tests fail; if the worker dies, the launcher's exit handler and
// watchdog still kill etcd.
import { afterAll, beforeAll } from "vitest";
import {
  Cluster,
  Member,
  etcdctl,
  etcdutl,
  fetchMetrics,
  isHealthy,
  metricValue,
  pickFreePorts,
  startCluster,
  tailFile,
} from "../../scripts/etcd-cluster.mjs";
import type {
  ClusterTls,
  ClusterTlsOptions,
  EtcdctlOptions,
  EtcdctlTlsOptions,
  HttpsClientOptions,
  PrepareMemberOptions,
  StartClusterOptions,
} from "../../scripts/etcd-cluster.mjs";
import { compareVersions, etcdVersion } from "../../scripts/etcd-versions.mjs";

/** The etcd version (major.minor) this run tests against: `ETCD_VERSION`, default 3.6 (scripts/etcd-versions.mjs). */
export const ETCD_VERSION: string = etcdVersion();

/** Whether this run's etcd is `version` ("3.5") or newer: for tests of features and behaviour that changed. */
export function etcdAtLeast(version: string): boolean {
  return compareVersions(ETCD_VERSION, version) >= 0;
}

export { Cluster, Member, etcdctl, etcdutl, fetchMetrics, isHealthy, metricValue, pickFreePorts, startCluster, tailFile };
export type {
  ClusterTls,
  ClusterTlsOptions,
  EtcdctlOptions,
  EtcdctlTlsOptions,
  HttpsClientOptions,
  PrepareMemberOptions,
  StartClusterOptions,
};

export interface EtcdHandle {
  /** The running cluster; throws outside beforeAll..afterAll. */
  readonly cluster: Cluster;
  /** Client URLs of all members (`https://` when started with `tls`). */
  readonly endpoints: string[];
  /** Client URL of the first member. */
  readonly endpoint: string;
  readonly members: Member[];
  /** Member by index (throws if out of range). */
  member(i: number): Member;
  /** Client TLS material (CA, client cert and key: files and PEM) when started with `tls`, else undefined. */
  readonly tls: ClusterTls | undefined;
  /**
   * etcdctl against all endpoints (or pass `endpoints` to target some). With a TLS cluster, gets `--cacert`,
   * `--cert` and `--key` from the cluster unless `tls` is given.
   */
  etcdctl(args: string[], options?: EtcdctlOptions & { endpoints?: string | string[] }): Promise<string>;
  /** /metrics text of member `i` (default 0). */
  metrics(i?: number): Promise<string>;
  /** One metric value of member `i` (default 0); sums series matching `labels`. */
  metric(name: string, labels?: Record<string, string>, i?: number): Promise<number>;
  /**
   * A new member of the cluster, not started (Cluster#prepareMember()): add it with `etcdctl member add`, then
   * `member.join(initialCluster)`. It is in `members` and `endpoints` from now on (pass `endpoints` of running
   * members to etcdctl until it has joined).
   */
  prepareMember(options?: PrepareMemberOptions): Promise<Member>;
  /** Drops a (removed) member from `members` and `endpoints` (Cluster#forget()); afterAll still cleans it up. */
  forget(member: Member): boolean;
}

/**
 * Starts an etcd cluster in beforeAll and stops it in afterAll. Call at the
 * top level of a test file or describe block; use the returned handle inside
 * tests/hooks. Synchronous (hooks must be registered during collection), but
 * `await useEtcd()` also works.
 */
export function useEtcd(options: StartClusterOptions = {}): EtcdHandle {
  let current: Cluster | undefined;
  beforeAll(async () => {
    current = await startCluster(options);
  });
  afterAll(async () => {
    const c = current;
    current = undefined;
    await c?.stop();
  });
  const cluster = (): Cluster => {
    if (!current) throw new Error("useEtcd: cluster not running (use it inside tests or hooks, after beforeAll)");
    return current;
  };
  return {
    get cluster() {
      return cluster();
    },
    get endpoints() {
      return cluster().endpoints;
    },
    get endpoint() {
      return cluster().member(0).clientUrl;
    },
    get members() {
      return cluster().members;
    },
    member(i) {
      return cluster().member(i);
    },
    get tls() {
      return cluster().tls;
    },
    etcdctl(args, opts = {}) {
      return cluster().etcdctl(args, opts);
    },
    metrics(i = 0) {
      const c = cluster();
      return fetchMetrics(c.member(i).clientUrl, undefined, c.tls);
    },
    async metric(name, labels, i = 0) {
      const c = cluster();
      return metricValue(await fetchMetrics(c.member(i).clientUrl, undefined, c.tls), name, labels);
    },
    prepareMember(opts) {
      return cluster().prepareMember(opts);
    },
    forget(member) {
      return cluster().forget(member);
    },
  };
}
