import type { DescMethod } from "@bufbuild/protobuf";
import { type ContextValues, createContextValues } from "@connectrpc/connect";

/**
 * The request fields that Connect's interceptor runners (`runUnaryCall`,
 * `runStreamingCall`) need besides `stream` and `message`, the same for every
 * transport here.
 */
export function interceptorRequest<M extends DescMethod>(url: string, method: M, header: Headers, contextValues: ContextValues | undefined) {
  return {
    service: method.parent,
    method,
    requestMethod: "POST",
    url,
    header,
    contextValues: contextValues ?? createContextValues(),
  };
}
