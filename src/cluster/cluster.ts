import type { Member as MemberMessage } from "../../gen/etcdserverpb/rpc_pb.js";
import type { ClientContext } from "../context.js";
import { type ResponseHeader, header } from "../kv/responses.js";
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

/** Result of `memberList()`. */
export interface MemberListResponse {
  header: ResponseHeader;
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

/** Cluster membership calls (Go's `clientv3.Cluster`). */
export interface Cluster {
  /** Lists the cluster's members. */
  memberList(options?: MemberListOptions & CallOptions): Promise<MemberListResponse>;
}

/** Converts a member message to the public shape (`id`, not `ID`). */
export function member(m: MemberMessage): Member {
  return { id: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

/** Builds the Cluster facade over a client context. @internal */
export function createCluster(ctx: ClientContext): Cluster {
  return {
    async memberList(options) {
      const linearizable = options?.serializable !== true;
      const r = await ctx.call(options, (c) => ctx.services.cluster.memberList({ linearizable }, c));
      return { header: header(r.header), members: r.members.map(member) };
    },
  };
}
