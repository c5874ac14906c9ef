import { type Client as ServiceClient, createClient } from "@connectrpc/connect";
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  DowngradeRequest_DowngradeAction,
  Maintenance as MaintenanceService,
  type StatusResponse as StatusMessage,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { runServerStream } from "../call.js";
import type { ClientContext } from "../context.js";
import { EtcdError, needsVersion } from "../errors.js";
import { type Int64, toInt64, toUint64 } from "../util/int64.js";
import { type ResponseHeader, header } from "../header.js";
import type { CallOptions } from "../options.js";
import type { Alarm, AlarmKind, EndpointStatus, HashKVResponse, HashResponse, SnapshotOptions, StatusResponse } from "./types.js";

/** Maintenance calls (Go's `clientv3.Maintenance`). Calls that name an endpoint go to that member. */
export interface Maintenance {
  /** Status of one member: `endpoint` (a configured endpoint), or the current one. */
  status(endpoint?: string, options?: CallOptions): Promise<StatusResponse>;
  /** Every raised alarm. */
  alarms(options?: CallOptions): Promise<Alarm[]>;
  /** Disarms one alarm, or every raised alarm when none is given; returns the alarms left. */
  disarm(alarm?: Alarm, options?: CallOptions): Promise<Alarm[]>;
  /**
   * Defragments one member's backend, returning free space to the file
   * system. (etcd 3.4 sends no header with the answer.)
   */
  defragment(endpoint: string, options?: CallOptions): Promise<{
    /** Header of the defragmented member; absent from etcd 3.4. */
    header?: ResponseHeader;
  }>;
  /** Hash of one member's whole backend. */
  hash(endpoint: string, options?: CallOptions): Promise<HashResponse>;
  /** Hash of one member's key-value store up to `revision` (0: latest); members at the same revision agree. */
  hashKV(endpoint: string, revision?: Int64, options?: CallOptions): Promise<HashKVResponse>;
  /**
   * Streams a snapshot of the backend, chunk by chunk. The last 32 bytes of a
   * complete snapshot are the SHA-256 of the rest (what `etcdctl snapshot
   * status` checks). On Node, `saveSnapshot()` writes one to a file.
   */
  snapshot(options?: SnapshotOptions): AsyncIterable<Uint8Array>;
  /**
   * Hands leadership to the member `targetId` (sent to the current leader,
   * wherever it is). (etcd 3.4 sends no header with the answer.)
   */
  moveLeader(targetId: Int64, options?: CallOptions): Promise<{
    /** Header of the leader that handed over; absent from etcd 3.4. */
    header?: ResponseHeader;
  }>;
  /**
   * Cluster downgrade (etcd 3.5+): validate, enable or cancel a downgrade to
   * `version` ("3.5"). Rejects with `unimplemented` on servers without it.
   */
  downgrade(action: "validate" | "enable" | "cancel", version: string, options?: CallOptions): Promise<{
    /** Header of the member that answered. */
    header: ResponseHeader;
    /** The cluster's current version, which the target was checked against (e.g. "3.6.0"). */
    version: string;
  }>;
}

const alarmKinds: Record<number, AlarmKind> = { [AlarmType.NOSPACE]: "nospace", [AlarmType.CORRUPT]: "corrupt" };
const alarmTypes: Record<AlarmKind, AlarmType> = { nospace: AlarmType.NOSPACE, corrupt: AlarmType.CORRUPT };
const downgradeActions = {
  validate: DowngradeRequest_DowngradeAction.VALIDATE,
  enable: DowngradeRequest_DowngradeAction.ENABLE,
  cancel: DowngradeRequest_DowngradeAction.CANCEL,
} as const;

/** Converts a status message to the public shape. */
export function status(r: StatusMessage): StatusResponse {
  // Every scalar field keeps its name; only the header and the downgrade state are reshaped.
  const { $typeName, header: h, downgradeInfo, ...fields } = r;
  return { ...fields, header: header(h), downgrade: { enabled: downgradeInfo?.enabled ?? false, targetVersion: downgradeInfo?.targetVersion ?? "" } };
}

