import type { EtcdError } from "../errors.js";
import type { ResponseHeader } from "../header.js";

/** A member's status (Go's `StatusResponse`); fields etcd 3.4 does not fill stay empty or 0. */
export interface StatusResponse {
  /** Header of the member that answered (the member this status is about). */
  header: ResponseHeader;
  /** The member's etcd version, e.g. "3.6.17". */
  version: string;
  /** Size of the backend database file in bytes. */
  dbSize: bigint;
  /** Bytes of the database in use (the rest is free space, reclaimed by defragment). */
  dbSizeInUse: bigint;
  /** Member ID of the current leader (0 when there is none). */
  leader: bigint;
  /** The member's raft commit index: the last log entry it knows the cluster agreed on. */
  raftIndex: bigint;
  /** The member's raft term (it grows with every election). */
  raftTerm: bigint;
  /** The last raft log entry the member has applied to its store (lags `raftIndex` while it catches up). */
  raftAppliedIndex: bigint;
  /** Alarm and health messages of the member. */
  errors: string[];
  /** Whether the member is a learner. */
  isLearner: boolean;
  /** Storage version (etcd 3.6+; "" before). */
  storageVersion: string;
  /** The backend quota in bytes (etcd 3.6+; 0 before). */
  dbSizeQuota: bigint;
  /**
   * The cluster's downgrade state as this member sees it (etcd 3.6+; `{ enabled: false, targetVersion: "" }`
   * before): `enabled` while a downgrade to `targetVersion` (e.g. "3.5.0") is under way.
   */
  downgrade: {
    /** Whether a downgrade is under way. */
    enabled: boolean;
    /** The version the cluster is downgrading to, e.g. "3.5.0"; "" when none. */
    targetVersion: string;
  };
}

/** An alarm's kind. */
export type AlarmKind = "nospace" | "corrupt";

/** A raised alarm. */
export interface Alarm {
  /** The member that raised it. */
  memberId: bigint;
  /** What the alarm is about: `nospace` (the backend reached its quota), `corrupt` (a hash check failed). */
  alarm: AlarmKind;
}

/** Result of `hash()`. */
export interface HashResponse {
  /** Header of the member that answered (the member hashed). */
  header: ResponseHeader;
  /** Hash of the member's whole backend. */
  hash: number;
}

/** Result of `hashKV()`. */
export interface HashKVResponse {
  /** Header of the member that answered (the member hashed). */
  header: ResponseHeader;
  /** Hash of the key-value store up to the revision. */
  hash: number;
  /**
   * The member's compacted revision when the hash was taken: the hash covers the history from it on, so only hashes
   * with the same `compactRevision` (and revision) compare.
   */
  compactRevision: bigint;
  /** The revision the hash covers (etcd 3.6+; 0 before). */
  hashRevision: bigint;
}

/** One configured endpoint's status, or why it has none (`etcdctl endpoint status/health`). */
export interface EndpointStatus {
  /** The endpoint's URL, as configured. */
  endpoint: string;
  /** Answered, has a leader, and reports no errors. */
  healthy: boolean;
  /** How long the status call took, in ms. */
  tookMs: number;
  /** The member's status, when it answered. */
  status?: StatusResponse;
  /** Why the status call failed, when it did. */
  error?: EtcdError;
}

/** Options of `maintenance.snapshot()`. */
export interface SnapshotOptions {
  /** Aborting it ends the snapshot stream (the iteration throws `canceled`). */
  signal?: AbortSignal;
}
