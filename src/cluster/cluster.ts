import type { Member as MemberMessage } from "../../gen/etcdserverpb/rpc_pb.js";
import type { ClientContext } from "../context.js";
import { type Int64, toUint64 } from "../util/int64.js";
import { type ResponseHeader, header } from "../header.js";
import type { CallOptions } from "../options.js";

/** A cluster member. */
export interface Member {
  /** Member ID. */
  id: bigint;
  /** Member name (empty while an added member has not started). */
  name: string;
  /** URLs the member talks to its peers on. */
  peerURLs: string[];
  /** URLs clients reach the member on (empty while not started). */
  clientURLs: string[];
  /** Whether the member is a non-voting learner. */
  isLearner: boolean;
}

/** Result of `memberList()`, `memberRemove()`, `memberUpdate()` and `memberPromote()`. */
export interface MemberListResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
  /** Every member of the cluster (after the change, for remove, update and promote). */
  members: Member[];
}

/** Options of `memberList()`. */
export interface MemberListOptions {
  /**
   * Answer from the member's local view instead of a linearizable read
   * (etcd 3.5+; 3.4 always answers locally). Default: false.
   */
  serializable?: boolean;
}

/** Result of `memberAdd()`. */
export interface MemberAddResponse {
  /** Header of the member that answered. */
  header: ResponseHeader;
  /** The added member (no name or client URLs until it starts). */
  member: Member;
  /** Every member after the change. */
  members: Member[];
}

/** Options of `memberAdd()`. */
export interface MemberAddOptions {
  /** Add the member as a non-voting learner, to promote once it caught up. Default: false. */
  learner?: boolean;
}

/** Cluster membership calls (Go's `clientv3.Cluster`). */
export interface Cluster {
  /** Lists the cluster's members. */
  memberList(options?: MemberListOptions & CallOptions): Promise<MemberListResponse>;
  /**
   * Adds a member with these peer URLs. Start its etcd afterwards with
   * `--initial-cluster-state existing`.
   */
  memberAdd(peerURLs: readonly string[], options?: MemberAddOptions & CallOptions): Promise<MemberAddResponse>;
  /** Removes a member; its etcd stops by itself. */
  memberRemove(id: Int64, options?: CallOptions): Promise<MemberListResponse>;
  /** Changes a member's peer URLs. */
  memberUpdate(id: Int64, peerURLs: readonly string[], options?: CallOptions): Promise<MemberListResponse>;
  /**
   * Promotes a learner to a voting member once it has caught up with the
   * leader (`learner-not-ready` until then; `member-not-learner` for voters).
   */
  memberPromote(id: Int64, options?: CallOptions): Promise<MemberListResponse>;
}

/** Converts a member message to the public shape (`id`, not `ID`). */
export function member(m: MemberMessage): Member {
  return { id: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

function peerUrls(urls: readonly string[]): string[] {
  if (!Array.isArray(urls) || urls.length === 0) throw new TypeError("peerURLs must list at least one URL");
  for (const u of urls) {
    let url: URL | undefined;
    try {
      url = new URL(u);
    } catch {
      // reported below
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new TypeError(`peer URL ${JSON.stringify(u)} must be an http:// or https:// URL`);
    }
  }
  return [...urls];
}

function members(r: { header?: ResponseHeader; members: MemberMessage[] }): MemberListResponse {
  return { header: header(r.header), members: r.members.map(member) };
}

/** Builds the Cluster facade over a client context. @internal */
export function createCluster(ctx: ClientContext): Cluster {
  const cluster = ctx.services.cluster;
  return {
    async memberAdd(urls, options) {
      const request = { peerURLs: peerUrls(urls), isLearner: options?.learner === true };
      const r = await ctx.call(options, (c) => cluster.memberAdd(request, c));
      return { header: header(r.header), member: member(r.member!), members: r.members.map(member) };
    },
    async memberRemove(id, options) {
      const ID = toUint64(id, "member id");
      return members(await ctx.call(options, (c) => cluster.memberRemove({ ID }, c)));
    },
    async memberUpdate(id, urls, options) {
      const request = { ID: toUint64(id, "member id"), peerURLs: peerUrls(urls) };
      return members(await ctx.call(options, (c) => cluster.memberUpdate(request, c)));
    },
    async memberPromote(id, options) {
      const ID = toUint64(id, "member id");
      return members(await ctx.call(options, (c) => cluster.memberPromote({ ID }, c)));
    },
    async memberList(options) {
      const linearizable = options?.serializable !== true;
      return members(await ctx.call(options, (c) => cluster.memberList({ linearizable }, c)));
    },
  };
}
