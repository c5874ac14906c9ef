import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  type WatchCreateRequest,
  WatchCreateRequestSchema,
  type WatchResponse as WatchResponseMessage,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { type Event, Event_EventType } from "../../gen/mvccpb/kv_pb.js";
import { needsNewToken } from "../auth/tokens.js";
import { EtcdError } from "../errors.js";
import { header } from "../header.js";
import type { WatchEvent, WatchResponse } from "./types.js";

/** What both kinds of watch stream (full and half duplex) need from the client. @internal */
export interface WatchStreamDeps {
  /** The endpoint the next call goes to. */
  current(): string;
  /** Reports a broken stream so the next attempt may use another endpoint. */
  failed(endpoint: string, error: unknown): void;
  /** Reports a working stream. */
  succeeded(endpoint: string): void;
  requireLeader: boolean;
  canReauthenticate: boolean;
  /** Drops the endpoint's auth token before the stream reopens. */
  forgetToken(endpoint: string): void;
}
import type { WatchSink } from "./watcher.js";

/**
 * One watch as the client keeps it across reconnects: its create request, the
 * revision it resumes from, and what it delivered. Shared by the full- and
 * half-duplex streams, which only decide how requests reach etcd.
 * @internal
 */
export class Registration {
  /** The revision to resume from; 0 until a watch from "now" is created. */
  nextRev: bigint;
  /** Server watch id while bound on the current stream. */
  id: bigint | undefined = undefined;
  /** A cancel was sent for `id`; waiting for its confirmation. */
  canceling = false;
  /** False while paused for a slow consumer, or closed. */
  wantActive = true;
  /** A create refused for its token was already retried with a new one. */
  authRetried = false;
  private notifiedCreated = false;
  private fragments: Event[] | undefined = undefined;

  constructor(
    private readonly template: WatchCreateRequest,
    readonly sink: WatchSink,
    private readonly createdNotify: boolean,
  ) {
    this.nextRev = template.startRevision;
  }

  get closed(): boolean {
    return this.sink.closed;
  }

  /** The create request for (re)starting the watch at its next revision. */
  createRequest(): WatchCreateRequest {
    if (this.template.startRevision === this.nextRev) return this.template;
    return create(WatchCreateRequestSchema, { ...this.template, startRevision: this.nextRev });
  }

  /**
   * Handles one response addressed to this watch. Returns false when the
   * watch ended (a terminal error was delivered).
   */
  handle(r: WatchResponseMessage): boolean {
    if (r.canceled) {
      this.sink.fail(cancelError(r, this.nextRev));
      return false;
    }
    if (r.created) {
      this.authRetried = false;
      // A watch from "now" resumes at its created revision (Go's rule): a
      // disconnect before the first event must not lose that event.
      if (this.nextRev === 0n) this.nextRev = header(r.header).revision;
      if (this.createdNotify && !this.notifiedCreated) {
        this.notifiedCreated = true;
        this.sink.deliver(response(r, [], false, true));
      }
      return true;
    }
    if (r.fragment) {
      (this.fragments ??= []).push(...r.events);
      return true;
    }
    let events = r.events;
    if (this.fragments) {
      events = this.fragments.concat(events);
      this.fragments = undefined;
    }
    if (events.length === 0) {
      // A progress response for this watch: etcd sends it only when the
      // watch has seen everything up to the header revision.
      const rev = header(r.header).revision + 1n;
      if (rev > this.nextRev) this.nextRev = rev;
      this.sink.deliver(response(r, [], true, false));
      return true;
    }
    // Never deliver a revision twice, whatever a server resends after a resume.
    const from = this.nextRev;
    if (events[0]!.kv!.modRevision < from) events = events.filter((e) => e.kv!.modRevision >= from);
    if (events.length === 0) return true;
    this.nextRev = events[events.length - 1]!.kv!.modRevision + 1n;
    this.sink.deliver(response(r, events.map(event), false, false));
    return true;
  }

  /** A progress response for every watch on the stream (`watch_id` -1). */
  progress(r: WatchResponseMessage): void {
    // etcd 3.4 answers a progress request at once, even for watches still
    // catching up, so it does not move the resume revision.
    this.sink.deliver(response(r, [], true, false));
  }

  /** Forgets the server binding: the stream broke or the watch was canceled. */
  unbind(): void {
    this.id = undefined;
    this.canceling = false;
    this.fragments = undefined;
  }
}

function event(e: Event): WatchEvent {
  const type = e.type === Event_EventType.DELETE ? "delete" : "put";
  return e.prevKv === undefined ? { type, kv: e.kv! } : { type, kv: e.kv!, prevKv: e.prevKv };
}

function response(r: WatchResponseMessage, events: WatchEvent[], progressNotify: boolean, created: boolean): WatchResponse {
  return { header: header(r.header), events, compactRevision: r.compactRevision, progressNotify, created };
}

/**
 * Whether etcd refused a watch create because of its token (etcd 3.4 reports
 * a stale or expired token as a create canceled with "invalid auth token").
 */
export function refusedForToken(r: WatchResponseMessage): boolean {
  return r.created && r.canceled && r.cancelReason !== "" && needsNewToken(EtcdError.fromMessage(r.cancelReason));
}

/** The terminal error for a watch etcd canceled. */
function cancelError(r: WatchResponseMessage, nextRev: bigint): EtcdError {
  if (r.compactRevision > 0n) {
    return new EtcdError(
      "compacted",
      Code.OutOfRange,
      `watch start revision ${nextRev} has been compacted (compact revision ${r.compactRevision})`,
      { compactRevision: r.compactRevision },
    );
  }
  const reason = r.cancelReason;
  if (reason === "") return new EtcdError("canceled", Code.Canceled, "etcd canceled the watch");
  return EtcdError.fromMessage(reason) ?? new EtcdError("canceled", Code.Canceled, reason);
}
