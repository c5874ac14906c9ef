import { Code, ConnectError, type Interceptor, type StreamRequest, type StreamResponse } from "@connectrpc/connect";

/** Which RPC a metric is about, with go-grpc-prometheus's label values. */
export interface RpcInfo {
  /** `unary`, `client_stream`, `server_stream` or `bidi_stream`. */
  type: "unary" | "client_stream" | "server_stream" | "bidi_stream";
  /** e.g. `etcdserverpb.KV` */
  service: string;
  /** e.g. `Range` */
  method: string;
}

/** Hooks called for every RPC, e.g. to feed OpenTelemetry or StatsD. Each is optional. */
export interface RpcObserver {
  /** The RPC started (go-grpc-prometheus's `grpc_client_started_total`); each retry is an RPC of its own. */
  onStart?(rpc: RpcInfo): void;
  /** One request message was sent (once for a unary call, once per message on a stream). */
  onMessageSent?(rpc: RpcInfo): void;
  /** One response message arrived (once for a unary call, once per message on a stream). */
  onMessageReceived?(rpc: RpcInfo): void;
  /** The RPC ended: `code` is the gRPC code name (`OK`, `Unavailable`, ...); `seconds` its duration. */
  onFinish?(rpc: RpcInfo, code: string, seconds: number): void;
}

const codeNames: Record<number, string> = {
  0: "OK",
  [Code.Canceled]: "Canceled",
  [Code.Unknown]: "Unknown",
  [Code.InvalidArgument]: "InvalidArgument",
  [Code.DeadlineExceeded]: "DeadlineExceeded",
  [Code.NotFound]: "NotFound",
  [Code.AlreadyExists]: "AlreadyExists",
  [Code.PermissionDenied]: "PermissionDenied",
  [Code.ResourceExhausted]: "ResourceExhausted",
  [Code.FailedPrecondition]: "FailedPrecondition",
  [Code.Aborted]: "Aborted",
  [Code.OutOfRange]: "OutOfRange",
  [Code.Unimplemented]: "Unimplemented",
  [Code.Internal]: "Internal",
  [Code.Unavailable]: "Unavailable",
  [Code.DataLoss]: "DataLoss",
  [Code.Unauthenticated]: "Unauthenticated",
};

const codeOf = (err: unknown): string => codeNames[ConnectError.from(err).code] ?? "Unknown";

/**
 * A Connect interceptor that reports every RPC to `observer`: starts,
 * messages sent and received, and the end with its code and duration.
 * Install it with the client's `interceptors` option.
 */
export function createObservingInterceptor(observer: RpcObserver): Interceptor {
  return (next) => async (req) => {
    const kind = req.method.methodKind;
    const rpc: RpcInfo = {
      type: kind === "unary" ? "unary" : kind === "client_streaming" ? "client_stream" : kind === "server_streaming" ? "server_stream" : "bidi_stream",
      service: req.service.typeName,
      method: req.method.name,
    };
    const started = performance.now();
    const finish = (code: string) => observer.onFinish?.(rpc, code, (performance.now() - started) / 1000);
    observer.onStart?.(rpc);
    if (!req.stream) {
      observer.onMessageSent?.(rpc);
      try {
        const res = await next(req);
        observer.onMessageReceived?.(rpc);
        finish("OK");
        return res;
      } catch (err) {
        finish(codeOf(err));
        throw err;
      }
    }
    const streamReq = req as StreamRequest;
    const input = streamReq.message;
    let res: StreamResponse;
    try {
      res = (await next({
        ...streamReq,
        message: (async function* () {
          for await (const m of input) {
            observer.onMessageSent?.(rpc);
            yield m;
          }
        })(),
      })) as StreamResponse;
    } catch (err) {
      finish(codeOf(err));
      throw err;
    }
    const output = res.message;
    return {
      ...res,
      message: (async function* () {
        let code = "Canceled"; // left before the end: the caller stopped reading
        try {
          for await (const m of output) {
            observer.onMessageReceived?.(rpc);
            yield m;
          }
          code = "OK";
        } catch (err) {
          code = codeOf(err);
          throw err;
        } finally {
          finish(code);
        }
      })(),
    };
  };
}