/** Builds the Maintenance facade. @internal */
export function createMaintenance(ctx: ClientContext): Maintenance {
  const perEndpoint = new Map<string, ServiceClient<typeof MaintenanceService>>();
  /** The service on one named member (never the failover transport's choice). */
  const at = (endpoint: string): ServiceClient<typeof MaintenanceService> => {
    if (typeof endpoint !== "string" || !ctx.transport.endpoints.includes(endpoint.replace(/\/+$/, ""))) {
      throw new RangeError(`${String(endpoint)} is not one of the client's endpoints (${ctx.transport.endpoints.join(", ")})`);
    }
    const url = endpoint.replace(/\/+$/, "");
    let c = perEndpoint.get(url);
    if (c === undefined) perEndpoint.set(url, (c = createClient(MaintenanceService, ctx.transport.endpoint(url))));
    return c;
  };
  const any = ctx.services.maintenance;

  const alarmList = (r: { alarms: { memberID: bigint; alarm: AlarmType }[] }): Alarm[] =>
    r.alarms.filter((a) => alarmKinds[a.alarm] !== undefined).map((a) => ({ memberId: a.memberID, alarm: alarmKinds[a.alarm]! }));

  const api: Maintenance = {
    async status(endpoint, options) {
      const svc = endpoint === undefined ? any : at(endpoint);
      return status(await ctx.call(options, (c) => svc.status({}, c)));
    },
    async alarms(options) {
      const r = await ctx.call(options, (c) => any.alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, c));
      return alarmList(r);
    },
    async disarm(alarm, options) {
      // Like `etcdctl alarm disarm`: with no alarm named, every raised one.
      const targets = alarm === undefined ? await api.alarms(options) : [alarm];
      for (const a of targets) {
        const type = alarmTypes[a.alarm];
        if (type === undefined) throw new TypeError(`alarm must be "nospace" or "corrupt", got ${String(a.alarm)}`);
        const request = { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: toUint64(a.memberId, "memberId"), alarm: type };
        await ctx.call(options, (c) => any.alarm(request, c));
      }
      return api.alarms(options);
    },
    async defragment(endpoint, options) {
      const svc = at(endpoint);
      return optionalHeader(await ctx.call(options, (c) => svc.defragment({}, c)));
    },
    async hash(endpoint, options) {
      const svc = at(endpoint);
      const r = await ctx.call(options, (c) => svc.hash({}, c));
      return { header: header(r.header), hash: r.hash };
    },
    async hashKV(endpoint, revision, options) {
      const svc = at(endpoint);
      const rev = revision === undefined ? 0n : toInt64(revision, "revision", 0n);
      const r = await ctx.call(options, (c) => svc.hashKV({ revision: rev }, c));
      const { $typeName, header: h, ...fields } = r;
      return { ...fields, header: header(h) };
    },
    snapshot(options) {
      return snapshotChunks(ctx, options?.signal);
    },
    async moveLeader(targetId, options) {
      const targetID = toUint64(targetId, "targetId");
      // etcd takes MoveLeader only at the leader: find it, then ask it.
      const { leader } = await api.status(undefined, options);
      const { members } = await ctx.call(options, (c) => ctx.services.cluster.memberList({ linearizable: false }, c));
      const url = members.find((m) => m.ID === leader)?.clientURLs.map((u) => u.replace(/\/+$/, "")).find((u) => ctx.transport.endpoints.includes(u));
      const svc = url === undefined ? any : at(url);
      return optionalHeader(await ctx.call(options, (c) => svc.moveLeader({ targetID }, c)));
    },
    async downgrade(action, version, options) {
      const a = downgradeActions[action];
      if (a === undefined) throw new TypeError(`action must be validate, enable or cancel, got ${String(action)}`);
      try {
        const r = await ctx.call(options, (c) => any.downgrade({ action: a, version }, c));
        return { header: header(r.header), version: r.version };
      } catch (err) {
        throw needsVersion(err, "downgrade", "3.5");
      }
    },
  };
  return api;
}

function optionalHeader(r: { header?: ResponseHeader }): { header?: ResponseHeader } {
  return r.header === undefined ? {} : { header: r.header };
}

/** The snapshot stream's chunks; `break` ends the call. */
async function* snapshotChunks(ctx: ClientContext, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  ctx.ensureOpen();
  for await (const r of runServerStream({ signal }, false, (c) => ctx.services.maintenance.snapshot({}, c))) {
    if (r.blob.length > 0) yield r.blob;
  }
}

/**
 * Every configured endpoint's status or the error it gave, side by side
 * (`etcdctl endpoint status --cluster` plus `endpoint health`). @internal
 */
export async function endpointStatus(ctx: ClientContext, options?: CallOptions): Promise<EndpointStatus[]> {
  const timeoutMs = options?.timeoutMs ?? 5000;
  return Promise.all(
    ctx.transport.endpoints.map(async (endpoint): Promise<EndpointStatus> => {
      const started = Date.now();
      try {
        const svc = createClient(MaintenanceService, ctx.transport.endpoint(endpoint));
        const s = status(await ctx.call({ ...options, timeoutMs }, (c) => svc.status({}, c)));
        return { endpoint, healthy: s.leader !== 0n && s.errors.length === 0, tookMs: Date.now() - started, status: s };
      } catch (err) {
        return { endpoint, healthy: false, tookMs: Date.now() - started, error: EtcdError.from(err) };
      }
    }),
  );
}
