import { create } from "@bufbuild/protobuf";
import {
  Watch,
  WatchCreateRequestSchema,
  WatchCreateRequest_FilterType,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { Bytes } from "../util/bytes.js";
import type { ClientContext } from "../context.js";
import { invalid } from "../errors.js";
import { toInt64 } from "../util/int64.js";
import { resolveRange } from "../op/range.js";
import { requireLeaderHeaders as requireLeaderHeader } from "../call.js";
import { callHalfDuplex } from "../transport/half-duplex.js";
import type { DuplexWatchStream } from "./duplex-stream.js";
import { startHalfDuplexWatch } from "./half-duplex.js";
import { Registration, type WatchStreamDeps } from "./registration.js";
import type { WatchOptions, Watcher } from "./types.js";
import { createWatcher } from "./watcher.js";

/** Default of `WatchOptions.bufferSize`. */
const DEFAULT_BUFFER_SIZE = 10000;


/** The watch entry point of a client (Go's `clientv3.Watcher`). */
export type WatchFn = (key: Bytes, options?: WatchOptions) => Watcher;

/**
 * Builds `client.watch`: full-duplex transports share one bidi stream per
 * metadata set; half-duplex transports (gRPC-Web), and every transport in the
 * web entry, run one call per watch.
 * @internal
 */
export function createWatch(ctx: ClientContext): WatchFn {
  const streams = new Map<string, DuplexWatchStream>();
  const watchers = new Set<Watcher>();
  ctx.onClose(() => {
    for (const w of [...watchers]) w.close();
  });

  /** What both kinds of watch stream need from the client. */
  const streamDeps = (requireLeader: boolean): WatchStreamDeps => ({
    current: () => ctx.transport.current,
    failed: (endpoint: string, error: unknown) => ctx.transport.failed(endpoint, error),
    succeeded: (endpoint: string) => ctx.transport.succeeded(endpoint),
    requireLeader,
    canReauthenticate: ctx.canReauthenticate,
    forgetToken: (endpoint: string) => ctx.forgetToken(endpoint),
  });

  function stream(requireLeader: boolean): DuplexWatchStream {
    const key = requireLeader ? "leader" : "";
    let s = streams.get(key);
    if (s === undefined) {
      const headers = requireLeader ? requireLeaderHeader : undefined;
      const created = ctx.fullDuplex!.watchStream({
        ...streamDeps(requireLeader),
        open: (requests, signal) => ctx.services.watch.watch(requests, { signal, headers }),
        log: ctx.log,
        onIdle: () => {
          if (streams.get(key) === created) streams.delete(key);
        },
      });
      streams.set(key, created);
      s = created;
    }
    return s;
  }

  return (key, options = {}) => {
    ctx.ensureOpen();
    const [k, rangeEnd] = resolveRange(key, options);
    if (rangeEnd.length > 0 && !(rangeEnd.length === 1 && rangeEnd[0] === 0) && compareBytes(rangeEnd, k) <= 0) {
      throw invalid("invalid-range", "watch range end must sort after the key");
    }
    if (k.length + rangeEnd.length + 64 > ctx.maxCallSendMsgSize) {
      throw invalid("request-too-large", "watch key and range end exceed maxCallSendMsgSize");
    }
    const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`bufferSize must be a positive integer, got ${bufferSize}`);
    }
    const filters: WatchCreateRequest_FilterType[] = [];
    if (options.filters?.noPut) filters.push(WatchCreateRequest_FilterType.NOPUT);
    if (options.filters?.noDelete) filters.push(WatchCreateRequest_FilterType.NODELETE);
    const request = create(WatchCreateRequestSchema, {
      key: k,
      rangeEnd,
      startRevision: options.startRevision === undefined ? 0n : toInt64(options.startRevision, "startRevision", 0n),
      progressNotify: options.progressNotify === true,
      filters,
      prevKv: options.prevKv === true,
      fragment: options.fragment === true,
    });
    const requireLeader = options.requireLeader ?? ctx.requireLeader;

    let self: Watcher | undefined;
    const { watcher, sink, bind } = createWatcher(bufferSize, options.signal, (change) => {
      if (change.state === "closed" && self) watchers.delete(self);
      options.onStateChange?.(change);
    });
    self = watcher;
    if (sink.closed) return watcher; // signal already aborted
    watchers.add(watcher);
    const reg = new Registration(request, sink, options.createdNotify === true);
    if (ctx.transport.halfDuplex || ctx.fullDuplex === undefined) {
      const headers = requireLeader ? requireLeaderHeader : undefined;
      bind(
        startHalfDuplexWatch(reg, {
          ...streamDeps(requireLeader),
          open: (createRequest, signal) =>
            callHalfDuplex(ctx.transport, Watch.method.watch, { requestUnion: { case: "createRequest", value: createRequest } }, signal, headers),
        }),
      );
    } else {
      bind(stream(requireLeader).add(reg));
    }
    return watcher;
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
